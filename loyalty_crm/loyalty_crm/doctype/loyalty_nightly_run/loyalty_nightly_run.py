# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class LoyaltyNightlyRun(Document):
	"""Written by loyalty_crm.services.nightly; the chunk jobs update their rows with SQL."""


def on_doctype_update():
	frappe.db.add_index("Loyalty Nightly Run", ["status", "creation"])
