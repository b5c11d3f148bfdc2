// Churn Score: read-only; a link to the customer's risk in the Churn Risk report.
frappe.ui.form.on("Churn Score", {
	refresh(frm) {
		frm.add_custom_button(__("Churn Risk"), () =>
			frappe.set_route("query-report", "Churn Risk", { company: frm.doc.company })
		);
	},
});
