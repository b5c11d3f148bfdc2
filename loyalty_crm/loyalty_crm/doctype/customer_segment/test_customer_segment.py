# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

"""Segment refresh on real submitted invoices: memberships, Customer fields, actions, idempotence."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.engine import rfm
from loyalty_crm.services import segments
from loyalty_crm.testing import COMPANY, make_customer, sales_invoice, set_settings

test_dependencies = ["Sales Invoice"]


def days_ago(days: int) -> str:
	return add_days(nowdate(), -days)


def buy(customer: str, rate: float, days: int, **args):
	return sales_invoice(customer, rate, posting_date=days_ago(days), **args)


class TestCustomerSegment(FrappeTestCase):
	def setUp(self):
		set_settings()
		# Only this test's segments compete for a customer: the starter segments (Champions…) and
		# any a committed test left would otherwise win on priority. Rolled back in tearDown.
		frappe.db.sql("update `tabCustomer Segment` set enabled = 0")
		self.group = frappe.get_doc(
			{
				"doctype": "Customer Group",
				"customer_group_name": f"LCRM Segment {frappe.generate_hash(length=6)}",
				"parent_customer_group": "All Customer Groups",
			}
		).insert(ignore_permissions=True)

	def tearDown(self):
		frappe.db.rollback()

	def customer(self) -> str:
		name = make_customer("LCRM SEG")
		frappe.db.set_value("Customer", name, "customer_group", self.group.name)
		return name

	def segment(self, **values) -> str:
		doc = frappe.get_doc(
			{
				"doctype": "Customer Segment",
				"segment_name": f"LCRM {frappe.generate_hash(length=8)}",
				"company": COMPANY,
				"priority": 10,
				**values,
			}
		).insert(ignore_permissions=True)
		return doc.name

	def big_spenders(self, **values) -> str:
		rule = [
			{"field": "customer_group", "operator": "=", "value": self.group.name},
			{"field": "monetary", "operator": ">", "value": 500},
		]
		return self.segment(method="Rule", rule=frappe.as_json(rule), **values)

	def members(self, segment: str) -> set[str]:
		return set(frappe.get_all(segments.MEMBERSHIP, filters={"segment": segment}, pluck="customer"))

	def refresh(self, segment: str | None = None, **args):
		return segments.refresh_segments(segment=segment, **args)

	# --- assignment from real invoices -------------------------------------------------------

	def test_refresh_assigns_lifecycle_rule_and_rfm_segments(self):
		newcomer, lapsed, regular = self.customer(), self.customer(), self.customer()
		buy(newcomer, 1000, 5)
		buy(lapsed, 300, 200)
		for days in (100, 70, 40, 10):
			buy(regular, 200, days)
		lapsed_segment = self.segment(method="Lifecycle Stage", lifecycle_stage="Lapsed")
		spenders = self.big_spenders()

		self.refresh()

		mine = {newcomer, lapsed, regular}
		self.assertEqual(self.members(lapsed_segment) & mine, {lapsed})
		# regular spent 4 x 200 = 800 in the window, newcomer 1000, lapsed only 300
		self.assertEqual(self.members(spenders), {newcomer, regular})

		# RFM fields on the Customer agree with the engine run on the same invoices
		transactions = segments.load_transactions(nowdate())
		expected = rfm.rfm_scores(
			transactions[transactions["company"] == COMPANY][["customer", "date", "amount"]], nowdate(), 365
		)
		for customer in mine:
			values = frappe.db.get_value(
				"Customer",
				customer,
				[
					"loyalty_crm_r_score",
					"loyalty_crm_f_score",
					"loyalty_crm_m_score",
					"loyalty_crm_rfm_segment",
				],
			)
			row = expected.loc[customer]
			self.assertEqual(values, (row.r_score, row.f_score, row.m_score, row.segment))
		self.assertEqual(frappe.db.get_value("Customer", newcomer, "loyalty_crm_lifecycle_stage"), "New")
		self.assertEqual(frappe.db.get_value("Customer", regular, "loyalty_crm_lifecycle_stage"), "Active")
		membership = frappe.get_all(
			segments.MEMBERSHIP,
			filters={"segment": spenders, "customer": regular},
			fields=["frequency", "monetary", "last_purchase", "rfm_score", "company"],
		)[0]
		self.assertEqual((membership.frequency, membership.monetary), (4, 800))
		self.assertEqual(str(membership.last_purchase), days_ago(10))
		self.assertEqual(membership.company, COMPANY)

	def test_lifecycle_floors_keep_a_burst_of_purchases_from_lapsing_within_days(self):
		# two purchases a day apart: the rhythm alone says At Risk after 2 days, Lapsed after 4
		burst, steady = self.customer(), self.customer()
		buy(burst, 100, 41)
		buy(burst, 100, 40)
		for days in (100, 70, 40, 10):  # monthly: rhythm above the floors, so unchanged
			buy(steady, 100, days)
		lapsed = self.segment(method="Lifecycle Stage", lifecycle_stage="Lapsed")
		at_risk = self.segment(method="Lifecycle Stage", lifecycle_stage="At Risk")

		def stage(customer):
			return frappe.db.get_value("Customer", customer, "loyalty_crm_lifecycle_stage")

		# default floors: a third of 90 / 180 days; 40 days since last: > 30, <= 60
		self.refresh()
		self.assertEqual(stage(burst), "At Risk")
		self.assertIn(burst, self.members(at_risk))
		self.assertNotIn(burst, self.members(lapsed))
		self.assertEqual(stage(steady), "Active")

		# floors set by the administrator: never At Risk before 40 days (40 is not more than 40)
		set_settings(lifecycle_at_risk_floor_days=40, lifecycle_lapsed_floor_days=50)
		self.refresh()
		self.assertEqual(stage(burst), "Active")
		set_settings(lifecycle_at_risk_floor_days=20, lifecycle_lapsed_floor_days=39)
		self.refresh()
		self.assertEqual(stage(burst), "Lapsed")
		self.assertIn(burst, self.members(lapsed))

	def test_primary_segment_is_lowest_priority(self):
		customer = self.customer()
		buy(customer, 1000, 3)
		low = self.big_spenders(priority=5)
		high = self.big_spenders(priority=1)
		self.refresh()
		self.assertEqual(self.members(low), {customer})
		self.assertEqual(self.members(high), {customer})
		self.assertEqual(frappe.db.get_value("Customer", customer, "loyalty_crm_segment"), high)
		rows = segments.customer_memberships(customer)
		self.assertEqual([row.segment for row in rows][:2], [high, low])

	def test_cancelled_invoices_and_returns_change_the_result(self):
		cancelled, returned, steady = self.customer(), self.customer(), self.customer()
		gone = buy(cancelled, 900, 20)
		sold = buy(returned, 1000, 30)
		buy(steady, 700, 15)
		spenders = self.big_spenders()
		self.refresh(spenders)
		self.assertEqual(self.members(spenders), {cancelled, returned, steady})

		gone.reload()
		gone.cancel()
		sales_invoice(returned, 800, qty=-1, is_return=1, return_against=sold.name, posting_date=days_ago(10))
		result = self.refresh(spenders)
		self.assertEqual(self.members(spenders), {steady})
		self.assertEqual(result.deleted - result.inserted, 2)  # the others were rescored: rewritten
		self.assertFalse(frappe.db.get_value("Customer", cancelled, "loyalty_crm_rfm_segment"))
		self.assertEqual(frappe.db.get_value("Customer", cancelled, "loyalty_crm_segment"), None)

	def test_customers_with_only_returns_are_not_scored(self):
		only_returns, buyer = self.customer(), self.customer()
		sales_invoice(only_returns, 400, qty=-1, is_return=1, posting_date=days_ago(5))
		buy(buyer, 600, 5)
		everyone = self.segment(
			method="Rule",
			rule=frappe.as_json([{"field": "customer_group", "operator": "=", "value": self.group.name}]),
		)
		self.refresh(everyone)
		self.assertEqual(self.members(everyone), {buyer})
		scores = frappe.db.get_value(
			"Customer", only_returns, ["loyalty_crm_r_score", "loyalty_crm_rfm_segment"], as_dict=True
		)
		self.assertEqual((scores.loyalty_crm_r_score, scores.loyalty_crm_rfm_segment), (0, None))

	def test_second_refresh_writes_nothing(self):
		a, b = self.customer(), self.customer()
		buy(a, 1000, 40)
		buy(b, 2000, 4)
		spenders = self.big_spenders()
		first = self.refresh()
		self.assertGreaterEqual(first.inserted, 2)
		before = frappe.get_all(segments.MEMBERSHIP, fields=["name", "modified"], order_by="name")
		second = self.refresh()
		self.assertEqual((second.inserted, second.deleted, second.customers_updated), (0, 0, 0))
		after = frappe.get_all(segments.MEMBERSHIP, fields=["name", "modified"], order_by="name")
		self.assertEqual(before, after)
		self.assertEqual(frappe.db.get_value("Customer Segment", spenders, "member_count"), 2)

	def test_nothing_to_segment(self):
		spenders = self.big_spenders()
		result = self.refresh(spenders, as_of="1990-01-01")
		self.assertTrue(result.nothing_to_segment)
		self.assertIn("Nothing to segment", result.summary())
		self.assertEqual(self.members(spenders), set())

	# --- actions ---------------------------------------------------------------------------------

	def test_email_group_action_adds_members_with_email(self):
		with_email, without_email = self.customer(), self.customer()
		email = f"{frappe.generate_hash(length=8)}@example.com"
		frappe.db.set_value("Customer", with_email, "email_id", email)
		frappe.db.set_value("Customer", without_email, "email_id", None)
		buy(with_email, 900, 3)
		buy(without_email, 900, 3)
		group = frappe.get_doc(
			{"doctype": "Email Group", "title": f"LCRM {frappe.generate_hash(length=6)}"}
		).insert(ignore_permissions=True)
		spenders = self.big_spenders(action="Add to Email Group", email_group=group.name)
		result = self.refresh(spenders)
		self.assertEqual((result.email_added, result.email_skipped), (1, 1))
		emails = frappe.get_all("Email Group Member", filters={"email_group": group.name}, pluck="email")
		self.assertEqual(emails, [email])
		self.assertEqual(frappe.db.get_value("Email Group", group.name, "total_subscribers"), 1)
		again = self.refresh(spenders)
		self.assertEqual(again.email_added, 0)

	# --- bad input -------------------------------------------------------------------------------

	def test_rule_with_unknown_field_is_refused(self):
		rule = frappe.as_json([{"field": "shoe_size", "operator": ">", "value": 40}])
		with self.assertRaisesRegex(frappe.ValidationError, "Unknown field shoe_size"):
			self.segment(method="Rule", rule=rule)
		with self.assertRaisesRegex(frappe.ValidationError, "cannot be compared"):
			self.segment(
				method="Rule", rule=frappe.as_json([{"field": "territory", "operator": ">", "value": 1}])
			)
		with self.assertRaisesRegex(frappe.ValidationError, "not valid JSON"):
			self.segment(method="Rule", rule="[{field: 1")

	def test_unknown_rfm_segment_and_cluster_are_refused(self):
		with self.assertRaisesRegex(frappe.ValidationError, "not in the RFM score table"):
			self.segment(method="RFM Segment", rfm_segment="Heroes")
		with self.assertRaisesRegex(frappe.ValidationError, "Cluster Number"):
			self.segment(method="Cluster", cluster=30)
		self.assertTrue(self.segment(method="RFM Segment", rfm_segment="Champions"))

	def test_deleting_a_segment_deletes_its_memberships(self):
		customer = self.customer()
		buy(customer, 1000, 3)
		spenders = self.big_spenders()
		self.refresh(spenders)
		self.assertEqual(self.members(spenders), {customer})
		frappe.delete_doc("Customer Segment", spenders)
		self.assertFalse(frappe.db.exists(segments.MEMBERSHIP, {"segment": spenders}))

	def test_settings_refuse_bad_segment_values(self):
		def refused(message, **values):
			settings = frappe.get_single("Loyalty Settings")
			settings.update(values)
			with self.assertRaisesRegex(frappe.ValidationError, message):
				settings.save()
			self.assertEqual(frappe.db.get_single_value("Loyalty Settings", "abc_a_cutoff"), 80)

		refused("between 0 and 100", abc_a_cutoff=100, abc_b_cutoff=100)
		refused("between 0 and 100", abc_a_cutoff=-5)
		refused("increase strictly", abc_a_cutoff=90, abc_b_cutoff=85)
		refused("2 <= fewest <= most <= 20", cluster_k_min=1)
		refused("2 <= fewest <= most <= 20", cluster_k_max=50)
		refused("2 <= fewest <= most <= 20", cluster_k_min=6, cluster_k_max=4)
		refused("not valid JSON", rfm_segment_table="{oops")
		refused("unknown key", rfm_segment_table='[{"segment": "X", "q": [1, 2]}]')
		refused("fewer than lapsed days", lifecycle_at_risk_days=200, lifecycle_lapsed_days=100)
		refused(
			r"Never At Risk Before \(120 days\) cannot be more than At Risk After \(90 days\)",
			lifecycle_at_risk_floor_days=120,
		)
		refused(
			r"Never At Risk Before \(50 days\) must be fewer days than Never Lapsed Before \(40 days\)",
			lifecycle_at_risk_floor_days=50,
			lifecycle_lapsed_floor_days=40,
		)
