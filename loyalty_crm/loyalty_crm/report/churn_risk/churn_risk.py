# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

"""Customers by churn score: band, drivers, value at risk, from the stored Churn Score rows.

One aggregated query reads the rows with their customer's segment, tier, territory and group;
the chart and the KPI cards are totals of exactly those rows, so they always agree with the
table. The model's ROC AUC and date come from the company's active Churn Model Run.
"""

import frappe
import pandas as pd
from frappe import _
from frappe.utils import flt, getdate

from loyalty_crm.services import churn
from loyalty_crm.services.clv import default_company
from loyalty_crm.services.report_scale import as_of_card


def execute(filters=None):
	filters = frappe._dict(filters or {})
	filters.company = filters.company or default_company()
	data = rows(filters)
	run = active_run(filters.company)
	if data:
		message = _(
			"Scores of the daily churn scoring; a score is the probability of no purchase in the next {0} days."
		).format(run.horizon_days if run else churn.churn_settings().horizon_days)
	elif run:
		message = _(
			"No Churn Scores for these filters: score the company (bench loyalty-crm score-churn) or widen the filters."
		)
	else:
		message = _(
			"{0} has no trained churn model yet: train one first (bench loyalty-crm train-churn)."
		).format(filters.company)
	cards = summary(data, run)
	scored = [row.scored_on for row in data if row.scored_on]
	if scored:  # the scores are as of the last scoring; with a prepared result too
		cards.append(as_of_card(getdate(max(scored)), _("Scored On")))
	return columns(), data, message, chart(data), cards


def rows(filters) -> list[dict]:
	values = {"company": filters.company}
	conditions = ["score.company = %(company)s"]
	if filters.risk_band:
		conditions.append("score.risk_band = %(risk_band)s")
		values["risk_band"] = filters.risk_band
	if filters.tier:
		conditions.append("customer.loyalty_crm_tier = %(tier)s")
		values["tier"] = filters.tier
	if filters.segment:
		conditions.append(
			"exists (select 1 from `tabCustomer Segment Membership` membership"
			" where membership.customer = score.customer and membership.segment = %(segment)s)"
		)
		values["segment"] = filters.segment
	for fieldname, doctype in (("territory", "Territory"), ("customer_group", "Customer Group")):
		if filters.get(fieldname):
			values[fieldname] = (
				filters.get(fieldname),
				*frappe.db.get_descendants(doctype, filters.get(fieldname)),
			)
			conditions.append(f"customer.{fieldname} in %({fieldname})s")
	# Only fixed fragments are joined; every user value is a parameter.
	return frappe.db.sql(
		f"""
		select score.customer, customer.customer_name, score.risk_band, score.score, score.drivers,
			score.days_since_last_purchase, customer.loyalty_crm_segment as segment,
			customer.loyalty_crm_tier as tier, customer.territory, customer.customer_group,
			score.expected_purchases, score.p_alive, score.predicted_clv, score.value_at_risk,
			score.scored_on, score.model_run
		from `tabChurn Score` score
		join `tabCustomer` customer on customer.name = score.customer
		where {" and ".join(conditions)}
		order by score.score desc, score.value_at_risk desc, score.customer asc
		""",
		values,
		as_dict=True,
	)


def active_run(company: str | None):
	name = company and churn.active_run(company)
	if not name:
		return None
	return frappe.db.get_value(
		"Churn Model Run", name, ["name", "model_roc_auc", "trained_on", "horizon_days"], as_dict=True
	)


def columns() -> list[dict]:
	return [
		{
			"fieldname": "customer",
			"label": _("Customer"),
			"fieldtype": "Link",
			"options": "Customer",
			"width": 140,
		},
		{"fieldname": "customer_name", "label": _("Customer Name"), "fieldtype": "Data", "width": 160},
		{"fieldname": "risk_band", "label": _("Risk Band"), "fieldtype": "Data", "width": 90},
		{"fieldname": "score", "label": _("Churn Score"), "fieldtype": "Float", "precision": 3, "width": 90},
		{"fieldname": "drivers", "label": _("Drivers"), "fieldtype": "Small Text", "width": 320},
		{
			"fieldname": "days_since_last_purchase",
			"label": _("Days Since Last Purchase"),
			"fieldtype": "Int",
			"width": 90,
		},
		{"fieldname": "segment", "label": _("Customer Segment"), "fieldtype": "Data", "width": 120},
		{
			"fieldname": "tier",
			"label": _("Loyalty Tier"),
			"fieldtype": "Link",
			"options": "Loyalty Tier",
			"width": 100,
		},
		{
			"fieldname": "territory",
			"label": _("Territory"),
			"fieldtype": "Link",
			"options": "Territory",
			"width": 100,
		},
		{
			"fieldname": "customer_group",
			"label": _("Customer Group"),
			"fieldtype": "Link",
			"options": "Customer Group",
			"width": 110,
		},
		{
			"fieldname": "expected_purchases",
			"label": _("Expected Purchases in Horizon"),
			"fieldtype": "Float",
			"precision": 2,
			"width": 100,
		},
		{"fieldname": "p_alive", "label": _("P(Alive)"), "fieldtype": "Float", "precision": 3, "width": 80},
		{
			"fieldname": "predicted_clv",
			"label": _("Predicted 12-Month CLV"),
			"fieldtype": "Currency",
			"width": 120,
		},
		{"fieldname": "value_at_risk", "label": _("Value at Risk"), "fieldtype": "Currency", "width": 120},
		{"fieldname": "scored_on", "label": _("Scored On"), "fieldtype": "Date", "width": 100},
		{
			"fieldname": "model_run",
			"label": _("Churn Model Run"),
			"fieldtype": "Link",
			"options": "Churn Model Run",
			"width": 140,
		},
	]


def band_totals(data: list[dict]) -> pd.DataFrame:
	"""Customers and value at risk per band, every band present (0 when empty)."""
	frame = pd.DataFrame(
		[(row.get("risk_band"), row.get("value_at_risk")) for row in data],
		columns=["risk_band", "value_at_risk"],
	)
	frame["value_at_risk"] = pd.to_numeric(frame["value_at_risk"], errors="coerce").fillna(0.0)
	per = frame.groupby("risk_band")["value_at_risk"].agg(["size", "sum"])
	return per.reindex(list(churn.BANDS), fill_value=0)


def chart(data: list[dict]) -> dict | None:
	if not data:
		return None
	per = band_totals(data)
	return {
		"data": {
			"labels": list(churn.BANDS),
			"datasets": [
				{"name": _("Customers"), "values": [int(v) for v in per["size"]]},
				{"name": _("Value at Risk"), "values": [flt(v, 2) for v in per["sum"]]},
			],
		},
		"type": "bar",
	}


def summary(data: list[dict], run) -> list[dict]:
	per = band_totals(data)
	cards = [
		{
			"value": int(per.loc[["High", "Critical"], "size"].sum()),
			"label": _("Customers at High or Critical Risk"),
			"datatype": "Int",
			"indicator": "Red",
		},
		{
			"value": flt(per["sum"].sum(), 2),
			"label": _("Value at Risk"),
			"datatype": "Currency",
			"indicator": "Orange",
		},
	]
	if run:
		cards += [
			{
				"value": flt(run.model_roc_auc, 4),
				"label": _("Model ROC AUC"),
				"datatype": "Float",
				"indicator": "Blue",
			},
			{
				"value": getdate(run.trained_on),
				"label": _("Model Trained On"),
				"datatype": "Date",
				"indicator": "Blue",
			},
		]
	return cards
