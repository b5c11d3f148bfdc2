"""Bulk opening balances from a CSV: every row validated first, nothing written if one is bad."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

REQUIRED = ("customer", "company", "points")


@dataclass
class ImportResult:
	errors: list[str] = field(default_factory=list)
	created: list[str] = field(default_factory=list)


def read_rows(path: str) -> list[dict]:
	with open(path, newline="", encoding="utf-8-sig") as handle:
		reader = csv.DictReader(handle)
		headers = {(name or "").strip().lower() for name in reader.fieldnames or []}
		missing = [column for column in REQUIRED if column not in headers]
		if missing:
			frappe.throw(_("The file is missing the column(s): {0}").format(", ".join(missing)))
		return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]


def validate_rows(rows: list[dict]) -> list[str]:
	errors = []
	customers = set(
		frappe.get_all(
			"Customer", filters={"name": ("in", [r["customer"] for r in rows] or [""])}, pluck="name"
		)
	)
	companies = set(frappe.get_all("Company", pluck="name"))
	for number, row in enumerate(rows, start=2):
		if row["customer"] not in customers:
			errors.append(_("Row {0}: unknown customer {1}").format(number, row["customer"] or "''"))
		if row["company"] not in companies:
			errors.append(_("Row {0}: unknown company {1}").format(number, row["company"] or "''"))
		try:
			if Decimal(row["points"]) <= 0:
				errors.append(_("Row {0}: opening points must be more than 0").format(number))
		except InvalidOperation:
			errors.append(_("Row {0}: points {1} is not a number").format(number, row["points"] or "''"))
		for date_field in ("posting_date", "expiry_date"):
			if row.get(date_field):
				try:
					getdate(row[date_field])
				except Exception:
					errors.append(
						_("Row {0}: {1} {2} is not a date").format(number, date_field, row[date_field])
					)
	return errors


def import_points(path: str) -> ImportResult:
	rows = read_rows(path)
	result = ImportResult(errors=validate_rows(rows))
	if result.errors:
		return result
	for row in rows:
		adjustment = frappe.get_doc(
			{
				"doctype": "Loyalty Points Adjustment",
				"customer": row["customer"],
				"company": row["company"],
				"adjustment_type": "Opening",
				"posting_date": row.get("posting_date") or nowdate(),
				"expiry_date": row.get("expiry_date") or None,
				"points": row["points"],
				"reason": row.get("reason")
				or _("Opening balance imported from {0}").format(path.rsplit("/", 1)[-1]),
			}
		)
		adjustment.insert()
		adjustment.submit()
		result.created.append(adjustment.name)
	return result
