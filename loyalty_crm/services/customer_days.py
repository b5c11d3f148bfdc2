"""Customer-days: the one aggregated read of the invoices that segments, tiers, churn and CLV share.

Every submitted Sales Invoice (not the POS closing's consolidated one) and POS Invoice, summed
per company, customer, day and sign (purchases and returns stay apart, so a day of free sales
differs from a day cancelled by a return), with the three measures the stages need: net total
(segments, churn, CLV, tier spend on net), grand total (tier spend on grand) and the invoice
count (+1 per invoice, -1 per credit note: the tier metric "Invoices").

A million invoices become about as many customer-day rows, read once per night instead of
once per stage. Each table is grouped by sorting (``SQL_BIG_RESULT``): at a million invoices
that is faster than a temporary table of the union; a customer-day present in both tables is
merged afterwards in pandas.
"""

from __future__ import annotations

import frappe
import numpy as np
import pandas as pd
from frappe.utils import getdate

COLUMNS = ("company", "customer", "date", "net", "grand", "invoices")


def _aggregate(table: str, extra: str, only_company: str) -> str:
	# Table and condition text come from the constants below, never from input.
	return f"""
		select SQL_BIG_RESULT company, customer, posting_date,
			cast(sum(base_net_total) as double), cast(sum(base_grand_total) as double),
			cast(sum(sign(base_net_total)) as signed)
		from `{table}`
		where docstatus = 1 and posting_date <= %(as_of)s{extra}{only_company}
			and customer is not null and customer != ''
		group by company, customer, posting_date, base_net_total < 0"""


def read(as_of, company: str | None = None) -> pd.DataFrame:
	"""All customer-days up to ``as_of`` (of one company, if given), as categorical frames."""
	only_company = " and company = %(company)s" if company else ""
	values = {"as_of": getdate(as_of), "company": company}
	parts = []
	for table, extra in (("tabSales Invoice", " and is_consolidated = 0"), ("tabPOS Invoice", "")):
		rows = frappe.db.sql(_aggregate(table, extra, only_company), values)
		if rows:
			parts.append(pd.DataFrame.from_records(rows, columns=list(COLUMNS)))
	if not parts:
		return empty()
	frame = parts[0] if len(parts) == 1 else merge(pd.concat(parts, ignore_index=True))
	return typed(frame)


def merge(frame: pd.DataFrame) -> pd.DataFrame:
	"""One row per company, customer, day and sign, when both invoice tables had that day."""
	sign = frame["net"].astype("float64") < 0
	return (
		frame.assign(_returns=sign)
		.groupby(["company", "customer", "date", "_returns"], sort=False, observed=True)[
			["net", "grand", "invoices"]
		]
		.sum()
		.reset_index()
		.drop(columns="_returns")
	)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
	out = pd.DataFrame(
		{
			"company": frame["company"].astype("category"),
			"customer": frame["customer"].astype(object),
			"date": pd.to_datetime(frame["date"]),
			"net": frame["net"].astype("float64"),
			"grand": frame["grand"].astype("float64"),
			"invoices": frame["invoices"].astype("int64"),
		}
	)
	return out.reset_index(drop=True)


def empty() -> pd.DataFrame:
	return typed(pd.DataFrame({column: [] for column in COLUMNS}))


# ---------------------------------------------------------------------------------------------
# What each stage takes from the same rows
# ---------------------------------------------------------------------------------------------


def transactions(days: pd.DataFrame, company: str | None = None) -> pd.DataFrame:
	"""The segments' and churn engines' transactions: (company,) customer, date, amount = net."""
	rows = days if company is None else days[days["company"] == company]
	out = pd.DataFrame(
		{
			"company": rows["company"].astype(object).to_numpy(),
			"customer": rows["customer"].to_numpy(),
			"date": rows["date"].to_numpy(),
			"amount": rows["net"].to_numpy(),
		}
	)
	return out if company is None else out.drop(columns="company")


def window_metric(days: pd.DataFrame, metric: str, start, end, earn_on_grand: bool) -> pd.Series:
	"""The tier ladder's metric per customer over [start, end] (spend or invoices), as
	``services.tiers.window_metric`` computes it in SQL: spend is the sum of the earning total,
	invoices the count of invoices net of credit notes, never below 0."""
	dates = days["date"].to_numpy()
	inside = (dates >= np.datetime64(getdate(start))) & (dates <= np.datetime64(getdate(end)))
	rows = days[inside]
	if metric == "spend":
		values = rows["grand" if earn_on_grand else "net"]
	else:
		values = rows["invoices"].astype("float64")
	summed = values.groupby(rows["customer"].to_numpy(), sort=True).sum()
	if metric != "spend":
		summed = summed.clip(lower=0)
	summed.index = pd.Index(summed.index, name="customer", dtype=object)
	return summed.rename(metric).astype("float64")
