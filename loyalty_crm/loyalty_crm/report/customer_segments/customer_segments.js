// Customer Segments: members per segment with their RFM scores, sizes and revenue share.
frappe.query_reports["Customer Segments"] = {
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
			fieldname: "segment",
			label: __("Customer Segment"),
			fieldtype: "Link",
			options: "Customer Segment",
		},
		{
			fieldname: "as_of",
			label: __("As Of"),
			fieldtype: "Date",
			description: __("Empty: the memberships of the last refresh. A date: computed live as of that date (nothing saved)."),
		},
	],
};
