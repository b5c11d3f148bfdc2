# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.services.doctor import is_healthy, run_checks
from loyalty_crm.testing import set_settings


class TestLoyaltySettings(FrappeTestCase):
	def setUp(self):
		set_settings()

	def tearDown(self):
		frappe.db.rollback()

	def assert_refused(self, message, **values):
		settings = frappe.get_single("Loyalty Settings")
		settings.update(values)
		with self.assertRaisesRegex(frappe.ValidationError, message):
			settings.save()
		self.assertEqual(frappe.db.get_single_value("Loyalty Settings", "points_precision"), 2)

	def test_bad_values_are_refused_with_a_message(self):
		self.assert_refused("between 0 and 6", points_precision=7)
		self.assert_refused("cannot be negative", points_per_unit=-1)
		self.assert_refused("cannot be negative", point_value=-0.5)

	def test_campaign_must_end_after_it_starts(self):
		settings = frappe.get_single("Loyalty Settings")
		settings.append(
			"campaigns",
			{
				"campaign_name": "Backwards",
				"from_date": nowdate(),
				"to_date": add_days(nowdate(), -1),
				"multiplier": 2,
			},
		)
		with self.assertRaisesRegex(frappe.ValidationError, "ends before it starts"):
			settings.save()

	def test_doctor_reports_healthy_install(self):
		checks = run_checks()
		failing = [f"{c.label}: {c.detail}" for c in checks if not c.ok and c.blocking]
		self.assertEqual(failing, [])
		self.assertTrue(is_healthy(checks))

	def test_doctor_notices_missing_custom_field(self):
		frappe.db.delete("Custom Field", {"dt": "Customer", "fieldname": "loyalty_crm_segment"})
		checks = {check.label: check for check in run_checks()}
		self.assertFalse(checks["Custom fields"].ok)
		self.assertIn("loyalty_crm_segment", checks["Custom fields"].detail)

	def test_install_is_idempotent(self):
		from loyalty_crm.install import after_migrate, get_custom_fields

		after_migrate()
		after_migrate()
		for doctype, fields in get_custom_fields().items():
			for field in fields:
				self.assertEqual(
					frappe.db.count("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]}), 1
				)
		self.assertEqual(frappe.db.count("Role", {"name": ("in", ["Loyalty Manager", "Loyalty User"])}), 2)

	def test_cashier_can_read_settings_but_not_ledger(self):
		self.assertTrue(frappe.has_permission("Loyalty Settings", "read", user=cashier()))
		self.assertFalse(frappe.has_permission("Loyalty Ledger Entry", "read", user=cashier()))
		self.assertFalse(frappe.has_permission("Loyalty Settings", "write", user=cashier()))


def cashier() -> str:
	email = "lcrm-cashier@example.com"
	if not frappe.db.exists("User", email):
		user = frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": "Cashier", "send_welcome_email": 0}
		)
		user.insert(ignore_permissions=True)
		user.add_roles("Sales User")
	return email
