"""Bad input on forms, settings and guest calls: refused with a message, before anything is written.

Why a module of its own: Frappe turns whatever arrives in a number field into a number late
(``flt("abc")`` is 0, ``flt("1e309")`` is infinity) and MariaDB then refuses infinity, or a
value wider than the column, with a driver traceback. Every doctype of the app calls
:func:`check_numbers` first in ``validate``, so a form, an import or an API call gets one
translated message naming the field and the value instead. The guest survey endpoint checks
its answers with :func:`clean_answers` before it touches the database.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

import frappe
from frappe import _

from loyalty_crm.engine.csv_import import shown

FLOAT_TYPES = ("Float", "Currency", "Percent")
MAX_FLOAT = Decimal(10) ** 12
"""Frappe stores Float, Currency and Percent as decimal(21,9): 12 digits before the point."""
MAX_INT = 2**31 - 1
"""Frappe stores Int as int(11), a signed 32-bit integer."""


class BadValue(frappe.ValidationError):
	"""A field's value is not a usable number or text; the message names the field and the value."""


def check_numbers(doc) -> None:
	"""Every number field of ``doc`` and its child rows: a finite number the column can hold."""
	for target, prefix in [(doc, ""), *((row, _row_prefix(doc, row)) for row in doc.get_all_children())]:
		for df in target.meta.get("fields", {"fieldtype": ("in", (*FLOAT_TYPES, "Int"))}):
			value = target.get(df.fieldname)
			if value is None or (isinstance(value, str) and not value.strip()):
				continue
			label = prefix + _(df.label or df.fieldname)
			number = _number(value)
			if number is None:
				frappe.throw(
					_("{0}: {1} is not a number; enter digits only, e.g. 12.5").format(label, shown(value)),
					BadValue,
				)
			if not number.is_finite():
				frappe.throw(
					_("{0}: {1} is not a finite number; enter an ordinary number").format(
						label, shown(value)
					),
					BadValue,
				)
			if df.fieldtype == "Int":
				if number != number.to_integral_value():
					frappe.throw(
						_("{0} must be a whole number, got {1}").format(label, shown(value)), BadValue
					)
				if abs(number) > MAX_INT:
					frappe.throw(
						_("{0}: {1} is too large; the most this field holds is {2}").format(
							label, shown(value), MAX_INT
						),
						BadValue,
					)
			elif abs(number) >= MAX_FLOAT:
				frappe.throw(
					_("{0}: {1} is too large; the most this field holds is {2}").format(
						label, shown(value), "999999999999"
					),
					BadValue,
				)


def _row_prefix(doc, row) -> str:
	table = doc.meta.get_field(row.parentfield)
	return _("Row {0} of {1}: ").format(row.idx, _(table.label if table else row.parentfield))


def _number(value) -> Decimal | None:
	if isinstance(value, bool):
		return Decimal(int(value))
	if isinstance(value, int | Decimal):
		return Decimal(value)
	if isinstance(value, float):
		return Decimal(value) if math.isfinite(value) else Decimal("Infinity")
	if isinstance(value, str):
		try:
			return Decimal(value.strip().replace(",", ""))
		except InvalidOperation:
			return None
	return None


def check_text(value, label: str, max_length: int, required: bool = False) -> str | None:
	"""Text from a form or a guest: a string (not a list or an object), not longer than allowed."""
	if value is None or (isinstance(value, str) and not value.strip()):
		if required:
			frappe.throw(_("{0} is required").format(label), BadValue)
		return None
	if not isinstance(value, str | int | float) or isinstance(value, bool):
		frappe.throw(_("{0} must be text, got {1}").format(label, shown(type(value).__name__)), BadValue)
	text = str(value).strip()
	if len(text) > max_length:
		frappe.throw(
			_("{0} is {1} characters long; the most is {2}").format(label, len(text), max_length), BadValue
		)
	return text


def check_whole(value, label: str, low: int, high: int) -> int | None:
	"""A whole number from low to high sent by a form or a guest; blank is None."""
	if value is None or (isinstance(value, str) and not value.strip()):
		return None
	typed = isinstance(value, str | int | float | Decimal) and not isinstance(value, bool)
	number = _number(value) if typed else None
	if number is None or not number.is_finite() or number != number.to_integral_value():
		frappe.throw(
			_("{0} must be a whole number from {1} to {2}, got {3}").format(
				label, low, high, shown(value, 20)
			),
			BadValue,
			title=_("Invalid Answer"),
		)
	if not low <= number <= high:
		frappe.throw(
			_("{0} must be between {1} and {2}, got {3}").format(label, low, high, shown(value, 20)),
			BadValue,
			title=_("Invalid Answer"),
		)
	return int(number)


def clean_answers(answers: dict, max_comment: int, score_labels: dict, scores: dict) -> dict:
	"""The survey page's answers, typed and in range, before anything is written.

	A guest can send anything (lists, objects, megabytes of text, infinity): each is refused
	with the field's name, so the page can show it and nothing is stored.
	"""
	clean = dict(answers)
	for field, (low, high) in scores.items():
		clean[field] = check_whole(answers.get(field), _(score_labels[field]), low, high)
	comment = answers.get("comment")
	if isinstance(comment, str) and len(comment.strip()) > max_comment:
		frappe.throw(
			_("The comment is {0} characters long; please keep it to {1}").format(
				len(comment.strip()), max_comment
			),
			BadValue,
			title=_("Invalid Answer"),
		)
	clean["comment"] = check_text(comment, _("Comment"), max_comment)
	complaint = answers.get("complaint")
	if isinstance(complaint, bool):  # a JSON client sends true/false
		complaint = "1" if complaint else ""
	clean["complaint"] = check_text(complaint, _("Complaint"), 10)
	clean["complaint_category"] = check_text(answers.get("complaint_category"), _("Complaint Category"), 140)
	return clean
