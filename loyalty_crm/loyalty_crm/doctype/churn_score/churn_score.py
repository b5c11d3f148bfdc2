# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class ChurnScore(Document):
	"""Written in bulk by loyalty_crm.services.churn (changed rows only); never edited by hand."""


def on_doctype_update():
	"""One row per customer and company; the report and the Customer Segment method filter by band."""
	frappe.db.add_unique("Churn Score", ["customer", "company"], constraint_name="unique_customer_company")
	frappe.db.add_index("Churn Score", ["company", "risk_band"])
