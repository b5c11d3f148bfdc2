"""Read a transactions CSV, plain or exported from ERPNext, into the engine's shape.

Recognised headers (matched case-insensitively, ignoring spaces, underscores and brackets):

* customer: ``customer``, ``customer id`` (``customer name`` only if neither exists)
* date: ``date``, ``posting date``, ``transaction date``
* amount, first found wins: ``amount``, ``base net total``, ``net total``, ``base grand total``,
  ``grand total``, ``rounded total``. Net total is preferred because it excludes taxes.
* optional ``is return`` / ``is return (credit note)``: rows flagged 1/yes/true become negative
  amounts (ERPNext credit notes usually are already negative; both work).
* optional ``docstatus`` / ``document status`` (0 draft, 1 submitted, 2 cancelled) and
  ``status``: drafts and cancelled invoices are dropped, since neither is a sale.

That covers a plain ``customer,date,amount`` file, ERPNext's Report View "Export" and the
Data Export tool's CSV of Sales Invoice (one header row). Dates may be ISO (2024-01-31) or
day-first (31-01-2024), as ERPNext exports them in the system date format.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import normalize_transactions

CUSTOMER_HEADERS = ("customer", "customerid", "customername")
DATE_HEADERS = ("date", "postingdate", "transactiondate")
AMOUNT_HEADERS = ("amount", "basenettotal", "nettotal", "basegrandtotal", "grandtotal", "roundedtotal")
RETURN_HEADERS = ("isreturn", "isreturncreditnote")
DOCSTATUS_HEADERS = ("docstatus", "documentstatus")
STATUS_HEADERS = ("status",)
TRUE_WORDS = {"1", "yes", "true", "y", "1.0"}


def load_transactions(path: str | Path) -> pd.DataFrame:
	"""CSV file -> validated transactions (customer, date, amount); returns stay as negative amounts."""
	try:
		raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
	except FileNotFoundError as error:
		raise EngineError(_("Cannot read {0}: file not found"), str(path)) from error
	except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
		raise EngineError(_("Cannot read {0} as CSV: {1}"), str(path), str(error)) from error
	if raw.empty:
		raise EngineError(_("{0} has no transactions: it has a header row but no data rows"), str(path))
	return transactions_from_frame(raw)


def transactions_from_frame(raw: pd.DataFrame) -> pd.DataFrame:
	"""Map recognised headers, drop drafts and cancelled invoices, sign returns, then validate."""
	columns = {_key(name): name for name in reversed(list(raw.columns))}  # first occurrence wins
	picked = {
		"customer": _first(columns, CUSTOMER_HEADERS),
		"date": _first(columns, DATE_HEADERS),
		"amount": _first(columns, AMOUNT_HEADERS),
	}
	missing = [field for field, column in picked.items() if column is None]
	if missing:
		raise EngineError(
			_(
				"The CSV needs columns for {0}; found: {1}. Use headers customer,date,amount or an ERPNext Sales Invoice export"
			),
			", ".join(missing),
			", ".join(map(str, raw.columns)),
		)
	keep = _submitted_rows(raw, columns)
	frame = pd.DataFrame(
		{
			"customer": raw[picked["customer"]],
			"date": _parse_dates(raw[picked["date"]]),
			"amount": _parse_amounts(raw[picked["amount"]]),
		}
	)
	return_column = _first(columns, RETURN_HEADERS)
	if return_column is not None:
		is_return = raw[return_column].str.strip().str.lower().isin(TRUE_WORDS)
		amounts = pd.to_numeric(frame["amount"], errors="coerce")
		frame["amount"] = frame["amount"].where(~is_return, -amounts.abs())
	# validate before dropping rows so error row numbers match the file
	return normalize_transactions(frame)[keep.to_numpy()].reset_index(drop=True)


def _key(header: object) -> str:
	return re.sub(r"[^a-z0-9]", "", str(header).lower())


def _first(columns: dict[str, str], candidates: tuple[str, ...]) -> str | None:
	return next((columns[key] for key in candidates if key in columns), None)


def _submitted_rows(raw: pd.DataFrame, columns: dict[str, str]) -> pd.Series:
	keep = pd.Series(True, index=raw.index)
	docstatus = _first(columns, DOCSTATUS_HEADERS)
	if docstatus is not None:
		values = raw[docstatus].str.strip().str.lower()
		keep &= ~values.isin({"0", "2", "draft", "cancelled"})
	status = _first(columns, STATUS_HEADERS)
	if status is not None:
		keep &= ~raw[status].str.strip().str.lower().isin({"draft", "cancelled"})
	return keep


def _parse_dates(values: pd.Series) -> pd.Series:
	"""ISO first, then day-first; if neither reads every row, pass the text on for a row-level error."""
	text = values.str.strip()
	iso = pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
	if iso.notna().all():
		return iso
	for dayfirst in (False, True):
		try:
			parsed = pd.to_datetime(text, errors="coerce", dayfirst=dayfirst, format="mixed")
		except (ValueError, TypeError):
			continue
		if parsed.notna().all():
			return parsed
	return text


def _parse_amounts(values: pd.Series) -> pd.Series:
	"""Accept thousands separators and currency symbols, as spreadsheet exports often carry them."""
	cleaned = values.str.replace(r"[,\s$€£¥₹]", "", regex=True)
	numbers = pd.to_numeric(cleaned, errors="coerce")
	return numbers.where(numbers.notna(), values)
