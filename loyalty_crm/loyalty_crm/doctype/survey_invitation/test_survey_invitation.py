# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Survey Invitations and the public page's answers to each kind of link; who may see surveys."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.services import surveys
from loyalty_crm.testing import make_customer, sales_invoice, set_settings, survey_template
from loyalty_crm.www import survey as page


def page_context(token, lang=None):
	frappe.form_dict.clear()
	frappe.form_dict.update({"t": token, **({"lang": lang} if lang else {})})
	return page.get_context(frappe._dict())


class TestSurveyInvitation(FrappeTestCase):
	def setUp(self):
		set_settings()
		survey_template(reward_points=0)
		self.customer = make_customer()
		self.invoice = sales_invoice(self.customer, rate=30)

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.local.lang = "en"
		frappe.form_dict.clear()
		frappe.db.rollback()

	def test_one_row_per_token_even_when_made_twice(self):
		token = surveys.issue_invitation(self.invoice)
		check = surveys.check_token(token)
		surveys._insert_invitation(token, "Sales Invoice", self.invoice.name, self.customer, check.expires_on)
		self.assertEqual(frappe.db.count("Survey Invitation", {"source_name": self.invoice.name}), 1)

	def test_link_printed_but_not_stored_can_still_be_answered(self):
		"""A receipt printed in a read-only request (rolled back) still carries a valid link."""
		token = surveys.issue_invitation(self.invoice)
		frappe.db.delete("Survey Invitation", {"source_name": self.invoice.name})
		survey = surveys.submit_response(token, {"csat": "5"})
		self.assertEqual(
			frappe.db.get_value("Survey Invitation", surveys.token_hash(token), "survey"), survey.name
		)

	def test_page_for_each_kind_of_link(self):
		token = surveys.issue_invitation(self.invoice)
		context = page_context(token, "zh")
		self.assertEqual((context.state, context.lang), ("ok", "zh"))
		self.assertEqual(context.texts["title"], "您这次购物体验如何？")
		self.assertEqual(page_context("tampered." + token).state, "invalid")
		expired = surveys.issue_invitation(
			sales_invoice(self.customer, rate=5), expires_on=add_days(nowdate(), -2)
		)
		self.assertEqual(page_context(expired).state, "expired")
		surveys.submit_response(token, {"nps": "7"})
		context = page_context(token, "en")
		self.assertEqual(context.state, "used")
		self.assertEqual(context.token, "", "a used link is not handed to the page again")

	def test_guests_read_nothing_loyalty_user_reads_only_manager_deletes(self):
		surveys.submit_response(surveys.issue_invitation(self.invoice), {"nps": "8"})
		self.assertFalse(frappe.has_permission("Satisfaction Survey", "read", user="Guest"))
		self.assertFalse(frappe.has_permission("Survey Invitation", "read", user="Guest"))
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": f"loyalty-user-{frappe.generate_hash(length=6)}@example.com",
				"first_name": "Loyalty",
				"send_welcome_email": 0,
				"roles": [{"role": "Loyalty User"}],
			}
		).insert(ignore_permissions=True)
		self.assertTrue(frappe.has_permission("Satisfaction Survey", "read", user=user.name))
		self.assertFalse(frappe.has_permission("Satisfaction Survey", "delete", user=user.name))
		user.add_roles("Loyalty Manager")
		self.assertTrue(frappe.has_permission("Satisfaction Survey", "delete", user=user.name))
