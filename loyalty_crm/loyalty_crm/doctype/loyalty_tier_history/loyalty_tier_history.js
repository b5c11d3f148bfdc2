frappe.ui.form.on("Loyalty Tier History", {
	refresh(frm) {
		frm.disable_save();
	},
});
