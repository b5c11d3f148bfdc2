"""Reading survey answers and invoice counts for the satisfaction figures: one query each.

The figures themselves come from ``loyalty_crm.engine.surveys.score_summary``.
"""

from __future__ import annotations

import frappe
import numpy as np
import pandas as pd
from frappe.utils import add_days, getdate

RESPONSE_COLUMNS = ["name", "customer", "submitted_on", "nps", "csat", "ces", "complaint"]


def _conditions(filters: dict, survey: bool) -> tuple[str, dict]:
	"""Fixed SQL fragments; every value goes in as a parameter."""
	alias = "s" if survey else "inv"
	parts, values = [], {}
	for key, column in (
		("company", f"{alias}.company"),
		("pos_profile", f"{alias}.pos_profile"),
		("segment", "c.loyalty_crm_segment"),
		("tier", "c.loyalty_crm_tier"),
	):
		if filters.get(key):
			parts.append(f" and {column} = %({key})s")
			values[key] = filters[key]
	return "".join(parts), values


def fetch_responses(filters: dict, detail: bool = False) -> pd.DataFrame:
	"""One row per survey in the date range, scores as the engine reads them (NaN = not answered)."""
	conditions, values = _conditions(filters, survey=True)
	values.update(from_date=getdate(filters["from_date"]), to_date=add_days(getdate(filters["to_date"]), 1))
	extra = (
		", s.customer_name, s.channel, s.complaint_category, s.resolution_status, s.comment" if detail else ""
	)
	rows = frappe.db.sql(
		f"""
		select s.name, s.customer, s.submitted_on, s.nps, s.nps_answered, s.csat, s.ces, s.complaint,
			s.company, s.pos_profile, c.loyalty_crm_segment as segment, c.loyalty_crm_tier as tier{extra}
		from `tabSatisfaction Survey` s
		join `tabCustomer` c on c.name = s.customer
		where s.submitted_on >= %(from_date)s and s.submitted_on < %(to_date)s{conditions}
		order by s.submitted_on, s.name
		""",
		values,
		as_dict=True,
	)
	if not rows:
		return pd.DataFrame(columns=RESPONSE_COLUMNS)
	frame = pd.DataFrame([dict(row) for row in rows])  # frappe._dict confuses numpy's array protocol
	frame["nps"] = frame["nps"].astype("float64").where(frame["nps_answered"].astype(bool), np.nan)
	for column in ("csat", "ces"):
		frame[column] = frame[column].astype("float64").replace(0, np.nan)
	frame["complaint"] = frame["complaint"].astype(bool)
	return frame.drop(columns=["nps_answered"])


def fetch_invoice_counts(filters: dict) -> pd.DataFrame:
	"""Submitted sales per month (POS Invoices and Sales Invoices not made by POS closing)."""
	conditions, values = _conditions(filters, survey=False)
	values.update(from_date=getdate(filters["from_date"]), to_date=getdate(filters["to_date"]))
	query = """
		select date_format(inv.posting_date, '%%Y-%%m-01') as period, count(*) as invoices
		from `tab{doctype}` inv
		join `tabCustomer` c on c.name = inv.customer
		where inv.docstatus = 1 and inv.is_return = 0 {consolidated}
			and inv.posting_date between %(from_date)s and %(to_date)s{conditions}
		group by period
	"""
	rows = frappe.db.sql(
		query.format(
			doctype="Sales Invoice", consolidated="and inv.is_consolidated = 0", conditions=conditions
		)
		+ " union all "
		+ query.format(doctype="POS Invoice", consolidated="", conditions=conditions),
		values,
		as_dict=True,
	)
	frame = pd.DataFrame([dict(row) for row in rows], columns=["period", "invoices"])
	if frame.empty:
		return frame
	frame["period"] = pd.to_datetime(frame["period"])
	return frame.groupby("period", as_index=False)["invoices"].sum()
