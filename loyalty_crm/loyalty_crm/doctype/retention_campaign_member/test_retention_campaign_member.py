# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

"""Campaign members are written once at launch and never changed."""

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.loyalty_crm.doctype.retention_campaign.test_retention_campaign import (
	make_campaign,
	make_segment,
)
from loyalty_crm.services import campaigns
from loyalty_crm.testing import make_customer, set_settings

test_dependencies = ["Customer"]


class TestRetentionCampaignMember(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()

	def test_members_cannot_be_edited_or_deleted(self):
		set_settings()
		customers = [make_customer("LCRM Member") for _index in range(3)]
		doc = make_campaign(make_segment(customers), control_share=0)
		campaigns.launch(doc.name)
		name = frappe.db.get_value("Retention Campaign Member", {"campaign": doc.name}, "name")
		member = frappe.get_doc("Retention Campaign Member", name)
		member.campaign_group = "Control"
		with self.assertRaises(frappe.PermissionError):
			member.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc("Retention Campaign Member", name)
		self.assertEqual(frappe.db.get_value("Retention Campaign Member", name, "campaign_group"), "Treated")
		with self.assertRaises(Exception) as raised:
			frappe.db.bulk_insert(
				"Retention Campaign Member",
				["name", "campaign", "customer", "campaign_group"],
				[("dup-" + name, doc.name, member.customer, "Control")],
			)
		self.assertTrue(frappe.db.is_duplicate_entry(raised.exception))
