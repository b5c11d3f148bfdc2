# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class LoyaltyLedgerEntry(Document):
	"""One movement of points. Append-only: corrections are new rows, never edits.

	Rows are written by loyalty_crm.services.ledger, which names them before insertion
	(a row that opens a lot names itself in ``lot``).
	"""

	def validate(self):
		if not self.is_new():
			frappe.throw(
				_("Loyalty Ledger Entries cannot be changed; post a Loyalty Points Adjustment instead"),
				frappe.PermissionError,
			)
		if not self.lot:
			self.lot = self.name

	def on_trash(self):
		frappe.throw(
			_("Loyalty Ledger Entries cannot be deleted; post a Loyalty Points Adjustment instead"),
			frappe.PermissionError,
		)
