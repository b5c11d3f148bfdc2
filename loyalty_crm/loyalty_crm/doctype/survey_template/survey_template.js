// Copyright (c) 2026, loyalty_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Survey Template", {
	refresh(frm) {
		if (!frm.is_new()) {
			frm.add_custom_button(__("Use as Default"), () =>
				frappe.db
					.set_value("Survey Settings", "Survey Settings", "default_template", frm.doc.name)
					.then(() => frappe.show_alert({ message: __("Default survey template set"), indicator: "green" }))
			);
		}
	},
});
