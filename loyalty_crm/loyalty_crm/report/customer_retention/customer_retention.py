# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Acquisition cohorts: of the customers first won in a month (or week), how many came back k periods later.

The matrix, the average curve and the KPIs come from ``loyalty_crm.engine.cohorts`` on the net
amount per customer per day (``loyalty_crm.services.clv.fetch_transactions``). Cells a cohort
has not lived to see yet are blank, not 0.
"""

from __future__ import annotations

import frappe
import pandas as pd
from frappe import _

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import clv
from loyalty_crm.services.report_scale import as_of_card

PERIODS = {"Month": "month", "Week": "week"}


def execute(filters=None):
	filters = clv.with_defaults(filters)
	period = filters.get("period") or "Month"
	if period not in PERIODS:
		frappe.throw(_("Period must be Month or Week"))
	show_counts = bool(frappe.utils.cint(filters.get("show_counts")))
	transactions = clv.fetch_transactions(filters)
	if transactions.empty:
		return (
			get_columns(period, 0, show_counts),
			[],
			_("No submitted invoices match these filters."),
			None,
			[],
		)
	try:
		result = clv.retention(transactions, PERIODS[period], filters.from_date, filters.to_date)
	except EngineError as error:
		return get_columns(period, 0, show_counts), [], clv.translated(error), None, []
	ages = len(result.counts.columns)
	return (
		get_columns(period, ages, show_counts),
		get_data(result, period, show_counts),
		None,
		get_chart(result.curve, period),
		[*get_summary(result, period), as_of_card(frappe.utils.getdate(filters.to_date))],
	)


def period_label(period: str, age: int) -> str:
	return _("Month {0}").format(age) if period == "Month" else _("Week {0}").format(age)


def get_columns(period: str, ages: int, show_counts: bool) -> list[dict]:
	columns = [
		{
			"fieldname": "cohort",
			"label": _("Cohort (Month)") if period == "Month" else _("Cohort (Week Starting)"),
			"fieldtype": "Data",
			"width": 130,
		},
		{"fieldname": "cohort_size", "label": _("New Customers"), "fieldtype": "Int", "width": 120},
	]
	for age in range(ages):
		column = {"fieldname": f"period_{age}", "label": period_label(period, age), "width": 90}
		column.update({"fieldtype": "Int"} if show_counts else {"fieldtype": "Percent", "precision": 1})
		columns.append(column)
	return columns


def get_data(result: frappe._dict, period: str, show_counts: bool) -> list[dict]:
	cells = result.counts if show_counts else result.rates * 100
	rows = []
	for cohort, values in cells.iterrows():
		row = {"cohort": cohort_label(cohort, period), "cohort_size": int(result.counts.at[cohort, 0])}
		for age, value in values.items():
			if not pd.isna(value):
				row[f"period_{age}"] = int(value) if show_counts else float(value)
		rows.append(row)
	return rows


def cohort_label(cohort: pd.Period, period: str) -> str:
	return str(cohort) if period == "Month" else cohort.start_time.date().isoformat()


def get_chart(curve: pd.Series, period: str) -> dict:
	points = curve.dropna()
	return {
		"type": "line",
		"data": {
			"labels": [period_label(period, int(age)) for age in points.index],
			"datasets": [{"name": _("Average Retention (%)"), "values": [round(v * 100, 2) for v in points]}],
		},
		"lineOptions": {"dotSize": 4},
		"axisOptions": {"xIsSeries": 1},
		"colors": ["#5e64ff"],
		"fieldtype": "Percent",
	}


def get_summary(result: frappe._dict, period: str) -> list[dict]:
	next_period = _("next month") if period == "Month" else _("next week")

	def percent(value):
		return None if value is None else round(value * 100, 2)

	return [
		{"value": result.new_customers, "label": _("New Customers"), "datatype": "Int", "indicator": "Blue"},
		{
			"value": percent(result.retention_rate),
			"label": _("Retention Rate ({0})").format(next_period),
			"datatype": "Percent",
			"indicator": "Green",
		},
		{
			"value": percent(result.churn_rate),
			"label": _("Churn Rate ({0})").format(next_period),
			"datatype": "Percent",
			"indicator": "Red",
		},
		{
			"value": percent(result.repeat_purchase_rate),
			"label": _("Repeat Purchase Rate"),
			"datatype": "Percent",
			"indicator": "Blue",
		},
	]
