# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The ladder's validation, deletion and the discount benefit, on the real site."""

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import tiers
from loyalty_crm.testing import (
	make_customer,
	sales_invoice,
	set_settings,
	set_tier_ladder,
	set_tier_settings,
)

test_dependencies = ["Sales Invoice", "Customer", "Item"]


def ladder_snapshot():
	return frappe.get_all(
		"Loyalty Tier",
		fields=["name", "rank", "threshold", "multiplier", "grace_months"],
		order_by="`rank` asc",
	)


class TestLoyaltyTier(FrappeTestCase):
	def setUp(self):
		set_settings()
		set_tier_settings()
		set_tier_ladder()
		self.before = ladder_snapshot()

	def tearDown(self):
		frappe.db.rollback()

	def new_tier(self, **values):
		return frappe.get_doc(
			{
				"doctype": "Loyalty Tier",
				"tier_name": "LCRM Test Tier",
				"rank": 10,
				"threshold": 10000,
				"multiplier": 5,
				"grace_months": 1,
				**values,
			}
		)

	def assert_refused(self, doc, message):
		with self.assertRaisesRegex(frappe.ValidationError, message):
			doc.save()
		self.assertEqual(ladder_snapshot(), self.before, "nothing may change")

	def test_valid_tier_joins_the_ladder(self):
		self.new_tier().insert()
		self.assertEqual(len(ladder_snapshot()), len(self.before) + 1)

	def test_non_monotone_threshold_is_refused(self):
		# rank 10 above Platinum (6000) but a lower threshold
		self.assert_refused(self.new_tier(threshold=3000), "must increase strictly with rank")

	def test_overlapping_threshold_is_refused(self):
		self.assert_refused(self.new_tier(threshold=6000), "must increase strictly with rank")

	def test_editing_a_tier_into_a_non_monotone_ladder_is_refused(self):
		gold = frappe.get_doc("Loyalty Tier", "Gold")
		gold.threshold = 100
		self.assert_refused(gold, "Gold .* has 100")

	def test_duplicate_rank_is_refused(self):
		self.assert_refused(self.new_tier(rank=2), "ranks must be unique; rank 2")

	def test_second_entry_tier_is_refused(self):
		# a new lowest rank at threshold 0 leaves Bronze at 0 too: not strictly increasing
		self.assert_refused(self.new_tier(rank=0, threshold=0), "must increase strictly with rank")

	def test_entry_tier_must_start_at_zero(self):
		bronze = frappe.get_doc("Loyalty Tier", "Bronze")
		bronze.threshold = 50
		self.assert_refused(bronze, "entry tier and must have threshold 0")

	def test_negative_or_zero_multiplier_is_refused(self):
		self.assert_refused(self.new_tier(multiplier=-1), "multipliers must be numbers greater than 0")
		self.assert_refused(self.new_tier(multiplier=0), "multipliers must be numbers greater than 0")

	def test_zero_month_window_is_refused(self):
		settings = frappe.get_doc("Loyalty Settings")
		settings.tier_window_months = 0
		with self.assertRaisesRegex(frappe.ValidationError, "at least 1 month"):
			settings.save()
		self.assertEqual(frappe.db.get_single_value("Loyalty Settings", "tier_window_months"), 12)

	def test_calendar_year_window_needs_no_months(self):
		settings = frappe.get_doc("Loyalty Settings")
		settings.tier_window = "Calendar Year"
		settings.tier_window_months = 0
		settings.save()
		self.assertEqual(tiers.ladder_options()["window_kind"], "calendar_year")

	def test_tier_held_by_customers_cannot_be_deleted(self):
		customer = make_customer()
		frappe.db.set_value("Customer", customer, "loyalty_crm_tier", "Silver")
		with self.assertRaisesRegex(frappe.ValidationError, "Silver cannot be deleted: .* customer"):
			frappe.delete_doc("Loyalty Tier", "Silver")
		self.assertTrue(frappe.db.exists("Loyalty Tier", "Silver"))
		self.assertEqual(ladder_snapshot(), self.before)

	def test_unheld_tier_is_deleted_with_its_pricing_rule(self):
		tier = self.new_tier(discount_percentage=5).insert()
		rule = tier.reload().pricing_rule
		self.assertTrue(rule)
		frappe.delete_doc("Loyalty Tier", tier.name)
		self.assertFalse(frappe.db.exists("Loyalty Tier", tier.name))
		self.assertFalse(frappe.db.exists("Pricing Rule", rule))

	def test_discount_applies_through_a_pricing_rule_to_the_tier_only(self):
		silver = frappe.get_doc("Loyalty Tier", "Silver")
		silver.discount_percentage = 10
		silver.save()
		rule = frappe.get_doc("Pricing Rule", silver.pricing_rule)
		self.assertEqual(
			(rule.apply_on, rule.selling, rule.discount_percentage, rule.disable), ("Transaction", 1, 10, 0)
		)
		self.assertEqual(rule.condition, 'loyalty_crm_tier == "Silver" and loyalty_crm_tier_rule == 1')

		member, other = make_customer(), make_customer()
		frappe.db.set_value("Customer", member, "loyalty_crm_tier", "Silver")
		frappe.db.set_value("Customer", other, "loyalty_crm_tier", "Bronze")
		discounted = sales_invoice(member, rate=200)
		self.assertEqual(discounted.loyalty_crm_tier, "Silver")
		self.assertEqual(discounted.additional_discount_percentage, 10)
		self.assertEqual(discounted.net_total, 180)
		full_price = sales_invoice(other, rate=200)
		self.assertFalse(full_price.additional_discount_percentage)
		self.assertEqual(full_price.net_total, 200)

		silver.reload()
		silver.discount_percentage = 0
		silver.save()
		self.assertEqual(frappe.db.get_value("Pricing Rule", rule.name, "disable"), 1)
		self.assertEqual(sales_invoice(member, rate=200).net_total, 200)

	def test_no_tiers_means_nothing_happens(self):
		frappe.db.delete("Loyalty Tier")
		self.assert_invoice_changes_no_tier()
		self.assertEqual(tiers.evaluate_all(dry_run=True)["ladder"], False)

	def test_tiers_switched_off_means_nothing_happens(self):
		set_tier_settings(enable_tiers=0)
		self.assert_invoice_changes_no_tier()

	def assert_invoice_changes_no_tier(self):
		customer = make_customer()
		invoice = sales_invoice(customer, rate=9000)
		self.assertFalse(frappe.db.get_value("Customer", customer, "loyalty_crm_tier"))
		self.assertFalse(frappe.db.exists("Loyalty Tier History", {"voucher_no": invoice.name}))
		self.assertEqual(tiers.tier_multiplier(customer), 1)
