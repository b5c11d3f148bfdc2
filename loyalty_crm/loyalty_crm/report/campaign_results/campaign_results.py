# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Campaign Results: treated against control for each launched Retention Campaign.

Measured live (services.campaigns.measure without saving), so the report is always current; the
statistics are the engine's (Welch t interval for revenue per customer, Wald interval for the
share who bought, 95 %).
"""

import frappe
from frappe import _

from loyalty_crm.services import campaigns


def execute(filters=None):
	filters = frappe._dict(filters or {})
	names = campaign_names(filters)
	columns = get_columns()
	if not names:
		return columns, [], _("No launched Retention Campaign matches the filters"), None, []
	data, results = [], []
	for name in names:
		figures = campaigns.measure(name, save=False)
		results.append(figures)
		data.extend(rows_for(name, figures))
	first = results[0]
	return columns, data, message_for(first), chart_for(first), summary_for(first)


def campaign_names(filters) -> list[str]:
	conditions = {"status": ("!=", "Draft")}
	if filters.get("campaign"):
		conditions["name"] = filters.campaign
	if filters.get("company"):
		conditions["company"] = filters.company
	if filters.get("status"):
		conditions["status"] = filters.status
	return frappe.get_all(
		campaigns.CAMPAIGN, filters=conditions, pluck="name", order_by="launch_date desc, name asc"
	)


def get_columns() -> list[dict]:
	"""One row per campaign, treated and control side by side: every cell has a value."""
	currency = {"fieldtype": "Currency", "width": 130}
	return [
		{
			"fieldname": "campaign",
			"label": _("Retention Campaign"),
			"fieldtype": "Link",
			"options": "Retention Campaign",
			"width": 170,
		},
		{"fieldname": "treated_customers", "label": _("Treated Customers"), "fieldtype": "Int", "width": 110},
		{"fieldname": "control_customers", "label": _("Control Customers"), "fieldtype": "Int", "width": 110},
		{
			"fieldname": "treated_buy_rate",
			"label": _("Treated: Share Who Bought"),
			"fieldtype": "Percent",
			"width": 120,
		},
		{
			"fieldname": "control_buy_rate",
			"label": _("Control: Share Who Bought"),
			"fieldtype": "Percent",
			"width": 120,
		},
		{"fieldname": "treated_revenue", "label": _("Treated: Revenue per Customer"), **currency},
		{"fieldname": "control_revenue", "label": _("Control: Revenue per Customer"), **currency},
		{"fieldname": "incremental_revenue", "label": _("Incremental Revenue"), **currency},
		{"fieldname": "incremental_low", "label": _("95% Interval, Low"), **currency},
		{"fieldname": "incremental_high", "label": _("95% Interval, High"), **currency},
		{"fieldname": "redemptions", "label": _("Offer Redemptions"), "fieldtype": "Int", "width": 110},
		{"fieldname": "offer_cost", "label": _("Offer Cost"), **currency},
		{"fieldname": "return_on_cost", "label": _("Return on Cost"), "fieldtype": "Float", "width": 110},
	]


def _pct(value):
	return None if value is None else value * 100


def rows_for(name: str, figures: dict) -> list[dict]:
	incremental = figures["incremental_revenue"]
	return [
		{
			"campaign": name,
			"treated_customers": figures["treated_customers"],
			"control_customers": figures["control_customers"],
			"treated_buy_rate": _pct(figures["treated_buy_rate"]),
			"control_buy_rate": _pct(figures["control_buy_rate"]),
			"treated_revenue": figures["treated_revenue_per_customer"],
			"control_revenue": figures["control_revenue_per_customer"],
			"incremental_revenue": incremental["estimate"],
			"incremental_low": incremental["low"],
			"incremental_high": incremental["high"],
			"redemptions": figures["offer_redemptions"],
			"offer_cost": figures["offer_cost"],
			"return_on_cost": figures["return_on_cost"],
		}
	]


def message_for(figures: dict) -> str:
	return _(
		"{0}: measured over {1} to {2} ({3} days so far). Intervals: {4}. Incremental revenue = "
		"(treated - control revenue per customer) x treated customers; return on cost = "
		"(incremental revenue - offer cost) / offer cost, on revenue, not margin."
	).format(
		figures["campaign"],
		figures["window_start"],
		figures["window_end"],
		figures["days_measured"],
		_(figures["method"]),
	)


def chart_for(figures: dict) -> dict:
	curve = figures["curve"]
	return {
		"title": _("Cumulative revenue per customer: {0}").format(figures["campaign"]),
		"type": "line",
		"data": {
			"labels": [str(day + 1) for day in curve["day"]],
			"datasets": [
				{"name": _("Treated"), "values": curve["treated"]},
				{"name": _("Control"), "values": curve["control"]},
			],
		},
		"colors": ["#2490ef", "#98a2b3"],
		"axisOptions": {"xIsSeries": 1},
		"fieldtype": "Currency",
	}


def summary_for(figures: dict) -> list[dict]:
	incremental = figures["incremental_revenue"]
	low, high = incremental["low"], incremental["high"]
	significant = low is not None and (low > 0 or high < 0)
	return [
		{"label": _("Treated Customers"), "value": figures["treated_customers"], "datatype": "Int"},
		{"label": _("Control Customers"), "value": figures["control_customers"], "datatype": "Int"},
		{
			"label": _("Incremental Revenue"),
			"value": incremental["estimate"],
			"datatype": "Currency",
			"indicator": "Green" if significant and low > 0 else ("Red" if significant else "Grey"),
		},
		{"label": _("95% Interval, Low"), "value": low, "datatype": "Currency"},
		{"label": _("95% Interval, High"), "value": high, "datatype": "Currency"},
		{"label": _("Offer Cost"), "value": figures["offer_cost"], "datatype": "Currency"},
		{"label": _("Return on Cost"), "value": figures["return_on_cost"], "datatype": "Float"},
	]
