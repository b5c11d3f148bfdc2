# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class SurveyQuestionText(Document):
	pass
