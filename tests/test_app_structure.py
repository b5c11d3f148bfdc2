"""Static checks of the Frappe layer that need no bench: JSON, hooks, reports, lint.

Frappe can't be installed on a fresh machine, so these read the source instead of
importing it; the bench integration tests then exercise the same files on a real site.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "loyalty_crm"
MODULE = APP / "loyalty_crm"

# Frappe v15's DocField fieldtype options (frappe/core/doctype/docfield/docfield.json).
VALID_FIELDTYPES = {
    "Autocomplete", "Attach", "Attach Image", "Barcode", "Button", "Check", "Code", "Color",
    "Column Break", "Currency", "Data", "Date", "Datetime", "Duration", "Dynamic Link", "Float",
    "Fold", "Geolocation", "Heading", "HTML", "HTML Editor", "Icon", "Image", "Int", "JSON", "Link",
    "Long Text", "Markdown Editor", "Password", "Percent", "Phone", "Read Only", "Rating",
    "Section Break", "Select", "Signature", "Small Text", "Tab Break", "Table", "Table MultiSelect",
    "Text", "Text Editor", "Time",
}  # fmt: skip

DOCTYPE_JSONS = sorted(MODULE.glob("doctype/*/*.json"))
REPORT_DIRS = sorted(p for p in (MODULE / "report").iterdir() if p.is_dir() and p.name != "__pycache__")


def scrub(name: str) -> str:
	return name.lower().replace(" ", "_").replace("-", "_")


def load(path: Path) -> dict:
	return json.loads(path.read_text(encoding="utf-8"))


def test_app_has_doctypes():
	assert DOCTYPE_JSONS, "no doctype JSON found"


@pytest.mark.parametrize("path", DOCTYPE_JSONS, ids=lambda p: p.parent.name)
def test_doctype_json_is_valid(path: Path):
	doc = load(path)
	assert doc["doctype"] == "DocType"
	assert doc["module"] == "Loyalty CRM"
	assert scrub(doc["name"]) == path.stem == path.parent.name
	names = [field["fieldname"] for field in doc["fields"]]
	assert len(names) == len(set(names)), "duplicate fieldnames"
	assert doc.get("field_order", names) == names
	for field in doc["fields"]:
		assert field["fieldtype"] in VALID_FIELDTYPES, f"{field['fieldname']}: {field['fieldtype']}"
		if field["fieldtype"] in ("Link", "Table", "Table MultiSelect", "Dynamic Link"):
			assert field.get("options"), f"{field['fieldname']} needs options"
		if field["fieldtype"] == "Dynamic Link":
			assert field["options"] in names, f"{field['fieldname']} points at a missing field"
	if not doc.get("istable"):
		roles = {perm["role"] for perm in doc["permissions"]}
		assert {"Loyalty Manager", "Loyalty User"} <= roles, f"{doc['name']} lacks app roles"


@pytest.mark.parametrize("path", DOCTYPE_JSONS, ids=lambda p: p.parent.name)
def test_doctype_folder_has_controller_and_test(path: Path):
	doc = load(path)
	folder = path.parent
	controller = folder / f"{path.stem}.py"
	assert controller.exists()
	class_name = doc["name"].replace(" ", "").replace("-", "")
	tree = ast.parse(controller.read_text())
	assert class_name in {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
	if not doc.get("istable"):
		assert (folder / f"{path.stem}.js").exists()
		assert (folder / f"test_{path.stem}.py").exists(), "each doctype has its FrappeTestCase"


def test_links_point_at_known_doctypes():
	ours = {load(p)["name"] for p in DOCTYPE_JSONS}
	erpnext = {"Customer", "Company", "Item Group", "Mode of Payment", "DocType", "Sales Invoice",
               "POS Invoice", "POS Profile", "Customer Group", "Territory", "Email Group", "Pricing Rule",
               "Contact", "User", "Currency", "Coupon Code", "Email Template"}  # fmt: skip
	for path in DOCTYPE_JSONS:
		for field in load(path)["fields"]:
			if field["fieldtype"] in ("Link", "Table", "Table MultiSelect"):
				assert field["options"] in ours | erpnext, f"{path.name}: {field['fieldname']}"


def _hook_paths() -> list[str]:
	"""Every dotted path in hooks.py, found by walking its AST (frappe can't be imported here)."""
	tree = ast.parse((APP / "hooks.py").read_text())
	paths = []
	for node in ast.walk(tree):
		if (
			isinstance(node, ast.Constant)
			and isinstance(node.value, str)
			and node.value.startswith("loyalty_crm.")
		):
			paths.append(node.value)
	return paths


def _defines(module_path: Path, name: str) -> bool:
	tree = ast.parse(module_path.read_text())
	return any(isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name for node in tree.body)


def test_hooks_have_required_metadata():
	tree = ast.parse((APP / "hooks.py").read_text())
	assigned = {
		node.targets[0].id: node.value
		for node in tree.body
		if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
	}
	for key in ("app_name", "app_title", "app_publisher", "app_description", "app_email", "app_license"):
		assert key in assigned, key
	assert ast.literal_eval(assigned["required_apps"]) == ["frappe/erpnext"]
	assert "override_doctype_class" not in assigned, "hook ERPNext with doc_events, not class overrides"


@pytest.mark.parametrize("dotted", _hook_paths())
def test_hook_path_resolves(dotted: str):
	module, _, attr = dotted.rpartition(".")
	path = ROOT / Path(*module.split("."))
	source = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
	assert source.exists(), f"{dotted}: no module {module}"
	assert _defines(source, attr), f"{dotted}: {attr} is not defined in {source.relative_to(ROOT)}"


def test_hook_asset_paths_exist():
	tree = ast.parse((APP / "hooks.py").read_text())
	for node in ast.walk(tree):
		if (
			isinstance(node, ast.Constant)
			and isinstance(node.value, str)
			and node.value.startswith("public/")
		):
			assert (APP / node.value).exists(), node.value


@pytest.mark.parametrize("folder", REPORT_DIRS, ids=lambda p: p.name)
def test_report_folder_is_complete(folder: Path):
	for suffix in (".json", ".py", ".js"):
		assert (folder / f"{folder.name}{suffix}").exists(), suffix
	report = load(folder / f"{folder.name}.json")
	assert report["doctype"] == "Report" and report["module"] == "Loyalty CRM"
	assert report["report_type"] == "Script Report"
	assert scrub(report["name"]) == folder.name
	assert _defines(folder / f"{folder.name}.py", "execute")


def test_workspace_links_every_doctype_and_report():
	workspace = load(MODULE / "workspace" / "loyalty_crm" / "loyalty_crm.json")
	linked = {link["link_to"] for link in workspace["links"] if link["type"] == "Link"}
	doctypes = {load(p)["name"] for p in DOCTYPE_JSONS if not load(p).get("istable")}
	reports = {load(f / f"{f.name}.json")["name"] for f in REPORT_DIRS}
	assert doctypes | reports <= linked, sorted((doctypes | reports) - linked)


def test_modules_and_patches_files():
	assert (APP / "modules.txt").read_text().strip() == "Loyalty CRM"
	patches = (APP / "patches.txt").read_text()
	assert "[pre_model_sync]" in patches and "[post_model_sync]" in patches


def test_translations_csv_parses_and_covers_doctype_labels():
	import csv

	rows = list(csv.reader((APP / "translations" / "zh.csv").open(encoding="utf-8")))
	assert all(len(row) >= 2 and row[0] and row[1] for row in rows), "every row: source, translation"
	translated = {row[0] for row in rows}
	for path in DOCTYPE_JSONS:
		doc = load(path)
		assert doc["name"] in translated, doc["name"]
		for field in doc["fields"]:
			if field.get("label"):
				assert field["label"] in translated, f"{doc['name']}: {field['label']}"


def test_ruff_clean():
	ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
	if not Path(ruff).exists():
		pytest.skip("ruff is not installed (pip install -e '.[test]')")
	for command in (["check"], ["format", "--check"]):
		result = subprocess.run([ruff, *command, str(ROOT)], capture_output=True, text=True)
		assert result.returncode == 0, result.stdout + result.stderr


def test_installing_leaves_erpnext_loyalty_program_alone_by_default():
	"""A fresh install must not change what ERPNext's own Loyalty Program awards."""
	settings = load(MODULE / "doctype" / "loyalty_settings" / "loyalty_settings.json")
	policy = next(f for f in settings["fields"] if f["fieldname"] == "builtin_program_policy")
	assert policy["default"] == "Leave ERPNext Program Alone"
	assert policy["options"].split("\n")[0] == policy["default"]
