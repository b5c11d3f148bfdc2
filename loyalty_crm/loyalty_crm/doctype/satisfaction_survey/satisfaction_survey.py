# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from loyalty_crm.services import surveys
from loyalty_crm.services.input_checks import check_numbers


class SatisfactionSurvey(Document):
	"""One customer's answers; the rules live in services/surveys.py."""

	def validate(self):
		surveys.check_customer(self)
		surveys.validate_answers(self)  # scores first: their messages say the allowed range
		check_numbers(self)
		surveys.fill_from_invoice(self)
		surveys.fill_email(self)
		surveys.track_resolution(self)

	def before_insert(self):
		surveys.lock_for_reward(self)

	def after_insert(self):
		surveys.award_points(self)

	def on_trash(self):
		surveys.check_delete(self)
