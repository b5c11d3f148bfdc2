// Members per Tier: loyalty_crm.services.dashboard.members_per_tier (one aggregated query, permission-checked).
frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Members per Tier"] = {
	method: "loyalty_crm.services.dashboard.members_per_tier",
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
		},
	],
};
