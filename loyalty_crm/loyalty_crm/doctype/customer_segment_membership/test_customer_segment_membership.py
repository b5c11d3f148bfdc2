# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import segments
from loyalty_crm.testing import COMPANY, make_customer


class TestCustomerSegmentMembership(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()

	def test_one_row_per_customer_segment_and_company(self):
		"""The unique index the refresh relies on: a second identical row is refused."""
		segment = frappe.get_doc(
			{
				"doctype": "Customer Segment",
				"segment_name": f"LCRM {frappe.generate_hash(length=8)}",
				"method": "ABC Class",
				"abc_class": "A",
			}
		).insert(ignore_permissions=True)
		customer = make_customer("LCRM SEG")
		row = {"customer": customer, "segment": segment.name, "company": COMPANY}
		frappe.db.bulk_insert(segments.MEMBERSHIP, ["name", *row], [("m1", *row.values())])
		with self.assertRaises(Exception) as raised:
			frappe.db.bulk_insert(segments.MEMBERSHIP, ["name", *row], [("m2", *row.values())])
		self.assertTrue(frappe.db.is_unique_key_violation(raised.exception))
		self.assertEqual([r.segment for r in segments.customer_memberships(customer)], [segment.name])
