# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

from decimal import Decimal

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt

from loyalty_crm.engine import points as points_engine
from loyalty_crm.engine.csv_import import MAX_POINTS
from loyalty_crm.services import ledger, surveys
from loyalty_crm.services.input_checks import check_numbers


class SurveyTemplate(Document):
	def validate(self):
		check_numbers(self)
		points = flt(self.reward_points)
		if points > MAX_POINTS:
			frappe.throw(
				_("Points for Answering {0} is too large; the most is {1}").format(
					self.reward_points, MAX_POINTS
				)
			)
		precision = ledger.precision()
		if points > 0 and points_engine.round_points(Decimal(str(points)), precision) <= 0:
			frappe.throw(
				_(
					"Points for Answering {0} rounds to 0 at {1} decimals (Loyalty Settings); give at least {2}"
				).format(self.reward_points, precision, Decimal(1).scaleb(-precision))
			)
		if not any(self.get(f"ask_{key}") for key in ("nps", "csat", "ces", "comment", "complaint")):
			frappe.throw(_("A survey template must ask at least one question"))
		seen = set()
		for row in self.texts:
			row.language = (row.language or "").strip().lower()
			if row.language not in surveys.LANGUAGES:
				frappe.throw(
					_("Row {0}: language {1} is not one the survey page speaks; use one of: {2}").format(
						row.idx, frappe.bold(row.language[:20]), ", ".join(surveys.LANGUAGES)
					)
				)
			if row.language in seen:
				frappe.throw(_("Row {0}: language {1} appears twice").format(row.idx, row.language))
			seen.add(row.language)
