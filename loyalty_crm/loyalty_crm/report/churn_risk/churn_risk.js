// Churn Risk: customers by churn score with band, drivers and value at risk (from the daily scoring).
frappe.query_reports["Churn Risk"] = {
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
			fieldname: "risk_band",
			label: __("Risk Band"),
			fieldtype: "Select",
			options: ["", "Low", "Medium", "High", "Critical"].map((band) => ({
				value: band,
				label: band ? __(band) : "",
			})),
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
			fieldname: "territory",
			label: __("Territory"),
			fieldtype: "Link",
			options: "Territory",
		},
		{
			fieldname: "customer_group",
			label: __("Customer Group"),
			fieldtype: "Link",
			options: "Customer Group",
		},
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (column.fieldname === "risk_band" && data && data.risk_band) {
			const colour = { Low: "green", Medium: "yellow", High: "orange", Critical: "red" }[data.risk_band];
			value = `<span class="indicator-pill ${colour}">${__(data.risk_band)}</span>`;
		}
		return value;
	},
};
