# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Tier changes on real invoices and in the daily evaluation, and the history they leave."""

from decimal import Decimal

import frappe
import pandas as pd
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_months, getdate, nowdate

from loyalty_crm.engine import tiers as engine
from loyalty_crm.services import tiers
from loyalty_crm.testing import (
	ensure_outgoing_email_account,
	make_customer,
	points_of,
	sales_invoice,
	set_settings,
	set_tier_ladder,
	set_tier_settings,
)

test_dependencies = ["Sales Invoice", "Customer", "Item"]

# The test ladder (testing.TEST_LADDER): Bronze 0 x1, Silver 500 x2 (grace 1 month),
# Gold 2000 x3 (grace 2 months), Platinum 6000 x4; spend over a rolling 12 months.


def history(customer):
	return frappe.get_all(
		"Loyalty Tier History",
		filters={"customer": customer},
		fields=["change", "from_tier", "to_tier", "change_date", "reason", "voucher_no", "triggered_by"],
		order_by="change_date asc, name asc",
	)


def state(customer):
	return frappe.db.get_value(
		"Customer",
		customer,
		[
			"loyalty_crm_tier as tier",
			"loyalty_crm_tier_since as since",
			"loyalty_crm_below_since as below",
			"loyalty_crm_grace_ends as grace_ends",
		],
		as_dict=True,
	)


def emails_to(customer):
	return frappe.get_all(
		"Email Queue", filters={"reference_doctype": "Customer", "reference_name": customer}, pluck="name"
	)


class TestLoyaltyTierHistory(FrappeTestCase):
	def setUp(self):
		set_settings()
		set_tier_settings()
		set_tier_ladder()
		self.customer = make_customer()

	def tearDown(self):
		frappe.db.rollback()

	def evaluate(self, as_of, **kwargs):
		return tiers.evaluate_all(as_of, customers=[self.customer], commit=False, **kwargs)

	def test_crossing_invoice_upgrades_at_once_and_next_invoice_earns_more(self):
		first = sales_invoice(self.customer, rate=100)
		self.assertEqual(state(self.customer).tier, "Bronze")
		crossing = sales_invoice(self.customer, rate=450)  # 550 >= Silver's 500
		# the crossing invoice itself earned at Bronze's x1, then lifted the customer
		self.assertEqual(points_of("Sales Invoice", crossing.name, "Earn"), Decimal(450))
		self.assertEqual(state(self.customer).tier, "Silver")
		self.assertEqual(str(state(self.customer).since), nowdate())
		following = sales_invoice(self.customer, rate=100)
		self.assertEqual(points_of("Sales Invoice", following.name, "Earn"), Decimal(200))  # x2
		self.assertEqual(tiers.tier_multiplier(self.customer), Decimal(2))

		rows = history(self.customer)
		self.assertEqual(
			[(r.change, r.from_tier, r.to_tier, r.voucher_no, r.triggered_by) for r in rows],
			[
				("Entry", None, "Bronze", first.name, "Invoice"),
				("Upgrade", "Bronze", "Silver", crossing.name, "Invoice"),
			],
		)
		self.assertIn("550.00", rows[1].reason)
		self.assertIn("Silver", rows[1].reason)

	def test_downgrade_only_after_grace_one_rank_at_a_time(self):
		sales_invoice(self.customer, rate=2500)
		self.assertEqual(state(self.customer).tier, "Gold")
		below_from = add_months(nowdate(), 13)  # the invoice has left the 12-month window

		summary = self.evaluate(below_from)
		self.assertEqual(summary["pending"], 1)
		current = state(self.customer)
		self.assertEqual(current.tier, "Gold")
		self.assertEqual(str(current.below), below_from)
		self.assertEqual(str(current.grace_ends), add_months(below_from, 2))  # Gold's grace

		self.assertEqual(self.evaluate(add_days(add_months(below_from, 2), -1))["downgraded"], 0)
		self.assertEqual(state(self.customer).tier, "Gold")

		gold_ends = add_months(below_from, 2)
		self.assertEqual(self.evaluate(gold_ends)["downgraded"], 1)
		self.assertEqual(state(self.customer).tier, "Silver")
		again = self.evaluate(gold_ends)  # same day again: nothing more
		self.assertEqual((again["downgraded"], again["history_rows"]), (0, 0))

		silver_ends = add_months(gold_ends, 1)  # still below: Silver's own month of grace
		self.assertEqual(str(state(self.customer).grace_ends), silver_ends)
		self.evaluate(add_days(gold_ends, 1))
		self.assertEqual(state(self.customer).tier, "Silver")
		self.evaluate(add_days(silver_ends, -1))
		self.assertEqual(state(self.customer).tier, "Silver")
		self.evaluate(silver_ends)
		self.assertEqual(state(self.customer).tier, "Bronze")

		steps = [(r.change, r.from_tier, r.to_tier, str(r.change_date)) for r in history(self.customer)]
		self.assertEqual(
			steps,
			[
				("Entry", None, "Gold", nowdate()),
				("Downgrade", "Gold", "Silver", gold_ends),
				("Downgrade", "Silver", "Bronze", silver_ends),
			],
		)
		self.assertTrue(all(r.triggered_by == "Daily Evaluation" for r in history(self.customer)[1:]))

	def test_straight_to_qualifying_tier(self):
		set_tier_settings(tier_downgrade_mode="Straight to Qualifying Tier")
		sales_invoice(self.customer, rate=2500)
		start = add_months(nowdate(), 13)
		self.evaluate(start)
		self.evaluate(add_months(start, 2))
		self.assertEqual(state(self.customer).tier, "Bronze")
		self.assertEqual([r.change for r in history(self.customer)], ["Entry", "Downgrade"])

	def test_qualifying_again_stops_the_grace_clock(self):
		invoice = sales_invoice(self.customer, rate=600)
		sales_invoice(self.customer, rate=200, qty=-1, is_return=1, return_against=invoice.name)
		self.evaluate(nowdate())  # 400 < Silver's 500: pending
		self.assertEqual(str(state(self.customer).below), nowdate())
		sales_invoice(self.customer, rate=200)  # 600 again: the invoice clears the clock at once
		current = state(self.customer)
		self.assertEqual((current.tier, current.below, current.grace_ends), ("Silver", None, None))
		self.assertEqual(self.evaluate(nowdate())["pending"], 0)

	def test_returns_count_against_qualification_and_cancelled_invoices_do_not_count(self):
		invoice = sales_invoice(self.customer, rate=600)
		self.assertEqual(state(self.customer).tier, "Silver")
		sales_invoice(self.customer, rate=400, qty=-1, is_return=1, return_against=invoice.name)
		start, end = engine.qualification_window(nowdate(), "rolling", 12)
		self.assertEqual(tiers.window_metric("spend", start, end, [self.customer])[self.customer], 200)
		self.assertEqual(tiers.window_metric("invoices", start, end, [self.customer])[self.customer], 0)
		summary = self.evaluate(nowdate())
		self.assertEqual(summary["pending"], 1)  # below Silver now; the grace period starts

		cancelled = sales_invoice(self.customer, rate=5000)
		self.assertEqual(state(self.customer).tier, "Gold")  # 5200: upgrades are immediate
		cancelled.cancel()
		self.assertEqual(tiers.window_metric("spend", start, end, [self.customer])[self.customer], 200)

	def test_sql_metric_matches_the_engine(self):
		sales_invoice(self.customer, rate=300)
		returned = sales_invoice(self.customer, rate=80)
		sales_invoice(self.customer, rate=30, qty=-1, is_return=1, return_against=returned.name)
		rows = frappe.get_all(
			"Sales Invoice",
			filters={"customer": self.customer, "docstatus": 1},
			fields=["customer", "posting_date as date", "base_net_total as amount", "name as invoice"],
		)
		activity = pd.DataFrame([dict(row) for row in rows])
		activity["points"] = 0.0
		start, end = engine.qualification_window(nowdate(), "rolling", 12)
		for metric in ("spend", "invoices"):
			ladder = tiers.ladder_rows(tiers.saved_tiers())
			for row in ladder:
				row["metric"] = metric
			expected = engine.qualifying_metric(activity, ladder, nowdate())[self.customer]
			self.assertAlmostEqual(
				tiers.window_metric(metric, start, end, [self.customer])[self.customer], expected
			)
		set_tier_settings(tier_metric="Points Earned")
		points = float(frappe.db.get_value("Customer", self.customer, "loyalty_crm_points_balance"))
		self.assertAlmostEqual(
			tiers.window_metric("points", start, end, [self.customer])[self.customer], points
		)

	def test_points_ladder_counts_the_invoices_own_points(self):
		set_tier_settings(tier_metric="Points Earned")
		sales_invoice(self.customer, rate=520)  # earns 520 points, then qualifies on them
		self.assertEqual(state(self.customer).tier, "Silver")

	def test_evaluation_of_every_customer_is_idempotent_and_dry_run_writes_nothing(self):
		sales_invoice(self.customer, rate=2500)
		as_of = add_months(nowdate(), 13)
		dry = tiers.evaluate_all(as_of, dry_run=True, commit=False)
		self.assertGreaterEqual(dry["customers"], 1)
		self.assertEqual(dry["history_rows"], 0)
		self.assertEqual(state(self.customer).below, None)
		first = tiers.evaluate_all(as_of, commit=False)
		self.assertEqual(
			first["customers"],
			sum(first[key] for key in ("entered", "upgraded", "downgraded", "pending", "unchanged")),
		)
		self.assertEqual(str(state(self.customer).below), as_of)
		second = tiers.evaluate_all(as_of, commit=False)
		self.assertEqual((second["history_rows"], second["entered"], second["downgraded"]), (0, 0, 0))

	def test_customers_without_a_tier_enter_the_entry_tier(self):
		summary = self.evaluate(nowdate())
		self.assertEqual(summary["entered"], 1)
		self.assertEqual(state(self.customer).tier, "Bronze")
		self.assertEqual(history(self.customer)[0].triggered_by, "Daily Evaluation")

	def test_history_rows_cannot_be_edited_or_deleted(self):
		sales_invoice(self.customer, rate=100)
		row = frappe.get_doc("Loyalty Tier History", {"customer": self.customer})
		row.reason = "edited"
		with self.assertRaises(frappe.PermissionError):
			row.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("Loyalty Tier History", row.name)
		self.assertTrue(frappe.db.exists("Loyalty Tier History", row.name))

	def test_no_email_by_default(self):
		frappe.db.set_value("Customer", self.customer, "email_id", "tier-default@example.com")
		sales_invoice(self.customer, rate=100)
		sales_invoice(self.customer, rate=2500)
		self.assertEqual(state(self.customer).tier, "Gold")
		start = add_months(nowdate(), 13)
		self.evaluate(start)
		self.evaluate(add_days(add_months(start, 2), -7))
		self.assertEqual(emails_to(self.customer), [])

	def test_upgrade_and_pending_downgrade_emails_when_switched_on(self):
		ensure_outgoing_email_account()
		set_tier_settings(tier_upgrade_email=1, tier_downgrade_notice_days=7)
		frappe.db.set_value("Customer", self.customer, "email_id", "tier-on@example.com")
		sales_invoice(self.customer, rate=100)  # entry to Bronze: no email
		self.assertEqual(emails_to(self.customer), [])
		sales_invoice(self.customer, rate=2500)  # up to Gold
		self.assertEqual(len(emails_to(self.customer)), 1)
		queued = frappe.get_doc("Email Queue", emails_to(self.customer)[0])
		self.assertIn("Gold", queued.message)
		self.assertIn("tier-on@example.com", [r.recipient for r in queued.recipients])

		start = add_months(nowdate(), 13)
		self.evaluate(start)  # pending; grace ends in 2 months
		self.assertEqual(len(emails_to(self.customer)), 1)
		summary = self.evaluate(add_days(add_months(start, 2), -7))
		self.assertEqual(summary["emails"], 1)
		self.assertEqual(len(emails_to(self.customer)), 2)
		self.assertEqual(getdate(state(self.customer).grace_ends), getdate(add_months(start, 2)))
