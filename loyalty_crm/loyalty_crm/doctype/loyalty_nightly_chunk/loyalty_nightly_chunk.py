# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class LoyaltyNightlyChunk(Document):
	"""One chunk of customers of a nightly run; its status is set by the chunk's own job."""
