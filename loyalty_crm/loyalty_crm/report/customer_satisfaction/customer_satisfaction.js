// Copyright (c) 2026, loyalty_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["Customer Satisfaction"] = {
	// filter labels and the Loyalty CRM breadcrumb: public/js/loyalty_reports.js
	onload: (report) => loyalty_crm.reports.setup(report),
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
		},
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_months(frappe.datetime.get_today(), -12),
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
			fieldname: "pos_profile",
			label: __("POS Profile"),
			fieldtype: "Link",
			options: "POS Profile",
		},
		{
			fieldname: "segment",
			label: __("Customer Segment"),
			fieldtype: "Link",
			options: "Customer Segment",
		},
		{
			fieldname: "tier",
			label: __("Loyalty Tier"),
			fieldtype: "Link",
			options: "Loyalty Tier",
		},
		{
			fieldname: "show_responses",
			label: __("Show Responses"),
			fieldtype: "Check",
			default: 0,
		},
	],
	formatter(value, row, column, data, default_formatter) {
		const formatted = default_formatter(value, row, column, data);
		if (column.fieldname === "responses" && data && data.month_start) {
			const filters = { submitted_on: ["Between", [data.month_start, data.month_end]] };
			const report_filters = frappe.query_report.get_filter_values();
			if (report_filters.company) filters.company = report_filters.company;
			if (report_filters.pos_profile) filters.pos_profile = report_filters.pos_profile;
			const query = Object.entries(filters)
				.map(([key, val]) => `${key}=${encodeURIComponent(typeof val === "string" ? val : JSON.stringify(val))}`)
				.join("&");
			return `<a href="/app/satisfaction-survey?${query}" title="${__("Show these responses")}">${formatted}</a>`;
		}
		return formatted;
	},
};
