"""Static checks of the desk pieces that need no bench: report filters and the workspace's numbers.

The browser screenshots (tests/browser/desk_views.py) show the same things on a real site.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "loyalty_crm" / "loyalty_crm"
REPORT_JS = sorted(MODULE.glob("report/*/*.js"))


@pytest.mark.parametrize("path", REPORT_JS, ids=lambda p: p.stem)
def test_report_labels_its_filters_and_sits_under_the_workspace(path: Path):
	"""Frappe shows a filter's label only as a placeholder; the shared setup puts it above the input."""
	source = path.read_text(encoding="utf-8")
	assert "loyalty_crm.reports.setup(report)" in source, "onload must call the shared setup"
	for block in re.findall(r"\{\s*fieldname:[^{}]*?\}", source, flags=re.S):
		assert re.search(r'label: __\("[^"]+"\)', block), f"filter without a translated label: {block}"
		assert 'fieldtype: "Data"' not in block or "segment" not in block, "segments are links"


def test_report_helper_is_loaded_on_every_desk_page():
	tree = ast.parse((ROOT / "loyalty_crm" / "hooks.py").read_text())
	include = next(
		ast.literal_eval(node.value)
		for node in tree.body
		if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "app_include_js"
	)
	assert "/assets/loyalty_crm/js/loyalty_reports.js" in include
	helper = (ROOT / "loyalty_crm" / "public" / "js" / "loyalty_reports.js").read_text()
	assert 'frappe.breadcrumbs.add("Loyalty CRM")' in helper


def test_workspace_numbers_point_at_whitelisted_methods():
	workspace = json.loads((MODULE / "workspace" / "loyalty_crm" / "loyalty_crm.json").read_text())
	content = json.loads(workspace["content"])
	shown_cards = {b["data"]["number_card_name"] for b in content if b["type"] == "number_card"}
	shown_charts = {b["data"]["chart_name"] for b in content if b["type"] == "chart"}
	assert shown_cards == {row["number_card_name"] for row in workspace["number_cards"]}
	assert shown_charts == {row["chart_name"] for row in workspace["charts"]}
	dashboard = ast.parse((ROOT / "loyalty_crm" / "services" / "dashboard.py").read_text())
	whitelisted = {
		node.name
		for node in dashboard.body
		if isinstance(node, ast.FunctionDef)
		and any(ast.unparse(d) == "frappe.whitelist()" for d in node.decorator_list)
	}
	cards = {
		json.loads(p.read_text())["name"]: json.loads(p.read_text())
		for p in MODULE.glob("number_card/*/*.json")
	}
	assert shown_cards <= set(cards)
	for card in cards.values():
		assert card["type"] == "Custom" and card["module"] == "Loyalty CRM"
		assert card["method"].rpartition(".")[2] in whitelisted, card["name"]
	for name in shown_charts:
		folder = name.lower().replace(" ", "_")
		chart = json.loads((MODULE / "dashboard_chart" / folder / f"{folder}.json").read_text())
		assert chart["chart_type"] == "Custom" and chart["source"] == name
		source_js = (MODULE / "dashboard_chart_source" / folder / f"{folder}.js").read_text()
		method = re.search(r'method: "loyalty_crm\.services\.dashboard\.(\w+)"', source_js).group(1)
		assert method in whitelisted, name
