# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Survey links, answers, reward points, the receipt QR code and personal data deletion, on real invoices."""

import base64
import json
from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, nowdate

from loyalty_crm.services import surveys
from loyalty_crm.testing import (
	balance,
	make_customer,
	points_of,
	sales_invoice,
	set_settings,
	set_survey_settings,
	survey_template,
)

# Invoices come from loyalty_crm.testing; POS Profile's own test records (and their Project)
# are not needed and do not re-create cleanly on a site that already has them.
test_ignore = ["POS Profile"]

ANSWERS = {"nps": "9", "csat": "4", "ces": "6", "comment": "Quick and friendly", "complaint": ""}


def token_from(url: str) -> str:
	from urllib.parse import parse_qs, urlparse

	return parse_qs(urlparse(url).query)["t"][0]


class TestSatisfactionSurvey(FrappeTestCase):
	def setUp(self):
		set_settings()
		self.template = survey_template(reward_points=25)
		self.customer = make_customer()
		self.invoice = sales_invoice(self.customer, rate=100)

	def tearDown(self):
		frappe.db.rollback()

	def survey_count(self):
		return frappe.db.count("Satisfaction Survey", {"customer": self.customer})

	# ------------------------------------------------------------ token life cycle

	def test_token_life_cycle_issue_answer_replay(self):
		token = surveys.issue_invitation(self.invoice)
		self.assertEqual(surveys.issue_invitation(self.invoice), token, "the receipt can be printed again")
		check = surveys.check_token(token)
		self.assertTrue(check.ok, check.message)
		self.assertEqual(
			(check.doctype, check.name, check.customer), ("Sales Invoice", self.invoice.name, self.customer)
		)
		invitation = frappe.get_doc("Survey Invitation", surveys.token_hash(token))
		self.assertNotIn(token, json.dumps(invitation.as_dict(), default=str), "only the hash is stored")

		survey = surveys.submit_response(token, ANSWERS, language="en")
		self.assertEqual((survey.nps, survey.csat, survey.ces, survey.nps_answered), (9, 4, 6, 1))
		self.assertEqual(survey.channel, "Receipt Link")
		self.assertEqual(survey.company, self.invoice.company)
		invitation.reload()
		self.assertTrue(invitation.used_on)
		self.assertEqual(invitation.survey, survey.name)

		self.assertEqual(surveys.check_token(token).status, "used")
		with self.assertRaisesRegex(surveys.SurveyLinkError, "already been answered"):
			surveys.submit_response(token, ANSWERS)
		with self.assertRaises(surveys.SurveyLinkError):
			surveys.issue_invitation(self.invoice)
		self.assertEqual(self.survey_count(), 1)

	def test_expired_token_is_refused_and_writes_nothing(self):
		token = surveys.issue_invitation(self.invoice, expires_on=add_days(nowdate(), -1))
		check = surveys.check_token(token)
		self.assertEqual(check.status, "expired")
		self.assertIn("expired", check.message)
		with self.assertRaisesRegex(surveys.SurveyLinkError, "expired"):
			surveys.submit_response(token, ANSWERS)
		self.assertEqual(self.survey_count(), 0)
		fresh = surveys.issue_invitation(self.invoice)
		self.assertNotEqual(fresh, token, "an expired link is replaced by a new one")
		self.assertTrue(surveys.check_token(fresh).ok)

	def test_tampered_token_is_refused(self):
		token = surveys.issue_invitation(self.invoice)
		body, signature = token.split(".")
		payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
		payload[3] = add_days(nowdate(), 3650)  # a longer life
		forged_body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(
			b"="
		)
		for forged in (f"{forged_body.decode()}.{signature}", token[:-2] + "xx", "garbage", "", "a.b"):
			self.assertEqual(surveys.check_token(forged).status, "invalid", forged)
			with self.assertRaisesRegex(surveys.SurveyLinkError, "not valid"):
				surveys.submit_response(forged, ANSWERS)
		self.assertEqual(self.survey_count(), 0)

	def test_token_for_another_customers_invoice_is_refused(self):
		other = make_customer()
		forged = surveys.make_token("Sales Invoice", self.invoice.name, other, add_days(nowdate(), 5))
		self.assertEqual(surveys.check_token(forged).status, "foreign")
		with self.assertRaisesRegex(surveys.SurveyLinkError, "another customer"):
			surveys.submit_response(forged, ANSWERS)
		self.assertEqual(frappe.db.count("Satisfaction Survey", {"customer": other}), 0)
		self.assertEqual(self.survey_count(), 0)

	def test_link_issued_on_submit_when_the_setting_says_so(self):
		set_survey_settings(issue_on_submit=1, default_template=self.template)
		invoice = sales_invoice(self.customer, rate=50)
		self.assertTrue(
			frappe.db.exists(
				"Survey Invitation", {"source_doctype": "Sales Invoice", "source_name": invoice.name}
			)
		)
		self.assertFalse(
			frappe.db.exists("Survey Invitation", {"source_name": self.invoice.name}),
			"off by default",
		)

	def test_whitelisted_link_for_the_invoice_button(self):
		link = surveys.get_survey_link("Sales Invoice", self.invoice.name)
		self.assertTrue(link["qr"].startswith("data:image/svg+xml"))
		self.assertTrue(surveys.check_token(token_from(link["url"])).ok)

	# ------------------------------------------------------------ bad answers

	def test_bad_answers_are_refused_with_a_clear_message_and_nothing_written(self):
		token = surveys.issue_invitation(self.invoice)
		cases = [
			({"nps": "11"}, "NPS must be between 0 and 10"),
			({"nps": "-1"}, "NPS must be between 0 and 10"),
			({"csat": "0"}, "CSAT must be between 1 and 5"),
			({"ces": "8"}, "CES must be between 1 and 7"),
			({"nps": "ten"}, "NPS must be a whole number"),
			({"csat": "4.5"}, "CSAT must be a whole number"),
			({"comment": "x" * 2001}, "keep it to 2000"),
			({"nps": "", "csat": "", "ces": "", "comment": ""}, "at least one question"),
		]
		for answers, message in cases:
			with self.subTest(answers=str(answers)[:40]):
				with self.assertRaisesRegex(frappe.ValidationError, message):
					surveys.submit_response(token, {**ANSWERS, "nps": "", "csat": "", "ces": "", **answers})
		self.assertEqual(self.survey_count(), 0)
		self.assertTrue(surveys.check_token(token).ok, "a refused answer does not use up the link")
		self.assertEqual(points_of("Satisfaction Survey", "x"), 0)

	def test_messages_are_translated(self):
		frappe.local.lang = "zh"
		try:
			survey = frappe.get_doc({"doctype": "Satisfaction Survey", "customer": self.customer, "nps": 11})
			with self.assertRaisesRegex(frappe.ValidationError, "必须介于"):
				survey.insert()
			expired = surveys.issue_invitation(self.invoice, expires_on=add_days(nowdate(), -1))
			self.assertIn("过期", surveys.check_token(expired).message)
		finally:
			frappe.local.lang = "en"

	def test_nps_zero_is_an_answer_and_empty_is_not(self):
		zero = frappe.get_doc(
			{"doctype": "Satisfaction Survey", "customer": self.customer, "nps": 0}
		).insert()
		self.assertEqual((zero.nps, zero.nps_answered), (0, 1))
		empty = frappe.get_doc(
			{"doctype": "Satisfaction Survey", "customer": self.customer, "csat": 5}
		).insert()
		self.assertEqual((empty.nps, empty.nps_answered), (0, 0))
		empty.reload()
		empty.comment = "added later"
		empty.save()
		self.assertEqual(empty.nps_answered, 0, "saving again keeps an unanswered NPS unanswered")

	def test_desk_entry_for_a_customer_on_the_phone(self):
		survey = frappe.get_doc(
			{
				"doctype": "Satisfaction Survey",
				"customer": self.customer,
				"channel": "Desk Entry",
				"csat": 2,
				"complaint": 1,
				"complaint_category": "Service",
			}
		).insert()
		self.assertEqual(survey.resolution_status, "Open")
		survey.resolution_status = "Resolved"
		survey.save()
		self.assertEqual(survey.resolved_by, frappe.session.user)
		self.assertTrue(survey.resolved_on)

	def test_invoice_of_another_customer_is_refused(self):
		survey = frappe.get_doc(
			{
				"doctype": "Satisfaction Survey",
				"customer": make_customer(),
				"csat": 5,
				"source_doctype": "Sales Invoice",
				"source_name": self.invoice.name,
			}
		)
		with self.assertRaisesRegex(frappe.ValidationError, "belongs to customer"):
			survey.insert()

	# ------------------------------------------------------------ rewards

	def test_reward_points_written_once_per_invoice(self):
		before = balance(self.customer)
		survey = surveys.submit_response(surveys.issue_invitation(self.invoice), ANSWERS)
		self.assertEqual(points_of("Satisfaction Survey", survey.name, "Earn"), Decimal(25))
		self.assertEqual(balance(self.customer), before + 25)
		self.assertEqual(survey.points_awarded, 25)
		# a second survey about the same invoice (typed in at the desk) earns nothing more
		again = frappe.get_doc(
			{
				"doctype": "Satisfaction Survey",
				"customer": self.customer,
				"csat": 5,
				"source_doctype": "Sales Invoice",
				"source_name": self.invoice.name,
			}
		).insert()
		self.assertEqual(points_of("Satisfaction Survey", again.name), 0)
		self.assertEqual(balance(self.customer), before + 25)
		# a survey without an invoice earns nothing
		loose = frappe.get_doc(
			{"doctype": "Satisfaction Survey", "customer": self.customer, "csat": 5}
		).insert()
		self.assertEqual(points_of("Satisfaction Survey", loose.name), 0)

	def desk_survey(self, **values):
		return frappe.get_doc(
			{
				"doctype": "Satisfaction Survey",
				"customer": self.customer,
				"csat": 5,
				"source_doctype": "Sales Invoice",
				"source_name": self.invoice.name,
				**values,
			}
		)

	def assert_ledger_balances(self):
		rows = frappe.get_all("Loyalty Ledger Entry", filters={"customer": self.customer}, pluck="points")
		cached = frappe.db.get_value("Customer", self.customer, "loyalty_crm_points_balance")
		self.assertEqual(Decimal(str(cached)), sum((Decimal(str(p)) for p in rows), Decimal(0)))
		return balance(self.customer)

	def test_rewarded_survey_cannot_be_deleted_and_a_deleted_one_is_not_paid_again(self):
		before = balance(self.customer)
		token = surveys.issue_invitation(self.invoice)
		survey = surveys.submit_response(token, ANSWERS)
		earn = frappe.get_all(
			"Loyalty Ledger Entry",
			filters={"voucher_type": "Satisfaction Survey", "voucher_no": survey.name},
			fields=["entry_type", "points", "against_voucher_type", "against_voucher_no"],
		)
		self.assertEqual(len(earn), 1)
		self.assertEqual(
			(earn[0].against_voucher_type, earn[0].against_voucher_no), ("Sales Invoice", self.invoice.name)
		)

		# deleting it is refused, saying why and what to do instead; nothing changes
		with self.assertRaisesRegex(
			frappe.LinkExistsError, r"earned 25(\.0+)? loyalty points.*Loyalty Points Adjustment"
		):
			frappe.delete_doc("Satisfaction Survey", survey.name)
		self.assertTrue(frappe.db.exists("Satisfaction Survey", survey.name))
		self.assertEqual(self.assert_ledger_balances(), before + 25)

		# whatever happens to the documents (deleted around the controller, link and all), the ledger
		# remembers the invoice was rewarded: neither the desk nor a fresh link pays again
		frappe.db.delete("Satisfaction Survey", {"name": survey.name})
		frappe.db.delete("Survey Invitation", {"source_name": self.invoice.name})
		again = self.desk_survey().insert()
		self.assertEqual(flt(again.points_awarded), 0)
		self.assertEqual(points_of("Satisfaction Survey", again.name), 0)
		frappe.db.delete("Satisfaction Survey", {"name": again.name})
		fresh = surveys.submit_response(surveys.issue_invitation(self.invoice), ANSWERS)
		self.assertEqual(flt(fresh.points_awarded), 0)
		self.assertEqual(self.assert_ledger_balances(), before + 25)

		# a survey that earned nothing can be deleted
		unpaid = self.desk_survey(ces=3).insert()
		frappe.delete_doc("Satisfaction Survey", unpaid.name)
		self.assertFalse(frappe.db.exists("Satisfaction Survey", unpaid.name))

	def test_reward_written_before_the_ledger_named_the_invoice_still_counts(self):
		# an Earn row of an earlier version carries the survey only, not the invoice
		old = self.desk_survey()
		old.flags.skip_reward = True
		old.insert()
		from loyalty_crm.engine import points as points_engine
		from loyalty_crm.services import ledger

		row = points_engine.plan_earn(
			Decimal(25), frappe.utils.getdate(), None, new_name=ledger.new_entry_name
		)
		ledger.append_rows(
			[row],
			customer=self.customer,
			company=old.company,
			voucher_type="Satisfaction Survey",
			voucher_no=old.name,
		)
		before = balance(self.customer)
		again = self.desk_survey(ces=6).insert()
		self.assertEqual(flt(again.points_awarded), 0)
		self.assertEqual(self.assert_ledger_balances(), before)
		# another invoice of the same customer is still rewarded once
		other = sales_invoice(self.customer, rate=30)
		before = balance(self.customer)
		first = self.desk_survey(source_name=other.name).insert()
		self.assertEqual(first.points_awarded, 25)
		self.assertEqual(self.assert_ledger_balances(), before + 25)

	# ------------------------------------------------------------ receipt QR

	def test_jinja_method_returns_a_qr_of_a_link_that_verifies(self):
		import segno

		qr = surveys.loyalty_survey_qr(self.invoice)
		self.assertTrue(qr.startswith("data:image/svg+xml"), qr[:40])
		url = surveys.loyalty_survey_url(self.invoice)
		self.assertEqual(
			qr, segno.make(url, error="m").svg_data_uri(scale=4, border=2), "the QR encodes the link"
		)
		self.assertTrue(surveys.check_token(token_from(url)).ok)
		self.assertEqual(surveys.loyalty_survey_qr(sales_invoice(self.customer, rate=10, submit=False)), "")

	def test_print_formats_show_the_qr_code(self):
		html = frappe.get_print(
			"Sales Invoice", self.invoice.name, print_format="Sales Invoice with Survey QR"
		)
		self.assertIn("data:image/svg+xml", html)
		self.assertIn(self.invoice.name, html)
		self.assertEqual(
			frappe.db.get_value("Print Format", "POS Receipt with Survey QR", "doc_type"), "POS Invoice"
		)

	# ------------------------------------------------------------ personal data

	def test_personal_data_deletion_removes_the_survey_texts(self):
		email = f"survey-{frappe.generate_hash(length=6)}@example.com"
		frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": "Survey", "send_welcome_email": 0}
		).insert(ignore_permissions=True)
		survey = frappe.get_doc(
			{
				"doctype": "Satisfaction Survey",
				"customer": self.customer,
				"email": email,
				"nps": 3,
				"comment": "My neighbour Mrs Li saw me there",
				"complaint": 1,
				"complaint_category": "Staff",
				"resolution_notes": "Called her back at home",
			}
		).insert()
		from frappe.website.doctype.personal_data_download_request.personal_data_download_request import (
			get_user_data,
		)

		self.assertIn(survey.name, get_user_data(email), "the personal data download includes the survey")
		# Frappe's own flow, minus the confirmation email this site cannot send
		request = frappe.get_doc(
			{"doctype": "Personal Data Deletion Request", "email": email, "status": "Pending Approval"}
		)
		request.autoname()
		request.db_insert()
		request._anonymize_data(email=email)
		survey.reload()
		self.assertNotIn("Mrs Li", survey.comment or "")
		self.assertNotIn("at home", survey.resolution_notes or "")
		self.assertNotEqual(survey.email, email)
		self.assertEqual((survey.nps, survey.complaint), (3, 1), "the scores stay for the statistics")
