"""Starter data: the ready-made Customer Segments and the default Survey Template a new site gets.

The records are kept as JSON in ``loyalty_crm/fixtures/starter/`` and imported on install and
on every migrate whose fixture files changed, but never over an administrator's edit.

Why not Frappe's own fixtures: ``bench migrate`` force-imports every ``fixtures/*.json`` of an
app (``frappe.utils.fixtures.sync_fixtures`` -> ``import_doc(force=True)``), overwriting
whatever an administrator changed in those records. Starter segments exist to be edited, so the
files live one folder down (Frappe reads only the top level of ``fixtures/``) and this module
imports them with a memory of what it imported:

- for each file, the hash of its content when last imported: an unchanged file is skipped, so a
  migrate costs one hash per file;
- for each record, the field values it was given. A record whose fields still hold them is
  the app's, untouched, and is updated to the new file; a record whose values differ was edited
  by someone and is left as it is; a record that was imported once
  and is gone was deleted on purpose and is not re-created. A record of the same name that
  existed before the app (never imported) is the administrator's and is left alone too.

The memory is one JSON value in Frappe's global defaults (``tabDefaultValue``), so it travels
with a site backup and needs no doctype of its own.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import frappe
from frappe.utils import cint, cstr, flt

FOLDER = Path(__file__).resolve().parent.parent / "fixtures" / "starter"
STATE_KEY = "loyalty_crm_starter_data"
# the order matters only for links between files; none today
FILES = ("customer_segment.json", "survey_template.json")
SKIP = {
	"doctype",
	"name",
	"owner",
	"creation",
	"modified",
	"modified_by",
	"idx",
	"docstatus",
	"parent",
	"parentfield",
	"parenttype",
}


def _state_row():
	return frappe.db.get_value(
		"DefaultValue", {"parent": "__default", "defkey": STATE_KEY}, ["name", "defvalue"], as_dict=True
	)


def load_state() -> dict:
	"""Read straight from the table: only this module uses the key, so Frappe's defaults cache is bypassed."""
	row = _state_row()
	try:
		state = json.loads(row.defvalue) if row and row.defvalue else {}
	except ValueError:
		state = {}
	state.setdefault("files", {})
	state.setdefault("records", {})
	return state


def save_state(state: dict) -> None:
	"""Written without frappe.defaults.set_default, which clears the whole site cache on every call."""
	value = json.dumps(state, sort_keys=True)
	row = _state_row()
	if row:
		if row.defvalue != value:
			frappe.db.set_value("DefaultValue", row.name, "defvalue", value, update_modified=False)
		return
	frappe.get_doc(
		{
			"doctype": "DefaultValue",
			"parent": "__default",
			"parenttype": "__default",
			"parentfield": "system_defaults",
			"defkey": STATE_KEY,
			"defvalue": value,
		}
	).db_insert()


def clear_state() -> None:
	frappe.db.delete("DefaultValue", {"parent": "__default", "defkey": STATE_KEY})


def read_file(name: str) -> tuple[str, list[dict]]:
	text = (FOLDER / name).read_text(encoding="utf-8")
	return hashlib.sha256(text.encode()).hexdigest(), json.loads(text)


def sync(force: bool = False, records: dict[str, list[dict]] | None = None) -> dict[str, int]:
	"""Import new or changed starter records; returns counts of inserted/updated/kept/skipped.

	``records`` (file name -> records) replaces the files' content; tests use it to act as if a
	fixture file had changed without writing into the app.
	"""
	state = load_state()
	counts = {"inserted": 0, "updated": 0, "kept": 0, "unchanged": 0}
	for name in FILES:
		if records is not None and name in records:
			content = records[name]
			file_hash = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
		else:
			file_hash, content = read_file(name)
		if not force and state["files"].get(name) == file_hash:
			continue
		for record in content:
			outcome = sync_record(record, state["records"])
			counts[outcome] += 1
		state["files"][name] = file_hash
	save_state(state)
	return counts


def record_key(record: dict) -> tuple[str, str]:
	meta = frappe.get_meta(record["doctype"])
	autoname = meta.autoname or ""
	name = record.get("name") or (record.get(autoname[6:]) if autoname.startswith("field:") else None)
	if not name:
		raise ValueError(f"Starter record of {record['doctype']} has no name: {record}")
	return record["doctype"], name


def sync_record(record: dict, memory: dict) -> str:
	doctype, name = record_key(record)
	key = f"{doctype}::{name}"
	wanted = snapshot(doctype, record, record)
	if not frappe.db.exists(doctype, name):
		if key in memory:
			return "kept"  # imported once, deleted since: the administrator's choice
		doc = frappe.get_doc({k: v for k, v in record.items() if k != "name"})
		doc.insert(ignore_permissions=True)
		memory[key] = wanted
		if doctype == "Survey Template" and not frappe.db.get_single_value(
			"Survey Settings", "default_template"
		):
			frappe.db.set_single_value("Survey Settings", "default_template", doc.name)
		return "inserted"
	doc = frappe.get_doc(doctype, name).as_dict()
	if snapshot(doctype, doc, record) == wanted:
		memory[key] = wanted
		return "unchanged"
	# Untouched since we imported it: its fields still hold what we wrote (compared on the fields
	# we wrote then, so a file that later sets one more field still updates untouched records).
	remembered = memory.get(key)
	if not isinstance(remembered, dict) or snapshot(doctype, doc, remembered) != remembered:
		return "kept"  # edited by someone (or theirs before the app): never overwritten
	live = frappe.get_doc(doctype, name)
	for field, value in record.items():
		if field in SKIP:
			continue
		if isinstance(value, list):
			live.set(field, [{k: v for k, v in row.items() if k not in SKIP} for row in value])
		else:
			live.set(field, value)
	live.save(ignore_permissions=True)
	memory[key] = wanted
	return "updated"


def snapshot(doctype: str, values: dict, fields: dict) -> dict:
	"""The values of ``fields``' keys in ``values``, normalised by field type (child tables as row lists).

	What the app remembers of a record it imported, and what it compares a record with later.
	"""
	meta = frappe.get_meta(doctype)
	chosen = {}
	for field in sorted(fields):
		if field in SKIP:
			continue
		df = meta.get_field(field)
		value = values.get(field)
		if df and df.fieldtype in ("Table", "Table MultiSelect"):
			rows = [row if isinstance(row, dict) else row.as_dict() for row in value or []]
			template = fields.get(field) or []
			columns = sorted({k for row in template for k in row} - SKIP) or sorted(
				{k for row in rows for k in row} - SKIP
			)
			child = frappe.get_meta(df.options)
			chosen[field] = [{c: normalise(child.get_field(c), row.get(c)) for c in columns} for row in rows]
		else:
			chosen[field] = normalise(df, value)
	return chosen


def normalise(df, value):
	fieldtype = df.fieldtype if df else "Data"
	if fieldtype in ("Int", "Check"):
		return cint(value)
	if fieldtype in ("Float", "Currency", "Percent"):
		return flt(value)
	return cstr(value).strip()
