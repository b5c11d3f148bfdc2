"""A covering index on Sales Invoice and POS Invoice for the reports' per-customer-per-day sums,
and the four analytics reports prepared above the invoice count in Loyalty Settings (see
services/report_scale.py for why; measured with benchmarks/reports.py)."""


def execute():
	from loyalty_crm.services import report_scale

	report_scale.add_customer_day_indexes()
	report_scale.update_prepared_reports()
