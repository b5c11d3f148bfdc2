frappe.ui.form.on("Loyalty Ledger Entry", {
	refresh(frm) {},
});
