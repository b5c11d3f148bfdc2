// Copyright (c) 2026, loyalty_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["Customer Retention"] = {
	// filter labels and the Loyalty CRM breadcrumb: public/js/loyalty_reports.js
	onload: (report) => loyalty_crm.reports.setup(report),
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
			default: frappe.defaults.get_user_default("Company"),
			reqd: 1,
		},
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_months(frappe.datetime.get_today(), -24),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{
			fieldname: "period",
			label: __("Period"),
			fieldtype: "Select",
			options: [
				{ value: "Month", label: __("Month") },
				{ value: "Week", label: __("Week") },
			],
			default: "Month",
			reqd: 1,
		},
		{
			fieldname: "pos_profile",
			label: __("POS Profile"),
			fieldtype: "Link",
			options: "POS Profile",
			get_query: () => ({
				filters: { company: frappe.query_report.get_filter_value("company") },
			}),
		},
		{
			fieldname: "customer_group",
			label: __("Customer Group"),
			fieldtype: "Link",
			options: "Customer Group",
		},
		{
			fieldname: "show_counts",
			label: __("Show counts"),
			fieldtype: "Check",
			default: 0,
		},
	],
	formatter(value, row, column, data, default_formatter) {
		const formatted = default_formatter(value, row, column, data);
		// Shade retention cells: the darker, the more of the cohort came back.
		if (!data || value == null || !column.fieldname.startsWith("period_") || !data.cohort_size) {
			return formatted;
		}
		const counts = frappe.query_report.get_filter_value("show_counts");
		const share = counts ? value / data.cohort_size : value / 100;
		const alpha = Math.min(0.8, 0.08 + share * 0.72).toFixed(2);
		const colour = share > 0.5 ? "color: white;" : "";
		return `<div style="background: rgba(94, 100, 255, ${alpha}); ${colour} margin: -4px -8px; padding: 4px 8px;">${formatted}</div>`;
	},
};
