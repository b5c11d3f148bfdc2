"""The workspace's Number Cards and Dashboard Charts, on invoices, ledger rows and surveys the tests write.

Each test first empties, inside its own transaction (rolled back in tearDown), the table the
figure aggregates, so the expected values are exactly what the test wrote.
"""

import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_months, get_first_day, getdate, nowdate

from loyalty_crm.services import dashboard
from loyalty_crm.testing import (
	COMPANY,
	make_customer,
	pos_sales_invoice,
	sales_invoice,
	sales_return,
	set_settings,
	set_tier_ladder,
)

LEDGER = "Loyalty Ledger Entry"


def value(card, **filters) -> float:
	return card(filters=filters)["value"]


def ledger_row(customer: str, points: float, posting_date, entry_type: str = "Adjust") -> str:
	"""A lot opened directly (an adjustment or an old earning), without an invoice."""
	name = frappe.generate_hash(length=12)
	frappe.get_doc(
		{
			"doctype": LEDGER,
			"name": name,
			"customer": customer,
			"company": COMPANY,
			"entry_type": entry_type,
			"posting_date": posting_date,
			"points": points,
			"lot": name,
			"reason": "dashboard test",
		}
	).db_insert()
	return name


def survey(customer: str, submitted_on, nps):
	frappe.get_doc(
		{
			"doctype": "Satisfaction Survey",
			"customer": customer,
			"company": COMPANY,
			"submitted_on": f"{submitted_on} 10:00:00",
			"nps": nps,
			"csat": 4,
		}
	).insert()


def make_user(roles: list[str]) -> str:
	email = f"lcrm-dash-{frappe.generate_hash(length=6)}@example.com"
	user = frappe.get_doc({"doctype": "User", "email": email, "first_name": "Dash", "send_welcome_email": 0})
	user.insert(ignore_permissions=True)
	user.add_roles(*roles)
	return email


class TestWorkspaceNumbers(FrappeTestCase):
	def setUp(self):
		set_settings(point_value=0.01)
		self.customers = [make_customer("Dash") for _ in range(5)]

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	def write_ledger(self):
		"""A: earns 1000, spends 500 at the till (earning 95 there); B: a sale that is cancelled;
		C: a sale returned in full; D: 50 points in debt; E: 70 points earned last month."""
		frappe.db.delete(LEDGER)
		a, b, c, d, e = self.customers
		sales_invoice(a, rate=1000)
		pos_sales_invoice(a, 100, {"Loyalty Points": 5, "Cash": 95})
		sales_invoice(b, rate=300).cancel()
		sales_return(sales_invoice(c, rate=200))
		ledger_row(d, -50, nowdate())
		self.last_month = add_months(get_first_day(nowdate()), -1)
		ledger_row(e, 70, self.last_month, entry_type="Earn")

	def test_ledger_cards(self):
		self.write_ledger()
		self.assertEqual(value(dashboard.members_with_points), 2, "A (595) and E (70); D's debt is no member")
		self.assertAlmostEqual(value(dashboard.points_outstanding), 665)
		self.assertAlmostEqual(value(dashboard.points_liability), 6.65)
		# this month: 1000 + 95 earned, B's 300 earned and reversed, C's 200 earned and returned
		self.assertAlmostEqual(value(dashboard.points_earned_this_month), 1095)
		self.assertAlmostEqual(value(dashboard.points_redeemed_this_month), 500)
		self.assertEqual(value(dashboard.members_with_points, company="_Test Company 1"), 0)
		# a Number Card sends its filters as rows, a chart as a dict; both narrow to the company
		as_rows = [["Loyalty Ledger Entry", "company", "=", "_Test Company 1"]]
		self.assertEqual(dashboard.members_with_points(filters=json.dumps(as_rows))["value"], 0)
		self.assertEqual(dashboard.members_with_points(filters=json.dumps([]))["value"], 2)

	def test_points_by_month_chart(self):
		self.write_ledger()
		chart = dashboard.points_by_month()
		self.assertEqual(len(chart["labels"]), 12)
		self.assertEqual(chart["labels"][-1], getdate(nowdate()).strftime("%Y-%m"))
		self.assertEqual(chart["labels"][-2], getdate(self.last_month).strftime("%Y-%m"))
		earned, redeemed = (dataset["values"] for dataset in chart["datasets"])
		self.assertEqual(earned[-2:], [70, 1095])
		self.assertEqual(redeemed[-2:], [0, 500])
		self.assertEqual(sum(earned[:-2]) + sum(redeemed[:-2]), 0)

	def test_nps_card_and_chart(self):
		frappe.db.delete("Satisfaction Survey")
		customer = self.customers[0]
		this_month = get_first_day(nowdate())
		last_month = add_days(this_month, -10)
		for nps in (10, 9, 2):
			survey(customer, this_month, nps)
		survey(customer, this_month, None)  # no NPS given: not counted
		for nps in (9, 7):
			survey(customer, last_month, nps)
		old = add_days(nowdate(), -100)
		survey(customer, old, 0)  # outside the 90 days
		# 90 days: promoters 10, 9, 9; detractors 2; passive 7 -> (3 - 1) / 5
		self.assertAlmostEqual(value(dashboard.nps_last_90_days), 40.0)
		chart = dashboard.nps_by_month()
		values = dict(zip(chart["labels"], chart["datasets"][0]["values"], strict=True))
		self.assertAlmostEqual(values[getdate(this_month).strftime("%Y-%m")], 33.3)
		self.assertAlmostEqual(values[getdate(last_month).strftime("%Y-%m")], 50.0)
		self.assertEqual(values[getdate(old).strftime("%Y-%m")], -100.0)
		self.assertEqual(len(values), 3, "a month without answers has no NPS (not a 0 on the line)")
		self.assertEqual(chart["labels"], sorted(chart["labels"]))

	def test_members_per_tier_chart(self):
		set_tier_ladder()
		frappe.db.sql("update `tabCustomer` set loyalty_crm_tier = null")
		for customer, tier in zip(self.customers, ("Silver", "Silver", "Gold"), strict=False):
			frappe.db.set_value("Customer", customer, "loyalty_crm_tier", tier)
		chart = dashboard.members_per_tier()
		self.assertEqual(chart["labels"], ["Bronze", "Silver", "Gold", "Platinum"])
		self.assertEqual(chart["datasets"][0]["values"], [0, 2, 1, 0])

	def test_churn_card(self):
		if not frappe.db.table_exists("Churn Score"):
			self.assertEqual(value(dashboard.customers_at_churn_risk), 0)
			return
		frappe.db.delete("Churn Score")
		a, b, c, *_ = self.customers
		for customer, company, band in (
			(a, COMPANY, "High"),
			(a, "_Test Company 1", "Critical"),
			(b, COMPANY, "Medium"),
			(c, "_Test Company 1", "Critical"),
		):
			doc = frappe.new_doc("Churn Score")
			doc.update({"customer": customer, "company": company, "risk_band": band, "score": 0.9})
			doc.db_insert()
		self.assertEqual(value(dashboard.customers_at_churn_risk), 2)
		self.assertEqual(value(dashboard.customers_at_churn_risk, company=COMPANY), 1)

	def test_retention_curve_chart(self):
		for table in ("Sales Invoice", "POS Invoice"):
			frappe.db.sql(f"update `tab{table}` set docstatus = 2 where company = %s", COMPANY)
		x, y, z, *_ = self.customers
		start = get_first_day(nowdate())
		month = {age: add_months(start, -age) for age in (1, 2, 3)}
		# cohort of 3 months ago: X and Y, X comes back a month later; 2 months ago: Z, back a month later
		for customer, ago in ((x, 3), (x, 2), (y, 3), (z, 2), (z, 1)):
			sales_invoice(customer, rate=50, posting_date=month[ago], set_posting_time=1)
		chart = dashboard.retention_curve(filters={"company": COMPANY})
		self.assertEqual(chart["labels"][:3], ["Month 0", "Month 1", "Month 2"])
		values = chart["datasets"][0]["values"]
		self.assertEqual(values[0], 100.0)
		self.assertAlmostEqual(values[1], round(200 / 3, 2), msg="(1 + 1) of (2 + 1) came back after a month")
		self.assertEqual(values[2], 0.0)

	def test_every_figure_is_permission_checked(self):
		methods = [
			dashboard.members_with_points,
			dashboard.points_outstanding,
			dashboard.points_liability,
			dashboard.points_earned_this_month,
			dashboard.points_redeemed_this_month,
			dashboard.nps_last_90_days,
			dashboard.points_by_month,
			dashboard.members_per_tier,
			dashboard.nps_by_month,
			dashboard.retention_curve,
		]
		if frappe.db.table_exists("Churn Score"):
			methods.append(dashboard.customers_at_churn_risk)
		frappe.set_user(make_user(["Blogger"]))
		for method in methods:
			with self.assertRaises(frappe.PermissionError, msg=method.__name__):
				method()
		frappe.set_user(make_user(["Loyalty User"]))
		for method in methods:
			method()  # the app's readers see every figure

	def test_workspace_shows_every_card_and_chart(self):
		workspace = frappe.get_doc("Workspace", "Loyalty CRM")
		cards = {row.number_card_name for row in workspace.number_cards}
		charts = {row.chart_name for row in workspace.charts}
		for card in cards:
			method = frappe.db.get_value("Number Card", card, "method")
			self.assertTrue(method.startswith("loyalty_crm.services.dashboard."), card)
			self.assertTrue(callable(frappe.get_attr(method)))
		for chart in charts:
			source = frappe.db.get_value("Dashboard Chart", chart, "source")
			self.assertTrue(frappe.db.exists("Dashboard Chart Source", source), chart)
		self.assertEqual(len(cards), 7)
		self.assertEqual(len(charts), 4)
