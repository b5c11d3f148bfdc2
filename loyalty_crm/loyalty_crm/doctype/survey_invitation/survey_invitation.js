// Copyright (c) 2026, loyalty_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Survey Invitation", {
	refresh(frm) {
		frm.disable_save();
		if (frm.doc.survey) {
			frm.add_custom_button(__("Satisfaction Survey"), () =>
				frappe.set_route("Form", "Satisfaction Survey", frm.doc.survey)
			);
		}
	},
});
