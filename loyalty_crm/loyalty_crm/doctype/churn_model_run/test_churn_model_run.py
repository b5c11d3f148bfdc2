# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Bad input to churn on a site: refused with a translated message, nothing written, scores kept."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.translate import clear_cache as clear_translation_cache

from loyalty_crm.services import churn


class TestChurnBadInput(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		clear_translation_cache()  # the app's zh.csv may be newer than the cached translations

	def setUp(self):
		# A company that exists but has never invoiced anyone (rolled back after the test).
		self.company = f"LCRM Churn Empty {frappe.generate_hash(length=6)}"
		now, abbr = frappe.utils.now_datetime(), frappe.generate_hash(length=5)
		frappe.db.bulk_insert(
			"Company",
			[
				"name",
				"creation",
				"modified",
				"owner",
				"modified_by",
				"company_name",
				"abbr",
				"default_currency",
			],
			[(self.company, now, now, "Administrator", "Administrator", self.company, abbr, "INR")],
		)
		self.runs_before = frappe.db.count("Churn Model Run")
		self.scores_before = frappe.db.count("Churn Score")

	def tearDown(self):
		frappe.local.lang = "en"
		frappe.db.rollback()
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")

	def assert_nothing_written(self):
		self.assertEqual(frappe.db.count("Churn Model Run"), self.runs_before)
		self.assertEqual(frappe.db.count("Churn Score"), self.scores_before)

	def test_company_without_invoices_is_refused(self):
		frappe.local.lang = "zh"
		with self.assertRaises(frappe.ValidationError) as raised:
			churn.train(self.company)
		self.assertIn(self.company, str(raised.exception))
		self.assertIn("没有已提交的销售发票", str(raised.exception))
		self.assert_nothing_written()

	def test_scoring_before_any_training_is_refused(self):
		frappe.local.lang = "zh"
		with self.assertRaises(frappe.ValidationError) as raised:
			churn.score(self.company)
		self.assertIn("尚无已训练的流失模型", str(raised.exception))
		self.assertIn("train-churn", str(raised.exception))
		self.assert_nothing_written()

	def test_unknown_company_is_refused(self):
		with self.assertRaises(frappe.DoesNotExistError):
			churn.train("LCRM No Such Company")
		self.assert_nothing_written()

	def test_thresholds_not_increasing_are_refused_and_settings_kept(self):
		saved = churn.churn_settings().thresholds
		settings = frappe.get_doc("Loyalty Settings")
		settings.churn_medium_threshold = 0.6
		settings.churn_high_threshold = 0.4
		frappe.local.lang = "zh"
		with self.assertRaises(frappe.ValidationError) as raised:
			settings.save(ignore_permissions=True)
		self.assertIn("严格递增", str(raised.exception))
		self.assertIn("0.6", str(raised.exception))
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
		self.assertEqual(churn.churn_settings().thresholds, saved)

		for values in ({"churn_critical_threshold": 1.0}, {"churn_medium_threshold": 0}):
			settings = frappe.get_doc("Loyalty Settings")
			settings.update(values)
			with self.assertRaises(frappe.ValidationError):
				settings.save(ignore_permissions=True)

	def test_horizon_must_be_positive(self):
		settings = frappe.get_doc("Loyalty Settings")
		settings.churn_horizon_days = 0
		frappe.local.lang = "zh"
		with self.assertRaises(frappe.ValidationError) as raised:
			settings.save(ignore_permissions=True)
		self.assertIn("流失观察期", str(raised.exception))

	def test_unset_settings_mean_the_defaults(self):
		"""A site that has not migrated the churn fields yet keeps working with the defaults."""
		config = churn.settings_from(frappe._dict())
		self.assertEqual((config.horizon_days, config.thresholds), (90, (0.3, 0.5, 0.7)))
		self.assertTrue(config.scoring and config.training)
