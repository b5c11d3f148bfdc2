# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, flt, getdate

from loyalty_crm.engine.points import MAX_PRECISION
from loyalty_crm.services import report_scale
from loyalty_crm.services.input_checks import check_numbers
from loyalty_crm.services.tiers import validate_settings as validate_tier_settings


class LoyaltySettings(Document):
	def validate(self):
		check_numbers(self)  # infinity, text or too-wide numbers: one message, not a driver error
		if not 0 <= cint(self.points_precision) <= MAX_PRECISION:
			frappe.throw(_("Points Decimals must be between 0 and {0}").format(MAX_PRECISION))
		if flt(self.points_per_unit) < 0:
			frappe.throw(_("Points per Currency Unit cannot be negative"))
		if flt(self.point_value) < 0:
			frappe.throw(_("Value of One Point cannot be negative"))
		if cint(self.default_expiry_days) < 0:
			frappe.throw(_("Points Expire After (Days) cannot be negative"))
		for row in self.campaigns:
			if getdate(row.to_date) < getdate(row.from_date):
				frappe.throw(
					_("Row {0}: campaign {1} ends before it starts").format(row.idx, row.campaign_name)
				)
			if flt(row.multiplier) <= 0:
				frappe.throw(_("Row {0}: campaign multiplier must be more than 0").format(row.idx))
		validate_tier_settings(self)
		self.validate_segments()
		self.validate_churn()
		report_scale.validate_threshold(self)

	def validate_segments(self):
		"""Segment settings (window, ABC cut-offs, clusters, lifecycle, RFM table): clear error, nothing saved."""
		from loyalty_crm.services.segments import validate_settings

		validate_settings(self)

	def validate_churn(self):
		"""Churn horizon and risk thresholds (strictly increasing in (0, 1)): clear error, nothing saved."""
		from loyalty_crm.services.churn import validate_settings

		validate_settings(self)

	def on_update(self):
		frappe.clear_document_cache(self.doctype, self.doctype)
		if self.has_value_changed(report_scale.THRESHOLD_FIELD):
			report_scale.update_prepared_reports()  # the reports follow the new size now, not tomorrow
