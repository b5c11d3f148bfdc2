"""Is the Simplified Chinese complete? Every string the app shows, against ``translations/zh.csv``.

The strings are found the way Frappe finds them (``frappe.translate.get_messages_for_app``: the
app's doctypes' names, labels, descriptions, Select options and roles; their JS; every ``_()``
in Python and ``__()`` in JS, HTML and Jinja files of the app), plus what that function cannot
see in this app, because the app ships it as data rather than as files Frappe scans:

* the custom fields ``install.get_custom_fields`` creates (Frappe reads only fixture custom
  fields): labels, descriptions, Select options;
* the app's reports by module (Frappe looks them up by the module of the report's
  ``ref_doctype``, and ours report on Customer, a Selling doctype);
* the workspace: its title, card and link labels, shortcuts, Number Card labels and Dashboard
  Chart names (the desk shows each through ``__()``);
* print formats: their names and the ``_()`` inside their Jinja HTML (stored in JSON);
* records the app creates that the desk shows translated: the default tier names, and the
  starter fixtures' segment names and descriptions and survey template names.

Frappe's own Navbar items (site settings, not the app) are left out.

``check()`` returns the strings without a zh row and the zh rows whose string the app no
longer uses. To list what is missing as CSV lines ready to translate:

    bench --site SITE execute loyalty_crm.services.translations.print_missing
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import frappe

APP = "loyalty_crm"
LANGUAGE = "zh"

# Strings the app translates through a variable (``_(value)``), which no extractor can follow,
# with the file (under the app) that holds the literal; a string that leaves its file counts
# as unused again.
DYNAMIC = {
	# Campaign Results shows _(figures["method"]); the default comes from the engine
	"Welch t (revenue per customer), Wald difference of proportions (share who bought), 95 %": "engine/campaigns.py",
}


def app_path(*parts: str) -> Path:
	return Path(frappe.get_app_path(APP, *parts))


def _translatable(message) -> bool:
	from frappe.gettext.extractors.utils import is_translatable

	return isinstance(message, str) and bool(message.strip()) and is_translatable(message)


def app_messages() -> dict[str, str]:
	"""Every translatable string of the app -> where the first occurrence was found."""
	from frappe.translate import get_messages_for_app

	# Frappe remembers scanned files for the request; a second call would otherwise see nothing.
	frappe.flags.scanned_files = set()
	found: dict[str, str] = {}

	def add(where: str, message) -> None:
		if _translatable(message):
			found.setdefault(message, where)

	for entry in get_messages_for_app(APP, deduplicate=False):
		where, message = entry[0], entry[1]
		if where and str(where).startswith("Navbar:"):
			continue
		if where and str(where).endswith(".py") and message not in _python_literals(str(where)):
			continue  # babel's reading of _(row["key"]): the key is not a message
		# Kept even without letters (e.g. "{0}: {1}"): Python's _() looks those up too, and the
		# Chinese row can differ (full-width punctuation).
		if isinstance(message, str) and message.strip():
			found.setdefault(message, str(where or "frappe.translate"))
	for where, message in data_messages():
		add(where, message)
	for message, relative in DYNAMIC.items():
		path = app_path(*relative.split("/"))
		if path.exists() and message in path.read_text(encoding="utf-8"):
			add(relative, message)
	return found


def _python_literals(where: str) -> set[str]:
	"""The string literals a Python file passes as first argument to ``_()`` / ``_lt()``.

	Babel (Frappe's Python extractor) also reports a string inside a dynamic call, so
	``_(row["clv_basis"])`` would ask for a row "clv_basis"; only real literals count here.
	"""
	import ast

	from frappe.utils import get_bench_path

	cache = frappe.flags.setdefault("loyalty_crm_python_literals", {})
	if where not in cache:
		path = Path(get_bench_path()) / where
		literals: set[str] = set()
		try:
			tree = ast.parse(path.read_text(encoding="utf-8"))
		except (OSError, SyntaxError, ValueError):
			tree = None
		for node in ast.walk(tree) if tree else []:
			if (
				isinstance(node, ast.Call)
				and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("_", "_lt")
				and node.args
				and isinstance(node.args[0], ast.Constant)
				and isinstance(node.args[0].value, str)
			):
				literals.add(node.args[0].value)
		cache[where] = literals
	return cache[where]


def data_messages() -> list[tuple[str, str]]:
	"""The strings the app shows that live in data, not in files Frappe scans."""
	from frappe.gettext.extractors.utils import extract_messages_from_code

	from loyalty_crm.install import get_custom_fields
	from loyalty_crm.services.tier_setup import DEFAULT_LADDER

	messages: list[tuple[str, str]] = []
	for doctype, fields in get_custom_fields().items():
		for field in fields:
			where = f"Custom Field: {doctype}.{field['fieldname']}"
			messages += [(where, field.get(key)) for key in ("label", "description")]
			if field.get("fieldtype") == "Select":
				messages += [(where, option) for option in (field.get("options") or "").split("\n")]

	module = app_path(APP)
	for path in sorted(module.glob("report/*/*.json")):
		messages.append((f"Report: {path.stem}", _json(path).get("report_name")))
	for path in sorted(module.glob("workspace/*/*.json")):
		workspace = _json(path)
		where = f"Workspace: {workspace.get('name')}"
		messages += [(where, workspace.get(key)) for key in ("title", "label")]
		for table, key in (
			("links", "label"),
			("shortcuts", "label"),
			("number_cards", "label"),
			("charts", "label"),
		):
			messages += [(where, row.get(key)) for row in workspace.get(table) or []]
		for block in json.loads(workspace.get("content") or "[]"):
			if block.get("type") == "header":
				text = frappe.utils.strip_html(block.get("data", {}).get("text") or "")
				messages.append((where, text.strip()))
	for path in sorted(module.glob("number_card/*/*.json")):
		messages.append((f"Number Card: {path.stem}", _json(path).get("label")))
	for path in sorted(module.glob("dashboard_chart/*/*.json")):
		messages.append((f"Dashboard Chart: {path.stem}", _json(path).get("chart_name")))
	for path in sorted(module.glob("print_format/*/*.json")):
		print_format = _json(path)
		where = f"Print Format: {print_format.get('name')}"
		messages.append((where, print_format.get("name")))
		for _position, message, _context in extract_messages_from_code(print_format.get("html") or ""):
			messages.append((where, message))

	messages += [("Loyalty Tier (default ladder)", row[0]) for row in DEFAULT_LADDER]
	for path in sorted(app_path("fixtures").rglob("*.json")):
		records = _json(path)
		for record in records if isinstance(records, list) else []:
			where = f"Fixture: {path.name}"
			for key in ("segment_name", "template_name", "description"):
				messages.append((where, record.get(key)))
	return [(where, message) for where, message in messages if _translatable(message)]


def _json(path: Path):
	return json.loads(path.read_text(encoding="utf-8"))


def zh_rows() -> list[list[str]]:
	path = app_path("translations", f"{LANGUAGE}.csv")
	with path.open(encoding="utf-8", newline="") as handle:
		return [row for row in csv.reader(handle) if row]


def check() -> tuple[list[tuple[str, str]], list[str]]:
	"""(missing: [(string, where found)], unused: [zh row sources the app no longer shows])."""
	messages = app_messages()
	sources = {row[0] for row in zh_rows()}
	missing = sorted((message, where) for message, where in messages.items() if message not in sources)
	unused = sorted(source for source in sources if source not in messages)
	return missing, unused


def print_missing() -> None:
	"""Missing strings as CSV rows with an empty translation, then the unused rows, for a translator."""
	import io

	missing, unused = check()
	out = io.StringIO()
	writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
	for message, _where in missing:
		writer.writerow([message, ""])
	print(out.getvalue(), end="")
	print(f"# {len(missing)} missing, {len(unused)} unused")
	for source in unused:
		print(f"# unused: {source}")
