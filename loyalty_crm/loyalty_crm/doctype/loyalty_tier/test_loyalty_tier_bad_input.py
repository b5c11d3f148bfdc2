# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Bad Loyalty Tier values, table-driven: the exact message, and no tier or Pricing Rule written."""

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services.input_checks import BadValue
from loyalty_crm.testing import set_settings
from loyalty_crm.testing_tables import assert_refused

TABLES = ("Loyalty Tier", "Pricing Rule")
V = frappe.ValidationError


class TestLoyaltyTierBadInput(FrappeTestCase):
	def setUp(self):
		set_settings(enable_tiers=1)

	def tearDown(self):
		frappe.db.rollback()

	def test_bad_tiers_are_refused_and_nothing_saved(self):
		name = f"Diamond {frappe.generate_hash(length=5)}"
		top = max(frappe.get_all("Loyalty Tier", pluck="rank") or [0])
		highest = max(frappe.get_all("Loyalty Tier", pluck="threshold") or [0])
		base = {
			"doctype": "Loyalty Tier",
			"tier_name": name,
			"rank": top + 10,
			"threshold": highest + 1000,
			"multiplier": 2,
			"grace_months": 3,
		}
		cases = [
			({"multiplier": 0}, V, f"Tier multipliers must be numbers greater than 0; {name} has 0.0"),
			({"multiplier": -1}, V, f"Tier multipliers must be numbers greater than 0; {name} has -1.0"),
			(
				{"multiplier": "inf"},
				BadValue,
				"Earn Multiplier: 'inf' is not a finite number; enter an ordinary number",
			),
			(
				{"multiplier": float("nan")},
				BadValue,
				"Earn Multiplier: 'nan' is not a finite number; enter an ordinary number",
			),
			(
				{"threshold": "1e309"},
				BadValue,
				"Qualification Threshold: '1e309' is too large; the most this field holds is 999999999999",
			),
			(
				{"threshold": "ten thousand"},
				BadValue,
				"Qualification Threshold: 'ten thousand' is not a number; enter digits only, e.g. 12.5",
			),
			({"rank": "1.5"}, BadValue, "Rank must be a whole number, got '1.5'"),
			(
				{"rank": 2**31},
				BadValue,
				"Rank: '2147483648' is too large; the most this field holds is 2147483647",
			),
			({"discount_percentage": 101}, V, f"The discount of tier {name} must be between 0 and 100%"),
			({"discount_percentage": -5}, V, f"The discount of tier {name} must be between 0 and 100%"),
			(
				{"discount_percentage": "5%"},
				BadValue,
				"Discount (%): '5%' is not a number; enter digits only, e.g. 12.5",
			),
			(
				{"grace_months": "1e100"},
				BadValue,
				"Retention (Months): '1e100' is too large; the most this field holds is 2147483647",
			),
		]
		for values, error, message in cases:
			with self.subTest(values=str(values)):
				doc = frappe.get_doc({**base, **values})
				assert_refused(self, doc.insert, error, message, TABLES)
		self.assertFalse(frappe.db.exists("Loyalty Tier", name))

	def test_a_tier_that_breaks_the_ladder_is_refused(self):
		tiers = frappe.get_all("Loyalty Tier", fields=["name", "rank", "threshold"], order_by="rank asc")
		if len(tiers) < 2:
			self.skipTest("the site has no default ladder")
		entry, second = tiers[0], tiers[1]
		doc = frappe.get_doc(
			{
				"doctype": "Loyalty Tier",
				"tier_name": f"Clash {frappe.generate_hash(length=5)}",
				"rank": second.rank,
				"threshold": second.threshold + 1,
				"multiplier": 1,
			}
		)
		before = frappe.db.count("Loyalty Tier")
		with self.assertRaisesRegex(V, f"^Tier ranks must be unique; rank {second.rank} is used by "):
			doc.insert()
		self.assertEqual(frappe.db.count("Loyalty Tier"), before)
		self.assertTrue(entry)
