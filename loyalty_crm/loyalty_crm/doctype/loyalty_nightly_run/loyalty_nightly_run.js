// Loyalty Nightly Run: re-run button for administrators (the run itself is read-only).
frappe.ui.form.on("Loyalty Nightly Run", {
	refresh(frm) {
		if (!frappe.user.has_role("System Manager")) return;
		frm.add_custom_button(__("Run Nightly Recompute Now"), () => {
			frappe.call("loyalty_crm.services.nightly.run_now").then((r) => {
				frappe.show_alert({ message: r.message, indicator: "blue" });
			});
		});
	},
});
