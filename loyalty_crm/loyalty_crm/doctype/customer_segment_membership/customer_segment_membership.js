// Customer Segment Membership rows are written by the segment refresh; the form is read-only.
frappe.ui.form.on("Customer Segment Membership", {
	refresh(frm) {
		frm.disable_save();
	},
});
