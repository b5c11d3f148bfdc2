// Reports read at a glance: what every Loyalty CRM Script Report does in its `onload`.
//
// Frappe v15 draws a report's filters as bare inputs whose label is only the placeholder, so a
// filter with a value ("12", "1.000") no longer says what it is; we put the label above each
// input. It also takes the breadcrumb from the module of the report's ref_doctype, which for our
// reports on Customer is *Selling*; the reports belong under the Loyalty CRM workspace. Loaded on
// every desk page (app_include_js) so the report scripts stay one line.
frappe.provide("loyalty_crm.reports");

loyalty_crm.reports.setup = function (report) {
	frappe.breadcrumbs.add("Loyalty CRM");
	loyalty_crm.reports.label_filters(report);
};

loyalty_crm.reports.label_filters = function (report) {
	$(report.page.page_form).addClass("lcrm-labelled-filters");
	(report.filters || []).forEach((filter) => {
		const df = filter.df || {};
		const $wrapper = $(filter.wrapper);
		// a checkbox shows its own label; a hidden filter has nothing to label
		if (!df.label || df.fieldtype === "Check" || $wrapper.find(".lcrm-filter-label").length) {
			return;
		}
		$(`<div class="lcrm-filter-label"></div>`).text(__(df.label)).prependTo($wrapper);
	});
};

// Tier names are records shown translated (Loyalty Tier is a translated doctype): the same in
// report columns and grids that link to a tier, where Frappe formats the raw name.
frappe.provide("frappe.form.link_formatters");
frappe.form.link_formatters["Loyalty Tier"] = (value) => (value ? __(value) : value);

$(() => {
	if (document.getElementById("lcrm-report-style")) return;
	$(`<style id="lcrm-report-style">
		.lcrm-filter-label {
			font-size: var(--text-xs);
			color: var(--text-muted);
			line-height: 1.3;
			margin-bottom: 2px;
			white-space: nowrap;
			overflow: hidden;
			text-overflow: ellipsis;
		}
		.lcrm-labelled-filters .frappe-control[data-fieldtype="Check"] {
			align-self: flex-end;
		}
	</style>`).appendTo("head");
});
