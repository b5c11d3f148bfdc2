# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import os
import tempfile
from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import ledger
from loyalty_crm.services.points_import import import_points
from loyalty_crm.testing import COMPANY, balance, make_customer, set_settings

test_dependencies = ["Customer", "Company"]


def adjustment(customer, points, reason="Goodwill", **extra):
	return frappe.get_doc(
		{
			"doctype": "Loyalty Points Adjustment",
			"customer": customer,
			"company": COMPANY,
			"points": points,
			"reason": reason,
			**extra,
		}
	)


class TestLoyaltyPointsAdjustment(FrappeTestCase):
	def setUp(self):
		set_settings()
		self.customer = make_customer()

	def tearDown(self):
		frappe.db.rollback()

	def test_reason_is_required(self):
		with self.assertRaisesRegex(frappe.ValidationError, "reason"):
			adjustment(self.customer, 10, reason=" ").insert()

	def test_add_take_and_cancel(self):
		added = adjustment(self.customer, 50, adjustment_type="Opening").insert()
		added.submit()
		taken = adjustment(self.customer, -20).insert()
		taken.submit()
		self.assertEqual(balance(self.customer), Decimal("30"))
		taken.cancel()
		self.assertEqual(balance(self.customer), Decimal("50"))
		types = [row["entry_type"] for row in ledger.document_rows("Loyalty Points Adjustment", taken.name)]
		self.assertEqual(types, ["Adjust", "Reverse"])

	def test_taking_more_than_balance_is_refused(self):
		adjustment(self.customer, 5).insert().submit()
		with self.assertRaisesRegex(frappe.ValidationError, "Not enough points"):
			adjustment(self.customer, -6).insert().submit()

	def test_import_writes_nothing_when_a_row_is_bad(self):
		path = write_csv(
			"customer,company,points,expiry_date\n"
			f"{self.customer},{COMPANY},100,\n"
			f"No Such Customer,{COMPANY},5,\n"
			f"{self.customer},{COMPANY},lots,\n"
		)
		result = import_points(path)
		self.assertEqual(len(result.errors), 2)
		self.assertIn("Row 3: customer 'No Such Customer' does not exist", result.errors[0])
		self.assertIn("Row 4: points 'lots' is not a number", result.errors[1])
		self.assertEqual(balance(self.customer), 0)

	def test_import_good_file(self):
		path = write_csv(f"customer,company,points\n{self.customer},{COMPANY},100.5\n")
		result = import_points(path)
		self.assertEqual(result.errors, [])
		self.assertEqual(balance(self.customer), Decimal("100.5"))


def write_csv(text: str) -> str:
	handle, path = tempfile.mkstemp(suffix=".csv")
	with os.fdopen(handle, "w") as out:
		out.write(text)
	return path
