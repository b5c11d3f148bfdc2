# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

"""Members of each Customer Segment with their RFM scores and metrics.

Without an As Of date the report reads the stored memberships (an indexed query, fast on any
site). With a date it computes the segments live as of that date with the same service the
refresh uses, and saves nothing.
"""

from datetime import date

import frappe
import pandas as pd
from frappe import _
from frappe.utils import date_diff, flt, getdate, nowdate

from loyalty_crm.services import segments as service
from loyalty_crm.services.report_scale import as_of_card


def execute(filters=None):
	filters = frappe._dict(filters or {})
	rows, as_of, live, notes = members(filters)
	labels = {}  # one translation per CLV basis, not one per row (133k rows: 1.8 s of _())
	data = [row_for(row, as_of, labels) for row in rows]
	message = (
		_("Computed live as of {0}; nothing was saved.").format(frappe.format(as_of, "Date"))
		if live
		else _("Memberships of the last refresh.")
	)
	message += " " + _("A customer can be in several segments, so shares do not add up to 100%.")
	message += "".join(f"<br>{frappe.utils.escape_html(note)}" for note in clv_basis_notes(rows, notes))
	if not data:
		message = _("No members: refresh the segments, or there is nothing to segment for these filters.")
	cards = summary(data)
	data_as_of = as_of if live else last_refreshed(rows)
	if data and data_as_of:
		cards.append(as_of_card(data_as_of))
	return columns(), data, message, chart(data), cards


def last_refreshed(rows: list[dict]):
	"""The date of the last refresh of the segments shown: what stored memberships are as of."""
	segments = {row["segment"] for row in rows}
	if not segments:
		return None
	value = frappe.db.sql(
		"select max(last_refreshed) from `tabCustomer Segment` where name in %(segments)s",
		{"segments": tuple(segments)},
	)[0][0]
	return getdate(value) if value else None


def members(filters) -> tuple[list[dict], object, bool]:
	if filters.as_of:
		as_of = getdate(filters.as_of)
		segments = service.load_segments(filters.segment)
		config = service.segment_settings()
		profiles, notes = service.compute(as_of, config, segments)
		wanted = service.wanted_memberships(profiles, service.load_customers(), segments)
		if filters.company:
			wanted = wanted[wanted["company"] == filters.company]
		names = (
			dict(frappe.get_all("Customer", fields=["name", "customer_name"], as_list=True))
			if len(wanted)
			else {}
		)
		wanted = wanted.astype(object).where(pd.notna(wanted), None)
		rows = []
		for record in wanted.to_dict("records"):
			record["customer_name"] = names.get(record["customer"])
			record["last_purchase"] = getdate(record["last_purchase"]) if record["last_purchase"] else None
			rows.append(record)
		return rows, as_of, True, notes

	membership = frappe.qb.DocType(service.MEMBERSHIP)
	customer = frappe.qb.DocType("Customer")
	query = (
		frappe.qb.from_(membership)
		.join(customer)
		.on(customer.name == membership.customer)
		.select(
			membership.customer,
			customer.customer_name,
			membership.segment,
			membership.company,
			*(membership[column] for column in service.SNAPSHOT),
		)
		.orderby(membership.segment)
		.orderby(membership.monetary, order=frappe.qb.desc)
	)
	if filters.company:
		query = query.where(membership.company == filters.company)
	if filters.segment:
		query = query.where(membership.segment == filters.segment)
	return query.run(as_dict=True), getdate(nowdate()), False, []


def clv_basis_notes(rows: list[dict], notes: list[str]) -> list[str]:
	"""Why some CLV bands use historical value: the live refresh's notes, or for stored rows the
	reason each company's memberships recorded (one line per company)."""
	if notes:
		return [note for note in notes if note]
	reasons = {
		(row.get("company"), row.get("clv_basis_note"))
		for row in rows
		if row.get("clv_basis") == "Historical Value"
	}
	return [
		_("{0}: CLV bands use historical value ({1})").format(company, note or _("no prediction"))
		for company, note in sorted(reasons, key=lambda pair: (pair[0] or "", pair[1] or ""))
	]


def row_for(row: dict, as_of, labels: dict | None = None) -> dict:
	row = dict(row)
	last = row.get("last_purchase")
	# the stored column is a date already; date_diff would parse both sides again for every row
	row["recency_days"] = (
		((as_of - last).days if type(last) is date else date_diff(as_of, last)) if last else None
	)
	row["monetary"] = flt(row.get("monetary"), 2)
	basis = row.get("clv_basis")
	if basis and labels is not None:
		row["clv_basis_label"] = labels.get(basis) or labels.setdefault(basis, _(basis))
	else:
		row["clv_basis_label"] = _(basis) if basis else None
	return row


def columns() -> list[dict]:
	return [
		{
			"fieldname": "segment",
			"label": _("Customer Segment"),
			"fieldtype": "Link",
			"options": "Customer Segment",
			"width": 150,
		},
		{
			"fieldname": "customer",
			"label": _("Customer"),
			"fieldtype": "Link",
			"options": "Customer",
			"width": 140,
		},
		{"fieldname": "customer_name", "label": _("Customer Name"), "fieldtype": "Data", "width": 160},
		{
			"fieldname": "company",
			"label": _("Company"),
			"fieldtype": "Link",
			"options": "Company",
			"width": 120,
		},
		{"fieldname": "rfm_segment", "label": _("RFM Segment"), "fieldtype": "Data", "width": 130},
		{"fieldname": "rfm_score", "label": _("RFM Score"), "fieldtype": "Data", "width": 80},
		{"fieldname": "r_score", "label": _("Recency Score"), "fieldtype": "Int", "width": 80},
		{"fieldname": "f_score", "label": _("Frequency Score"), "fieldtype": "Int", "width": 80},
		{"fieldname": "m_score", "label": _("Monetary Score"), "fieldtype": "Int", "width": 80},
		{"fieldname": "last_purchase", "label": _("Last Purchase"), "fieldtype": "Date", "width": 100},
		{
			"fieldname": "recency_days",
			"label": _("Days Since Last Purchase"),
			"fieldtype": "Int",
			"width": 90,
		},
		{"fieldname": "frequency", "label": _("Purchase Days in Window"), "fieldtype": "Int", "width": 90},
		{"fieldname": "monetary", "label": _("Net Revenue in Window"), "fieldtype": "Currency", "width": 120},
		{"fieldname": "abc_class", "label": _("ABC Class"), "fieldtype": "Data", "width": 70},
		{"fieldname": "clv_band", "label": _("CLV Band"), "fieldtype": "Data", "width": 80},
		{"fieldname": "clv_basis_label", "label": _("CLV Band Basis"), "fieldtype": "Data", "width": 120},
		{"fieldname": "lifecycle_stage", "label": _("Lifecycle Stage"), "fieldtype": "Data", "width": 100},
		{"fieldname": "cluster", "label": _("Cluster Number"), "fieldtype": "Data", "width": 70},
	]


def segment_totals(data: list[dict]) -> pd.DataFrame:
	"""Members and revenue per segment, and their shares of all segmented customers/revenue."""
	frame = pd.DataFrame(data, columns=["segment", "customer", "company", "monetary"])
	if frame.empty:
		return pd.DataFrame(columns=["members", "revenue", "member_share", "revenue_share"])
	frame["monetary"] = frame["monetary"].astype("float64")
	everyone = frame.drop_duplicates(["customer", "company"])
	per = frame.groupby("segment", sort=True).agg(members=("customer", "size"), revenue=("monetary", "sum"))
	total_revenue = everyone["monetary"].clip(lower=0).sum()
	per["member_share"] = per["members"] / len(everyone) * 100
	per["revenue_share"] = per["revenue"] / total_revenue * 100 if total_revenue > 0 else 0.0
	return per


def chart(data: list[dict]) -> dict | None:
	per = segment_totals(data)
	if per.empty:
		return None
	return {
		"data": {
			"labels": per.index.tolist(),
			"datasets": [
				{
					"name": _("Share of Segmented Customers (%)"),
					"values": per["member_share"].round(1).tolist(),
				},
				{
					"name": _("Share of Segmented Revenue (%)"),
					"values": per["revenue_share"].round(1).tolist(),
				},
			],
		},
		"type": "bar",
		"fieldtype": "Percent",
	}


def summary(data: list[dict]) -> list[dict]:
	per = segment_totals(data)
	out = [
		{
			"value": len({(row["customer"], row["company"]) for row in data}),
			"label": _("Segmented Customers"),
			"datatype": "Int",
			"indicator": "Blue",
		}
	]
	for segment, row in per.iterrows():
		out.append(
			{
				"value": int(row["members"]),
				"label": _("{0}: members ({1}% of revenue)").format(segment, flt(row["revenue_share"], 1)),
				"datatype": "Int",
			}
		)
	return out[:8]
