# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Bad Loyalty Points Adjustments, table-driven: the exact message, no adjustment and no ledger row."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.services.input_checks import BadValue
from loyalty_crm.testing import COMPANY, make_customer, set_settings
from loyalty_crm.testing_tables import assert_refused

TABLES = ("Loyalty Points Adjustment", "Loyalty Ledger Entry", "Customer")
V = frappe.ValidationError


class TestLoyaltyPointsAdjustmentBadInput(FrappeTestCase):
	def setUp(self):
		set_settings(points_precision=2)
		self.customer = make_customer()

	def tearDown(self):
		frappe.db.rollback()

	def test_bad_adjustments_are_refused_and_nothing_written(self):
		today = nowdate()
		base = {
			"doctype": "Loyalty Points Adjustment",
			"customer": self.customer,
			"company": COMPANY,
			"points": 10,
			"posting_date": today,
			"reason": "Goodwill",
		}
		cases = [
			({"points": "inf"}, BadValue, "Points: 'inf' is not a finite number; enter an ordinary number"),
			(
				{"points": float("nan")},
				BadValue,
				"Points: 'nan' is not a finite number; enter an ordinary number",
			),
			(
				{"points": "1e309"},
				BadValue,
				"Points: '1e309' is too large; the most this field holds is 999999999999",
			),
			({"points": "lots"}, BadValue, "Points: 'lots' is not a number; enter digits only, e.g. 12.5"),
			({"points": "1e10"}, V, "Points 1e10 is too large; the most is 1000000000"),
			(
				{"points": "0.001"},
				V,
				"Points 0.001 rounds to 0 at 2 decimals (Loyalty Settings); give at least 0.01",
			),
			(
				{"points": "-0.004"},
				V,
				"Points -0.004 rounds to 0 at 2 decimals (Loyalty Settings); give at least 0.01",
			),
			({"points": 0}, V, "Points must not be zero"),
			(
				{"posting_date": "2099-01-01"},
				V,
				f"Posting Date 2099-01-01 is in the future (today is {today}); points are given on or before today",
			),
			(
				{"posting_date": add_days(today, -1), "expiry_date": add_days(today, -2)},
				V,
				"Expiry Date cannot be before Posting Date",
			),
			({"reason": "   "}, V, "A reason is required for every points adjustment"),
			(
				{"customer": "x' OR '1'='1"},
				frappe.LinkValidationError,
				"Customer 'x' OR '1'='1' does not exist; pick one from the list",
			),
			(
				{"company": "No Such Company"},
				frappe.LinkValidationError,
				"Could not find Company: No Such Company",  # Frappe's own link check
			),
		]
		for values, error, message in cases:
			with self.subTest(values=str(values)):
				assert_refused(self, frappe.get_doc({**base, **values}).insert, error, message, TABLES)
