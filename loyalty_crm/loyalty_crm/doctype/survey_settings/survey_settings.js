// Copyright (c) 2026, loyalty_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Survey Settings", {
	setup(frm) {
		frm.set_query("default_template", () => ({ filters: { enabled: 1 } }));
	},
});
