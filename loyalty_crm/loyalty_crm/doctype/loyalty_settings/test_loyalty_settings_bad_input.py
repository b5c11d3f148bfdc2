# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Bad values in Loyalty Settings and in the bench commands' options, table-driven, on a real site.

Each case: the exact exception class and message, and the settings' rows (tabSingles and the
child tables) fingerprinted unchanged.
"""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.commands.base import BadOption, check_date_option, check_record_option
from loyalty_crm.services.input_checks import BadValue
from loyalty_crm.testing import set_settings
from loyalty_crm.testing_tables import assert_refused

TABLES = ("Loyalty Settings", "Loyalty Campaign", "Loyalty Excluded Item Group")
V = frappe.ValidationError
CAMPAIGN = {"campaign_name": "Spring", "from_date": "2026-03-01", "to_date": "2026-03-31", "multiplier": 2}

CASES = [
	# (values, exception class, exact message)
	(
		{"points_per_unit": "inf"},
		BadValue,
		"Points per Currency Unit: 'inf' is not a finite number; enter an ordinary number",
	),
	(
		{"points_per_unit": float("inf")},
		BadValue,
		"Points per Currency Unit: 'inf' is not a finite number; enter an ordinary number",
	),
	(
		{"points_per_unit": float("nan")},
		BadValue,
		"Points per Currency Unit: 'nan' is not a finite number; enter an ordinary number",
	),
	(
		{"points_per_unit": "1e309"},
		BadValue,
		"Points per Currency Unit: '1e309' is too large; the most this field holds is 999999999999",
	),
	(
		{"points_per_unit": "abc"},
		BadValue,
		"Points per Currency Unit: 'abc' is not a number; enter digits only, e.g. 12.5",
	),
	(
		{"points_per_unit": [1]},
		BadValue,
		"Points per Currency Unit: '[1]' is not a number; enter digits only, e.g. 12.5",
	),
	(
		{"points_per_unit": "1; DROP TABLE `tabSingles`"},
		BadValue,
		"Points per Currency Unit: '1; DROP TABLE `tabSingles`' is not a number; enter digits only, e.g. 12.5",
	),
	({"points_per_unit": -1}, V, "Points per Currency Unit cannot be negative"),
	({"points_precision": 7}, V, "Points Decimals must be between 0 and 6"),
	({"points_precision": -1}, V, "Points Decimals must be between 0 and 6"),
	({"points_precision": "2.5"}, BadValue, "Points Decimals must be a whole number, got '2.5'"),
	(
		{"points_precision": 2**40},
		BadValue,
		"Points Decimals: '1099511627776' is too large; the most this field holds is 2147483647",
	),
	({"point_value": -0.01}, V, "Value of One Point cannot be negative"),
	(
		{"point_value": "1e15"},
		BadValue,
		"Value of One Point: '1e15' is too large; the most this field holds is 999999999999",
	),
	({"default_expiry_days": -5}, V, "Points Expire After (Days) cannot be negative"),
	(
		{"default_expiry_days": "∞"},
		BadValue,
		"Points Expire After (Days): '∞' is not a number; enter digits only, e.g. 12.5",
	),
	(
		{"min_redeem_points": "-inf"},
		BadValue,
		"Minimum Points per Redemption: '-inf' is not a finite number; enter an ordinary number",
	),
	(
		{"campaigns": [{**CAMPAIGN, "multiplier": 0}]},
		V,
		"Row 1: campaign multiplier must be more than 0",
	),
	(
		{"campaigns": [{**CAMPAIGN, "multiplier": "inf"}]},
		BadValue,
		"Row 1 of Campaign Multipliers: Multiplier: 'inf' is not a finite number; enter an ordinary number",
	),
	(
		{"campaigns": [{**CAMPAIGN, "to_date": "2026-02-01"}]},
		V,
		"Row 1: campaign Spring ends before it starts",
	),
	(
		{"tier_window": "Rolling Months", "tier_window_months": 0},
		V,
		"The tier qualification window must be at least 1 month; got 0",
	),
	(
		{"cluster_k_min": 1},
		V,
		"Fewest and Most Clusters must satisfy 2 <= fewest <= most <= 20; got 1 and 8",
	),
	(
		{"segment_window_days": "1e10"},
		BadValue,
		"Analysis Window (Days): '1e10' is too large; the most this field holds is 2147483647",
	),
]


class TestLoyaltySettingsBadInput(FrappeTestCase):
	def setUp(self):
		set_settings(campaigns=[CAMPAIGN])

	def tearDown(self):
		frappe.db.rollback()

	def test_bad_settings_are_refused_and_nothing_saved(self):
		for values, error, message in CASES:
			with self.subTest(values=str(values)[:60]):
				settings = frappe.get_single("Loyalty Settings")
				if "campaigns" in values:
					values = {**values, "campaigns": [dict(row) for row in values["campaigns"]]}
				settings.update(values)
				assert_refused(self, settings.save, error, message, TABLES)

	def test_bench_date_options(self):
		today = nowdate()
		cases = [
			(
				"2099-01-01",
				f"--date '2099-01-01' is in the future (today is {today}); give today or an earlier date",
			),
			(
				add_days(today, 1),
				f"--date '{add_days(today, 1)}' is in the future (today is {today}); give today or an earlier date",
			),
			("31/12/2025", "--date '31/12/2025' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31"),
			("2026-02-30", "--date '2026-02-30' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31"),
			("tomorrow", "--date 'tomorrow' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31"),
			("", "--date '' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31"),
			("0226-01-01", "--date '0226-01-01' is before 2000-01-01; check the year"),
			(
				"2026-01-01; rm -rf /",
				"--date '2026-01-01; rm -rf /' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31",
			),
		]
		for value, message in cases:
			with self.subTest(value=value):
				assert_refused(
					self, lambda v=value: check_date_option(v, "--date"), BadOption, message, TABLES
				)
		self.assertEqual(str(check_date_option(" 2026-01-31 ", "--date")), "2026-01-31")
		self.assertIsNone(check_date_option(None, "--date"))

	def test_bench_name_options(self):
		cases = [
			("Customer Segment", "No Such Segment", "--segment"),
			("Customer Segment", "x' OR '1'='1", "--segment"),
			("Company", "No Such Company 😀", "--company"),
			("Company", "", "--company"),
			("Company", "C" * 200, "--company"),
		]
		for doctype, value, option in cases:
			with self.subTest(value=value[:30]):
				names = frappe.get_all(doctype, pluck="name", limit=6, order_by="name asc")
				listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
				shown = value if len(value) <= 40 else value[:39] + "…"
				message = (
					f"{option} '{shown}': there is no {doctype} of that name; the names are: {listed or '-'}"
				)
				assert_refused(
					self,
					lambda d=doctype, v=value, o=option: check_record_option(d, v, o),
					BadOption,
					message,
					TABLES,
				)
		self.assertEqual(check_record_option("Company", "_test company", "--company"), "_Test Company")
