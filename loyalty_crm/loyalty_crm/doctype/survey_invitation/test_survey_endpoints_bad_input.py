# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The guest survey endpoints and the till's `api.customer_loyalty` with bad input, table-driven.

Each call goes through the whitelisted function itself (so Frappe's argument type checks apply,
as on a web request) and must raise exactly the expected exception with exactly the expected
message, leaving surveys, invitations and the ledger unchanged.
"""

import frappe
from frappe.exceptions import FrappeTypeError
from frappe.tests.utils import FrappeTestCase

from loyalty_crm import api
from loyalty_crm.services import surveys
from loyalty_crm.services.input_checks import BadValue
from loyalty_crm.testing import COMPANY, make_customer, sales_invoice, set_settings, survey_template
from loyalty_crm.testing_tables import assert_refused, fingerprint
from loyalty_crm.www import survey as page

test_ignore = ["POS Profile"]

TABLES = ("Satisfaction Survey", "Survey Invitation", "Loyalty Ledger Entry")
INVALID = "This survey link is not valid. Please use the link or QR code on your receipt."


class TestSurveyEndpointsBadInput(FrappeTestCase):
	def setUp(self):
		set_settings()
		survey_template(reward_points=10)
		self.customer = make_customer()
		self.invoice = sales_invoice(self.customer, rate=40)
		self.token = surveys.issue_invitation(self.invoice)

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.local.lang = "en"
		frappe.form_dict.clear()
		frappe.db.rollback()

	def submit_as_guest(self, **kwargs):
		frappe.set_user("Guest")
		try:
			return surveys.submit(**{"token": self.token, **kwargs})
		finally:
			frappe.set_user("Administrator")

	def test_bad_answers_from_a_guest(self):
		long_comment = "好" * 100_000
		cases = [
			({"nps": "inf"}, BadValue, "NPS must be a whole number from 0 to 10, got 'inf'"),
			({"nps": "NaN"}, BadValue, "NPS must be a whole number from 0 to 10, got 'NaN'"),
			({"nps": "1e309"}, BadValue, "NPS must be between 0 and 10, got '1e309'"),
			({"nps": float("inf")}, BadValue, "NPS must be a whole number from 0 to 10, got 'inf'"),
			({"nps": [9]}, BadValue, "NPS must be a whole number from 0 to 10, got '[9]'"),
			({"nps": {"$gt": 1}}, BadValue, "NPS must be a whole number from 0 to 10, got '{'$gt': 1}'"),
			({"nps": True}, BadValue, "NPS must be a whole number from 0 to 10, got 'True'"),
			({"nps": "9 OR 1=1"}, BadValue, "NPS must be a whole number from 0 to 10, got '9 OR 1=1'"),
			({"csat": "4.5"}, BadValue, "CSAT must be a whole number from 1 to 5, got '4.5'"),
			({"csat": "0"}, BadValue, "CSAT must be between 1 and 5, got '0'"),
			({"ces": "😀"}, BadValue, "CES must be a whole number from 1 to 7, got '😀'"),
			({"ces": "-1"}, BadValue, "CES must be between 1 and 7, got '-1'"),
			({"csat": "5", "comment": ["a"]}, BadValue, "Comment must be text, got 'list'"),
			(
				{"csat": "5", "comment": long_comment},
				BadValue,
				"The comment is 100000 characters long; please keep it to 2000",
			),
			(
				{"csat": "5", "complaint": "x" * 50},
				BadValue,
				"Complaint is 50 characters long; the most is 10",
			),
			(
				{"csat": "5", "complaint": "1", "complaint_category": {"a": 1}},
				BadValue,
				"Complaint Category must be text, got 'dict'",
			),
			(
				{"nps": "", "csat": "", "ces": "", "comment": "   "},
				frappe.ValidationError,
				"Answer at least one question",
			),
		]
		for answers, error, message in cases:
			with self.subTest(answers=str(answers)[:50]):
				assert_refused(self, lambda a=answers: self.submit_as_guest(**a), error, message, TABLES)
		self.assertTrue(surveys.check_token(self.token).ok, "refused answers do not use up the link")

	def test_bad_tokens_from_a_guest(self):
		body, signature = self.token.split(".")
		cases = [
			"x" * 1_000_000,
			"' OR 1=1 --",
			"😀.😀",
			f"{body}.{signature}'; DROP TABLE `tabSurvey Invitation`; --",
			f"{body}..{signature}",
			"",
			"\x00.\x00",
		]
		for token in cases:
			with self.subTest(token=token[:30]):
				assert_refused(
					self,
					lambda t=token: self.submit_as_guest(token=t, csat="5"),
					surveys.SurveyLinkError,
					INVALID,
					TABLES,
				)

	def test_wrong_argument_types(self):
		cases = [
			({"token": None}, surveys.SurveyLinkError, INVALID),
			({"token": ["a", "b"]}, surveys.SurveyLinkError, INVALID),
			({"token": {"t": self.token}}, surveys.SurveyLinkError, INVALID),
			({"lang": ["zh"]}, BadValue, "Language must be text, got 'list'"),
			({"lang": "zh" * 50}, BadValue, "Language is 100 characters long; the most is 20"),
		]
		for kwargs, error, message in cases:
			with self.subTest(kwargs=str(kwargs)[:40]):
				assert_refused(
					self, lambda k=kwargs: self.submit_as_guest(csat="5", **k), error, message, TABLES
				)

	def test_replay_is_refused(self):
		first = self.submit_as_guest(csat="5", comment="好 👍 '; DROP TABLE x; --")
		self.assertEqual(first["points"], 10)
		self.assertEqual(
			frappe.db.get_value("Satisfaction Survey", first["survey"], "comment"),
			"好 👍 '; DROP TABLE x; --",
		)
		for _attempt in range(2):
			assert_refused(
				self,
				lambda: self.submit_as_guest(csat="1"),
				surveys.SurveyLinkError,
				"This survey has already been answered. Thank you!",
				TABLES,
			)

	def test_guest_cannot_call_what_only_users_may(self):
		frappe.set_user("Guest")
		try:
			for call in (
				lambda: surveys.get_survey_link("Sales Invoice", self.invoice.name),
				lambda: api.customer_loyalty(self.customer, COMPANY),
			):
				before = fingerprint(*TABLES)
				with self.assertRaises(frappe.PermissionError):
					call()
				self.assertEqual(fingerprint(*TABLES), before)
		finally:
			frappe.set_user("Administrator")

	def test_survey_link_for_what_has_no_survey(self):
		draft = sales_invoice(self.customer, rate=10, submit=False)
		cases = [
			(
				("Sales Invoice", draft.name),
				frappe.ValidationError,
				"Submit the invoice before creating its survey link",
			),
			(
				("User", "Administrator"),
				frappe.ValidationError,
				"Survey links are made for Sales Invoices and POS Invoices only",
			),
			(
				("Sales Invoice", "SINV-NOPE-😀"),
				frappe.DoesNotExistError,
				"Sales Invoice SINV-NOPE-😀 not found",
			),
		]
		for args, error, message in cases:
			with self.subTest(args=args):
				assert_refused(self, lambda a=args: surveys.get_survey_link(*a), error, message, TABLES)

	def test_customer_loyalty_with_bad_arguments(self):
		cases = [
			(("", COMPANY), BadValue, "Customer is required"),
			((self.customer, " "), BadValue, "Company is required"),
			(("C" * 1000, COMPANY), BadValue, "Customer is 1000 characters long; the most is 140"),
			(
				("x' OR '1'='1", COMPANY),
				frappe.DoesNotExistError,
				"Customer 'x' OR '1'='1' does not exist; pick the customer again",
			),
			(
				(self.customer, "No Such Company 😀"),
				frappe.DoesNotExistError,
				"Company 'No Such Company 😀' does not exist; check the POS Profile's company",
			),
		]
		for args, error, message in cases:
			with self.subTest(args=str(args)[:40]):
				assert_refused(self, lambda a=args: api.customer_loyalty(*a), error, message, TABLES)
		with self.assertRaisesRegex(FrappeTypeError, "Argument 'customer' should be of type"):
			api.customer_loyalty([self.customer], COMPANY)  # Frappe checks the declared str here
		frappe.flags.in_test, in_test = False, frappe.flags.in_test  # as a direct call from another app
		try:
			assert_refused(
				self,
				lambda: api.customer_loyalty([self.customer], COMPANY),
				BadValue,
				"Customer must be text, got 'list'",
				TABLES,
			)
		finally:
			frappe.flags.in_test = in_test
		self.assertEqual(api.customer_loyalty(self.customer, COMPANY)["customer"], self.customer)

	def test_survey_page_with_bad_query_strings_shows_the_invalid_page(self):
		for query in ({"t": "x" * 100_000}, {"t": "😀", "lang": "<script>"}, {"t": self.token + "'--"}):
			with self.subTest(query=str(query)[:40]):
				before = fingerprint(*TABLES)
				frappe.form_dict.clear()
				frappe.form_dict.update(query)
				context = page.get_context(frappe._dict())
				self.assertEqual((context.state, context.message, context.token), ("invalid", INVALID, ""))
				self.assertEqual(fingerprint(*TABLES), before)
