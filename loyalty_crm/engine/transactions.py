"""The one shape every analytics function takes: a transactions DataFrame.

Columns: ``customer`` (str), ``date`` (datetime64, day grain), ``amount`` (float, net of
discounts; negative for returns/credit notes). Optional: ``invoice``, ``company``.
The Frappe layer builds it with one SQL query over submitted invoices; the console command
reads it from a CSV. Both go through :func:`normalize_transactions` so the engine sees one
validated shape, whatever the source.
"""

from __future__ import annotations

import pandas as pd

from loyalty_crm.engine.errors import EngineError, _

REQUIRED_COLUMNS = ("customer", "date", "amount")


def normalize_transactions(frame: pd.DataFrame) -> pd.DataFrame:
	"""Validate once at the boundary and return a copy with clean dtypes.

	Dates are truncated to the day: the models work at daily grain, and two receipts of one
	customer on the same day are one shopping trip.
	"""
	missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
	if missing:
		raise EngineError(_("Transactions are missing the column(s): {0}"), ", ".join(missing))
	out = frame.copy()
	out["customer"] = _clean_customers(out["customer"])
	blank = out["customer"].isna() | (out["customer"] == "")
	if blank.any():
		raise EngineError(_("Transactions have no customer on row(s): {0}"), _row_numbers(blank))
	dates = pd.to_datetime(out["date"], errors="coerce")
	if dates.isna().any():
		raise EngineError(_("Transactions have unreadable dates on row(s): {0}"), _row_numbers(dates.isna()))
	out["date"] = (
		dates.dt.tz_localize(None).dt.normalize() if dates.dt.tz is not None else dates.dt.normalize()
	)
	amounts = pd.to_numeric(out["amount"], errors="coerce")
	if amounts.isna().any():
		raise EngineError(
			_("Transactions have non-numeric amounts on row(s): {0}"), _row_numbers(amounts.isna())
		)
	out["amount"] = amounts.astype("float64")
	return out.reset_index(drop=True)


def daily_purchases(transactions: pd.DataFrame) -> pd.DataFrame:
	"""Net each customer's day (returns cancel the purchase they return) and keep the purchase days.

	A day whose net is negative, or zero because a return cancelled it, is not a purchase:
	counting it would make a return look like loyalty. A day with only free sales (net zero,
	nothing returned) still is one: the customer came and bought.
	"""
	daily = transactions.groupby(["customer", "date"], as_index=False, sort=True).agg(
		amount=("amount", "sum"), smallest=("amount", "min")
	)
	bought = (daily["amount"] > 0) | ((daily["amount"] == 0) & (daily["smallest"] >= 0))
	return daily.loc[bought, ["customer", "date", "amount"]].reset_index(drop=True)


def _clean_customers(customers: pd.Series) -> pd.Series:
	"""Strip each distinct id once: a million rows usually hold a hundred thousand customers."""
	codes, uniques = pd.factorize(customers, use_na_sentinel=True)
	cleaned = pd.Index(uniques.astype(str)).str.strip()
	values = cleaned.take(codes).astype(object)
	values = values.where(codes >= 0, None)
	return pd.Series(values, index=customers.index, dtype=object)


def _row_numbers(mask: pd.Series, limit: int = 10) -> str:
	"""1-based data row numbers as a person counts them in a spreadsheet (header is row 1)."""
	rows = [str(int(i) + 2) for i in mask[mask].index[:limit]]
	more = int(mask.sum()) - len(rows)
	return ", ".join(rows) + (f" (+{more})" if more > 0 else "")
