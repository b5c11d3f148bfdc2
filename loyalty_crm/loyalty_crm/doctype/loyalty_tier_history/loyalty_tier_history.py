# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class LoyaltyTierHistory(Document):
	"""One change of a customer's tier. Append-only: written by loyalty_crm.services.tiers."""

	def validate(self):
		if not self.is_new():
			frappe.throw(_("Loyalty Tier History rows cannot be changed"), frappe.PermissionError)

	def on_trash(self):
		frappe.throw(_("Loyalty Tier History rows cannot be deleted"), frappe.PermissionError)
