// Points Earned vs Redeemed: loyalty_crm.services.dashboard.points_by_month (one aggregated query, permission-checked).
frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Points Earned vs Redeemed"] = {
	method: "loyalty_crm.services.dashboard.points_by_month",
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
		},
	],
};
