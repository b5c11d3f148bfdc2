// Customer form: a link to the customer's points ledger next to the Loyalty section.
frappe.ui.form.on("Customer", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(
			__("Loyalty Ledger"),
			() => frappe.set_route("List", "Loyalty Ledger Entry", { customer: frm.doc.name }),
			__("View")
		);
	},
});
