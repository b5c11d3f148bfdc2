"""What both CSV imports share on the site: reading the file, looking names up, writing all-or-nothing.

The pure checks (encoding, numbers, dates, duplicates) live in ``engine/csv_import.py``; this
module adds the ones that need the database, with one query per doctype for the whole file,
and the write step: rows are written under a savepoint, so a row that still fails at write
time (a rule the checks did not know) undoes every row before it and is reported like any
other bad row, never as a traceback, and never counted as imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import frappe
from frappe import _

from loyalty_crm.engine.csv_import import MAX_FILE_BYTES, ImportFileError, progress_steps, shown
from loyalty_crm.engine.errors import EngineError

LOOKUP_CHUNK = 10_000


class BadImportFile(frappe.ValidationError):
	"""The file as a whole cannot be imported; the message says why and how to fix it."""


@dataclass
class ImportResult:
	"""``created`` holds only what was written; with any error it is empty and nothing was kept."""

	errors: list[str] = field(default_factory=list)
	created: list[str] = field(default_factory=list)


def read_file(path: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
	"""The file's bytes, refusing a file above the limit before reading it into memory."""
	try:
		size = os.path.getsize(path)
	except OSError:
		frappe.throw(_("Cannot read the file {0}: check the path").format(shown(path, 80)), BadImportFile)
	if size > max_bytes:
		frappe.throw(
			_(
				"The file is {0} MB; the largest file accepted is {1} MB. Split it into smaller files and import each"
			).format(f"{size / 1048576:.1f}", f"{max_bytes / 1048576:.1f}"),
			BadImportFile,
		)
	with open(path, "rb") as handle:
		return handle.read()


def translate(error: EngineError) -> str:
	return error.translated(_)


def parse_or_throw(parse: Callable, *args, **kwargs):
	"""Run an engine parser; a problem with the whole file becomes a translated BadImportFile."""
	try:
		return parse(*args, **kwargs)
	except ImportFileError as error:
		frappe.throw(translate(error), BadImportFile, title=_("Import"))


def lookup(doctype: str, names: Iterable[str | None], fields: list[str] | None = None) -> dict[str, dict]:
	"""Existing records by lower-cased name (the database compares names without case), one query.

	A name typed in another case is imported under the record's real name.
	"""
	wanted = sorted({name for name in names if name})
	found: dict[str, dict] = {}
	for start in range(0, len(wanted), LOOKUP_CHUNK):  # one query per 10,000 names, not per row
		chunk = wanted[start : start + LOOKUP_CHUNK]
		rows = frappe.get_all(doctype, filters={"name": ("in", chunk)}, fields=["name", *(fields or [])])
		found.update({row.name.lower(): row for row in rows})
	return found


def check_customer(row: dict, customers: dict[str, dict], errors: list[str]) -> None:
	"""Known and enabled; ``row['customer']`` becomes the record's exact name."""
	if not row.get("customer"):
		return
	found = customers.get(row["customer"].lower())
	if not found:
		errors.append(
			_(
				"Row {0}: customer {1} does not exist; use the customer's ID (its name in the Customer list)"
			).format(row["row"], shown(row["customer"]))
		)
	elif found.disabled:
		errors.append(
			_("Row {0}: customer {1} is disabled; enable the customer or remove the row").format(
				row["row"], shown(found.name)
			)
		)
	else:
		row["customer"] = found.name


def write_all(
	rows: list[dict],
	write: Callable[[dict], str],
	progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
	"""Write every row or none: under a savepoint, stopping at the first row that fails."""
	result = ImportResult()
	tick = progress_steps(len(rows), progress)
	savepoint = f"lcrm_import_{frappe.generate_hash(length=8)}"
	frappe.db.savepoint(savepoint)
	for done, row in enumerate(rows, start=1):
		try:
			result.created.append(write(row))
		except Exception as error:
			frappe.db.rollback(save_point=savepoint)
			frappe.clear_messages()
			if not isinstance(error, frappe.ValidationError):
				frappe.log_error(title=_("Import: row {0} could not be written").format(row["row"]))
			result.created = []
			result.errors.append(
				_("Row {0} could not be written: {1}; nothing was imported").format(
					row["row"], shown(_message(error), 200)
				)
			)
			return result
		tick(done)
	return result


def _message(error: Exception) -> str:
	text = str(error).strip() or type(error).__name__
	return frappe.utils.strip_html(text)


def by_row(errors: list[str]) -> list[str]:
	"""Messages in row order (the first number in a message is its row, in any language)."""

	def number(message: str) -> int:
		digits = "".join(ch if ch.isdigit() else " " for ch in message).split()
		return int(digits[0]) if digits else 0

	return sorted(errors, key=number)
