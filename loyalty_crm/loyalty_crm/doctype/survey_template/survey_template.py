# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class SurveyTemplate(Document):
	def validate(self):
		if not any(self.get(f"ask_{key}") for key in ("nps", "csat", "ces", "comment", "complaint")):
			frappe.throw(_("A survey template must ask at least one question"))
		seen = set()
		for row in self.texts:
			row.language = (row.language or "").strip().lower()
			if row.language in seen:
				frappe.throw(_("Row {0}: language {1} appears twice").format(row.idx, row.language))
			seen.add(row.language)
