"""Bulk opening balances from a CSV: every row checked first, nothing written if one is bad.

Columns: ``customer, company, points`` and any of ``expiry_date, posting_date, reason``. The
file-level and cell checks are ``engine.csv_import.parse_points_file`` (shared with the survey
import); this module adds the site's: the customer exists and is enabled, the company exists.
Each row becomes a submitted *Opening* Loyalty Points Adjustment, written by
``import_checks.write_all`` (all rows or none).
"""

from __future__ import annotations

from collections.abc import Callable

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from loyalty_crm.engine.csv_import import MAX_FILE_BYTES, parse_points_file, shown
from loyalty_crm.services import ledger
from loyalty_crm.services.import_checks import (
	ImportResult,
	by_row,
	check_customer,
	lookup,
	parse_or_throw,
	read_file,
	translate,
	write_all,
)

__all__ = ["ImportResult", "import_points", "validate_rows"]


def validate_rows(rows: list[dict]) -> list[str]:
	"""The site's checks for rows the engine found clean: every problem, so one run lists them all."""
	errors: list[str] = []
	customers = lookup("Customer", (row["customer"] for row in rows), ["disabled"])
	companies = lookup("Company", (row["company"] for row in rows))
	for row in rows:
		check_customer(row, customers, errors)
		company = companies.get((row["company"] or "").lower())
		if row["company"] and not company:
			errors.append(
				_(
					"Row {0}: company {1} does not exist; use the company's name as in the Company list"
				).format(row["row"], shown(row["company"]))
			)
		elif company:
			row["company"] = company.name
	return errors


def import_points(
	path: str, progress: Callable[[int, int], None] | None = None, max_bytes: int = MAX_FILE_BYTES
) -> ImportResult:
	"""Check the whole file, then write every row or none. A bad file raises BadImportFile."""
	parsed = parse_or_throw(
		parse_points_file, read_file(path, max_bytes), getdate(nowdate()), ledger.precision(), max_bytes
	)
	errors = [translate(error) for error in parsed.errors]
	errors += validate_rows([row for row in parsed.rows if row["customer"] or row["company"]])
	if errors:
		return ImportResult(errors=by_row(errors))
	default_reason = _("Opening balance imported from {0}").format(path.rsplit("/", 1)[-1])

	def write(row: dict) -> str:
		adjustment = frappe.get_doc(
			{
				"doctype": "Loyalty Points Adjustment",
				"customer": row["customer"],
				"company": row["company"],
				"adjustment_type": "Opening",
				"posting_date": row["posting_date"],
				"expiry_date": row["expiry_date"],
				"points": float(row["points"]),
				"reason": row["reason"] or default_reason,
			}
		)
		adjustment.insert()
		adjustment.submit()
		return adjustment.name

	return write_all(parsed.rows, write, progress)
