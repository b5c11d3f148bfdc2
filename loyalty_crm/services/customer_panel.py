"""The Customer form's loyalty panel: one call that gathers the customer's loyalty picture.

Before the panel a desk user had to open the collapsed *Loyalty Details* section at the bottom
of the Accounting tab and piece the story together from read-only caches. The panel is drawn
from this one call (``public/js/customer.js``) so the form costs one round trip, and every part
is a single indexed query on the customer (no loop over rows):

* tier and the way to the next one: the ladder's metric over the current window (the same
  aggregation the daily evaluation runs, for one customer), the next threshold, the window's
  end and, when the customer is below their tier, the day they keep it until;
* points: the balance in all companies and the points expiring in the next 30 days;
* the last movements of the ledger;
* predicted CLV, P(alive), churn band and drivers from *Churn Score* (only when the churn
  doctype is installed and the customer has been scored);
* the last NPS answer.

Permissions: the caller must read the Customer; ledger movements, scores and survey answers
are only included for users who may read those doctypes (a cashier with Customer access sees
tier and points, as at the till, but not the ledger rows).
"""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.utils import add_days, cint, flt, getdate, nowdate

from loyalty_crm.engine import tiers as tier_engine
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import ledger, tiers

LEDGER = "Loyalty Ledger Entry"
SURVEY = "Satisfaction Survey"
CHURN = "Churn Score"
EXPIRY_DAYS = 30
MOVEMENTS = 8

METRIC_LABELS = {"spend": "Spend", "points": "Points Earned", "invoices": "Number of Invoices"}


@frappe.whitelist()
def get_panel(customer: str) -> dict:
	"""Everything the Customer form's loyalty panel shows, for one customer."""
	frappe.has_permission("Customer", "read", customer, throw=True)
	today = getdate(nowdate())
	panel = {
		"customer": customer,
		"tier": tier_progress(customer, today),
		"points": points_summary(customer, today),
		"movements": None,
		"churn": None,
		"nps": None,
	}
	if frappe.has_permission(LEDGER, "read"):
		panel["movements"] = last_movements(customer)
	if churn_installed() and frappe.has_permission(CHURN, "read"):
		panel["churn"] = churn_scores(customer)
	if frappe.has_permission(SURVEY, "read"):
		panel["nps"] = last_nps(customer)
	return panel


def churn_installed() -> bool:
	"""Churn scoring is a separate part of the app; the panel shows it only once it exists."""
	return bool(frappe.db.table_exists(CHURN))


# ---------------------------------------------------------------------------------- tier


def tier_progress(customer: str, today) -> dict | None:
	"""Current tier, the next one and how far the customer's window metric has come.

	None when tiers are off or no tier exists. ``progress`` is the share of the next tier's
	threshold reached (1 on the top tier); ``window_end`` is the last day of the window that
	counts today (for a rolling window: today, which moves on every day).
	"""
	ladder = tiers.active_ladder()
	if not ladder:
		return None
	options = tiers.ladder_options()
	try:
		start, end = tier_engine.qualification_window(today, options["window_kind"], options["window_months"])
	except EngineError as error:
		tiers.throw_engine_error(error)
	if options["window_kind"] == "calendar_year":
		end = getdate(f"{today.year}-12-31")
	metric = tiers.window_metric(options["metric"], start, today, [customer])
	metric_label = METRIC_LABELS[options["metric"]]  # Loyalty Settings' options, translated there
	value = flt(metric.get(customer, 0))
	state = frappe.db.get_value(
		"Customer",
		customer,
		["loyalty_crm_tier", "loyalty_crm_tier_since", "loyalty_crm_below_since", "loyalty_crm_grace_ends"],
		as_dict=True,
	)
	details = {
		row.name: row
		for row in frappe.get_all(
			tiers.TIER, fields=["name", "rank", "threshold", "color", "multiplier"], order_by="`rank` asc"
		)
	}
	current = details.get(state.loyalty_crm_tier) if state.loyalty_crm_tier else None
	above = [row for row in details.values() if current is None or cint(row.rank) > cint(current.rank)]
	following = above[0] if above else None
	if following is None or flt(following.threshold) <= value:
		progress = 1.0
	else:
		progress = max(0.0, value / flt(following.threshold))
	return {
		"tier": current.name if current else None,
		"color": current.color if current else None,
		"multiplier": flt(current.multiplier) if current else None,
		"tier_since": state.loyalty_crm_tier_since,
		"metric": options["metric"],
		"metric_label": _(metric_label),
		"value": value,
		"currency": currency_for(customer) if options["metric"] == "spend" else None,
		"window_start": start,
		"window_end": end,
		"next_tier": following.name if following else None,
		"next_threshold": flt(following.threshold) if following else None,
		"to_next": max(0.0, flt(following.threshold) - value) if following else None,
		"progress": progress,
		"below_since": state.loyalty_crm_below_since,
		"keeps_tier_until": state.loyalty_crm_grace_ends,
	}


def currency_for(customer: str) -> str | None:
	"""Spend is in company currency; the customer's own billing currency is only a fallback."""
	import erpnext

	return erpnext.get_default_currency() or frappe.db.get_value("Customer", customer, "default_currency")


# ---------------------------------------------------------------------------------- points


def points_summary(customer: str, today) -> dict:
	"""Balance and points expiring within 30 days, from one grouped read of the customer's lots.

	A lot is the row that opened it plus every row drawing on it (``lot`` names the opener), so
	its remainder is a plain sum; a lot expiring on D can still be spent on D.
	"""
	horizon = add_days(today, EXPIRY_DAYS)
	lots = frappe.db.sql(
		f"""
		select entry.lot, sum(entry.points) as remaining,
			max(case when entry.name = entry.lot then entry.expiry_date end) as expiry_date
		from `tab{LEDGER}` entry
		where entry.customer = %(customer)s
		group by entry.lot
		""",
		{"customer": customer},
		as_dict=True,
	)
	balance = sum(flt(lot.remaining) for lot in lots)
	expiring = [
		lot
		for lot in lots
		if lot.expiry_date and flt(lot.remaining) > 0 and today <= getdate(lot.expiry_date) <= horizon
	]
	return {
		"balance": balance,
		"expiring_points": sum(flt(lot.remaining) for lot in expiring),
		"next_expiry": min((lot.expiry_date for lot in expiring), default=None),
		"expiry_days": EXPIRY_DAYS,
		"precision": ledger.precision(),
	}


def last_movements(customer: str) -> list[dict]:
	return frappe.get_all(
		LEDGER,
		filters={"customer": customer},
		fields=["name", "posting_date", "entry_type", "points", "company", "voucher_type", "voucher_no"],
		order_by="creation desc, name desc",
		limit=MOVEMENTS,
	)


# ---------------------------------------------------------------------------------- churn, CLV, NPS


def churn_scores(customer: str) -> list[dict]:
	"""The customer's Churn Score per company, highest predicted value first (their main company).

	The drivers are rebuilt from ``drivers_json`` in the reader's language (the stored text is in
	the site's language when it was scored), one per line.
	"""
	rows = frappe.get_all(
		CHURN,
		filters={"customer": customer},
		fields=[
			"company",
			"risk_band",
			"score",
			"drivers",
			"drivers_json",
			"predicted_clv",
			"p_alive",
			"scored_on",
		],
		order_by="predicted_clv desc, company asc",
	)
	for row in rows:
		row.drivers = translated_drivers(row.pop("drivers_json", None)) or row.drivers
	return rows


def translated_drivers(drivers_json: str | None) -> str | None:
	try:
		drivers = json.loads(drivers_json or "null")
		if not isinstance(drivers, list) or not drivers:
			return None
		from loyalty_crm.services.churn import driver_text

		return driver_text(drivers)
	except (ValueError, TypeError, KeyError, IndexError, ImportError):
		return None  # an unreadable list: the stored text is shown instead


def last_nps(customer: str) -> dict | None:
	rows = frappe.get_all(
		SURVEY,
		filters={"customer": customer, "nps_answered": 1},
		fields=["name", "nps", "submitted_on", "comment"],
		order_by="submitted_on desc, creation desc",
		limit=1,
	)
	return rows[0] if rows else None
