# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class RetentionCampaignMember(Document):
	"""A customer's group in a launched campaign. Written in bulk at launch by services/campaigns.py."""

	def validate(self):
		if not self.is_new():
			frappe.throw(_("Retention Campaign Members cannot be changed"), frappe.PermissionError)

	def on_trash(self):
		frappe.throw(_("Retention Campaign Members cannot be deleted"), frappe.PermissionError)


def on_doctype_update():
	"""One row per customer and campaign; the accrual's multiplier lookup goes by customer."""
	frappe.db.add_unique("Retention Campaign Member", ["campaign", "customer"], "unique_campaign_customer")
	frappe.db.add_index("Retention Campaign Member", ["customer", "campaign_group"])
