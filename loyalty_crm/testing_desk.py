"""Data for the desk screenshots (tests/browser/desk_views.py): a year of a small shop's loyalty.

Run by ``bench --site S execute loyalty_crm.testing_desk.browser_desk_views``. It leaves real
documents on the site, as a manual test would: customers with submitted invoices over the last
year (so points are earned, one lot expires within 30 days, one till sale is paid partly with
points), survey answers over several months, churn scores when churn scoring is installed, and
the tiers the daily evaluation gives them. Running it again only returns the demo customer.
"""

from __future__ import annotations

import json

import frappe
from frappe.utils import add_days, nowdate

from loyalty_crm.testing import COMPANY, before_tests, pos_sales_invoice, sales_invoice

DEMO = "Desk Demo Member"
# what the churn scoring writes for a customer slipping away (services.churn.driver_text reads it)
DRIVERS = [
	{"message": "No purchase for {0}× their usual interval", "values": [6]},
	{"message": "Spend down {0} % on the previous quarter", "values": [45]},
	{"message": "Last NPS answer was {0}", "values": [8]},
]
# (customer name, [(days ago, amount)], [(days ago, nps)], churn band or None)
SHOP = [
	(DEMO, [(345, 420), (200, 900), (95, 610), (33, 380), (6, 150)], [(40, 9), (4, 8)], "High"),
	(
		"Desk Demo Regular",
		[(300, 250), (240, 300), (180, 280), (120, 320), (60, 300), (2, 310)],
		[(100, 10), (20, 9)],
		"Low",
	),
	("Desk Demo Lapsing", [(330, 1200), (290, 900), (150, 200)], [(150, 3)], "Critical"),
	("Desk Demo Newcomer", [(12, 180), (3, 90)], [(2, 10)], "Medium"),
	("Desk Demo One-Off", [(260, 75)], [(250, 5)], None),
]


def browser_desk_views() -> dict:
	# the workspace's per-company chart (retention) and the reports open on the demo's company
	frappe.defaults.set_user_default("company", COMPANY, "Administrator")
	frappe.db.commit()
	if frappe.db.exists("Customer", {"customer_name": DEMO}):
		return {"customer": frappe.db.get_value("Customer", {"customer_name": DEMO}, "name")}
	before_tests()
	for field, value in {"enable_accrual": 1, "enable_tiers": 1, "default_expiry_days": 365}.items():
		frappe.db.set_single_value("Loyalty Settings", field, value)
	frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
	names = {}
	for customer_name, purchases, answers, band in SHOP:
		customer = frappe.get_doc(
			{
				"doctype": "Customer",
				"customer_name": customer_name,
				"customer_group": "_Test Customer Group",
				"territory": "_Test Territory",
			}
		).insert(ignore_permissions=True)
		names[customer_name] = customer.name
		for days_ago, amount in purchases:
			day = add_days(nowdate(), -days_ago)
			sales_invoice(customer.name, rate=amount, posting_date=day)
		for days_ago, nps in answers:
			frappe.get_doc(
				{
					"doctype": "Satisfaction Survey",
					"customer": customer.name,
					"company": COMPANY,
					"submitted_on": f"{add_days(nowdate(), -days_ago)} 11:00:00",
					"nps": nps,
					"csat": 4 if nps >= 7 else 2,
					"comment": "Friendly staff, quick checkout." if nps >= 9 else "",
				}
			).insert(ignore_permissions=True)
		if band and frappe.db.table_exists("Churn Score"):
			score = frappe.new_doc("Churn Score")
			score.update(
				{
					"customer": customer.name,
					"customer_name": customer_name,
					"company": COMPANY,
					"risk_band": band,
					"score": {"Low": 0.12, "Medium": 0.41, "High": 0.63, "Critical": 0.86}[band],
					"p_alive": {"Low": 0.93, "Medium": 0.7, "High": 0.48, "Critical": 0.21}[band],
					"predicted_clv": sum(amount for _days, amount in purchases) * 0.8,
					"drivers_json": json.dumps(DRIVERS if band in ("High", "Critical") else []),
					"scored_on": nowdate(),
				}
			)
			score.db_insert()
	# a till sale today, partly paid with points
	pos_sales_invoice(names[DEMO], 120, {"Loyalty Points": 4, "Cash": 116})
	from loyalty_crm.services import tiers

	tiers.evaluate_all(nowdate())
	frappe.db.commit()
	return {"customer": names[DEMO]}
