frappe.ui.form.on("Loyalty Tier", {
	refresh(frm) {
		if (!frm.is_new()) {
			frm.add_custom_button(__("Customers in this Tier"), () =>
				frappe.set_route("List", "Customer", { loyalty_crm_tier: frm.doc.name })
			);
			frm.add_custom_button(__("Tier History"), () =>
				frappe.set_route("List", "Loyalty Tier History", { to_tier: frm.doc.name })
			);
		}
		if (frm.doc.description) {
			frm.set_intro(__(frm.doc.description));
		}
	},
});
