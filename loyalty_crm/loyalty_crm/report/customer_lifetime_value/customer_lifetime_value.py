# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Per customer: what they spent, whether they are still a customer, what they will spend.

BG/NBD + Gamma-Gamma from ``loyalty_crm.engine.clv`` on the net amount per customer per day
(``loyalty_crm.services.clv.fetch_transactions``). When the data cannot support the models
the report still lists historical value and says why the predictions are blank.
"""

from __future__ import annotations

import math

import frappe
import numpy as np
import pandas as pd
from frappe import _
from frappe.utils import getdate

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import clv
from loyalty_crm.services.report_scale import as_of_card

CHART_BINS = 10


def execute(filters=None):
	filters = clv.with_defaults(filters)
	horizon = clv.as_int(filters.get("horizon_months"), clv.DEFAULT_HORIZON_MONTHS)
	discount_percent = clv.as_float(filters.get("discount_rate"), clv.DEFAULT_DISCOUNT_PERCENT)
	if horizon < 0:
		frappe.throw(_("The horizon must be 0 months or more"))
	currency = frappe.get_cached_value("Company", filters.company, "default_currency")
	columns = get_columns()
	transactions = clv.fetch_transactions(filters)
	if transactions.empty:
		return columns, [], _("No submitted invoices match these filters."), None, []
	try:
		customers, notes = clv.customer_values(transactions, filters.to_date, horizon, discount_percent / 100)
	except EngineError as error:
		return columns, [], clv.translated(error), None, []
	data = get_data(customers, currency)
	has_clv = customers["clv"].notna().any()
	message = None
	if notes:
		message = " ".join(
			[
				_("Predicted CLV is not available for this selection; historical value is shown.")
				if not has_clv
				else _("Some predictions are not available for this selection."),
				*notes,
			]
		)
	return (
		columns,
		data,
		message,
		get_chart(customers, has_clv),
		[*get_summary(customers, has_clv, currency, horizon), as_of_card(getdate(filters.to_date))],
	)


def get_columns() -> list[dict]:
	return [
		{
			"fieldname": "customer",
			"label": _("Customer"),
			"fieldtype": "Link",
			"options": "Customer",
			"width": 160,
		},
		{"fieldname": "customer_name", "label": _("Customer Name"), "fieldtype": "Data", "width": 160},
		{"fieldname": "segment", "label": _("Segment"), "fieldtype": "Data", "width": 110},
		{
			"fieldname": "tier",
			"label": _("Tier"),
			"fieldtype": "Link",
			"options": "Loyalty Tier",
			"width": 90,
		},
		{"fieldname": "first_purchase", "label": _("First Purchase"), "fieldtype": "Date", "width": 110},
		{"fieldname": "last_purchase", "label": _("Last Purchase"), "fieldtype": "Date", "width": 110},
		{"fieldname": "purchases", "label": _("Purchase Days"), "fieldtype": "Int", "width": 100},
		{
			"fieldname": "historical_value",
			"label": _("Historical Value"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 130,
		},
		{"fieldname": "p_alive", "label": _("Probability Alive"), "fieldtype": "Percent", "width": 120},
		{
			"fieldname": "expected_purchases",
			"label": _("Expected Purchases"),
			"fieldtype": "Float",
			"precision": 2,
			"width": 130,
		},
		{
			"fieldname": "expected_average_spend",
			"label": _("Expected Average Spend"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 150,
		},
		{
			"fieldname": "predicted_clv",
			"label": _("Predicted CLV"),
			"fieldtype": "Currency",
			"options": "currency",
			"width": 130,
		},
		{
			"fieldname": "currency",
			"label": _("Currency"),
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		},
	]


def get_data(customers: pd.DataFrame, currency: str) -> list[dict]:
	"""One dict per customer, built column by column (a Python loop over 100k rows cost a second)."""
	order = "clv" if customers["clv"].notna().any() else "historical_value"
	customers = customers.sort_values([order, "historical_value"], ascending=False, kind="stable")
	details = clv.customer_details(customers.index.tolist()).reindex(customers.index)
	frame = pd.DataFrame(
		{
			"customer": customers.index,
			"first_purchase": customers["first_purchase"].dt.date.to_numpy(),
			"last_purchase": customers["last_purchase"].dt.date.to_numpy(),
			"purchases": customers["frequency"].to_numpy().astype("int64") + 1,
			"historical_value": customers["historical_value"].to_numpy(),
			"p_alive": customers["p_alive"].to_numpy() * 100,
			"expected_purchases": customers["expected_purchases"].to_numpy(),
			"expected_average_spend": customers["expected_average_spend"].to_numpy(),
			"predicted_clv": customers["clv"].to_numpy(),
			"customer_name": details["customer_name"].to_numpy(),
			"segment": details["segment"].to_numpy(),
			"tier": details["tier"].to_numpy(),
		}
	)
	rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
	for row in rows:
		row["currency"] = currency
	return rows


def get_chart(customers: pd.DataFrame, has_clv: bool) -> dict:
	"""Customers by value range: equal-width bins up to the 99th percentile, the rest in an open last bin."""
	values = customers["clv" if has_clv else "historical_value"].dropna().to_numpy(dtype=float)
	values = np.maximum(values, 0.0)
	top = float(np.quantile(values, 0.99)) if len(values) else 0.0
	step = _nice_step(top / CHART_BINS) if top > 0 else 1.0
	edges = np.arange(CHART_BINS + 1) * step
	closed = np.minimum(values // step, CHART_BINS - 1).astype(int)
	counts = np.bincount(np.where(values <= edges[-1], closed, CHART_BINS), minlength=CHART_BINS + 1)
	labels = [f"{_short(edges[i])}–{_short(edges[i + 1])}" for i in range(CHART_BINS)]
	labels.append(f"≥ {_short(edges[CHART_BINS])}")
	while len(counts) > 1 and counts[-1] == 0:  # drop the empty open-ended tail
		counts, labels = counts[:-1], labels[:-1]
	name = _("Customers by predicted CLV") if has_clv else _("Customers by historical value")
	return {
		"type": "bar",
		"data": {"labels": labels, "datasets": [{"name": name, "values": [int(c) for c in counts]}]},
		"colors": ["#5e64ff"],
		"fieldtype": "Int",
	}


def _nice_step(raw: float) -> float:
	"""1, 2 or 5 times a power of ten, so bin edges read as round numbers."""
	power = 10 ** math.floor(math.log10(raw))
	return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _short(value: float) -> str:
	return f"{value:,.0f}" if value >= 10 else f"{value:,.2g}"


def get_summary(customers: pd.DataFrame, has_clv: bool, currency: str, horizon: int) -> list[dict]:
	historical = float(customers["historical_value"].sum())
	summary = [
		{"value": len(customers), "label": _("Customers"), "datatype": "Int", "indicator": "Blue"},
		{
			"value": historical,
			"label": _("Historical Value"),
			"datatype": "Currency",
			"currency": currency,
			"indicator": "Blue",
		},
	]
	if customers["p_alive"].notna().any():
		summary.append(
			{
				"value": float(customers["p_alive"].sum()),
				"label": _("Expected Active Customers"),
				"datatype": "Float",
				"indicator": "Green",
			}
		)
		summary.append(
			{
				"value": float(customers["expected_purchases"].sum()),
				"label": _("Expected Purchases in {0} Months").format(horizon),
				"datatype": "Float",
				"indicator": "Green",
			}
		)
	if has_clv:
		total = float(customers["clv"].sum())
		summary.append(
			{
				"value": total,
				"label": _("Predicted CLV ({0} Months)").format(horizon),
				"datatype": "Currency",
				"currency": currency,
				"indicator": "Green",
			}
		)
		summary.append(
			{
				"value": total / len(customers),
				"label": _("Average Predicted CLV"),
				"datatype": "Currency",
				"currency": currency,
				"indicator": "Green",
			}
		)
	else:
		summary.append(
			{
				"value": _("Not available"),
				"label": _("Predicted CLV"),
				"datatype": "Data",
				"indicator": "Grey",
			}
		)
	return summary
