# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""`import-points` with bad files, table-driven, on a real site: exact message, nothing written.

The pure checks are also tested without a site (tests/engine/test_csv_import.py); here each
case goes through the service the bench command calls and the ledger, the adjustments and the
Customer balance cache are fingerprinted before and after.
"""

import os
from decimal import Decimal
from unittest import mock

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.loyalty_crm.doctype.loyalty_points_adjustment.loyalty_points_adjustment import (
	LoyaltyPointsAdjustment,
)
from loyalty_crm.services.import_checks import BadImportFile
from loyalty_crm.services.points_import import import_points
from loyalty_crm.testing import COMPANY, balance, make_customer, set_settings
from loyalty_crm.testing_tables import fingerprint, write_import_file

TABLES = ("Loyalty Ledger Entry", "Loyalty Points Adjustment", "Customer")
HEADER = "customer,company,points,expiry_date,posting_date,reason\n"


class TestPointsImportBadInput(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		set_settings(points_precision=2)
		cls.customer = make_customer()
		cls.disabled = make_customer()
		frappe.db.set_value("Customer", cls.disabled, "disabled", 1)
		frappe.db.commit()  # the fingerprints below must see a stable site

	def setUp(self):
		set_settings(points_precision=2)

	def tearDown(self):
		frappe.db.rollback()

	def run_import(self, data, **kwargs):
		path = write_import_file(data)
		self.addCleanup(os.remove, path)
		return import_points(path, **kwargs)

	def assert_refused(self, body: str, expected: list[str]):
		before = fingerprint(*TABLES)
		result = self.run_import(HEADER + body)
		self.assertEqual(result.errors, expected)
		self.assertEqual(result.created, [])
		self.assertEqual(fingerprint(*TABLES), before, "nothing may be written")

	def test_rows_the_site_refuses(self):
		today = nowdate()
		c, d = self.customer, self.disabled
		cases = [
			(
				f"No Such Customer,{COMPANY},5,,,",
				[
					"Row 2: customer 'No Such Customer' does not exist; "
					"use the customer's ID (its name in the Customer list)"
				],
			),
			(
				f"{d},{COMPANY},5,,,",
				[f"Row 2: customer '{d}' is disabled; enable the customer or remove the row"],
			),
			(
				f"{c},No Such Company,5,,,",
				[
					"Row 2: company 'No Such Company' does not exist; use the company's name as in the Company list"
				],
			),
			(
				f"x' OR '1'='1,{COMPANY},5,,,",
				[
					"Row 2: customer 'x' OR '1'='1' does not exist; "
					"use the customer's ID (its name in the Customer list)"
				],
			),
			(
				f"😀 顾客,{COMPANY},5,,,",
				[
					"Row 2: customer '😀 顾客' does not exist; use the customer's ID (its name in the Customer list)"
				],
			),
			(
				f'"{c}`; DELETE FROM `tabLoyalty Ledger Entry`",{COMPANY},5,,,',
				[
					f"Row 2: customer '{(c + '`; DELETE FROM `tabLoyalty Ledger Entry`')[:39]}…' does not exist; "
					"use the customer's ID (its name in the Customer list)"
				],
			),
			# the issue's own reproductions
			(f"{c},{COMPANY},1e309,,,", ["Row 2: points '1e309' is too large; the most is 1000000000"]),
			(
				f"{c},{COMPANY},5,2026-01-01,2026-02-01,",
				[
					"Row 2: expiry_date 2026-01-01 is before the posting date 2026-02-01; "
					"points cannot expire before they are given"
				],
			),
			(
				f"{c},{COMPANY},5,,2099-01-01,",
				[f"Row 2: posting_date '2099-01-01' is in the future (today is {today}); check the year"],
			),
			(
				f"{c},{COMPANY},5,,{add_days(today, 1)},",
				[
					f"Row 2: posting_date '{add_days(today, 1)}' is in the future (today is {today}); check the year"
				],
			),
			(
				f"{c},{COMPANY},0.001,,,",
				["Row 2: points '0.001' rounds to 0 at 2 decimals (Loyalty Settings); write at least 0.01"],
			),
			# a good row does not carry a bad one: all or nothing
			(
				f"{c},{COMPANY},5,,,\n{c},{COMPANY},-5,,,",
				["Row 3: points '-5' must be more than 0"],
			),
			(
				f"{c},{COMPANY},5,,,\n{c},{COMPANY},5,,,",
				[
					"Row 3 repeats row 2 (same customer, company, points, posting_date, expiry_date, reason); "
					"delete one of them, or make them differ"
				],
			),
			(
				f"{c.lower()},{COMPANY},5,,,\n{c.upper()},{COMPANY.upper()},5,,,\nGhost,{COMPANY},inf,,,",
				[
					"Row 3 repeats row 2 (same customer, company, points, posting_date, expiry_date, reason); "
					"delete one of them, or make them differ",
					"Row 4: points 'inf' is not a number; write digits with a dot for decimals, e.g. 1250.5",
					"Row 4: customer 'Ghost' does not exist; use the customer's ID (its name in the Customer list)",
				],
			),
		]
		for body, expected in cases:
			with self.subTest(body=body[:60]):
				self.assert_refused(body, expected)
		self.assertEqual(balance(self.customer), 0)

	def test_files_the_import_refuses(self):
		cases = [
			(b"", "The file is empty: it needs a header row and at least one data row"),
			(HEADER.encode(), "The file has only a header row: add the rows to import below it"),
			(
				(HEADER + f"José,{COMPANY},5,,,\n").encode("latin-1"),
				'The file is not UTF-8 (byte 0xe9 on line 2); save it as "CSV UTF-8" '
				"(in Excel: Save As, CSV UTF-8) and import again",
			),
			(
				b"PK\x03\x04\x14\x00",
				'The file is not a CSV file (it looks like xlsx); save it as "CSV UTF-8" and import that',
			),
			(
				b"customer;company;points\nA;B;5\n",
				"Unknown column 'customer;company;points' in the header; the columns are: "
				"customer, company, points, expiry_date, posting_date, reason",
			),
		]
		for data, message in cases:
			with self.subTest(data=data[:30]):
				before = fingerprint(*TABLES)
				with self.assertRaises(BadImportFile) as caught:
					self.run_import(data)
				self.assertEqual(str(caught.exception), message)
				self.assertEqual(fingerprint(*TABLES), before)

	def test_too_large_file_is_refused_before_reading(self):
		before = fingerprint(*TABLES)
		with self.assertRaises(BadImportFile) as caught:
			self.run_import(HEADER + f"{self.customer},{COMPANY},5,,,\n" * 200, max_bytes=1024)
		self.assertEqual(
			str(caught.exception),
			"The file is 0.0 MB; the largest file accepted is 0.0 MB. Split it into smaller files and import each",
		)
		self.assertEqual(fingerprint(*TABLES), before)

	def test_missing_file(self):
		with self.assertRaisesRegex(
			BadImportFile, "Cannot read the file '/nonexistent/x.csv': check the path"
		):
			import_points("/nonexistent/x.csv")

	def test_utf8_with_bom_and_names_in_another_case_are_accepted(self):
		data = b"\xef\xbb\xbf" + (HEADER + f"{self.customer.upper()},{COMPANY.lower()},0.005,,,\n").encode()
		result = self.run_import(data)
		self.assertEqual(result.errors, [])
		self.assertEqual(len(result.created), 1)
		self.assertEqual(balance(self.customer), Decimal("0.01"), "0.005 rounds half-up to 0.01")

	def test_a_row_failing_at_write_time_undoes_the_rows_before_it(self):
		"""A rule the checks do not know (here: submit refused on the second row) must not half-write."""
		original = LoyaltyPointsAdjustment.on_submit
		calls = []

		def on_submit(doc):
			calls.append(doc.name)
			if len(calls) == 2:
				frappe.throw("The ledger is closed for this customer")
			return original(doc)

		other = make_customer()
		before = fingerprint(*TABLES)
		with mock.patch.object(LoyaltyPointsAdjustment, "on_submit", on_submit):
			result = self.run_import(HEADER + f"{self.customer},{COMPANY},5,,,\n{other},{COMPANY},7,,,\n")
		self.assertEqual(
			result.errors,
			["Row 3 could not be written: 'The ledger is closed for this customer'; nothing was imported"],
		)
		self.assertEqual(result.created, [], "the summary counts only what was written")
		self.assertEqual(len(calls), 2)
		self.assertEqual(fingerprint(*TABLES), before)
		self.assertEqual(balance(self.customer), 0)

	def test_summary_counts_exactly_the_rows_written(self):
		a, b = make_customer(), make_customer()
		before = fingerprint(*TABLES)
		result = self.run_import(HEADER + f"{a},{COMPANY},10,,,\n{b},{COMPANY},2.345,,,\n")
		self.assertEqual(result.errors, [])
		after = fingerprint(*TABLES)
		self.assertEqual(after["Loyalty Ledger Entry"][0] - before["Loyalty Ledger Entry"][0], 2)
		self.assertNotEqual(
			after["Customer"], before["Customer"], "the fingerprint sees the balance cache change"
		)
		self.assertEqual(len(result.created), 2)
		written = frappe.db.count(
			"Loyalty Ledger Entry",
			{"voucher_type": "Loyalty Points Adjustment", "voucher_no": ("in", result.created)},
		)
		self.assertEqual(written, 2)
		self.assertEqual((balance(a), balance(b)), (Decimal("10"), Decimal("2.35")))

	def test_messages_are_translated(self):
		frappe.local.lang = "zh"
		try:
			result = self.run_import(HEADER + f"{self.customer},{COMPANY},5,,2099-01-01,\n")
			with self.assertRaises(BadImportFile) as caught:
				self.run_import(HEADER)
		finally:
			frappe.local.lang = "en"
		self.assertEqual(
			result.errors, [f"第 2 行：posting_date '2099-01-01' 在未来（今天是 {nowdate()}）；请检查年份"]
		)
		self.assertNotIn("header", str(caught.exception))
