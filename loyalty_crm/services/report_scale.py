"""What keeps the analytics reports fast on a million invoices, and off the web request above a size.

Two things, both measured with ``benchmarks/reports.py`` on 1M invoice rows (README, *Report speed*):

* **A covering index on the invoice tables** (``lcrm_customer_days``). The CLV and Retention
  reports, and the nightly read, sum ``base_net_total`` per customer and day for one company.
  Without it MariaDB reads the whole of ``tabSales Invoice``, a table of some 250 columns, to use
  five of them: 10 s of the 13 s the CLV report took. With an index holding exactly those
  columns in the order the report groups by (company, customer, posting date), it reads the
  narrow index in group order, no table rows and no sort. It is an index on an ERPNext table,
  so it is added by ``after_install`` and a patch (idempotent), re-checked by ``after_migrate``,
  and dropped on uninstall. Its cost is one more index entry per invoice submitted.

* **Frappe Prepared Reports above a size.** Frappe runs a Report whose ``prepared_report`` is
  set in a background job (``long`` queue) and the desk shows the stored result with the time it
  was made; below the size the report computes in the request as before. The size is the count
  of submitted invoice rows against *Prepared Reports Above (Invoices)* in Loyalty Settings.
  The check runs after every migrate, daily, and when that setting changes; it only writes a
  Report whose flag has to change. Frappe itself also turns the flag on for a report that once
  ran longer than 15 s in a request; the daily check turns it back off below the size.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import cint

# The reports that read every invoice (CLV, Retention) or a row per customer (Segments, Churn Risk).
REPORTS = ("Customer Lifetime Value", "Customer Retention", "Customer Segments", "Churn Risk")
DEFAULT_THRESHOLD = 500_000
THRESHOLD_FIELD = "prepared_report_threshold"

INDEX_NAME = "lcrm_customer_days"
# (table, columns): the equality column first, then the GROUP BY columns in order, then what the
# reads filter on or sum, so the aggregate never touches a table row.
INDEXES = (
	(
		"tabSales Invoice",
		(
			"company",
			"customer",
			"posting_date",
			"docstatus",
			"is_consolidated",
			"base_net_total",
			"base_grand_total",
		),
	),
	(
		"tabPOS Invoice",
		("company", "customer", "posting_date", "docstatus", "base_net_total", "base_grand_total"),
	),
)


# ---------------------------------------------------------------------------------------------
# The covering index
# ---------------------------------------------------------------------------------------------


def has_customer_day_index(table: str = "tabSales Invoice") -> bool:
	return bool(frappe.db.has_index(table, INDEX_NAME))


def add_customer_day_indexes() -> list[str]:
	"""Adds the index to each invoice table that lacks it; returns the tables changed.

	``ALTER TABLE`` commits; callers are install, migrate and the patch, never a request.
	"""
	added = []
	for table, columns in INDEXES:
		if not has_customer_day_index(table):
			frappe.db.sql_ddl(
				f"alter table `{table}` add index if not exists `{INDEX_NAME}` ({', '.join(columns)})"
			)
			added.append(table)
	return added


def drop_customer_day_indexes() -> None:
	for table, _columns in INDEXES:
		if has_customer_day_index(table):
			frappe.db.sql_ddl(f"alter table `{table}` drop index `{INDEX_NAME}`")


# ---------------------------------------------------------------------------------------------
# Prepared reports above a size
# ---------------------------------------------------------------------------------------------


def invoice_rows() -> int:
	"""Submitted invoice rows the reports read: Sales Invoices not consolidated by POS closing,
	and POS Invoices. A count over the covering index, well under a second at a million rows."""
	sales = frappe.db.sql(
		"select count(*) from `tabSales Invoice` where docstatus = 1 and is_consolidated = 0"
	)[0][0]
	pos = frappe.db.sql("select count(*) from `tabPOS Invoice` where docstatus = 1")[0][0]
	return cint(sales) + cint(pos)


def threshold() -> int:
	value = frappe.db.get_single_value("Loyalty Settings", THRESHOLD_FIELD)
	return DEFAULT_THRESHOLD if value in (None, "") else cint(value)


def update_prepared_reports(rows: int | None = None) -> frappe._dict:
	"""Turns ``prepared_report`` on for the four reports above the threshold and off at or below it
	(a threshold of 0 means always on).

	Returns the rows counted, the threshold, whether the reports are now prepared, and the
	reports whose flag changed (only those are written).
	"""
	rows = invoice_rows() if rows is None else rows
	limit = threshold()
	prepared = int(limit == 0 or rows > limit)  # 0: always, even on a site with no invoices yet
	changed = []
	for report in REPORTS:
		current = frappe.db.get_value("Report", report, "prepared_report")
		if current is None:  # not synced yet (first install before the reports exist)
			continue
		if cint(current) != prepared:
			frappe.db.set_value("Report", report, "prepared_report", prepared, update_modified=False)
			changed.append(report)
	return frappe._dict(rows=rows, threshold=limit, prepared=bool(prepared), changed=changed)


def update_prepared_reports_daily() -> None:
	"""Scheduler entry: the invoice count grows every day, so the reports may cross the size."""
	update_prepared_reports()
	frappe.db.commit()


def validate_threshold(settings) -> None:
	"""Loyalty Settings: the size must be a whole number of invoices, 0 or more."""
	value = settings.get(THRESHOLD_FIELD)
	if value not in (None, "") and cint(value) < 0:
		frappe.throw(
			_(
				"Prepared Reports Above (Invoices) cannot be negative (got {0}): enter 0 to always prepare the reports, or a number of invoices"
			).format(value),
			title=_("Invalid Value"),
		)


def as_of_card(as_of, label: str | None = None) -> dict:
	"""A report-summary card stating the date the figures are as of.

	Frappe hides a report's message when it shows a prepared result, but renders its report
	summary, so the date goes here to be seen in both modes."""
	return {"value": as_of, "label": label or _("Data As Of"), "datatype": "Date", "indicator": "Grey"}
