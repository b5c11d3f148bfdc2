// Campaign Results: treated against control for each launched Retention Campaign.
frappe.query_reports["Campaign Results"] = {
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
		},
		{
			fieldname: "campaign",
			label: __("Retention Campaign"),
			fieldtype: "Link",
			options: "Retention Campaign",
		},
		{
			fieldname: "status",
			label: __("Status"),
			fieldtype: "Select",
			options: "\nLaunched\nMeasuring\nClosed",
		},
	],
	onload(report) {
		if (window.loyalty_crm && loyalty_crm.reports && loyalty_crm.reports.setup) {
			loyalty_crm.reports.setup(report);
		}
	},
};
