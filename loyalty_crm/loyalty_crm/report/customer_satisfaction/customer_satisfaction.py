# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""NPS, CSAT, CES and complaint rates by month, from ``loyalty_crm.engine.surveys.score_summary``.

Filters: company, POS Profile, customer segment and tier. "Show Responses" lists the answers
themselves instead; each month's response count links to the Satisfaction Survey list.
"""

from __future__ import annotations

import frappe
import numpy as np
import pandas as pd
from frappe import _
from frappe.utils import add_months, cint, get_last_day, getdate, nowdate

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.surveys import score_summary
from loyalty_crm.services import survey_scores


def execute(filters=None):
	filters = frappe._dict(filters or {})
	filters.to_date = filters.to_date or nowdate()
	filters.from_date = filters.from_date or add_months(filters.to_date, -12)
	if getdate(filters.from_date) > getdate(filters.to_date):
		frappe.throw(_("From Date must be before To Date"))
	if cint(filters.show_responses):
		return response_columns(), response_rows(filters), None, None, []
	responses = survey_scores.fetch_responses(filters)
	if responses.empty:
		return monthly_columns(), [], _("No survey answers match these filters."), None, []
	invoices = survey_scores.fetch_invoice_counts(filters)
	try:
		monthly = score_summary(responses, period="month", invoices=invoices if not invoices.empty else None)
		overall = score_summary(responses)
	except EngineError as error:
		frappe.throw(error.translated(_))
	return monthly_columns(), monthly_rows(monthly), None, chart(monthly), summary(overall.iloc[0])


def _value(value):
	if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
		return None
	if isinstance(value, (np.integer, np.bool_)):
		return int(value)
	if isinstance(value, np.floating):
		return float(value)
	return value


def monthly_columns() -> list[dict]:
	def column(fieldname, label, fieldtype="Float", width=110, **extra):
		return {"fieldname": fieldname, "label": label, "fieldtype": fieldtype, "width": width, **extra}

	return [
		column("month", _("Month"), "Data", 90),
		column("responses", _("Responses"), "Int", 100),
		column("nps", _("NPS"), precision=1, width=80),
		column("promoters", _("Promoters"), "Int", 95),
		column("passives", _("Passives"), "Int", 90),
		column("detractors", _("Detractors"), "Int", 95),
		column("csat", _("CSAT %"), "Percent", 90, precision=1),
		column("ces_mean", _("CES (Mean)"), precision=2, width=95),
		column("ces_agree_pct", _("CES Agree %"), "Percent", 105, precision=1),
		column("complaints", _("Complaints"), "Int", 100),
		column("complaint_rate_per_survey", _("Complaints per 100 Responses"), precision=1, width=150),
		column("invoices", _("Invoices"), "Int", 90),
		column("complaint_rate_per_invoice", _("Complaints per 100 Invoices"), precision=2, width=150),
		column("small_sample", _("Small Sample"), "Check", 100),
		column("month_start", _("From"), "Date", 10, hidden=1),
		column("month_end", _("To"), "Date", 10, hidden=1),
	]


def monthly_rows(monthly: pd.DataFrame) -> list[dict]:
	rows = []
	for record in monthly.to_dict("records"):
		start = record.pop("period")
		row = {key: _value(value) for key, value in record.items()}
		row.update(
			month=start.strftime("%Y-%m"),
			month_start=start.date(),
			month_end=get_last_day(start.date()),
		)
		rows.append(row)
	return rows


def chart(monthly: pd.DataFrame) -> dict:
	def values(column):
		return [round(v, 1) if v is not None else None for v in map(_value, monthly[column])]

	return {
		"data": {
			"labels": [period.strftime("%Y-%m") for period in monthly["period"]],
			"datasets": [
				{"name": _("NPS"), "values": values("nps")},
				{"name": _("CSAT %"), "values": values("csat")},
				{"name": _("Complaints per 100 Responses"), "values": values("complaint_rate_per_survey")},
			],
		},
		"type": "line",
		"lineOptions": {"regionFill": 0, "dotSize": 4},
		"axisOptions": {"xIsSeries": 1},
		"fieldtype": "Float",
	}


def summary(overall: pd.Series) -> list[dict]:
	def item(label, value, datatype="Float", indicator="Blue"):
		return {"label": label, "value": _value(value), "datatype": datatype, "indicator": indicator}

	nps = _value(overall["nps"])
	return [
		item(_("Responses"), overall["responses"], "Int"),
		item(
			_("NPS"), nps, indicator="Green" if (nps or 0) >= 30 else ("Orange" if (nps or 0) >= 0 else "Red")
		),
		item(_("CSAT %"), overall["csat"], "Percent"),
		item(_("CES (Mean)"), overall["ces_mean"]),
		item(_("Complaints per 100 Responses"), overall["complaint_rate_per_survey"], indicator="Red"),
	]


def response_columns() -> list[dict]:
	return [
		{
			"fieldname": "name",
			"label": _("Satisfaction Survey"),
			"fieldtype": "Link",
			"options": "Satisfaction Survey",
			"width": 130,
		},
		{"fieldname": "submitted_on", "label": _("Submitted On"), "fieldtype": "Datetime", "width": 160},
		{
			"fieldname": "customer",
			"label": _("Customer"),
			"fieldtype": "Link",
			"options": "Customer",
			"width": 140,
		},
		{"fieldname": "customer_name", "label": _("Customer Name"), "fieldtype": "Data", "width": 150},
		{"fieldname": "channel", "label": _("Channel"), "fieldtype": "Data", "width": 100},
		{"fieldname": "nps", "label": _("NPS"), "fieldtype": "Int", "width": 60},
		{"fieldname": "csat", "label": _("CSAT"), "fieldtype": "Int", "width": 60},
		{"fieldname": "ces", "label": _("CES"), "fieldtype": "Int", "width": 60},
		{"fieldname": "complaint", "label": _("Complaint"), "fieldtype": "Check", "width": 90},
		{
			"fieldname": "complaint_category",
			"label": _("Complaint Category"),
			"fieldtype": "Data",
			"width": 130,
		},
		{
			"fieldname": "resolution_status",
			"label": _("Resolution Status"),
			"fieldtype": "Data",
			"width": 120,
		},
		{"fieldname": "comment", "label": _("Comment"), "fieldtype": "Data", "width": 300},
	]


def response_rows(filters) -> list[dict]:
	frame = survey_scores.fetch_responses(filters, detail=True)
	rows = []
	for record in frame.to_dict("records"):
		row = {key: _value(value) for key, value in record.items()}
		for key in ("channel", "complaint_category", "resolution_status"):
			row[key] = _(row[key]) if row.get(key) else row.get(key)
		rows.append(row)
	return rows
