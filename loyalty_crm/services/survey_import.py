"""Survey answers collected elsewhere, from a CSV: every row validated first, nothing written if one is bad.

Columns: ``customer, submitted_on`` and any of ``nps, csat, ces, comment, complaint,
complaint_category, invoice, invoice_type (Sales Invoice or POS Invoice; default Sales
Invoice), email, language``. Scores are checked by ``engine.surveys.validate_responses``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import frappe
import pandas as pd
from frappe import _
from frappe.utils import getdate

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.surveys import METRIC_COLUMNS, SCORES, validate_responses
from loyalty_crm.services import surveys

REQUIRED = ("customer", "submitted_on")
FLAGS = {"", "1", "0", "true", "false", "yes", "no", "y", "n"}


@dataclass
class ImportResult:
	errors: list[str] = field(default_factory=list)
	created: list[str] = field(default_factory=list)


def read_rows(path: str) -> pd.DataFrame:
	with open(path, newline="", encoding="utf-8-sig") as handle:
		reader = csv.DictReader(handle)
		headers = [(name or "").strip().lower() for name in reader.fieldnames or []]
		missing = [column for column in REQUIRED if column not in headers]
		if missing:
			frappe.throw(_("The file is missing the column(s): {0}").format(", ".join(missing)))
		if not any(column in headers for column in METRIC_COLUMNS):
			frappe.throw(_("The file needs at least one of the columns nps, csat, ces, complaint"))
		rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
	return pd.DataFrame(rows, columns=headers, dtype=object).fillna("")


def validate_rows(frame: pd.DataFrame) -> list[str]:
	"""Every problem of every row, so one run lists all that needs fixing."""
	errors = []
	customers = set(
		frappe.get_all("Customer", filters={"name": ("in", list(frame["customer"]) or [""])}, pluck="name")
	)
	invoices = _invoice_customers(frame)
	categories = surveys.complaint_categories()
	for number, row in enumerate(frame.to_dict("records"), start=2):
		errors.extend(_score_errors(number, row))
		if row["customer"] not in customers:
			errors.append(_("Row {0}: unknown customer {1}").format(number, row["customer"] or "''"))
		if row.get("invoice"):
			doctype = row.get("invoice_type") or "Sales Invoice"
			owner = invoices.get((doctype, row["invoice"]))
			if doctype not in surveys.INVOICE_DOCTYPES:
				errors.append(_("Row {0}: invoice_type must be Sales Invoice or POS Invoice").format(number))
			elif owner is None:
				errors.append(_("Row {0}: no submitted {1} {2}").format(number, _(doctype), row["invoice"]))
			elif owner != row["customer"]:
				errors.append(
					_("Row {0}: {1} {2} belongs to customer {3}").format(
						number, _(doctype), row["invoice"], owner
					)
				)
		if len(row.get("comment") or "") > surveys.MAX_COMMENT:
			errors.append(
				_("Row {0}: the comment is longer than {1} characters").format(number, surveys.MAX_COMMENT)
			)
		if row.get("complaint_category") and row["complaint_category"] not in categories:
			errors.append(
				_("Row {0}: unknown complaint category {1}").format(number, row["complaint_category"])
			)
	if not errors:
		try:  # the engine has the last word on the scores
			validate_responses(frame)
		except EngineError as error:
			errors.append(error.translated(_))
	return errors


def _score_errors(number: int, row: dict) -> list[str]:
	errors = []
	try:
		getdate(row["submitted_on"]) if row["submitted_on"] else None
	except Exception:
		errors.append(_("Row {0}: submitted_on {1} is not a date").format(number, row["submitted_on"]))
	if not row["submitted_on"]:
		errors.append(_("Row {0}: submitted_on is empty").format(number))
	for score, (low, high) in SCORES.items():
		value = (row.get(score) or "").strip()
		if not value:
			continue
		number_value = surveys.whole_number(value)
		if number_value is None:
			errors.append(
				_("Row {0}: {1} must be a whole number from {2} to {3}, got {4}").format(
					number, score, low, high, value
				)
			)
		elif not low <= number_value <= high:
			errors.append(
				_("Row {0}: {1} must be between {2} and {3}, got {4}").format(number, score, low, high, value)
			)
	complaint = (row.get("complaint") or "").strip().lower()
	if complaint not in FLAGS:
		errors.append(_("Row {0}: complaint must be yes or no, got {1}").format(number, row["complaint"]))
	return errors


def _invoice_customers(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
	if "invoice" not in frame.columns:
		return {}
	types = frame["invoice_type"] if "invoice_type" in frame.columns else pd.Series("", index=frame.index)
	found = {}
	for doctype in surveys.INVOICE_DOCTYPES:
		names = [
			n for n, t in zip(frame["invoice"], types, strict=True) if n and (t or "Sales Invoice") == doctype
		]
		if names:
			for row in frappe.get_all(
				doctype, filters={"name": ("in", names), "docstatus": 1}, fields=["name", "customer"]
			):
				found[(doctype, row.name)] = row.customer
	return found


def import_surveys(path: str, award_points: bool = True) -> ImportResult:
	frame = read_rows(path)
	result = ImportResult(errors=validate_rows(frame))
	if result.errors:
		return result
	clean = validate_responses(frame[["submitted_on", *[c for c in METRIC_COLUMNS if c in frame.columns]]])
	for index, row in enumerate(frame.to_dict("records")):
		complaint = bool(clean.at[index, "complaint"]) if "complaint" in frame.columns else False
		survey = frappe.get_doc(
			{
				"doctype": surveys.SURVEY,
				"customer": row["customer"],
				"channel": "Import",
				"submitted_on": row["submitted_on"],
				"email": row.get("email") or None,
				"language": row.get("language") or None,
				"source_doctype": (row.get("invoice_type") or "Sales Invoice")
				if row.get("invoice")
				else None,
				"source_name": row.get("invoice") or None,
				**{
					score: (int(clean.at[index, score]) if pd.notna(clean.at[index, score]) else None)
					for score in ("nps", "csat", "ces")
				},
				"comment": row.get("comment") or None,
				"complaint": int(complaint),
				"complaint_category": (row.get("complaint_category") or "Other") if complaint else None,
			}
		)
		survey.flags.skip_reward = not award_points
		survey.insert()
		result.created.append(survey.name)
	return result
