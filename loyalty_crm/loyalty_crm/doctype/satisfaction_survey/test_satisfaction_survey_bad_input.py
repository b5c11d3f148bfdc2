# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Answers typed in at the desk (or sent to the REST API) with bad values, table-driven."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from loyalty_crm.services.input_checks import BadValue
from loyalty_crm.testing import make_customer, sales_invoice, set_settings, survey_template
from loyalty_crm.testing_tables import assert_refused

test_ignore = ["POS Profile"]

TABLES = ("Satisfaction Survey", "Loyalty Ledger Entry")
V = frappe.ValidationError


class TestSatisfactionSurveyBadInput(FrappeTestCase):
	def setUp(self):
		set_settings()
		survey_template(reward_points=10)
		self.customer = make_customer()

	def tearDown(self):
		frappe.db.rollback()

	def test_bad_desk_answers_are_refused_and_nothing_written(self):
		other = make_customer()
		invoice = sales_invoice(other, rate=20)
		base = {
			"doctype": "Satisfaction Survey",
			"customer": self.customer,
			"channel": "Desk Entry",
			"submitted_on": now_datetime(),
			"csat": 4,
		}
		cases = [
			({"nps": "inf"}, V, "NPS must be a whole number from 0 to 10, got inf"),
			({"nps": "1e309"}, V, "NPS must be a whole number from 0 to 10, got 1e309"),
			({"nps": "-inf"}, V, "NPS must be a whole number from 0 to 10, got -inf"),
			({"csat": "4.5"}, V, "CSAT must be a whole number from 1 to 5, got 4.5"),
			({"ces": 99}, V, "CES must be between 1 and 7, got 99"),
			({"comment": "好" * 2001}, V, "The comment is 2001 characters long; please keep it to 2000"),
			(
				{"customer": "Nobody 😀"},
				frappe.LinkValidationError,
				"Customer Nobody 😀 does not exist; pick one from the list",
			),
			(
				{"source_doctype": "Sales Invoice", "source_name": invoice.name},
				V,
				f"Sales Invoice {invoice.name} belongs to customer {other}, not {self.customer}",
			),
			(
				{"points_awarded": "inf"},
				BadValue,
				"Points Awarded: 'inf' is not a finite number; enter an ordinary number",
			),
		]
		for values, error, message in cases:
			with self.subTest(values=str(values)[:50]):
				assert_refused(self, frappe.get_doc({**base, **values}).insert, error, message, TABLES)
