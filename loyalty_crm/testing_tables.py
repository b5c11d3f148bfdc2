"""For bad-input tests: a fingerprint of the tables an action could write, to prove it wrote nothing.

A fingerprint is, per table, the row count and two order-independent checksums over every
column of every row (sum and XOR of CRC32), read with one query per table. Single doctypes
are fingerprinted through their rows in ``tabSingles``. Comparing the fingerprint before and
after a refused action shows that no row was added, removed or changed in those tables.
"""

from __future__ import annotations

import os
import tempfile

import frappe


def fingerprint(*doctypes: str) -> dict[str, tuple]:
	result = {}
	for doctype in doctypes:
		if frappe.get_meta(doctype).issingle:
			row = frappe.db.sql(
				"""select count(*), coalesce(sum(crc32(concat_ws('|', field, value))), 0),
					coalesce(bit_xor(crc32(concat_ws('|', field, value))), 0)
				from `tabSingles` where doctype = %s""",
				doctype,
			)[0]
		else:
			columns = frappe.db.get_table_columns(doctype)
			row_text = "concat_ws('|', {})".format(", ".join(f"coalesce(`{c}`, '<null>')" for c in columns))
			row = frappe.db.sql(
				f"""select count(*), coalesce(sum(crc32({row_text})), 0), coalesce(bit_xor(crc32({row_text})), 0)
				from `tab{doctype}`"""  # noqa: S608 (doctype and column names come from the schema)
			)[0]
		result[doctype] = tuple(int(value) for value in row)
	return result


def assert_refused(case, action, error: type, message: str, tables: tuple[str, ...]) -> None:
	"""``action()`` raises exactly ``error`` with exactly ``message`` and leaves ``tables`` unchanged."""
	from frappe.utils import strip_html

	before = fingerprint(*tables)
	with case.assertRaises(error) as caught:
		action()
	frappe.clear_messages()
	case.assertIs(type(caught.exception), error, f"{type(caught.exception).__name__}: {caught.exception}")
	case.assertEqual(strip_html(str(caught.exception)), message)
	case.assertEqual(fingerprint(*tables), before, "nothing may be written")


def write_import_file(data: bytes | str) -> str:
	"""A temporary file holding what a retailer would import (text as UTF-8, or raw bytes)."""
	handle, path = tempfile.mkstemp(suffix=".csv")
	with os.fdopen(handle, "wb") as out:
		out.write(data.encode() if isinstance(data, str) else data)
	return path
