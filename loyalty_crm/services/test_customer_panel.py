"""The Customer form's loyalty panel, from one call, on real invoices, ledger rows and surveys."""

import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate, nowdate

from loyalty_crm.services.customer_panel import get_panel
from loyalty_crm.testing import (
	COMPANY,
	make_customer,
	sales_invoice,
	set_settings,
	set_tier_ladder,
	set_tier_settings,
)


def make_user(roles: list[str]) -> str:
	email = f"lcrm-panel-{frappe.generate_hash(length=6)}@example.com"
	user = frappe.get_doc({"doctype": "User", "email": email, "first_name": "Panel", "send_welcome_email": 0})
	user.insert(ignore_permissions=True)
	user.add_roles(*roles)
	return email


class TestCustomerPanel(FrappeTestCase):
	def setUp(self):
		set_settings(default_expiry_days=20)
		set_tier_ladder()
		set_tier_settings()
		self.customer = make_customer("Panel")
		# 600 points expiring in 20 days (inside the 30-day notice); the invoice makes the customer
		# Silver (x2), so the next 100 earn 200 points, expiring in a year
		self.first = sales_invoice(self.customer, rate=600)
		set_settings(default_expiry_days=365, enable_tiers=1)
		self.second = sales_invoice(self.customer, rate=100)

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	def test_tier_progress_points_and_movements(self):
		panel = get_panel(self.customer)
		tier = panel["tier"]
		self.assertEqual(tier["tier"], "Silver")
		self.assertEqual(tier["metric"], "spend")
		self.assertAlmostEqual(tier["value"], 700)
		self.assertEqual(tier["next_tier"], "Gold")
		self.assertAlmostEqual(tier["next_threshold"], 2000)
		self.assertAlmostEqual(tier["to_next"], 1300)
		self.assertAlmostEqual(tier["progress"], 0.35)
		self.assertEqual(getdate(tier["window_end"]), getdate(nowdate()))
		self.assertIsNone(tier["keeps_tier_until"])

		points = panel["points"]
		self.assertAlmostEqual(points["balance"], 800)
		self.assertAlmostEqual(points["expiring_points"], 600, msg="only the lot expiring within 30 days")
		self.assertEqual(getdate(points["next_expiry"]), getdate(add_days(nowdate(), 20)))
		self.assertEqual(points["precision"], 2, "shown with the decimals of Loyalty Settings")

		movements = panel["movements"]
		self.assertEqual([row.voucher_no for row in movements], [self.second.name, self.first.name])
		self.assertEqual([row.entry_type for row in movements], ["Earn", "Earn"])
		self.assertAlmostEqual(movements[0].points, 200)

	def test_spent_points_do_not_expire_and_top_tier_is_full(self):
		frappe.get_doc(
			{
				"doctype": "Loyalty Ledger Entry",
				"customer": self.customer,
				"company": COMPANY,
				"entry_type": "Adjust",
				"posting_date": nowdate(),
				"points": -250,
				"lot": frappe.db.get_value(
					"Loyalty Ledger Entry", {"voucher_no": self.first.name, "entry_type": "Earn"}, "name"
				),
				"reason": "panel test",
			}
		).db_insert()
		frappe.db.set_value("Customer", self.customer, "loyalty_crm_tier", "Platinum")
		panel = get_panel(self.customer)
		self.assertAlmostEqual(panel["points"]["balance"], 550)
		self.assertAlmostEqual(panel["points"]["expiring_points"], 350)
		self.assertIsNone(panel["tier"]["next_tier"])
		self.assertEqual(panel["tier"]["progress"], 1.0)

	def test_below_threshold_shows_until_when_the_tier_is_kept(self):
		until = add_days(nowdate(), 25)
		frappe.db.set_value(
			"Customer",
			self.customer,
			{
				"loyalty_crm_tier": "Gold",
				"loyalty_crm_below_since": nowdate(),
				"loyalty_crm_grace_ends": until,
			},
		)
		tier = get_panel(self.customer)["tier"]
		self.assertEqual(tier["tier"], "Gold")
		self.assertEqual(tier["next_tier"], "Platinum")
		self.assertEqual(getdate(tier["keeps_tier_until"]), getdate(until))

	def test_last_nps_answer_skips_surveys_without_nps(self):
		for day, nps in ((-3, 4), (-1, 9), (0, None)):
			frappe.get_doc(
				{
					"doctype": "Satisfaction Survey",
					"customer": self.customer,
					"company": COMPANY,
					"submitted_on": f"{add_days(nowdate(), day)} 10:00:00",
					"nps": nps,
					"csat": 4,
				}
			).insert()
		nps = get_panel(self.customer)["nps"]
		self.assertEqual(nps["nps"], 9)

	def test_churn_score_of_the_main_company(self):
		if not frappe.db.table_exists("Churn Score"):
			self.assertIsNone(get_panel(self.customer)["churn"])
			return
		for company, band, clv in (("_Test Company 1", "Low", 10), (COMPANY, "High", 900)):
			doc = frappe.new_doc("Churn Score")
			doc.update(
				{
					"customer": self.customer,
					"company": company,
					"risk_band": band,
					"score": 0.8,
					"predicted_clv": clv,
					"p_alive": 0.4,
					"drivers": "No purchase for 120 days",
					"drivers_json": json.dumps([{"message": "No purchase for {0} days", "values": [120]}]),
				}
			)
			doc.db_insert()
		churn = get_panel(self.customer)["churn"]
		self.assertEqual([row.company for row in churn], [COMPANY, "_Test Company 1"])
		self.assertEqual(churn[0].risk_band, "High")
		self.assertAlmostEqual(churn[0].p_alive, 0.4)
		self.assertEqual(churn[0].drivers, "No purchase for 120 days")
		# a Chinese desk reads the drivers in Chinese, whatever language they were scored in
		frappe.local.lang = "zh"
		frappe.local.lang_full_dict = None
		try:
			self.assertEqual(get_panel(self.customer)["churn"][0].drivers, "120 天没有购买")
		finally:
			frappe.local.lang = "en"
			frappe.local.lang_full_dict = None

	def test_cashier_sees_tier_and_points_but_not_the_ledger(self):
		frappe.set_user(make_user(["Sales User"]))
		panel = get_panel(self.customer)
		self.assertEqual(panel["tier"]["tier"], "Silver")
		self.assertAlmostEqual(panel["points"]["balance"], 800)
		self.assertIsNone(panel["movements"])
		self.assertIsNone(panel["nps"])
		self.assertIsNone(panel["churn"])

	def test_user_without_customer_access_is_refused(self):
		frappe.set_user(make_user(["Blogger"]))
		with self.assertRaises(frappe.PermissionError):
			get_panel(self.customer)
