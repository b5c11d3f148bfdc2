# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""`bench loyalty-crm import-surveys`: every row checked first, nothing written when one is bad."""

import os
import tempfile

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services.survey_import import import_surveys
from loyalty_crm.testing import make_customer, points_of, sales_invoice, set_settings, survey_template


class TestSurveyImport(FrappeTestCase):
	def setUp(self):
		set_settings()
		survey_template(reward_points=10)
		self.customer = make_customer()
		self.invoice = sales_invoice(self.customer, rate=100)

	def tearDown(self):
		frappe.db.rollback()

	def write(self, text):
		handle, path = tempfile.mkstemp(suffix=".csv")
		with os.fdopen(handle, "w", encoding="utf-8") as file:
			file.write(text)
		self.addCleanup(os.remove, path)
		return path

	def count(self):
		return frappe.db.count("Satisfaction Survey", {"customer": self.customer})

	def test_good_file_is_imported(self):
		path = self.write(
			"customer,submitted_on,nps,csat,ces,comment,complaint,complaint_category,invoice\n"
			f"{self.customer},2026-01-05,9,5,,Great,no,,{self.invoice.name}\n"
			f'{self.customer},2026-01-06,0,,3,"Long wait, rude",yes,Waiting Time,\n'
		)
		result = import_surveys(path)
		self.assertEqual(result.errors, [])
		self.assertEqual(len(result.created), 2)
		first, second = (frappe.get_doc("Satisfaction Survey", name) for name in result.created)
		self.assertEqual(
			(first.nps, first.nps_answered, first.csat, first.ces, first.channel), (9, 1, 5, 0, "Import")
		)
		self.assertEqual((second.nps, second.nps_answered, second.complaint_category), (0, 1, "Waiting Time"))
		self.assertEqual(points_of("Satisfaction Survey", first.name), 10)

	def test_one_bad_row_writes_nothing_and_names_every_bad_row(self):
		other = make_customer()
		path = self.write(
			"customer,submitted_on,nps,csat,comment,invoice,complaint\n"
			f"{self.customer},2026-01-05,9,5,ok,,\n"
			f"{self.customer},2026-01-05,11,5,,,\n"
			f"{self.customer},2026-01-05,7,0,,,\n"
			f"{self.customer},not a date,ten,,,,\n"
			f"Nobody Such,2026-01-05,5,,,,\n"
			f"{other},2026-01-05,5,,,{self.invoice.name},\n"
			f"{self.customer},2026-01-05,5,,{'x' * 2001},,maybe\n"
		)
		result = import_surveys(path)
		self.assertEqual(
			result.errors,
			[
				"Row 3: nps must be a whole number from 0 to 10, got '11'",
				"Row 4: csat must be a whole number from 1 to 5, got '0'",
				"Row 5: submitted_on 'not a date' is not a date; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM, e.g. 2026-03-31",
				"Row 5: nps 'ten' is not a number; write digits with a dot for decimals, e.g. 1250.5",
				"Row 6: customer 'Nobody Such' does not exist; use the customer's ID (its name in the Customer list)",
				f"Row 7: Sales Invoice {self.invoice.name} belongs to customer {self.customer}, not '{other}'; "
				"fix the customer or the invoice",
				"Row 8: complaint must be yes or no, got 'maybe'",
				"Row 8: the comment is 2001 characters long; keep it to 2000",
			],
		)
		self.assertEqual(result.created, [])
		self.assertEqual(self.count(), 0)
