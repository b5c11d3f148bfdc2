# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class SurveySettings(Document):
	def validate(self):
		if self.default_template and not frappe.db.get_value(
			"Survey Template", self.default_template, "enabled"
		):
			frappe.throw(_("Survey Template {0} is disabled").format(self.default_template))

	def on_update(self):
		frappe.clear_document_cache(self.doctype, self.doctype)
