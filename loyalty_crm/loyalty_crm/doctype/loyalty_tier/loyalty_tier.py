# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from loyalty_crm.services import tiers
from loyalty_crm.services.input_checks import check_numbers


class LoyaltyTier(Document):
	"""One step of the ladder. The rules (one metric and window for all, unique ranks, strictly
	increasing thresholds, one entry tier at 0) are checked on the whole ladder by the engine."""

	def validate(self):
		check_numbers(self)
		tiers.validate_tier(self)

	def on_update(self):
		tiers.sync_pricing_rule(self)

	def on_trash(self):
		tiers.check_tier_not_held(self)
		tiers.delete_pricing_rule(self)
