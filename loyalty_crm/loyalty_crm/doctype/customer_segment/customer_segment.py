# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

import json

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint

from loyalty_crm.engine import segment_rules
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import segments
from loyalty_crm.services.input_checks import check_numbers


class CustomerSegment(Document):
	def validate(self):
		check_numbers(self)
		if self.method == "Rule":
			self.validate_rule()
		elif self.method == "RFM Segment":
			self.validate_rfm_segment()
		elif self.method == "Cluster":
			self.validate_cluster()
		else:
			field = segments.METHOD_COLUMN[self.method][1]
			if not self.get(field):
				frappe.throw(_("Choose the {0} this segment holds").format(_(self.meta.get_label(field))))
		if self.action == "Add to Email Group" and not self.email_group:
			frappe.throw(_("Choose the Email Group that members are added to"))
		if self.action != "Add to Email Group":
			self.email_group = None

	def validate_rule(self):
		if not (self.rule or "").strip():
			frappe.throw(_("Write the rule: a list of conditions on customer fields and metrics"))
		try:
			clean = segment_rules.validate_rule(self.rule, segments.RULE_FIELDS)
		except EngineError as error:
			frappe.throw(error.translated(_), title=_("Invalid Rule"))
		self.rule = json.dumps(clean, indent=1, ensure_ascii=False)

	def validate_rfm_segment(self):
		names = segments.segment_settings().rfm_segment_names
		self.rfm_segment = (self.rfm_segment or "").strip()
		if self.rfm_segment not in names:
			frappe.throw(
				_(
					"RFM Segment {0} is not in the RFM score table of Loyalty Settings; choose one of: {1}"
				).format(frappe.bold(self.rfm_segment), ", ".join(names))
			)

	def validate_cluster(self):
		high = segments.segment_settings().k_range[1]
		if not 0 <= cint(self.cluster) < high:
			frappe.throw(_("Cluster Number must be between 0 and {0} (Most Clusters - 1)").format(high - 1))

	def onload(self):
		self.set_onload("rule_fields", sorted(segments.RULE_FIELDS))

	def on_trash(self):
		frappe.db.delete(segments.MEMBERSHIP, {"segment": self.name})
