"""Customer lifetime value and retention on a real site: one SQL read, the engine does the rest.

Both reports read the same thing: the net amount each customer spent each day, from submitted
Sales Invoices and POS Invoices in company currency (``base_net_total``). Returns are in the
same tables with negative totals, so summing nets them. Sales Invoices that a POS closing
consolidates (``is_consolidated``) are left out: their POS Invoices, which stay submitted,
already count. The rules (what a purchase is, the models, the cohorts) live in
``loyalty_crm.engine``; this module only reads, calls and shapes.
"""

from __future__ import annotations

import frappe
import numpy as np
import pandas as pd
from frappe import _
from frappe.utils import add_months, cint, flt, getdate, nowdate

from loyalty_crm.engine.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value, customer_summary
from loyalty_crm.engine.cohorts import (
	churn_rate_per_period,
	cohort_matrix,
	repeat_purchase_rate,
	retention_curve,
	retention_rates,
)
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import report_scale

TRANSACTION_COLUMNS = ["customer", "date", "amount"]
DEFAULT_HORIZON_MONTHS = 12
DEFAULT_DISCOUNT_PERCENT = 1.0
DEFAULT_HISTORY_MONTHS = 24
TO_DAYS_1970 = 719528  # MariaDB TO_DAYS('1970-01-01'): TO_DAYS counts from year 0


# ---------------------------------------------------------------------------------------------
# Filters and the one read
# ---------------------------------------------------------------------------------------------


def with_defaults(filters: dict | None) -> frappe._dict:
	"""The filters a report was given, completed with the defaults its form shows."""
	filters = frappe._dict(filters or {})
	filters.company = filters.get("company") or default_company()
	filters.to_date = str(getdate(filters.get("to_date") or nowdate()))
	filters.from_date = str(
		getdate(filters.get("from_date") or add_months(filters.to_date, -DEFAULT_HISTORY_MONTHS))
	)
	if getdate(filters.from_date) > getdate(filters.to_date):
		frappe.throw(_("From Date must be on or before To Date"))
	return filters


def default_company() -> str | None:
	return frappe.defaults.get_user_default("Company") or frappe.defaults.get_global_default("company")


def fetch_transactions(filters: frappe._dict) -> pd.DataFrame:
	"""Net amount per customer per day, in one aggregated query over both invoice tables.

	``filters``: company, from_date, to_date (required) and optionally pos_profile (only POS
	sales of that profile), customer_group and territory (each with its subgroups), segment and
	tier (the Customer fields ``loyalty_crm_segment`` / ``loyalty_crm_tier``).
	"""
	values = {"company": filters.company, "from_date": filters.from_date, "to_date": filters.to_date}
	conditions = [
		"invoice.docstatus = 1",
		"invoice.company = %(company)s",
		"invoice.posting_date between %(from_date)s and %(to_date)s",
	]
	if filters.get("pos_profile"):
		conditions.append("invoice.pos_profile = %(pos_profile)s")
		values["pos_profile"] = filters.pos_profile
	customer_conditions = []
	for fieldname, doctype in (("customer_group", "Customer Group"), ("territory", "Territory")):
		if filters.get(fieldname):
			values[fieldname] = tuple(_with_descendants(doctype, filters.get(fieldname)))
			customer_conditions.append(f"customer.{fieldname} in %({fieldname})s")
	for filter_name, fieldname in (("segment", "loyalty_crm_segment"), ("tier", "loyalty_crm_tier")):
		if filters.get(filter_name):
			values[filter_name] = filters.get(filter_name)
			customer_conditions.append(f"customer.{fieldname} = %({filter_name})s")
	join = ""
	if customer_conditions:
		join = "join `tabCustomer` customer on customer.name = invoice.customer and " + " and ".join(
			customer_conditions
		)

	# With the covering index (services/report_scale.py) MariaDB reads the index in group order:
	# no table rows, no sort (1M invoices: 10 s -> 5 s, most of what is left is the driver
	# decoding rows). Without it, SQL_BIG_RESULT groups by sorting rather than through a temporary
	# table (3x faster at 300k rows). The day goes out as TO_DAYS and the sum as a double: an int
	# and a float decode faster than a date and a Decimal, a sixth of the read at 1M rows.
	hint = "" if report_scale.has_customer_day_index() else "SQL_BIG_RESULT"

	def aggregate(table: str, *extra: str) -> str:
		return f"""
			select {hint} invoice.customer, to_days(invoice.posting_date),
				cast(sum(invoice.base_net_total) as double)
			from `{table}` invoice {join}
			where {" and ".join([*conditions, *extra])}
			group by invoice.customer, invoice.posting_date"""

	# Only fixed SQL fragments are joined above; every user value goes in as a parameter. A customer
	# who bought on one day through both tables gets two rows; the engine nets a customer's day.
	rows = frappe.db.sql(
		aggregate("tabSales Invoice", "invoice.is_consolidated = 0")
		+ "\n\t\t\tunion all"
		+ aggregate("tabPOS Invoice"),
		values,
	)
	frame = pd.DataFrame.from_records(rows, columns=TRANSACTION_COLUMNS)
	days = frame["date"].to_numpy(dtype="int64") - TO_DAYS_1970
	# a day count as datetime64[D], then the same resolution pandas gives dates read as dates
	frame["date"] = pd.to_datetime(days.astype("datetime64[D]"))
	frame["amount"] = frame["amount"].astype("float64")
	return frame


def _with_descendants(doctype: str, name: str) -> list[str]:
	return [name, *frappe.db.get_descendants(doctype, name)]


def customer_details(customers: list[str]) -> pd.DataFrame:
	"""Name, segment and tier of the given customers, in one query, indexed by customer.

	Plain tuples into one frame: at 100k customers a dict per row cost more than the query."""
	columns = ["customer_name", "segment", "tier"]
	if not customers:
		return pd.DataFrame(columns=columns, index=pd.Index([], dtype=object))
	rows = frappe.db.sql(
		"""select name, customer_name, loyalty_crm_segment, loyalty_crm_tier
		from `tabCustomer` where name in %(customers)s""",
		{"customers": tuple(customers)},
	)
	return pd.DataFrame.from_records(rows, columns=["name", *columns], index="name")


# ---------------------------------------------------------------------------------------------
# Customer lifetime value
# ---------------------------------------------------------------------------------------------


def customer_values(
	transactions: pd.DataFrame,
	observation_end: object,
	horizon_months: int = DEFAULT_HORIZON_MONTHS,
	monthly_discount_rate: float = DEFAULT_DISCOUNT_PERCENT / 100,
) -> tuple[pd.DataFrame, list[str]]:
	"""Historical value for every buying customer, plus the model's predictions where it can fit.

	A model that cannot be fitted (everyone bought once, too few customers) is not an error for
	the report: its columns stay NaN and the reason comes back as a (translated) note.
	"""
	summary = customer_summary(transactions, observation_end=observation_end)
	notes: list[str] = []
	for column in ("p_alive", "expected_purchases", "expected_average_spend", "clv"):
		summary[column] = np.nan
	bgnbd = _fit(BetaGeoModel(), summary, notes)
	gamma_gamma = _fit(GammaGammaModel(), summary, notes if bgnbd else [])
	if gamma_gamma is not None and gamma_gamma.params_["q"] <= 1:
		notes.append(_("Gamma-Gamma q <= 1: average spend has no finite mean; CLV is not computed"))
		gamma_gamma = None
	x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
	if bgnbd is not None:
		summary["p_alive"] = bgnbd.conditional_probability_alive(x, t_x, T)
		summary["expected_purchases"] = bgnbd.conditional_expected_number_of_purchases_up_to_time(
			horizon_months * 30.0, x, t_x, T
		)
	if gamma_gamma is not None:
		summary["expected_average_spend"] = gamma_gamma.conditional_expected_average_profit(
			x, summary["monetary_value"].to_numpy(dtype=float)
		)
	if bgnbd is not None and gamma_gamma is not None:
		summary["clv"] = customer_lifetime_value(
			bgnbd, gamma_gamma, summary, int(horizon_months), float(monthly_discount_rate)
		)
	predicted = summary[["p_alive", "expected_purchases", "clv"]]
	if not np.isfinite(predicted.dropna(how="all").to_numpy()).all():
		notes.append(
			_("The model gave no finite prediction for some customers; check the data for extreme values")
		)
		summary[["p_alive", "expected_purchases", "expected_average_spend", "clv"]] = np.nan
	return summary, notes


def _fit(model, summary: pd.DataFrame, notes: list[str]):
	try:
		return model.fit(summary)
	except EngineError as error:
		notes.append(translated(error))
		return None


# ---------------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------------


def retention(transactions: pd.DataFrame, period: str, start: object, end: object) -> frappe._dict:
	"""Cohort counts and rates, the average curve and the period's KPIs, all from the engine."""
	counts = cohort_matrix(transactions, period=period, start=start, end=end)
	curve = retention_curve(counts)
	churn = churn_rate_per_period(counts)
	return frappe._dict(
		counts=counts,
		rates=retention_rates(counts),
		curve=curve,
		churn=churn,
		retention_rate=_value_at(curve, 1),
		churn_rate=_value_at(churn, 1),
		repeat_purchase_rate=repeat_purchase_rate(transactions, start=start, end=end),
		new_customers=int(counts[0].sum()),
	)


def _value_at(series: pd.Series, key: int) -> float | None:
	value = series.get(key)
	return None if value is None or pd.isna(value) else float(value)


def translated(error: EngineError) -> str:
	return error.translated(_)


def as_int(value, default: int) -> int:
	return default if value in (None, "") else cint(value)


def as_float(value, default: float) -> float:
	return default if value in (None, "") else flt(value)
