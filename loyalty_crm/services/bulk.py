"""Multi-row INSERTs for the set-wise writers (segments, churn scores, tier history).

``frappe.db.bulk_insert`` builds every value through pypika, about 12 µs a value in Python; a
nightly chunk's first run inserts some 800k values (9.6 s of a 16 s chunk on the benchmark
site). Here each statement is plain SQL with one placeholder per value, escaped by the
database driver as every other query is (about 1.5 µs a value).
"""

from __future__ import annotations

from collections.abc import Iterable

import frappe

ROWS_PER_STATEMENT = 2000


def insert_rows(doctype: str, fields: list[str], rows: Iterable[tuple]) -> int:
	"""Insert ``rows`` (tuples in ``fields`` order) into the doctype's table; returns the count.

	The caller supplies every column Frappe would (name, creation, modified, owner,
	modified_by); nothing is validated, as with ``bulk_insert``."""
	columns = ", ".join(f"`{field}`" for field in fields)
	one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
	count, batch = 0, []

	def flush():
		frappe.db.sql(
			f"insert into `tab{doctype}` ({columns}) values {', '.join([one_row] * len(batch))}",
			[value for row in batch for value in row],
		)

	for row in rows:
		batch.append(row)
		if len(batch) == ROWS_PER_STATEMENT:
			flush()
			count += len(batch)
			batch = []
	if batch:
		flush()
		count += len(batch)
	return count


def update_rows(doctype: str, fields: list[str], rows: list[tuple], key: str = "name") -> int:
	"""Set ``fields`` of each row found by ``key`` (rows are (key, *values)); returns the count.

	One UPDATE per ``ROWS_PER_STATEMENT`` rows, joined on the key to the rows' values (a UNION
	ALL derived table): linear, where ``SET f = CASE name WHEN ... END`` compares every row with
	every branch (a third of a nightly chunk's time went there). Rows whose key is not in the
	table are ignored, as with UPDATE."""
	columns = [key, *fields]
	first = "select " + ", ".join(f"%s as `{column}`" for column in columns)
	other = "select " + ", ".join(["%s"] * len(columns))
	assignments = ", ".join(f"t.`{field}` = v.`{field}`" for field in fields)
	for start in range(0, len(rows), ROWS_PER_STATEMENT):
		batch = rows[start : start + ROWS_PER_STATEMENT]
		derived = " union all ".join([first] + [other] * (len(batch) - 1))
		frappe.db.sql(
			f"update `tab{doctype}` t join ({derived}) v on t.`{key}` = v.`{key}` set {assignments}",
			[value for row in batch for value in row],
		)
	return len(rows)
