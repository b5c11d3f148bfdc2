"""Acquisition cohorts and retention: do the customers we win keep coming back?

A customer belongs to the cohort of the period (month or week) of their first purchase and is
*active* in a period when their net amount there is positive: returns are netted first, so a
period in which a customer only brought goods back does not count as loyalty. Periods are
calendar months or ISO weeks (Monday to Sunday).

Cells of the cohort matrix that a cohort has not lived to see yet (cohort period + age beyond
the end of the data) are NaN, not 0: "nobody came back" and "we cannot know yet" must stay
apart, or recent cohorts drag every retention average down.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import daily_purchases, normalize_transactions

PERIOD_FREQ = {"month": "M", "week": "W-SUN"}
_MONDAY = pd.Timestamp("1970-01-05")


def cohort_matrix(
	transactions: pd.DataFrame, period: str = "month", start: object = None, end: object = None
) -> pd.DataFrame:
	"""Active customers per acquisition cohort (rows) and periods since acquisition (columns 0..n).

	``start``/``end`` (inclusive dates) cut the data first, so a customer's cohort is their first
	purchase inside the window: a window that starts late treats returning old customers as new.
	"""
	frame, last = _windowed(transactions, period, start, end)
	net = frame.groupby(["customer", "period"], as_index=False)["amount"].sum()
	active = net[net["amount"] > 0].copy()
	if active.empty:
		raise EngineError(_("There are no purchases (positive net amounts) to build cohorts from"))
	active["cohort"] = active.groupby("customer")["period"].transform("min")
	active["age"] = active["period"] - active["cohort"]
	counts = active.pivot_table(
		index="cohort", columns="age", values="customer", aggfunc="count", fill_value=0
	)
	ages = np.arange(int(last - counts.index.min()) + 1)
	counts = counts.reindex(columns=ages, fill_value=0).astype("float64")
	unreached = counts.index.to_numpy()[:, None] + ages[None, :] > last
	counts = counts.mask(unreached)
	labels = frame.groupby("period")["date"].min().dt.to_period(PERIOD_FREQ[period])
	counts.index = pd.PeriodIndex(labels.reindex(counts.index).to_numpy(), name="cohort")
	counts.columns = pd.Index(ages, name="periods_since")
	return counts


def retention_rates(counts: pd.DataFrame) -> pd.DataFrame:
	"""Share of each cohort active k periods after acquisition (column 0 is 1 by construction)."""
	_check_counts(counts)
	return counts.div(counts[0], axis=0)


def retention_curve(counts: pd.DataFrame) -> pd.Series:
	"""Average retention by age, weighted by cohort size, over cohorts old enough to have that age.

	Summing actives and sizes (rather than averaging rates) is the size weighting; skipping
	unreached cells keeps young cohorts from counting as churned.
	"""
	_check_counts(counts)
	reached = counts.notna()
	sizes = reached.mul(counts[0], axis=0).where(reached)
	curve = counts.sum(axis=0, min_count=1) / sizes.sum(axis=0, min_count=1)
	return curve.rename("retention")


def churn_rate_per_period(counts: pd.DataFrame) -> pd.Series:
	"""Relative drop in active customers from age k-1 to age k, over cohorts that reached age k.

	Using the same cohorts for both ages keeps the ratio honest; a negative value means
	customers came back (reactivation outweighed loss).
	"""
	_check_counts(counts)
	values = counts.to_numpy()
	now = values[:, 1:]
	before = np.where(np.isnan(now), np.nan, values[:, :-1])
	with np.errstate(invalid="ignore", divide="ignore"):
		churn = 1 - np.nansum(now, axis=0) / np.nansum(before, axis=0)
	churn[np.isnan(now).all(axis=0)] = np.nan
	return pd.Series(churn, index=counts.columns[1:], name="churn_rate")


def repeat_purchase_rate(transactions: pd.DataFrame, start: object = None, end: object = None) -> float:
	"""Share of buying customers with purchases on at least two different days in the window."""
	frame, _last = _windowed(transactions, "month", start, end)
	days = daily_purchases(frame[["customer", "date", "amount"]])
	if days.empty:
		raise EngineError(_("There are no purchases (positive net amounts) to compute a repeat rate from"))
	per_customer = days.groupby("customer").size()
	return float((per_customer >= 2).mean())


def new_vs_repeat_by_month(transactions: pd.DataFrame) -> pd.DataFrame:
	"""New and repeat customers and their net revenue per calendar month.

	Mirrors ERPNext's "Customer Acquisition and Loyalty" report (monthly view) so the two can be
	compared, with two deliberate differences: customers are counted once per month (ERPNext
	counts invoices, so a new customer's second invoice in the same month shows as "repeat"),
	and a customer counts only in months where their net amount is positive. Revenue is every
	net amount of the month: a customer's revenue in their first-purchase month is new-customer
	revenue, all else (including returns before any purchase) is repeat-customer revenue.
	"""
	frame, _last = _windowed(transactions, "month", None, None)
	net = frame.groupby(["customer", "period"], as_index=False)["amount"].sum()
	first = net[net["amount"] > 0].groupby("customer")["period"].min()
	net["is_new"] = net["period"].to_numpy() == net["customer"].map(first).to_numpy()
	net["active"] = net["amount"] > 0
	net["new_active"] = net["is_new"] & net["active"]
	net["repeat_active"] = ~net["is_new"] & net["active"]
	net["new_revenue"] = net["amount"].where(net["is_new"], 0.0)
	net["repeat_revenue"] = net["amount"].where(~net["is_new"], 0.0)
	table = net.groupby("period").agg(
		new_customers=("new_active", "sum"),
		repeat_customers=("repeat_active", "sum"),
		new_customer_revenue=("new_revenue", "sum"),
		repeat_customer_revenue=("repeat_revenue", "sum"),
	)
	months = np.arange(table.index.min(), table.index.max() + 1)
	table = table.reindex(months, fill_value=0)
	table["total"] = table["new_customers"] + table["repeat_customers"]
	table["total_revenue"] = table["new_customer_revenue"] + table["repeat_customer_revenue"]
	table.index = pd.PeriodIndex(
		[pd.Period(year=m // 12, month=m % 12 + 1, freq="M") for m in months], name="month"
	)
	columns = [
		"new_customers",
		"repeat_customers",
		"total",
		"new_customer_revenue",
		"repeat_customer_revenue",
	]
	return table[[*columns, "total_revenue"]].astype({c: "int64" for c in columns[:3]})


def _windowed(
	transactions: pd.DataFrame, period: str, start: object, end: object
) -> tuple[pd.DataFrame, int]:
	"""Normalise, cut to [start, end] and number the periods; also return the last period's number."""
	if period not in PERIOD_FREQ:
		raise EngineError(_("Cohort period must be 'month' or 'week', got {0}"), period)
	frame = normalize_transactions(transactions)
	start_ts, end_ts = _date_or_none(start), _date_or_none(end)
	if start_ts is not None:
		frame = frame[frame["date"] >= start_ts]
	if end_ts is not None:
		frame = frame[frame["date"] <= end_ts]
	if frame.empty:
		raise EngineError(_("There are no transactions between {0} and {1}"), start, end)
	frame = frame.assign(period=_period_number(frame["date"], period))
	last_date = end_ts if end_ts is not None else frame["date"].max()
	last = int(_period_number(pd.Series([last_date]), period).iloc[0])
	return frame, last


def _period_number(dates: pd.Series, period: str) -> pd.Series:
	"""Consecutive integers per month or week, so "periods since" is a plain subtraction."""
	if period == "month":
		return dates.dt.year * 12 + dates.dt.month - 1
	return (dates - _MONDAY).dt.days // 7


def _date_or_none(value: object) -> pd.Timestamp | None:
	if value is None:
		return None
	parsed = pd.to_datetime(value, errors="coerce")
	if pd.isna(parsed):
		raise EngineError(_("{0} is not a date (use YYYY-MM-DD)"), value)
	return pd.Timestamp(parsed).normalize()


def _check_counts(counts: pd.DataFrame) -> None:
	if 0 not in counts.columns or (counts[0] <= 0).any():
		raise EngineError(_("Cohort counts need a column 0 with every cohort's (positive) size"))
