# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class CustomerSegmentMembership(Document):
	"""Written in bulk by loyalty_crm.services.segments; never edited by hand."""


def on_doctype_update():
	"""One row per customer, segment and company; the Customer form looks rows up by customer."""
	frappe.db.add_unique(
		"Customer Segment Membership",
		["customer", "segment", "company"],
		constraint_name="unique_customer_segment_company",
	)
	frappe.db.add_index("Customer Segment Membership", ["segment", "company"])
