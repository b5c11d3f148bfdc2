"""Reading and checking the CSV files users import (opening points, survey answers).

Why one module: a loyalty ledger is money, and files from old systems and spreadsheets carry
every kind of damage (another encoding, Excel's ``1E+309``, a year typed 2099, a row pasted
twice). Both imports read through :func:`read_table` and check cells with the same parsers, so
a rule fixed here is fixed for both and the messages read alike. Everything here is pure: it
sees bytes and today's date, never the site. The Frappe layer adds what needs the database
(does the customer exist?) and writes only when the list of problems is empty.

Messages name the row (the header is row 1, as a spreadsheet shows it), the column and the
offending value (shortened), and say how to fix it. A problem with the file as a whole raises
:class:`ImportFileError`; a problem with a row is returned as an :class:`ImportRowError`, so one
run lists every bad row.

Limits (documented in the README): files up to :data:`MAX_FILE_BYTES`; numbers written with
digits, an optional sign, a dot for decimals and an optional exponent; dates as YYYY-MM-DD
(with an optional time HH:MM[:SS]), from :data:`EARLIEST_DATE` on.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from loyalty_crm.engine.errors import EngineError, _

MAX_FILE_BYTES = 20 * 1024 * 1024
"""Larger files are refused before they are read: split them (each file is all-or-nothing)."""
MAX_POINTS = Decimal(1_000_000_000)
"""The most points one opening-balance row may hold (the ledger column holds up to 10^12)."""
EARLIEST_DATE = date(2000, 1, 1)
"""Dates before this are refused as typos in the year (0226, 1026, ...)."""
MAX_TEXT = 140
"""Names (customer, company, invoice) longer than this cannot exist on the site."""
SHOWN = 40
"""Offending values are shown up to this many characters."""

_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?$")
_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAGIC = (
	(b"PK\x03\x04", "xlsx"),
	(b"\xd0\xcf\x11\xe0", "xls"),
	(b"%PDF", "pdf"),
)
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"", "0", "false", "no", "n"}


class ImportFileError(EngineError):
	"""The file as a whole cannot be imported (encoding, not a CSV, too large, no rows, columns)."""


class ImportRowError(EngineError):
	"""One row's problem; ``row`` is the spreadsheet row number (header = 1)."""

	def __init__(self, row: int, template: str, *args: object) -> None:
		self.row = row
		super().__init__(template, row, *args)


def shown(value: object, limit: int = SHOWN) -> str:
	"""The value as the user typed it, quoted and shortened so a message stays one readable line."""
	text = str(value)
	text = _CONTROL.sub("?", text).replace("\n", " ").replace("\r", " ")
	if len(text) > limit:
		text = text[: limit - 1] + "…"
	return f"'{text}'"


# ---------------------------------------------------------------- the file


@dataclass
class Table:
	"""A read CSV: lower-cased column names and one dict of stripped strings per data row."""

	columns: list[str]
	rows: list[dict[str, str]]
	numbers: list[int]
	"""The spreadsheet row number of each row (blank lines count, as in a spreadsheet)."""
	errors: list[ImportRowError] = field(default_factory=list)
	"""Rows that could not be split into the header's columns (they are left out of ``rows``)."""


def read_table(
	data: bytes,
	required: Sequence[str],
	optional: Sequence[str] = (),
	max_bytes: int = MAX_FILE_BYTES,
) -> Table:
	"""Decode and split a CSV file, checking what can be checked without the site.

	UTF-8 only (a BOM, as Excel writes it, is accepted): guessing another encoding would turn
	names into different names silently. Unknown columns are refused, because a misspelt
	optional column (``expiry`` for ``expiry_date``) would otherwise be ignored without a word.
	"""
	if not isinstance(data, bytes | bytearray):
		raise ImportFileError(_("The import needs the file's bytes, got {0}"), type(data).__name__)
	if len(data) > max_bytes:
		raise ImportFileError(
			_(
				"The file is {0} MB; the largest file accepted is {1} MB. Split it into smaller files and import each"
			),
			_megabytes(len(data)),
			_megabytes(max_bytes),
		)
	text = _decode(bytes(data))
	if not text.strip():
		raise ImportFileError(_("The file is empty: it needs a header row and at least one data row"))
	records = _records(text)
	header_at = next((i for i, record in enumerate(records) if any(cell.strip() for cell in record)), None)
	if header_at is None:
		raise ImportFileError(_("The file is empty: it needs a header row and at least one data row"))
	columns = _header(records[header_at], required, optional)
	table = Table(columns=columns, rows=[], numbers=[])
	for index in range(header_at + 1, len(records)):
		record = records[index]
		number = index + 1
		if not any(cell.strip() for cell in record):
			continue
		if len(record) > len(columns) and any(cell.strip() for cell in record[len(columns) :]):
			table.errors.append(
				ImportRowError(
					number,
					_(
						"Row {0}: {1} values but the header has {2} columns; put quotes around a value that contains a comma"
					),
					len(record),
					len(columns),
				)
			)
			continue
		cells = [*record[: len(columns)], *[""] * (len(columns) - len(record))]
		table.rows.append({name: cell.strip() for name, cell in zip(columns, cells, strict=True)})
		table.numbers.append(number)
	if not table.rows and not table.errors:
		raise ImportFileError(_("The file has only a header row: add the rows to import below it"))
	return table


def _megabytes(size: int) -> str:
	return f"{size / (1024 * 1024):.1f}"


def _decode(data: bytes) -> str:
	for magic, kind in _MAGIC:
		if data.startswith(magic):
			raise ImportFileError(
				_('The file is not a CSV file (it looks like {0}); save it as "CSV UTF-8" and import that'),
				kind,
			)
	if data.startswith((b"\xff\xfe", b"\xfe\xff")):
		raise ImportFileError(
			_('The file is UTF-16 ("Unicode text"); save it as "CSV UTF-8" and import that')
		)
	if b"\x00" in data:
		raise ImportFileError(
			_('The file is not a CSV file: it contains binary data; save it as "CSV UTF-8" and import that')
		)
	if data.startswith(b"\xef\xbb\xbf"):
		data = data[3:]
	try:
		return data.decode("utf-8")
	except UnicodeDecodeError as error:
		line = data[: error.start].count(b"\n") + 1
		raise ImportFileError(
			_(
				'The file is not UTF-8 (byte 0x{0} on line {1}); save it as "CSV UTF-8" (in Excel: Save As, CSV UTF-8) and import again'
			),
			f"{data[error.start]:02x}",
			line,
		) from None


def _records(text: str) -> list[list[str]]:
	reader = csv.reader(io.StringIO(text, newline=""), strict=True)
	records = []
	try:
		for record in reader:
			records.append(record)
	except csv.Error as error:
		raise ImportFileError(
			_("The file is not a readable CSV file: {0} on line {1}; check the quotes around that line"),
			str(error),
			reader.line_num,
		) from None
	return records


def _header(record: list[str], required: Sequence[str], optional: Sequence[str]) -> list[str]:
	columns = [cell.strip().lower() for cell in record]
	while columns and not columns[-1]:
		columns.pop()  # trailing empty header cells, as spreadsheets write them
	known = [*required, *optional]
	for position, name in enumerate(columns, start=1):
		if not name:
			raise ImportFileError(
				_("Column {0} of the header has no name; name it or delete the column"), position
			)
		if columns.index(name) != position - 1:
			raise ImportFileError(
				_("Column {0} appears twice in the header (columns {1} and {2}); keep one"),
				shown(name),
				columns.index(name) + 1,
				position,
			)
		if name not in known:
			raise ImportFileError(
				_("Unknown column {0} in the header; the columns are: {1}"), shown(name), ", ".join(known)
			)
	missing = [name for name in required if name not in columns]
	if missing:
		raise ImportFileError(
			_("The file is missing the column(s): {0}; the first row must be the header ({1})"),
			", ".join(missing),
			", ".join(known),
		)
	return columns


# ---------------------------------------------------------------- cells


def parse_number(
	text: str,
	row: int,
	column: str,
	errors: list[ImportRowError],
	low: Decimal | None = None,
	high: Decimal | None = None,
	above_low: bool = False,
) -> Decimal | None:
	"""A finite decimal within [low, high] (``above_low``: strictly above low), or None with an error.

	Decimal rather than float, so ``1e309`` is a large number to refuse, not infinity to crash on.
	"""
	if len(text) > SHOWN or not _NUMBER.match(text):
		errors.append(
			ImportRowError(
				row,
				_("Row {0}: {1} {2} is not a number; write digits with a dot for decimals, e.g. 1250.5"),
				column,
				shown(text),
			)
		)
		return None
	value = Decimal(text)
	if high is not None and value > high:
		errors.append(
			ImportRowError(
				row, _("Row {0}: {1} {2} is too large; the most is {3}"), column, shown(text), high
			)
		)
		return None
	if low is not None and (value <= low if above_low else value < low):
		template = (
			_("Row {0}: {1} {2} must be more than {3}")
			if above_low
			else _("Row {0}: {1} {2} must be at least {3}")
		)
		errors.append(ImportRowError(row, template, column, shown(text), low))
		return None
	return value


def parse_points(
	text: str, row: int, column: str, errors: list[ImportRowError], precision: int
) -> Decimal | None:
	"""Points above 0, rounded half-up to ``precision``; an amount that rounds to 0 is refused.

	Refused rather than skipped: a row that writes nothing must not be counted as imported.
	"""
	value = parse_number(text, row, column, errors, low=Decimal(0), high=MAX_POINTS, above_low=True)
	if value is None:
		return None
	rounded = value.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)
	if rounded <= 0:
		errors.append(
			ImportRowError(
				row,
				_("Row {0}: {1} {2} rounds to 0 at {3} decimals (Loyalty Settings); write at least {4}"),
				column,
				shown(text),
				precision,
				Decimal(1).scaleb(-precision),
			)
		)
		return None
	return rounded


def parse_whole(
	text: str, row: int, column: str, errors: list[ImportRowError], low: int, high: int
) -> int | None:
	"""A whole number from low to high (survey scores): 9 and 9.0 and 9E0 are 9; 9.5 is refused."""
	value = parse_number(text, row, column, errors)
	if value is None:
		return None
	if value != value.to_integral_value() or not low <= value <= high:
		errors.append(
			ImportRowError(
				row,
				_("Row {0}: {1} must be a whole number from {2} to {3}, got {4}"),
				column,
				low,
				high,
				shown(text),
			)
		)
		return None
	return int(value)


def parse_date(
	text: str,
	row: int,
	column: str,
	errors: list[ImportRowError],
	today: date,
	allow_future: bool = False,
	with_time: bool = False,
) -> date | datetime | None:
	"""A date written YYYY-MM-DD (``with_time``: an optional HH:MM[:SS] after it).

	Only the ISO form: 03/04/2026 is March in one country and April in another, and guessing
	a date in a money ledger is worse than asking. Dates after today are refused unless the
	column is about the future (an expiry date): a year typed 2099 must not post points.
	"""
	match = _DATE.match(text)
	parsed = None
	if match and (with_time or match.group(4) is None):
		parts = [int(part) for part in match.groups(default="0")]
		try:
			parsed = datetime(*parts)
		except ValueError:
			parsed = None
	if parsed is None:
		hint = _("YYYY-MM-DD or YYYY-MM-DD HH:MM") if with_time else _("YYYY-MM-DD")
		errors.append(
			ImportRowError(
				row,
				_("Row {0}: {1} {2} is not a date; write it as {3}, e.g. 2026-03-31"),
				column,
				shown(text),
				hint,
			)
		)
		return None
	if parsed.date() < EARLIEST_DATE:
		errors.append(
			ImportRowError(
				row,
				_("Row {0}: {1} {2} is before {3}; check the year"),
				column,
				shown(text),
				EARLIEST_DATE.isoformat(),
			)
		)
		return None
	if not allow_future and parsed.date() > today:
		errors.append(
			ImportRowError(
				row,
				_("Row {0}: {1} {2} is in the future (today is {3}); check the year"),
				column,
				shown(text),
				today.isoformat(),
			)
		)
		return None
	return parsed if with_time else parsed.date()


def parse_flag(text: str, row: int, column: str, errors: list[ImportRowError]) -> bool | None:
	lowered = text.lower()
	if lowered in _TRUE:
		return True
	if lowered in _FALSE:
		return False
	errors.append(ImportRowError(row, _("Row {0}: {1} must be yes or no, got {2}"), column, shown(text)))
	return None


def parse_name(
	text: str, row: int, column: str, errors: list[ImportRowError], required: bool = True
) -> str | None:
	"""A record name (customer, company, invoice): present, one line, no control characters."""
	if not text:
		if required:
			errors.append(ImportRowError(row, _("Row {0}: {1} is empty; fill it in"), column))
		return None
	if len(text) > MAX_TEXT or _CONTROL.search(text) or "\n" in text or "\r" in text:
		errors.append(
			ImportRowError(
				row,
				_(
					"Row {0}: {1} {2} cannot be a name (too long or with control characters); copy the name from the site"
				),
				column,
				shown(text),
			)
		)
		return None
	return text


def parse_choice(
	text: str, row: int, column: str, errors: list[ImportRowError], choices: Sequence[str]
) -> str | None:
	"""One of ``choices``, matched without regard to case; blank is None."""
	if not text:
		return None
	for choice in choices:
		if choice.lower() == text.lower():
			return choice
	errors.append(
		ImportRowError(row, _("Row {0}: {1} {2} is not one of: {3}"), column, shown(text), ", ".join(choices))
	)
	return None


def duplicate_errors(keys: Iterable[tuple | None], numbers: Sequence[int], what: str) -> list[ImportRowError]:
	"""Rows whose key equals an earlier row's: refused with both row numbers.

	``keys`` holds None for rows that had errors (they are reported already). ``what`` names
	the key in the message (untranslated template text is not allowed here, so callers pass
	a translated phrase or a column list).
	"""
	first: dict[tuple, int] = {}
	errors = []
	for key, number in zip(keys, numbers, strict=True):
		if key is None:
			continue
		if key in first:
			errors.append(
				ImportRowError(
					number,
					_("Row {0} repeats row {1} (same {2}); delete one of them, or make them differ"),
					first[key],
					what,
				)
			)
		else:
			first[key] = number
	return errors


# ---------------------------------------------------------------- the two imports

POINTS_REQUIRED = ("customer", "company", "points")
POINTS_OPTIONAL = ("expiry_date", "posting_date", "reason")
POINTS_DUPLICATE_KEY = ("customer", "company", "points", "posting_date", "expiry_date", "reason")

SURVEY_REQUIRED = ("customer", "submitted_on")
SURVEY_SCORES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SURVEY_OPTIONAL = (
	"nps",
	"csat",
	"ces",
	"comment",
	"complaint",
	"complaint_category",
	"invoice",
	"invoice_type",
	"email",
	"language",
)
SURVEY_INVOICE_TYPES = ("Sales Invoice", "POS Invoice")
SURVEY_LANGUAGES = ("en", "zh")
MAX_COMMENT = 2000
MAX_REASON = 1000
_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"']+$")


@dataclass
class Parsed:
	"""Clean rows (only when ``errors`` is empty they are all there) and every problem found."""

	rows: list[dict]
	errors: list[ImportRowError]


def parse_points_file(data: bytes, today: date, precision: int, max_bytes: int = MAX_FILE_BYTES) -> Parsed:
	"""Opening balances: ``customer, company, points[, expiry_date, posting_date, reason]``.

	posting_date defaults to today and may not be after it; expiry_date may be in the future
	but not before the posting date. Rows that are equal in every column are duplicates
	(two lots for one customer are fine when their dates, points or reason differ).
	"""
	if not 0 <= precision <= 6:
		raise ImportFileError(_("Points Decimals must be between 0 and {0}"), 6)
	table = read_table(data, POINTS_REQUIRED, POINTS_OPTIONAL, max_bytes)
	errors: list[ImportRowError] = list(table.errors)
	rows, keys = [], []
	for number, cells in zip(table.numbers, table.rows, strict=True):
		found: list[ImportRowError] = []
		customer = parse_name(cells["customer"], number, "customer", found)
		company = parse_name(cells["company"], number, "company", found)
		points = parse_points(cells["points"], number, "points", found, precision)
		posting = today
		if cells.get("posting_date"):
			posting = parse_date(cells["posting_date"], number, "posting_date", found, today)
		expiry = None
		if cells.get("expiry_date"):
			expiry = parse_date(cells["expiry_date"], number, "expiry_date", found, today, allow_future=True)
			if expiry is not None and posting is not None and expiry < posting:
				found.append(
					ImportRowError(
						number,
						_(
							"Row {0}: expiry_date {1} is before the posting date {2}; points cannot expire before they are given"
						),
						expiry.isoformat(),
						posting.isoformat(),
					)
				)
		reason = cells.get("reason") or ""
		if len(reason) > MAX_REASON:
			found.append(
				ImportRowError(
					number,
					_("Row {0}: reason is {1} characters long; keep it to {2}"),
					len(reason),
					MAX_REASON,
				)
			)
		errors.extend(found)
		row = {
			"row": number,
			"customer": customer,
			"company": company,
			"points": points,
			"posting_date": posting,
			"expiry_date": expiry,
			"reason": reason,
		}
		rows.append(row)
		# names compare without case, as the database compares them
		keys.append(None if found else tuple(_folded(row[key]) for key in POINTS_DUPLICATE_KEY))
	errors.extend(duplicate_errors(keys, table.numbers, ", ".join(POINTS_DUPLICATE_KEY)))
	return Parsed(rows=rows, errors=sorted(errors, key=lambda error: error.row))


def parse_survey_file(
	data: bytes,
	today: date,
	categories: Sequence[str] = (),
	max_bytes: int = MAX_FILE_BYTES,
) -> Parsed:
	"""Survey answers: ``customer, submitted_on`` and any of the optional columns.

	A row must answer something (a score, a comment or a complaint). Two rows naming the same
	invoice are duplicates (an invoice is answered once); rows without an invoice are
	duplicates when customer, time, scores and comment are all equal.
	"""
	table = read_table(data, SURVEY_REQUIRED, SURVEY_OPTIONAL, max_bytes)
	if not any(column in table.columns for column in (*SURVEY_SCORES, "complaint")):
		raise ImportFileError(_("The file needs at least one of the columns nps, csat, ces, complaint"))
	errors: list[ImportRowError] = list(table.errors)
	rows, keys = [], []
	for number, cells in zip(table.numbers, table.rows, strict=True):
		found: list[ImportRowError] = []
		row: dict = {"row": number}
		row["customer"] = parse_name(cells["customer"], number, "customer", found)
		if cells["submitted_on"]:
			row["submitted_on"] = parse_date(
				cells["submitted_on"], number, "submitted_on", found, today, with_time=True
			)
		else:
			found.append(ImportRowError(number, _("Row {0}: {1} is empty; fill it in"), "submitted_on"))
			row["submitted_on"] = None
		for score, (low, high) in SURVEY_SCORES.items():
			text = cells.get(score) or ""
			row[score] = parse_whole(text, number, score, found, low, high) if text else None
		row["complaint"] = parse_flag(cells.get("complaint") or "", number, "complaint", found)
		category = cells.get("complaint_category") or ""
		row["complaint_category"] = (
			parse_choice(category, number, "complaint_category", found, categories)
			if category and categories
			else (category or None)
		)
		comment = cells.get("comment") or ""
		if len(comment) > MAX_COMMENT:
			found.append(
				ImportRowError(
					number,
					_("Row {0}: the comment is {1} characters long; keep it to {2}"),
					len(comment),
					MAX_COMMENT,
				)
			)
		row["comment"] = comment or None
		row["invoice"] = parse_name(cells.get("invoice") or "", number, "invoice", found, required=False)
		invoice_type = cells.get("invoice_type") or ""
		row["invoice_type"] = (
			parse_choice(invoice_type, number, "invoice_type", found, SURVEY_INVOICE_TYPES)
			if invoice_type
			else "Sales Invoice"
		)
		if invoice_type and not row["invoice"]:
			found.append(
				ImportRowError(
					number, _("Row {0}: invoice_type {1} is given without an invoice"), shown(invoice_type)
				)
			)
		email = cells.get("email") or ""
		if email and (len(email) > MAX_TEXT or not _EMAIL.match(email)):
			found.append(
				ImportRowError(number, _("Row {0}: email {1} is not an email address"), shown(email))
			)
		row["email"] = email or None
		row["language"] = parse_choice(
			cells.get("language") or "", number, "language", found, SURVEY_LANGUAGES
		)
		if not found and not (
			any(row[score] is not None for score in SURVEY_SCORES) or row["comment"] or row["complaint"]
		):
			found.append(
				ImportRowError(
					number,
					_("Row {0}: answers nothing; give at least one of nps, csat, ces, comment, complaint"),
				)
			)
		errors.extend(found)
		rows.append(row)
		if found:
			keys.append(None)
		elif row["invoice"]:
			keys.append(("invoice", row["invoice_type"], row["invoice"].lower()))
		else:
			keys.append(
				(
					"answer",
					row["customer"].lower(),
					row["submitted_on"],
					row["nps"],
					row["csat"],
					row["ces"],
					row["comment"],
				)
			)
	errors.extend(duplicate_errors(keys, table.numbers, "invoice / customer, submitted_on, scores, comment"))
	return Parsed(rows=rows, errors=sorted(errors, key=lambda error: error.row))


def _folded(value: object) -> object:
	return value.lower() if isinstance(value, str) else value


def progress_steps(total: int, report: Callable[[int, int], None] | None, every: int = 0):
	"""Call ``report(done, total)`` about a hundred times over ``total`` items, and at the end."""
	step = every or max(1, total // 100)

	def tick(done: int) -> None:
		if report and (done % step == 0 or done == total):
			report(done, total)

	return tick
