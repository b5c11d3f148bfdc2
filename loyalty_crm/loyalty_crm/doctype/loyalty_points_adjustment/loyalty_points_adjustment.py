# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

from decimal import Decimal

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import date_diff, flt, getdate, nowdate

from loyalty_crm.engine import points as engine
from loyalty_crm.engine.csv_import import MAX_POINTS, shown
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import accrual, ledger
from loyalty_crm.services.input_checks import check_numbers


class LoyaltyPointsAdjustment(Document):
	"""A Loyalty Manager's correction or opening balance; submitting it writes the ledger."""

	def validate(self):
		check_numbers(self)
		# Frappe's own link check lets a missing Customer through when the link fetches a field
		# (customer_name), so a typo would post points to nobody; check both names here.
		for doctype, name in (("Customer", self.customer), ("Company", self.company)):
			if name and not frappe.db.exists(doctype, name):
				frappe.throw(
					_("{0} {1} does not exist; pick one from the list").format(_(doctype), shown(name)),
					frappe.LinkValidationError,
				)
		if not flt(self.points):
			frappe.throw(_("Points must not be zero"))
		if abs(flt(self.points)) > MAX_POINTS:
			frappe.throw(_("Points {0} is too large; the most is {1}").format(self.points, MAX_POINTS))
		precision = ledger.precision()
		if engine.round_points(Decimal(str(flt(self.points))), precision) == 0:
			frappe.throw(
				_("Points {0} rounds to 0 at {1} decimals (Loyalty Settings); give at least {2}").format(
					self.points, precision, Decimal(1).scaleb(-precision)
				)
			)
		if self.posting_date and getdate(self.posting_date) > getdate(nowdate()):
			frappe.throw(
				_(
					"Posting Date {0} is in the future (today is {1}); points are given on or before today"
				).format(self.posting_date, nowdate())
			)
		if not (self.reason or "").strip():
			frappe.throw(_("A reason is required for every points adjustment"))
		if self.expiry_date and getdate(self.expiry_date) < getdate(self.posting_date):
			frappe.throw(_("Expiry Date cannot be before Posting Date"))

	def on_submit(self):
		ledger.lock_customer(self.customer)
		try:
			rows = self.plan_rows()
		except EngineError as error:
			ledger.throw_engine_error(error)
		ledger.append_rows(
			rows,
			customer=self.customer,
			company=self.company,
			voucher_type=self.doctype,
			voucher_no=self.name,
			reason=self.reason,
		)
		if flt(self.points) > 0:
			ledger.settle_debts(self.customer, self.company, self.posting_date)

	def plan_rows(self) -> list[dict]:
		points = engine.round_points(Decimal(str(self.points)), ledger.precision())
		if points > 0:
			days = (
				date_diff(self.expiry_date, self.posting_date)
				if self.expiry_date
				else ledger.settings().default_expiry_days or None
			)
			return [
				engine.plan_earn(
					points,
					getdate(self.posting_date),
					days,
					entry_type=self.adjustment_type,
					new_name=ledger.new_entry_name,
				)
			]
		lots = ledger.customer_lots(self.customer, self.company, for_update=True)
		if lots is None:
			frappe.throw(
				_("Customer {0} has no points to take away in company {1}").format(
					self.customer, self.company
				)
			)
		draws = engine.allocate(lots, -points, getdate(self.posting_date))
		return engine.rows_for_draws(
			draws, "Adjust", getdate(self.posting_date), new_name=ledger.new_entry_name
		)

	def on_cancel(self):
		accrual.reverse_document(self.doctype, self.name, self.customer, self.company)
