# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Bad Survey Settings, table-driven: the exact message, and the settings unchanged."""

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services.input_checks import BadValue
from loyalty_crm.testing import set_survey_settings, survey_template
from loyalty_crm.testing_tables import assert_refused

TABLES = ("Survey Settings", "Survey Template")
V = frappe.ValidationError


class TestSurveySettingsBadInput(FrappeTestCase):
	def setUp(self):
		self.template = survey_template(reward_points=5)

	def tearDown(self):
		frappe.db.rollback()

	def test_bad_settings_are_refused_and_nothing_saved(self):
		disabled = survey_template()
		frappe.db.set_value("Survey Template", disabled, "enabled", 0)
		set_survey_settings(default_template=self.template)
		cases = [
			(
				{"invitation_valid_days": 10**6},
				V,
				"Survey Links Valid for (Days) must be from 0 to 3650 (0 = 30 days), got 1000000",
			),
			(
				{"invitation_valid_days": -1},
				V,
				"Survey Links Valid for (Days) must be from 0 to 3650 (0 = 30 days), got -1",
			),
			(
				{"invitation_valid_days": "inf"},
				BadValue,
				"Survey Links Valid for (Days): 'inf' is not a finite number; enter an ordinary number",
			),
			(
				{"submissions_per_hour": 10**7},
				V,
				"Survey Submissions per Hour per IP Address must be from 0 to 10000 (0 = 20), got 10000000",
			),
			(
				{"submissions_per_hour": "1e309"},
				BadValue,
				"Survey Submissions per Hour per IP Address: '1e309' is too large; the most this field holds is 2147483647",
			),
			(
				{"submissions_per_hour": "twenty"},
				BadValue,
				"Survey Submissions per Hour per IP Address: 'twenty' is not a number; enter digits only, e.g. 12.5",
			),
			({"default_template": disabled}, V, f"Survey Template {disabled} is disabled"),
			(
				{"default_template": "No Such Template"},
				frappe.LinkValidationError,
				"Could not find Default Survey Template: No Such Template",
			),
		]
		for values, error, message in cases:
			with self.subTest(values=str(values)):
				settings = frappe.get_single("Survey Settings")
				settings.update(values)
				assert_refused(self, settings.save, error, message, TABLES)

	def test_bad_templates_are_refused_and_nothing_saved(self):
		base = {"doctype": "Survey Template", "template_name": f"Bad {frappe.generate_hash(length=6)}"}
		cases = [
			(
				{"reward_points": "inf"},
				BadValue,
				"Points for Answering: 'inf' is not a finite number; enter an ordinary number",
			),
			({"reward_points": "1e10"}, V, "Points for Answering 1e10 is too large; the most is 1000000000"),
			(
				{"reward_points": "0.001"},
				V,
				"Points for Answering 0.001 rounds to 0 at 2 decimals (Loyalty Settings); give at least 0.01",
			),
			(
				{"reward_points": "ten"},
				BadValue,
				"Points for Answering: 'ten' is not a number; enter digits only, e.g. 12.5",
			),
			(
				{"texts": [{"language": "fr"}]},
				V,
				"Row 1: language fr is not one the survey page speaks; use one of: en, zh",
			),
			(
				{"texts": [{"language": "😀"}]},
				V,
				"Row 1: language 😀 is not one the survey page speaks; use one of: en, zh",
			),
			(
				{"texts": [{"language": "zh"}, {"language": " ZH"}]},
				V,
				"Row 2: language zh appears twice",
			),
			(
				{"ask_nps": 0, "ask_csat": 0, "ask_ces": 0, "ask_comment": 0, "ask_complaint": 0},
				V,
				"A survey template must ask at least one question",
			),
		]
		for values, error, message in cases:
			with self.subTest(values=str(values)[:60]):
				assert_refused(self, frappe.get_doc({**base, **values}).insert, error, message, TABLES)
