# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class ChurnModelRun(Document):
	"""Created by loyalty_crm.services.churn.train; the latest successful run of a company scores it."""

	def on_trash(self):
		if frappe.db.exists("Churn Score", {"model_run": self.name}):
			frappe.throw(
				_(
					"Churn Model Run {0} scored the stored Churn Scores; train and score again before deleting it"
				).format(self.name)
			)


def on_doctype_update():
	frappe.db.add_index("Churn Model Run", ["company", "status", "creation"])
