# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import surveys
from loyalty_crm.testing import survey_template


class TestSurveyTemplate(FrappeTestCase):
	def tearDown(self):
		frappe.local.lang = "en"
		frappe.db.rollback()

	def test_asks_at_least_one_question(self):
		template = frappe.get_doc(
			{
				"doctype": "Survey Template",
				"template_name": f"Empty {frappe.generate_hash(length=6)}",
				**{f"ask_{key}": 0 for key in ("nps", "csat", "ces", "comment", "complaint")},
			}
		)
		with self.assertRaisesRegex(frappe.ValidationError, "at least one question"):
			template.insert()

	def test_one_row_per_language(self):
		with self.assertRaisesRegex(frappe.ValidationError, "appears twice"):
			survey_template(texts=[{"language": "zh"}, {"language": "ZH "}])

	def test_wording_per_language_with_translated_fallback(self):
		name = survey_template(
			reward_points=5,
			ask_ces=0,
			texts=[{"language": "zh", "nps_question": "您会推荐本店吗？"}],
		)
		frappe.local.lang = "zh"
		texts = surveys.template_texts(name, "zh")
		self.assertEqual(texts["nps_question"], "您会推荐本店吗？")
		self.assertEqual(
			texts["csat_question"], "您对本次购买满意吗？", "no wording given: built-in, translated"
		)
		self.assertEqual(texts["ask"]["ces"], 0)
		self.assertEqual(texts["points"], 5)
		frappe.local.lang = "en"
		self.assertEqual(
			surveys.template_texts(name, "en")["nps_question"],
			"How likely are you to recommend us to a friend or colleague?",
		)
