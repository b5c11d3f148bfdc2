"""Survey answers collected elsewhere, from a CSV: every row checked first, nothing written if one is bad.

Columns: ``customer, submitted_on`` and any of ``nps, csat, ces, comment, complaint,
complaint_category, invoice, invoice_type (Sales Invoice or POS Invoice; default Sales
Invoice), email, language``. The file-level and cell checks are
``engine.csv_import.parse_survey_file`` (shared with the points import); this module adds the
site's: the customer exists and is enabled, the invoice is a submitted, non-return invoice of
that customer, and ``engine.surveys.validate_responses`` has the last word on the scores.
"""

from __future__ import annotations

from collections.abc import Callable

import frappe
import pandas as pd
from frappe import _
from frappe.utils import getdate, nowdate

from loyalty_crm.engine.csv_import import MAX_FILE_BYTES, parse_survey_file, shown
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.surveys import validate_responses
from loyalty_crm.services import surveys
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

__all__ = ["ImportResult", "import_surveys", "validate_rows"]


def validate_rows(rows: list[dict]) -> list[str]:
	"""The site's checks: every problem of every row, so one run lists all that needs fixing."""
	errors: list[str] = []
	customers = lookup("Customer", (row["customer"] for row in rows), ["disabled"])
	invoices = {
		doctype: lookup(
			doctype,
			(row["invoice"] for row in rows if row["invoice"] and row["invoice_type"] == doctype),
			["customer", "docstatus", "is_return"],
		)
		for doctype in surveys.INVOICE_DOCTYPES
	}
	for row in rows:
		check_customer(row, customers, errors)
		if not row["invoice"] or row["invoice_type"] not in invoices:
			continue
		invoice = invoices[row["invoice_type"]].get(row["invoice"].lower())
		label = _(row["invoice_type"])
		if not invoice:
			errors.append(
				_("Row {0}: {1} {2} does not exist; check the invoice number and invoice_type").format(
					row["row"], label, shown(row["invoice"])
				)
			)
		elif invoice.docstatus != 1:
			state = _("a draft") if invoice.docstatus == 0 else _("cancelled")
			errors.append(
				_("Row {0}: {1} {2} is {3}; only submitted invoices can be answered").format(
					row["row"], label, invoice.name, state
				)
			)
		elif invoice.is_return:
			errors.append(
				_("Row {0}: {1} {2} is a return; name the original invoice").format(
					row["row"], label, invoice.name
				)
			)
		elif row["customer"] and invoice.customer != row["customer"]:
			errors.append(
				_(
					"Row {0}: {1} {2} belongs to customer {3}, not {4}; fix the customer or the invoice"
				).format(row["row"], label, invoice.name, invoice.customer, shown(row["customer"]))
			)
		else:
			row["invoice"] = invoice.name
	return errors


def _engine_check(rows: list[dict]) -> list[str]:
	"""The score engine is the last word: what it refuses here, the report would refuse later."""
	frame = pd.DataFrame(
		[{key: row[key] for key in ("submitted_on", "nps", "csat", "ces", "complaint")} for row in rows]
	)
	try:
		validate_responses(frame)
	except EngineError as error:
		return [translate(error)]
	return []


def import_surveys(
	path: str,
	award_points: bool = True,
	progress: Callable[[int, int], None] | None = None,
	max_bytes: int = MAX_FILE_BYTES,
) -> ImportResult:
	"""Check the whole file, then write every row or none. A bad file raises BadImportFile."""
	parsed = parse_or_throw(
		parse_survey_file,
		read_file(path, max_bytes),
		getdate(nowdate()),
		surveys.complaint_categories(),
		max_bytes,
	)
	errors = [translate(error) for error in parsed.errors]
	errors += validate_rows(parsed.rows)
	if not errors:
		errors = _engine_check(parsed.rows)
	if errors:
		return ImportResult(errors=by_row(errors))

	def write(row: dict) -> str:
		survey = frappe.get_doc(
			{
				"doctype": surveys.SURVEY,
				"customer": row["customer"],
				"channel": "Import",
				"submitted_on": row["submitted_on"],
				"email": row["email"],
				"language": row["language"],
				"source_doctype": row["invoice_type"] if row["invoice"] else None,
				"source_name": row["invoice"],
				"nps": row["nps"],
				"csat": row["csat"],
				"ces": row["ces"],
				"comment": row["comment"],
				"complaint": int(bool(row["complaint"])),
				"complaint_category": (row["complaint_category"] or "Other") if row["complaint"] else None,
			}
		)
		survey.flags.skip_reward = not award_points
		survey.insert()
		return survey.name

	return write_all(parsed.rows, write, progress)
