# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import surveys
from loyalty_crm.testing import set_survey_settings, survey_template


class TestSurveySettings(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()

	def test_secret_exists_is_encrypted_and_stable(self):
		surveys.ensure_secret()
		secret = frappe.get_single("Survey Settings").get_password("token_secret")
		self.assertGreaterEqual(len(secret), 40)
		stored = frappe.db.get_single_value("Survey Settings", "token_secret")
		self.assertNotEqual(stored, secret, "the settings row holds a placeholder, not the secret")
		surveys.ensure_secret()
		self.assertEqual(frappe.get_single("Survey Settings").get_password("token_secret"), secret)

	def test_disabled_default_template_is_refused(self):
		name = survey_template()
		frappe.db.set_value("Survey Template", name, "enabled", 0)
		with self.assertRaisesRegex(frappe.ValidationError, "disabled"):
			set_survey_settings(default_template=name)
