# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""`import-surveys` with bad files, table-driven, on a real site: exact message, nothing written.

Cases that need the site (customers, invoices in every state) are here; the pure cell and file
checks are in tests/engine/test_csv_import.py. Surveys, invitations and the ledger (survey
rewards) are fingerprinted before and after every refused file.
"""

import os
from unittest import mock

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.loyalty_crm.doctype.satisfaction_survey.satisfaction_survey import SatisfactionSurvey
from loyalty_crm.services.import_checks import BadImportFile
from loyalty_crm.services.survey_import import import_surveys
from loyalty_crm.testing import make_customer, sales_invoice, sales_return, set_settings, survey_template
from loyalty_crm.testing_tables import fingerprint, write_import_file

test_ignore = ["POS Profile"]

TABLES = ("Satisfaction Survey", "Survey Invitation", "Loyalty Ledger Entry")
HEADER = "customer,submitted_on,nps,csat,ces,comment,complaint,complaint_category,invoice,invoice_type\n"
NOT_FOUND = "does not exist; use the customer's ID (its name in the Customer list)"


class TestSurveyImportBadInput(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		set_settings()
		survey_template(reward_points=10)
		cls.customer = make_customer()
		cls.other = make_customer()
		cls.disabled = make_customer()
		frappe.db.set_value("Customer", cls.disabled, "disabled", 1)
		cls.invoice = sales_invoice(cls.customer, rate=100).name
		cls.foreign = sales_invoice(cls.other, rate=100).name
		cls.draft = sales_invoice(cls.customer, rate=100, submit=False).name
		cancelled = sales_invoice(cls.customer, rate=100)
		cancelled.cancel()
		cls.cancelled = cancelled.name
		cls.credit_note = sales_return(frappe.get_doc("Sales Invoice", cls.invoice)).name
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()

	def run_import(self, data, **kwargs):
		path = write_import_file(data)
		self.addCleanup(os.remove, path)
		return import_surveys(path, **kwargs)

	def test_rows_the_site_refuses(self):
		c, today = self.customer, nowdate()
		cases = [
			("Nobody,2026-01-05,9,,,,,,,", [f"Row 2: customer 'Nobody' {NOT_FOUND}"]),
			(
				f"{self.disabled},2026-01-05,9,,,,,,,",
				[f"Row 2: customer '{self.disabled}' is disabled; enable the customer or remove the row"],
			),
			(
				f"{c},2026-01-05,9,,,,,,SINV-NOPE,",
				[
					"Row 2: Sales Invoice 'SINV-NOPE' does not exist; "
					"check the invoice number and invoice_type"
				],
			),
			(
				f"{c},2026-01-05,9,,,,,,{self.invoice},POS Invoice",
				[
					f"Row 2: POS Invoice '{self.invoice}' does not exist; check the invoice number and invoice_type"
				],
			),
			(
				f"{c},2026-01-05,9,,,,,,{self.draft},",
				[f"Row 2: Sales Invoice {self.draft} is a draft; only submitted invoices can be answered"],
			),
			(
				f"{c},2026-01-05,9,,,,,,{self.cancelled},",
				[
					f"Row 2: Sales Invoice {self.cancelled} is cancelled; only submitted invoices can be answered"
				],
			),
			(
				f"{c},2026-01-05,9,,,,,,{self.credit_note},",
				[f"Row 2: Sales Invoice {self.credit_note} is a return; name the original invoice"],
			),
			(
				f"{c},2026-01-05,9,,,,,,{self.foreign},",
				[
					f"Row 2: Sales Invoice {self.foreign} belongs to customer {self.other}, not '{c}'; "
					"fix the customer or the invoice"
				],
			),
			# the issue's own reproductions
			(
				f"{c},2026-01-05,inf,,,,,,,",
				["Row 2: nps 'inf' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
			),
			(
				f"{c},2099-11-01,9,,,,,,,",
				[f"Row 2: submitted_on '2099-11-01' is in the future (today is {today}); check the year"],
			),
			(
				f"{c},{add_days(today, 1)} 08:00,9,,,,,,,",
				[
					f"Row 2: submitted_on '{add_days(today, 1)} 08:00' is in the future (today is {today}); "
					"check the year"
				],
			),
			(
				f"{c},2026-01-05,9,,,,,,{self.invoice},\n{c},2026-01-06,3,,,,,,{self.invoice.lower()},",
				[
					"Row 3 repeats row 2 (same invoice / customer, submitted_on, scores, comment); "
					"delete one of them, or make them differ"
				],
			),
			(
				f"{c},2026-01-05,9,,,fine,,,,\n{c},2026-01-05,,,,,yes,Parking,,",
				[
					"Row 3: complaint_category 'Parking' is not one of: Product, Service, Price, Staff, "
					"Waiting Time, Delivery, Other"
				],
			),
		]
		for body, expected in cases:
			with self.subTest(body=body[:60]):
				before = fingerprint(*TABLES)
				result = self.run_import(HEADER + body + "\n")
				self.assertEqual(result.errors, expected)
				self.assertEqual(result.created, [])
				self.assertEqual(fingerprint(*TABLES), before, "nothing may be written")

	def test_files_the_import_refuses(self):
		cases = [
			(
				(HEADER + f"{self.customer},2026-01-05,9,,,Très bien,,,,\n").encode("cp1252"),
				'The file is not UTF-8 (byte 0xe8 on line 2); save it as "CSV UTF-8" '
				"(in Excel: Save As, CSV UTF-8) and import again",
			),
			(HEADER.encode(), "The file has only a header row: add the rows to import below it"),
			(
				b"customer,submitted_on,comment\nA,2026-01-05,hi\n",
				"The file needs at least one of the columns nps, csat, ces, complaint",
			),
		]
		for data, message in cases:
			with self.subTest(data=data[:30]):
				before = fingerprint(*TABLES)
				with self.assertRaises(BadImportFile) as caught:
					self.run_import(data)
				self.assertEqual(str(caught.exception), message)
				self.assertEqual(fingerprint(*TABLES), before)

	def test_a_row_failing_at_write_time_undoes_the_rows_before_it(self):
		original = SatisfactionSurvey.validate
		calls = []

		def validate(doc):
			calls.append(doc.customer)
			if len(calls) == 2:
				frappe.throw("Survey answers are locked")
			return original(doc)

		before = fingerprint(*TABLES)
		with mock.patch.object(SatisfactionSurvey, "validate", validate):
			result = self.run_import(
				HEADER
				+ f"{self.customer},2026-01-05,9,,,,,,{self.invoice},\n{self.customer},2026-01-06,8,,,,,,,\n"
			)
		self.assertEqual(
			result.errors, ["Row 3 could not be written: 'Survey answers are locked'; nothing was imported"]
		)
		self.assertEqual(result.created, [])
		self.assertEqual(fingerprint(*TABLES), before, "the first survey and its reward are undone")

	def test_unicode_and_sql_metacharacters_are_just_text(self):
		comment = "好评 👍 '; DROP TABLE `tabSatisfaction Survey`; --"
		result = self.run_import(HEADER + f'{self.customer},2026-01-05,10,,,"{comment}",,,,\n')
		self.assertEqual(result.errors, [])
		self.assertEqual(frappe.db.get_value("Satisfaction Survey", result.created[0], "comment"), comment)
