"""The Loyalty CRM workspace's live numbers: the methods behind its Number Cards and Dashboard Charts.

Each card and chart is one whitelisted method here and reads with **one aggregated query** (the
retention curve: the one aggregated read of the retention report, then the cohort engine), so
the workspace costs a handful of indexed GROUP BYs whatever the size of the ledger. Each method
first checks that the user may read the doctype it aggregates and refuses otherwise, because a
workspace card is callable by anyone who can reach the desk.

Definitions (the same everywhere in the app):

* **Members with points**: customers whose ledger balance in some company is above zero.
* **Points outstanding**: the sum of positive balances per customer and company (a customer in
  debt does not lower what others are owed); the **liability** is that times the Value of One
  Point, rounded to the currency once.
* **Points earned** in a period: rows that award points (Earn, Birthday, Campaign), less what
  credit notes took back (negative Return rows) and what cancellations reversed (Reverse rows
  of those), on the day each row was posted. **Points redeemed**: points spent on invoices
  (Redeem rows), less points refunded (positive Return rows) and cancellations of either.
  Expiry, adjustments, opening balances and settlements are neither.
* **NPS**: share of promoters (9-10) minus share of detractors (0-6) among answers that gave an
  NPS, in points from -100 to 100; surveys that skipped the question do not count.
* **At churn risk**: customers with a Churn Score in the High or Critical band (0 until churn
  scoring is installed).

``filters`` may carry ``company`` (cards and charts then count that company only).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import frappe
from frappe import _
from frappe.utils import add_days, add_months, flt, get_first_day, getdate, nowdate

from loyalty_crm.services import ledger

LEDGER = "Loyalty Ledger Entry"
SURVEY = "Satisfaction Survey"
CHURN = "Churn Score"

EARNING_TYPES = ("Earn", "Birthday", "Campaign")
RISK_BANDS = ("High", "Critical")
NPS_DAYS = 90
CHART_MONTHS = 12

# A row's points count as earned / redeemed when this holds for the row itself, or (for a
# Reverse row) for the row it reverses. Constants only: never built from input.
_EARNED = (
	"({t}.entry_type in ('Earn', 'Birthday', 'Campaign') or ({t}.entry_type = 'Return' and {t}.points < 0))"
)
_REDEEMED = "({t}.entry_type = 'Redeem' or ({t}.entry_type = 'Return' and {t}.points > 0))"


def _filters(filters) -> frappe._dict:
	"""Charts send a dict; a Number Card sends a list of [doctype, field, "=", value] rows."""
	filters = frappe.parse_json(filters) or {}
	if isinstance(filters, list):
		filters = {row[1]: row[3] for row in filters if isinstance(row, list | tuple) and len(row) >= 4}
	return frappe._dict(company=filters.get("company")) if filters.get("company") else frappe._dict()


def _require(doctype: str) -> None:
	if not frappe.has_permission(doctype, "read"):
		frappe.throw(
			_("You need read access to {0} to see this figure").format(_(doctype)),
			frappe.PermissionError,
		)


def _company_clause(filters: frappe._dict, column: str) -> str:
	return f" and {column} = %(company)s" if filters.get("company") else ""


def _counted(type_condition: str) -> str:
	"""SQL for ``entry`` rows of a kind, including Reverse rows that undo such a row."""
	return (
		f"({type_condition.format(t='entry')} or (entry.entry_type = 'Reverse'"
		f" and {type_condition.format(t='reversed')}))"
	)


# ---------------------------------------------------------------------------------- number cards


@frappe.whitelist()
def members_with_points(filters=None) -> dict:
	filters = _filters(filters)
	_require(LEDGER)
	value = frappe.db.sql(
		f"""
		select count(distinct customer) from (
			select customer from `tab{LEDGER}`
			where 1 = 1 {_company_clause(filters, "company")}
			group by customer, company
			having sum(points) > 0
		) balances
		""",
		filters,
	)[0][0]
	return {
		"value": int(value or 0),
		"fieldtype": "Int",
		"route": ["List", "Customer"],
		"route_options": {"loyalty_crm_points_balance": [">", 0]},
	}


def _outstanding(filters: frappe._dict) -> Decimal:
	value = frappe.db.sql(
		f"""
		select coalesce(sum(balance), 0) from (
			select sum(points) as balance from `tab{LEDGER}`
			where 1 = 1 {_company_clause(filters, "company")}
			group by customer, company
			having sum(points) > 0
		) balances
		""",
		filters,
	)[0][0]
	return ledger.to_decimal(value)


@frappe.whitelist()
def points_outstanding(filters=None) -> dict:
	filters = _filters(filters)
	_require(LEDGER)
	return {"value": flt(_outstanding(filters)), "fieldtype": "Float", "route": ["List", LEDGER]}


@frappe.whitelist()
def points_liability(filters=None) -> dict:
	"""What the outstanding points would cost if all were redeemed today, in company currency."""
	filters = _filters(filters)
	_require(LEDGER)
	point_value = ledger.to_decimal(ledger.settings().point_value)
	value = (_outstanding(filters) * point_value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
	return {"value": flt(value), "fieldtype": "Currency"}


def _earned_and_redeemed(filters: frappe._dict, start, end, by_month: bool = False) -> list[dict]:
	month = "date_format(entry.posting_date, '%%Y-%%m-01')" if by_month else "null"
	return frappe.db.sql(
		f"""
		select {month} as month,
			coalesce(sum(case when {_counted(_EARNED)} then entry.points else 0 end), 0) as earned,
			coalesce(-sum(case when {_counted(_REDEEMED)} then entry.points else 0 end), 0) as redeemed
		from `tab{LEDGER}` entry
		left join `tab{LEDGER}` reversed on reversed.name = entry.reverses
		where entry.posting_date between %(start)s and %(end)s {_company_clause(filters, "entry.company")}
		group by month
		order by month
		""",
		{**filters, "start": getdate(start), "end": getdate(end)},
		as_dict=True,
	)


def _this_month() -> tuple:
	today = getdate(nowdate())
	return get_first_day(today), today


@frappe.whitelist()
def points_earned_this_month(filters=None) -> dict:
	filters = _filters(filters)
	_require(LEDGER)
	rows = _earned_and_redeemed(filters, *_this_month())
	return {"value": flt(rows[0].earned) if rows else 0.0, "fieldtype": "Float"}


@frappe.whitelist()
def points_redeemed_this_month(filters=None) -> dict:
	filters = _filters(filters)
	_require(LEDGER)
	rows = _earned_and_redeemed(filters, *_this_month())
	return {"value": flt(rows[0].redeemed) if rows else 0.0, "fieldtype": "Float"}


def _nps_rows(filters: frappe._dict, start, end, by_month: bool = False) -> list[dict]:
	month = "date_format(submitted_on, '%%Y-%%m-01')" if by_month else "null"
	return frappe.db.sql(
		f"""
		select {month} as month, count(*) as answers,
			sum(nps >= 9) as promoters, sum(nps <= 6) as detractors
		from `tab{SURVEY}`
		where nps_answered = 1 and submitted_on >= %(start)s and submitted_on < %(end)s
			{_company_clause(filters, "company")}
		group by month
		order by month
		""",
		{**filters, "start": getdate(start), "end": add_days(getdate(end), 1)},
		as_dict=True,
	)


def _nps(row) -> float | None:
	if not row or not row.answers:
		return None
	return round((flt(row.promoters) - flt(row.detractors)) * 100 / flt(row.answers), 1)


@frappe.whitelist()
def nps_last_90_days(filters=None) -> dict:
	"""NPS of the answers submitted in the last 90 days (today included)."""
	filters = _filters(filters)
	_require(SURVEY)
	today = getdate(nowdate())
	rows = _nps_rows(filters, add_days(today, -(NPS_DAYS - 1)), today)
	value = _nps(rows[0] if rows else None)
	return {
		"value": value if value is not None else 0,
		"fieldtype": "Float",
		"route": ["query-report", "Customer Satisfaction"],
	}


@frappe.whitelist()
def customers_at_churn_risk(filters=None) -> dict:
	"""Customers scored High or Critical; 0 while churn scoring is not installed."""
	filters = _filters(filters)
	if not frappe.db.table_exists(CHURN):
		return {"value": 0, "fieldtype": "Int"}
	_require(CHURN)
	value = frappe.db.sql(
		f"""
		select count(distinct customer) from `tab{CHURN}`
		where risk_band in %(bands)s {_company_clause(filters, "company")}
		""",
		{**filters, "bands": RISK_BANDS},
	)[0][0]
	return {
		"value": int(value or 0),
		"fieldtype": "Int",
		"route": ["List", CHURN],
		"route_options": {"risk_band": ["in", list(RISK_BANDS)]},
	}


# ---------------------------------------------------------------------------------- charts


def _months(end=None, count: int = CHART_MONTHS) -> list:
	"""First days of the last ``count`` months, oldest first, the current month last."""
	last = get_first_day(getdate(end or nowdate()))
	return [getdate(add_months(last, -offset)) for offset in range(count - 1, -1, -1)]


def _month_label(day) -> str:
	return getdate(day).strftime("%Y-%m")


@frappe.whitelist()
def points_by_month(chart_name=None, filters=None, **_ignored) -> dict:
	"""Points earned and redeemed per month over the last 12 months (months without rows: 0)."""
	filters = _filters(filters)
	_require(LEDGER)
	months = _months()
	rows = {
		getdate(row.month): row for row in _earned_and_redeemed(filters, months[0], nowdate(), by_month=True)
	}
	return {
		"labels": [_month_label(month) for month in months],
		"datasets": [
			{"name": _("Points Earned"), "values": [flt(rows[m].earned) if m in rows else 0 for m in months]},
			{
				"name": _("Points Redeemed"),
				"values": [flt(rows[m].redeemed) if m in rows else 0 for m in months],
			},
		],
	}


@frappe.whitelist()
def members_per_tier(chart_name=None, filters=None, **_ignored) -> dict:
	"""Customers holding each tier, in ladder order (tiers nobody holds show 0)."""
	_filters(filters)
	# counts only, no customer named: the tier ladder's readers may see it
	_require("Loyalty Tier")
	rows = frappe.db.sql(
		"""
		select tier.name, tier.`rank`, count(customer.name) as members
		from `tabLoyalty Tier` tier
		left join `tabCustomer` customer on customer.loyalty_crm_tier = tier.name
		group by tier.name, tier.`rank`
		order by tier.`rank`
		""",
		as_dict=True,
	)
	return {
		"labels": [_(row.name) for row in rows],
		"datasets": [{"name": _("Members"), "values": [int(row.members) for row in rows]}],
	}


@frappe.whitelist()
def nps_by_month(chart_name=None, filters=None, **_ignored) -> dict:
	"""NPS per month over the last 12 months, for the months that have answers.

	A month without answers has no NPS; the charts library would draw it as 0 (a real score),
	so such months are left out and the labels show which months are there.
	"""
	filters = _filters(filters)
	_require(SURVEY)
	months = _months()
	rows = {getdate(row.month): row for row in _nps_rows(filters, months[0], nowdate(), by_month=True)}
	answered = [month for month in months if _nps(rows.get(month)) is not None]
	return {
		"labels": [_month_label(month) for month in answered],
		"datasets": [{"name": _("NPS"), "values": [_nps(rows[month]) for month in answered]}],
	}


@frappe.whitelist()
def retention_curve(chart_name=None, filters=None, **_ignored) -> dict:
	"""The average monthly retention curve of the last 12 months' cohorts (the retention report's)."""
	from loyalty_crm.engine.errors import EngineError
	from loyalty_crm.services import clv

	filters = _filters(filters)
	# the same figures as the Customer Retention report: whoever may run the report may see them
	if not frappe.get_doc("Report", "Customer Retention").is_permitted():
		frappe.throw(
			_("You need access to the {0} report to see this chart").format(_("Customer Retention")),
			frappe.PermissionError,
		)
	filters = clv.with_defaults({"company": filters.get("company"), "from_date": _months()[0]})
	transactions = clv.fetch_transactions(filters)
	empty = {"labels": [], "datasets": [{"name": _("Average Retention (%)"), "values": []}]}
	if transactions.empty:
		return empty
	try:
		curve = clv.retention(transactions, "month", filters.from_date, filters.to_date).curve.dropna()
	except EngineError:
		return empty
	return {
		"labels": [_("Month {0}").format(int(age)) for age in curve.index],
		"datasets": [
			{"name": _("Average Retention (%)"), "values": [round(float(v) * 100, 2) for v in curve]}
		],
	}
