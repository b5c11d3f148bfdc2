frappe.ui.form.on("Loyalty Settings", {
	refresh(frm) {},
});
