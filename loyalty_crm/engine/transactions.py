"""The one shape every analytics function takes: a transactions DataFrame.

Columns: ``customer`` (str), ``date`` (datetime64, day grain), ``amount`` (float, net of
discounts; negative for returns/credit notes). Optional: ``invoice``, ``company``.
The Frappe layer builds it with one SQL query over submitted invoices; the console command
reads it from a CSV. Both go through :func:`normalize_transactions` so the engine sees one
validated shape, whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _

REQUIRED_COLUMNS = ("customer", "date", "amount")
NET_ZERO_TOLERANCE = 1e-12  # a day's net within this share of its gross is zero: float noise, not money


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

	A net within NET_ZERO_TOLERANCE of the day's gross counts as zero (see ``customer_days``).
	Rows come out sorted by customer, then date; the dates keep the input's datetime unit.
	"""
	customers, names = _sorted_codes(transactions["customer"])
	day, unreadable = _day_numbers(transactions["date"])
	amount = np.asarray(transactions["amount"].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
	kept = (customers >= 0) & ~unreadable  # as groupby, which leaves out missing keys
	if not kept.all():
		customers, day, amount = customers[kept], day[kept], amount[kept]
	days = customer_days(EncodedTransactions(customers, day, amount, names))
	bought = days.purchase
	unit = transactions["date"].dtype
	unit = unit if isinstance(unit, np.dtype) and unit.kind == "M" else np.dtype("datetime64[ns]")
	dates = days.day[bought].astype("datetime64[D]").astype(unit)
	return pd.DataFrame({"customer": names[days.customer[bought]], "date": dates, "amount": days.net[bought]})


def _sorted_codes(customers: pd.Series) -> tuple[np.ndarray, np.ndarray]:
	"""Codes into the sorted distinct values, kept as they are (integer codes stay integers); -1 if missing.

	``daily_purchases`` is also called on frames whose customers are already integer codes
	(rfm, lifecycle), and returns them in the caller's own values, as the groupby it replaces did.
	"""
	if isinstance(customers.dtype, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(customers.dtype):
		codes, uniques = pd.factorize(customers, sort=True)
		return codes.astype(np.int64), np.asarray(uniques)
	codes, uniques = _factorize_runs(_object_values(customers))
	order = np.argsort(uniques, kind="stable")
	rank = np.empty(len(order) + 1, dtype=np.int64)
	rank[order] = np.arange(len(order))
	rank[-1] = -1  # code -1 (missing) stays -1
	return rank[codes], uniques[order]


@dataclass
class EncodedTransactions:
	"""Transactions as plain arrays: what the large-data paths (the CLV summary) work on.

	Ten million rows of customer names and Timestamps are slow to group: hashing a Python string
	costs a cache miss per row, a Timestamp comparison more. Here each customer is an integer
	code into ``names`` (sorted, so code order is name order and results come out sorted by
	customer as a groupby would give them) and each date a day number (days since 1970-01-01),
	so grouping is integer arithmetic and one sort.
	"""

	customer: np.ndarray  # int64 codes into names
	day: np.ndarray  # int64 days since 1970-01-01
	amount: np.ndarray  # float64, negative for returns
	names: np.ndarray  # object array of the distinct customer names, sorted

	def until(self, last_day: int) -> EncodedTransactions:
		"""Only the rows on or before ``last_day`` (a day number): how a calibration period is cut."""
		if len(self.day) and int(self.day.max()) <= last_day:
			return self
		kept = self.day <= last_day
		return EncodedTransactions(self.customer[kept], self.day[kept], self.amount[kept], self.names)


@dataclass
class CustomerDays:
	"""Each customer's days, netted, sorted by customer code then day; ``purchase`` marks the trips.

	``net`` is the day's sum of amounts (returns included); ``purchase`` applies the rule of
	:func:`daily_purchases`.
	"""

	customer: np.ndarray
	day: np.ndarray
	net: np.ndarray
	purchase: np.ndarray


def encode_transactions(frame: pd.DataFrame) -> EncodedTransactions:
	"""Validate like :func:`normalize_transactions` (same checks, same messages) and encode as arrays.

	Customer names are stripped and compared after stripping, dates truncated to the day (a
	time-zone-aware date keeps its local day), amounts made floats. A categorical customer
	column is used as it is (its codes are the factorisation); otherwise rows already grouped by
	customer, as the site's SQL returns them, are factorised one run of equal names at a time.
	"""
	missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
	if missing:
		raise EngineError(_("Transactions are missing the column(s): {0}"), ", ".join(missing))
	customer, names = _customer_codes(frame["customer"])
	blank = customer < 0
	if blank.any():
		raise EngineError(
			_("Transactions have no customer on row(s): {0}"),
			_row_numbers(pd.Series(blank, index=frame.index)),
		)
	day, unreadable = _day_numbers(frame["date"])
	if unreadable.any():
		raise EngineError(
			_("Transactions have unreadable dates on row(s): {0}"),
			_row_numbers(pd.Series(unreadable, index=frame.index)),
		)
	amounts = frame["amount"]
	if amounts.dtype != np.float64:
		amounts = pd.to_numeric(amounts, errors="coerce")
	amount = np.asarray(amounts.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
	not_numbers = np.isnan(amount)
	if not_numbers.any():
		raise EngineError(
			_("Transactions have non-numeric amounts on row(s): {0}"),
			_row_numbers(pd.Series(not_numbers, index=frame.index)),
		)
	return EncodedTransactions(customer, day, amount, names)


def customer_days(encoded: EncodedTransactions) -> CustomerDays:
	"""Net every customer-day with one stable sort and sequential reductions (no hashing of pairs).

	The (customer, day) pair is one integer, so rows already in customer order (the site's SQL
	order) need no sort at all, and rows in two sorted blocks (Sales then POS Invoices) merge in
	one linear pass of the stable sort. A net within NET_ZERO_TOLERANCE of the day's gross is
	taken as exactly zero: 30.3 - 20.2 - 10.1 is 1.8e-15 in floating point, and a return that
	cancels its purchase must not become a trip by rounding.
	"""
	n = len(encoded.customer)
	if n == 0:
		empty = np.empty(0, dtype=np.int64)
		return CustomerDays(empty, empty, np.empty(0, dtype=np.float64), np.empty(0, dtype=bool))
	first_day = int(encoded.day.min())
	span = int(encoded.day.max()) - first_day + 1
	key = encoded.customer * span + (encoded.day - first_day)
	amount = encoded.amount
	descents = int(np.count_nonzero(key[1:] < key[:-1]))
	if descents:
		key, order = _stable_sort(key, descents)
		amount = amount[order]
	starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
	net = np.add.reduceat(amount, starts)
	gross = np.add.reduceat(np.abs(amount), starts)
	smallest = np.minimum.reduceat(amount, starts)
	zero = np.abs(net) <= NET_ZERO_TOLERANCE * gross
	net[zero] = 0.0
	purchase = (net > 0) | (zero & (smallest >= 0))
	keys = key[starts]
	return CustomerDays(keys // span, keys % span + first_day, net, purchase)


def _stable_sort(key: np.ndarray, descents: int) -> tuple[np.ndarray, np.ndarray]:
	"""Sorted non-negative keys and the stable order that sorts them.

	Nearly sorted keys (the site's two sorted blocks) go to numpy's stable sort, timsort, which
	merges runs in linear time. Shuffled keys are packed with their row number into one int64
	and sorted by value (numpy's vectorised quicksort, about twice as fast as an argsort);
	the row number in the low bits makes it stable.
	"""
	n = len(key)
	row_bits = max(int(n - 1).bit_length(), 1)
	key_bits = max(int(key.max()).bit_length(), 1)
	if descents * 100 < n or row_bits + key_bits > 62:
		order = np.argsort(key, kind="stable")
		return key[order], order
	packed = np.sort((key << row_bits) | np.arange(n, dtype=np.int64))
	return packed >> row_bits, packed & ((1 << row_bits) - 1)


def _customer_codes(customers: pd.Series) -> tuple[np.ndarray, np.ndarray]:
	"""Codes into the sorted, stripped distinct names; -1 where the customer is missing or blank."""
	if isinstance(customers.dtype, pd.CategoricalDtype):
		codes = customers.cat.codes.to_numpy().astype(np.int64)
		uniques = np.asarray(customers.cat.categories, dtype=object)
	else:
		codes, uniques = _factorize_runs(_object_values(customers))
	merged, names, blank = _stripped_names(uniques)
	order = _argsort_text(names)
	rank = np.empty(len(order), dtype=np.int64)
	rank[order] = np.arange(len(order))
	rank[blank] = -1  # blank after stripping: as missing (the caller refuses both)
	mapping = np.append(rank if merged is None else rank[merged], -1)  # code -1 (missing) stays -1
	return mapping[codes], names[order]


def _object_values(values: pd.Series) -> np.ndarray:
	"""The values as an object array with NaN or None for missing, without a copy where pandas has one."""
	if getattr(values.dtype, "na_value", None) is pd.NA:  # pd.NA cannot be compared
		return values.to_numpy(dtype=object, na_value=None)
	return np.asarray(values.to_numpy(), dtype=object)


_STRING_DTYPE = getattr(getattr(np, "dtypes", None), "StringDType", None)  # numpy >= 2


def _stripped_names(uniques: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
	"""Distinct names as text with surrounding spaces removed, merged where that made two equal.

	Returns the code of each of ``uniques`` in the merged names (None when nothing merged, the
	usual case), the names, and which are blank. With numpy's string dtype the strip runs in C
	and is compared, so the million names of clean data are neither rebuilt nor hashed again.
	"""
	if _STRING_DTYPE is None:
		cleaned = pd.Index(uniques, dtype=object).astype(str).str.strip().to_numpy(dtype=object)
		merged, names = pd.factorize(cleaned)
		names = np.asarray(names, dtype=object)
		return merged, names, names == ""
	text = np.asarray(uniques, dtype=object).astype(_STRING_DTYPE())
	stripped = np.strings.strip(text)
	if (stripped != text).any():
		merged, names = pd.factorize(stripped.astype(object))
		names = np.asarray(names, dtype=object)
		return merged, names, names == ""
	if pd.api.types.infer_dtype(uniques, skipna=False) != "string":
		uniques = text.astype(object)  # numbers or other objects as customer ids: as their text
	return None, np.asarray(uniques, dtype=object), np.strings.str_len(text) == 0


def _argsort_text(names: np.ndarray) -> np.ndarray:
	"""Stable order of the names by code point, as Python sorts strings; in C where numpy can."""
	if _STRING_DTYPE is None or len(names) < 1000:
		return np.argsort(names, kind="stable")
	return np.argsort(names.astype(_STRING_DTYPE()), kind="stable")


def _factorize_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
	"""pd.factorize, but one hash lookup per run of equal neighbours when rows come grouped.

	Hashing ten million Python strings in random order costs about a cache miss per row;
	the site's rows come sorted by customer, so comparing neighbours finds the runs cheaply
	and only one row per run is hashed.
	"""
	n = len(values)
	if n == 0:
		return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
	change = np.empty(n, dtype=bool)
	change[0] = True
	np.not_equal(values[1:], values[:-1], out=change[1:])
	heads = np.flatnonzero(change)
	if 2 * len(heads) > n:  # not grouped: runs would not save anything
		codes, uniques = pd.factorize(values)
		return codes.astype(np.int64), np.asarray(uniques, dtype=object)
	head_codes, uniques = pd.factorize(values[heads])
	lengths = np.diff(np.append(heads, n))
	return np.repeat(head_codes.astype(np.int64), lengths), np.asarray(uniques, dtype=object)


def _day_numbers(dates: pd.Series) -> tuple[np.ndarray, np.ndarray]:
	"""Days since 1970-01-01 (floored, so a time of day keeps its date) and where a date is unreadable."""
	if not (pd.api.types.is_datetime64_any_dtype(dates.dtype)):
		dates = pd.to_datetime(dates, errors="coerce")
	if getattr(dates.dt, "tz", None) is not None:
		dates = dates.dt.tz_localize(None)  # the local wall-clock day, as normalize_transactions keeps it
	days = dates.to_numpy().astype("datetime64[D]")
	unreadable = np.isnat(days)
	return days.view(np.int64), unreadable


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
