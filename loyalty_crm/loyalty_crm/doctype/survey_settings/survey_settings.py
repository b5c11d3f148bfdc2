# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint

from loyalty_crm.services.input_checks import check_numbers

MAX_VALID_DAYS = 3650
"""Ten years: a longer link would outlive any receipt, and a date past 9999 would crash the token."""
MAX_PER_HOUR = 10000


class SurveySettings(Document):
	def validate(self):
		check_numbers(self)
		if not 0 <= cint(self.invitation_valid_days) <= MAX_VALID_DAYS:
			frappe.throw(
				_("Survey Links Valid for (Days) must be from 0 to {0} (0 = 30 days), got {1}").format(
					MAX_VALID_DAYS, self.invitation_valid_days
				)
			)
		if not 0 <= cint(self.submissions_per_hour) <= MAX_PER_HOUR:
			frappe.throw(
				_(
					"Survey Submissions per Hour per IP Address must be from 0 to {0} (0 = 20), got {1}"
				).format(MAX_PER_HOUR, self.submissions_per_hour)
			)
		if self.default_template and not frappe.db.get_value(
			"Survey Template", self.default_template, "enabled"
		):
			frappe.throw(_("Survey Template {0} is disabled").format(self.default_template))

	def on_update(self):
		frappe.clear_document_cache(self.doctype, self.doctype)
