# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import json

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, date_diff, flt

from loyalty_crm.engine import campaigns as engine
from loyalty_crm.engine import segment_rules
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import segments

# What decides who is in which group, and what they were offered: frozen once launched, so the
# measurement compares the groups that were actually drawn.
FROZEN_AT_LAUNCH = (
	"company",
	"target_type",
	"customer_segment",
	"rule",
	"control_share",
	"launch_date",
	"end_date",
	"offer_type",
	"bonus_points",
	"points_expiry_days",
	"discount_percentage",
	"points_multiplier",
	"email_template",
	"send_sms",
	"sms_message",
)


class RetentionCampaign(Document):
	"""Validates the campaign; launching, measuring and closing live in services/campaigns.py."""

	def validate(self):
		before = self.get_doc_before_save()
		if before and before.status != "Draft":
			self.refuse_changes_after_launch(before)
		elif before and self.status != before.status:
			frappe.throw(_("The status changes only by launching, measuring or closing the campaign"))
		self.validate_dates()
		self.validate_control_share()
		self.validate_target()
		self.validate_offer()
		if cint(self.send_sms) and not (self.sms_message or "").strip():
			frappe.throw(_("Write the SMS Text, or untick Send SMS"))

	def refuse_changes_after_launch(self, before):
		if before.status == "Closed":
			frappe.throw(_("Campaign {0} is closed; it cannot be changed").format(frappe.bold(self.name)))
		for field in (*FROZEN_AT_LAUNCH, "status"):
			if str(self.get(field) or "") != str(before.get(field) or ""):
				frappe.throw(
					_("{0} of campaign {1} cannot be changed after launch (it was {2}, now {3})").format(
						_(self.meta.get_label(field)),
						frappe.bold(self.name),
						frappe.bold(before.get(field) or _("empty")),
						frappe.bold(self.get(field) or _("empty")),
					),
					title=_("Campaign Launched"),
				)

	def validate_dates(self):
		if date_diff(self.end_date, self.launch_date) < 0:
			frappe.throw(
				_(
					"End Date {0} is before Launch Date {1}; the campaign must end on or after its launch"
				).format(frappe.format(self.end_date, "Date"), frappe.format(self.launch_date, "Date"))
			)
		if cint(self.measurement_days) < 1:
			frappe.throw(
				_("Measurement Window (Days) must be at least 1, got {0}").format(cint(self.measurement_days))
			)

	def validate_control_share(self):
		try:
			engine.validate_control_share(flt(self.control_share))
		except EngineError as error:
			frappe.throw(error.translated(_), title=_("Control Group Share (%)"))

	def validate_target(self):
		if self.target_type == "Customer Segment":
			self.rule = None
			if not self.customer_segment:
				frappe.throw(_("Choose the Customer Segment the campaign targets (the target is empty)"))
			segment_company = frappe.db.get_value("Customer Segment", self.customer_segment, "company")
			if segment_company and segment_company != self.company:
				frappe.throw(
					_(
						"Customer Segment {0} belongs to company {1}, not to the campaign's company {2}"
					).format(frappe.bold(self.customer_segment), segment_company, self.company)
				)
			return
		self.customer_segment = None
		if not (self.rule or "").strip():
			frappe.throw(_("Write the target rule: a list of conditions on customer fields and metrics"))
		try:
			clean = segment_rules.validate_rule(self.rule, segments.RULE_FIELDS)
		except EngineError as error:
			frappe.throw(error.translated(_), title=_("Invalid Rule"))
		if not clean:
			frappe.throw(_("The target rule has no conditions: it would target every customer"))
		self.rule = json.dumps(clean, indent=1, ensure_ascii=False)

	def validate_offer(self):
		if self.offer_type == "Bonus Points":
			if flt(self.bonus_points) <= 0:
				frappe.throw(_("Bonus Points must be more than 0, got {0}").format(flt(self.bonus_points)))
			if cint(self.points_expiry_days) < 0:
				frappe.throw(_("Bonus Points Expire After (Days) must be 0 or more"))
		elif self.offer_type == "Coupon":
			if not 0 < flt(self.discount_percentage) <= 100:
				frappe.throw(
					_("Coupon Discount (%) must be more than 0 and at most 100, got {0}").format(
						flt(self.discount_percentage)
					)
				)
		elif self.offer_type == "Points Multiplier":
			if flt(self.points_multiplier) <= 1:
				frappe.throw(
					_("Points Multiplier must be more than 1 to be an offer, got {0}").format(
						flt(self.points_multiplier)
					)
				)

	def onload(self):
		self.set_onload("rule_fields", sorted(segments.RULE_FIELDS))

	def on_trash(self):
		if self.status != "Draft":
			frappe.throw(
				_(
					"Campaign {0} was launched; it cannot be deleted (its members and offers refer to it)"
				).format(frappe.bold(self.name))
			)
