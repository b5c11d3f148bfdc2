// Average Retention Curve: loyalty_crm.services.dashboard.retention_curve (one aggregated query, permission-checked).
frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Average Retention Curve"] = {
	method: "loyalty_crm.services.dashboard.retention_curve",
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
		},
	],
};
