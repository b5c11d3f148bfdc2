// NPS by Month: loyalty_crm.services.dashboard.nps_by_month (one aggregated query, permission-checked).
frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["NPS by Month"] = {
	method: "loyalty_crm.services.dashboard.nps_by_month",
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
		},
	],
};
