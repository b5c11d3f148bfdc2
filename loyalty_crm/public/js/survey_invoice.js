// Sales Invoice and POS Invoice: a "Survey Link" button that makes the invoice's signed,
// single-use survey link and shows it with its QR code, ready to send or show the customer.
// Both forms load this file; the guard registers the handlers once.
if (!window.loyalty_crm_survey_link_hooked) {
	window.loyalty_crm_survey_link_hooked = true;
	for (const doctype of ["Sales Invoice", "POS Invoice"]) {
		frappe.ui.form.on(doctype, {
			refresh(frm) {
				if (frm.doc.docstatus !== 1 || frm.doc.is_return || frm.doc.is_consolidated) return;
				frm.add_custom_button(
					__("Survey Link"),
					() => loyalty_crm_show_survey_link(frm),
					__("Create")
				);
			},
		});
	}
}

function loyalty_crm_show_survey_link(frm) {
	frappe
		.call({
			method: "loyalty_crm.services.surveys.get_survey_link",
			args: { doctype: frm.doctype, name: frm.docname },
			freeze: true,
		})
		.then(({ message }) => {
			const url = frappe.utils.escape_html(message.url);
			const dialog = new frappe.ui.Dialog({
				title: __("Satisfaction Survey Link"),
				fields: [{ fieldtype: "HTML", fieldname: "link" }],
				primary_action_label: __("Copy Link"),
				primary_action() {
					frappe.utils.copy_to_clipboard(message.url);
				},
			});
			dialog.fields_dict.link.$wrapper.html(`
				<div class="text-center">
					<img src="${message.qr}" alt="${__("QR code")}" style="width: 200px; height: 200px;">
				</div>
				<p class="text-muted small">${__("Valid through {0}; it can be answered once.", [
					frappe.datetime.str_to_user(message.expires_on),
				])}</p>
				<p style="word-break: break-all;"><a href="${url}" target="_blank" rel="noopener">${url}</a></p>
			`);
			dialog.show();
		});
}
