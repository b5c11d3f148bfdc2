# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.loyalty_crm.report.customer_segments.customer_segments import execute
from loyalty_crm.services import segments
from loyalty_crm.testing import COMPANY, make_customer, sales_invoice, set_settings

test_dependencies = ["Sales Invoice"]


class TestCustomerSegmentsReport(FrappeTestCase):
	def setUp(self):
		set_settings()

	def tearDown(self):
		frappe.db.rollback()

	def test_members_scores_chart_stored_and_live(self):
		customer = make_customer("LCRM SEG")
		sales_invoice(customer, 1500, posting_date=add_days(nowdate(), -12))
		rule = [{"field": "monetary", "operator": ">=", "value": 1500}]
		segment = frappe.get_doc(
			{
				"doctype": "Customer Segment",
				"segment_name": f"LCRM {frappe.generate_hash(length=8)}",
				"method": "Rule",
				"rule": frappe.as_json(rule),
				"company": COMPANY,
			}
		).insert(ignore_permissions=True)
		segments.refresh_segments(segment=segment.name)

		for filters in (
			{"segment": segment.name, "company": COMPANY},
			{"segment": segment.name, "as_of": nowdate()},
		):
			columns, data, message, chart, summary = execute(filters)
			row = next(row for row in data if row["customer"] == customer)
			self.assertEqual(row["recency_days"], 12)
			self.assertEqual(row["monetary"], 1500)
			self.assertEqual(row["frequency"], 1)
			self.assertTrue(1 <= row["r_score"] <= 5)
			self.assertEqual(chart["data"]["labels"], [segment.name])
			self.assertEqual(summary[0]["value"], len(data))
		self.assertIn("live", message)

		columns, data, message, chart, summary = execute({"segment": segment.name, "as_of": "1990-01-01"})
		self.assertEqual((data, chart), ([], None))
