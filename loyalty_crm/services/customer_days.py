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


# Both invoice tables carry a covering index (company, customer, posting_date, docstatus, ...;
# services.report_scale.INDEXES, added on install and migrate): grouped by its leading columns,
# MariaDB streams this aggregate off the index with no sort and no temporary table (1.4 s
# instead of 8-15 s for 900k Sales Invoices on the benchmark site).


def _aggregate(table: str, extra: str, only_company: str) -> str:
	"""Per company, customer and day: purchases (net >= 0) and returns (net < 0) side by side.

	Grouping by the index's leading columns (not by an expression) is what lets MariaDB stream
	the groups off the covering index."""
	# Table and condition text come from the constants below, never from input.
	return f"""
		select company, customer, posting_date as `date`,
			cast(sum(if(base_net_total >= 0, base_net_total, 0)) as double) as net,
			cast(sum(if(base_net_total >= 0, base_grand_total, 0)) as double) as grand,
			cast(sum(base_net_total >= 0) as signed) as kept,
			cast(sum(base_net_total > 0) as signed) as positive,
			cast(sum(if(base_net_total < 0, base_net_total, 0)) as double) as r_net,
			cast(sum(if(base_net_total < 0, base_grand_total, 0)) as double) as r_grand,
			cast(sum(base_net_total < 0) as signed) as `returns`
		from `{table}`
		where docstatus = 1 and posting_date <= %(as_of)s{extra}{only_company}
			and customer is not null and customer != ''
		group by company, customer, posting_date"""


WIDE = ("company", "customer", "date", "net", "grand", "kept", "positive", "r_net", "r_grand", "returns")
UNIT, RECORD = "\x1f", "\n"  # separators of the packed read; a name holding one falls back


def read(as_of, company: str | None = None) -> pd.DataFrame:
	"""All customer-days up to ``as_of`` (of one company, if given), purchases and returns apart."""
	only_company = " and company = %(company)s" if company else ""
	values = {"as_of": getdate(as_of), "company": company}
	parts = []
	for table, extra in (("tabSales Invoice", " and is_consolidated = 0"), ("tabPOS Invoice", "")):
		wide = read_packed(_aggregate(table, extra, only_company), values)
		if wide is None:
			rows = frappe.db.sql(_aggregate(table, extra, only_company), values)
			wide = pd.DataFrame.from_records(rows, columns=list(WIDE)) if rows else None
		if wide is not None and len(wide):
			# text from the packed read, dates from the plain one: one type before merging
			wide["date"] = pd.to_datetime(wide["date"].astype(str), format="%Y-%m-%d")
			parts.append(long_form(wide))
	if not parts:
		return empty()
	frame = parts[0] if len(parts) == 1 else merge(pd.concat(parts, ignore_index=True))
	return typed(frame)


def read_packed(query: str, values: dict) -> pd.DataFrame | None:
	"""The aggregate's rows packed as text, one database row per customer, parsed by pandas' C
	reader. The bench's driver (PyMySQL) parses every field of every row in Python: 600k
	customer-days x 10 fields took 7 s of a 9 s read; 100k packed rows take a fraction of it.
	None when a name contains a separator (the row counts would not match): read plainly then.
	"""
	import io

	packed = f"""
		select count(*), group_concat(concat_ws(%(unit)s, {", ".join(f"`{c}`" for c in WIDE)}) separator %(record)s)
		from ({query}) days
		group by company, customer"""
	frappe.db.sql("set session group_concat_max_len = 1073741824")
	rows = frappe.db.sql(packed, {**values, "unit": UNIT, "record": RECORD})
	if not rows:
		return pd.DataFrame(columns=list(WIDE))
	expected = sum(int(count) for count, _text in rows)
	text = RECORD.join(text for _count, text in rows)
	if text.count(UNIT) != (len(WIDE) - 1) * expected or text.count(RECORD) != expected - 1:
		return None
	frame = pd.read_csv(
		io.StringIO(text),
		sep=UNIT,
		header=None,
		names=list(WIDE),
		quoting=3,  # csv.QUOTE_NONE: names are taken as they are
		dtype={"company": str, "customer": str, "date": str},
		keep_default_na=False,
		engine="c",
	)
	return frame if len(frame) == expected else None


def long_form(wide: pd.DataFrame) -> pd.DataFrame:
	"""One row for the day's purchases (if any invoice had net >= 0), one for its returns."""
	keys = wide[["company", "customer", "date"]]
	bought = wide["kept"].to_numpy() > 0
	returned = wide["returns"].to_numpy() > 0
	purchases = keys[bought].assign(
		net=wide["net"].to_numpy()[bought],
		grand=wide["grand"].to_numpy()[bought],
		invoices=wide["positive"].to_numpy()[bought],
	)
	returns = keys[returned].assign(
		net=wide["r_net"].to_numpy()[returned],
		grand=wide["r_grand"].to_numpy()[returned],
		invoices=-wide["returns"].to_numpy()[returned],
	)
	return pd.concat([purchases, returns], ignore_index=True)


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
	# rounded: sums of day totals in floats must not fall a hair under a tier threshold
	summed = values.groupby(rows["customer"].to_numpy(), sort=True).sum().round(6)
	if metric != "spend":
		summed = summed.clip(lower=0)
	summed.index = pd.Index(summed.index, name="customer", dtype=object)
	return summed.rename(metric).astype("float64")
