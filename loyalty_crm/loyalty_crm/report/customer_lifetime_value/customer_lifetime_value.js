// Copyright (c) 2026, loyalty_crm developers and contributors
// For license information, please see license.txt

frappe.query_reports["Customer Lifetime Value"] = {
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
			fieldname: "horizon_months",
			label: __("Horizon (Months)"),
			fieldtype: "Int",
			default: 12,
			reqd: 1,
		},
		{
			fieldname: "discount_rate",
			label: __("Monthly Discount Rate (%)"),
			fieldtype: "Float",
			default: 1,
		},
		{
			fieldname: "customer_group",
			label: __("Customer Group"),
			fieldtype: "Link",
			options: "Customer Group",
		},
		{
			fieldname: "territory",
			label: __("Territory"),
			fieldtype: "Link",
			options: "Territory",
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
	],
};
