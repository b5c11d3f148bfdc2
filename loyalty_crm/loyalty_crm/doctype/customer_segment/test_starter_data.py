# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Starter segments and survey template: on the site after install, never over an administrator's edit."""

import copy
import json

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.install import after_migrate
from loyalty_crm.services import starter_data

SEGMENTS = "customer_segment.json"
NAMES = [
	"Champions",
	"Loyal Customers",
	"At Risk",
	"Can't Lose Them",
	"Lost",
	"New Customers",
	"A Class",
	"High CLV",
]


def shipped(name=SEGMENTS):
	return json.loads((starter_data.FOLDER / name).read_text(encoding="utf-8"))


class TestStarterData(FrappeTestCase):
	def setUp(self):
		# as on a freshly installed site: every starter record as shipped
		for name in NAMES:
			frappe.delete_doc(
				"Customer Segment", name, force=True, ignore_permissions=True, ignore_missing=True
			)
		starter_data.clear_state()
		starter_data.sync(force=True)

	def tearDown(self):
		frappe.db.rollback()

	def test_installed_site_has_the_starter_records(self):
		self.assertEqual(
			sorted(frappe.get_all("Customer Segment", filters={"name": ("in", NAMES)}, pluck="name")),
			sorted(NAMES),
		)
		champions = frappe.get_doc("Customer Segment", "Champions")
		self.assertEqual(
			(champions.method, champions.rfm_segment, champions.enabled), ("RFM Segment", "Champions", 1)
		)
		# every company: an empty Link in a new document would otherwise take the user's default company
		self.assertFalse(champions.company)
		self.assertEqual(frappe.db.get_value("Customer Segment", "A Class", "abc_class"), "A")
		self.assertEqual(frappe.db.get_value("Customer Segment", "High CLV", "clv_band"), "High")
		self.assertTrue(frappe.db.exists("Survey Template", "Standard Survey"))

	def test_edit_then_migrate_keeps_the_edit(self):
		doc = frappe.get_doc("Customer Segment", "Champions")
		doc.description = "Our best: VIP evening invitations"
		doc.priority = 7
		doc.save()
		after_migrate()  # what bench migrate runs
		doc.reload()
		self.assertEqual((doc.description, doc.priority), ("Our best: VIP evening invitations", 7))

	def test_changed_fixture_updates_untouched_records_only(self):
		edited = frappe.get_doc("Customer Segment", "Champions")
		edited.description = "Edited by the administrator"
		edited.save()
		frappe.delete_doc("Customer Segment", "Lost", ignore_permissions=True)  # deleted on purpose

		new_version = copy.deepcopy(shipped())
		for record in new_version:
			record["description"] = f"v2: {record['description']}"
		counts = starter_data.sync(records={SEGMENTS: new_version})

		self.assertEqual(
			frappe.db.get_value("Customer Segment", "Champions", "description"), "Edited by the administrator"
		)
		self.assertTrue(
			frappe.db.get_value("Customer Segment", "Loyal Customers", "description").startswith("v2: ")
		)
		self.assertFalse(frappe.db.exists("Customer Segment", "Lost"))
		self.assertEqual(counts, {"inserted": 0, "updated": 6, "kept": 2, "unchanged": 0})

		# the same file again: skipped without looking at a record
		self.assertEqual(
			starter_data.sync(records={SEGMENTS: new_version}),
			{"inserted": 0, "updated": 0, "kept": 0, "unchanged": 0},
		)

	def test_a_segment_the_administrator_made_before_the_app_is_not_taken_over(self):
		frappe.delete_doc("Customer Segment", "High CLV", force=True, ignore_permissions=True)
		starter_data.clear_state()
		frappe.get_doc(
			{
				"doctype": "Customer Segment",
				"segment_name": "High CLV",
				"method": "CLV Band",
				"clv_band": "Medium",
				"priority": 3,
			}
		).insert()
		starter_data.sync(force=True)
		self.assertEqual(frappe.db.get_value("Customer Segment", "High CLV", "clv_band"), "Medium")
