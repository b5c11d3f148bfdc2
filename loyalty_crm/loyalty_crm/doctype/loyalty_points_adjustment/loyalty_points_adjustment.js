frappe.ui.form.on("Loyalty Points Adjustment", {
	refresh(frm) {
		if (frm.doc.docstatus === 1) {
			frm.add_custom_button(__("Ledger Entries"), () =>
				frappe.set_route("List", "Loyalty Ledger Entry", { voucher_no: frm.doc.name })
			);
		}
	},
});
