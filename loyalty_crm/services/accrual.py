"""What an invoice does to its customer's points: earn, redeem, return, reverse.

Shared by Sales Invoice and POS Invoice (both have the same loyalty-relevant fields), so a
point earned at the till can be spent at the desk and the other way round.
"""

from __future__ import annotations

from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import date_diff, flt, getdate, nowdate

from loyalty_crm.engine import points as engine
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import ledger
from loyalty_crm.services.ledger import to_decimal

TAKE_OVER = "Loyalty CRM Takes Over"


def earns_here(doc) -> bool:
	"""Whether loyalty_crm (not ERPNext's own program, not POS consolidation) handles this invoice.

	The Sales Invoice that POS closing consolidates from POS Invoices earned its points on
	those POS Invoices already; counting it again would pay twice.
	"""
	if doc.get("is_consolidated") or not doc.customer:
		return False
	if not ledger.settings().enable_accrual:
		return False
	return not doc.get("loyalty_program")


def release_from_erpnext_program(doc) -> None:
	"""Under the take-over policy, ERPNext's program must not also award this invoice."""
	if ledger.settings().builtin_program_policy == TAKE_OVER and doc.get("loyalty_program"):
		if not doc.get("redeem_loyalty_points"):
			doc.loyalty_program = None


def redeemed_amount(doc) -> Decimal:
	"""Company-currency amount paid with points: the payment rows of the loyalty mode of payment."""
	mode = ledger.settings().loyalty_mode_of_payment
	if not mode:
		return Decimal(0)
	return sum(
		(
			to_decimal(row.base_amount or flt(row.amount) * flt(doc.conversion_rate or 1))
			for row in doc.get("payments") or []
			if row.mode_of_payment == mode
		),
		Decimal(0),
	)


def points_for_redemption(amount: Decimal) -> Decimal:
	value = to_decimal(ledger.settings().point_value)
	if value <= 0:
		frappe.throw(_("Set the value of one point in Loyalty Settings before redeeming points"))
	return engine.round_points(amount / value, ledger.precision())


def earning_amount(doc) -> Decimal:
	"""The invoice total that earns points: settings' total, less excluded item groups and points paid."""
	settings = ledger.settings()
	total_field = "base_grand_total" if settings.earn_on == "Grand Total" else "base_net_total"
	invoice_total = to_decimal(doc.get(total_field))
	items = [(row.item_group or "", to_decimal(row.base_net_amount)) for row in doc.get("items") or []]
	items_total = sum((amount for _group, amount in items), Decimal(0))
	excluded = {row.item_group for row in settings.excluded_item_groups}
	touched = excluded and any(group in excluded for group, _amount in items)
	eligible = (
		engine.eligible_amount(items, excluded, invoice_total, items_total)
		if touched and items_total
		else invoice_total
	)
	paid = abs(redeemed_amount(doc))
	grand_total = abs(to_decimal(doc.base_grand_total))
	if paid and grand_total:
		eligible = eligible * (1 - min(paid / grand_total, Decimal(1)))
	return engine.round_currency(eligible)


def earn_multiplier(doc) -> Decimal:
	"""Tier multiplier times the best campaign running on the posting date.

	The best of the settings' multiplier windows and of a Retention Campaign that treats this
	customer (services/campaigns.py): campaigns compete, they do not stack.
	"""
	from loyalty_crm.services.campaigns import campaign_multiplier
	from loyalty_crm.services.tiers import tier_multiplier

	campaigns = [
		(getdate(row.from_date), getdate(row.to_date), to_decimal(row.multiplier))
		for row in ledger.settings().campaigns
	]
	best = max(
		engine.campaign_multiplier(getdate(doc.posting_date), campaigns),
		campaign_multiplier(doc.customer, doc.company, doc.posting_date),
	)
	return tier_multiplier(doc.customer) * best


def validate_invoice(doc) -> None:
	"""Early, friendly checks for the cashier; the binding check runs again under lock on submit."""
	release_from_erpnext_program(doc)
	amount = redeemed_amount(doc)
	if not amount or doc.get("is_return"):
		return
	try:
		check_redemption(doc, amount, ledger.customer_lots(doc.customer, doc.company))
	except EngineError as error:
		ledger.throw_engine_error(error)


def check_redemption(doc, amount: Decimal, lots):
	"""Draws for paying ``amount`` of this invoice with points, or a clear error."""
	settings = ledger.settings()
	wanted = points_for_redemption(amount)
	if lots is None or lots.empty:
		frappe.throw(
			_("Customer {0} has no loyalty points in company {1}; points are kept per company").format(
				doc.customer, doc.company
			),
			title=_("Loyalty Points"),
		)
	invoice_points = points_for_redemption(abs(to_decimal(doc.base_grand_total)))
	return engine.plan_redemption(
		lots,
		wanted,
		getdate(doc.posting_date),
		engine.round_points(to_decimal(settings.min_redeem_points), ledger.precision()) or None,
		invoice_points,
	)


def on_submit(doc) -> None:
	amount = redeemed_amount(doc)
	earns = earns_here(doc)
	if doc.get("is_consolidated") or (not amount and not earns):
		return
	ledger.lock_customer(doc.customer)
	try:
		if amount and not doc.is_return:
			redeem(doc, amount)
		if amount and doc.is_return:
			refund_redeemed_points(doc, amount)
		if earns and doc.is_return:
			take_back_return(doc)
		elif earns:
			earn(doc)
	except EngineError as error:
		ledger.throw_engine_error(error)


def redeem(doc, amount: Decimal) -> None:
	draws = check_redemption(doc, amount, ledger.customer_lots(doc.customer, doc.company, for_update=True))
	rows = engine.rows_for_draws(draws, "Redeem", getdate(doc.posting_date), new_name=ledger.new_entry_name)
	ledger.append_rows(
		rows,
		customer=doc.customer,
		company=doc.company,
		voucher_type=doc.doctype,
		voucher_no=doc.name,
		reason=_("Paid {0} with points").format(amount),
	)


def earn(doc) -> None:
	settings = ledger.settings()
	amount = earning_amount(doc)
	points = engine.points_for_amount(
		amount, to_decimal(settings.points_per_unit), earn_multiplier(doc), ledger.precision()
	)
	if points <= 0:
		return
	row = engine.plan_earn(
		points,
		getdate(doc.posting_date),
		settings.default_expiry_days or None,
		new_name=ledger.new_entry_name,
	)
	ledger.append_rows(
		[row],
		customer=doc.customer,
		company=doc.company,
		voucher_type=doc.doctype,
		voucher_no=doc.name,
		eligible_amount=amount,
	)
	ledger.settle_debts(doc.customer, doc.company, doc.posting_date)


def earlier_returns(doc) -> list[str]:
	"""Other submitted credit notes against the same invoice: what they took or refunded is done."""
	return frappe.get_all(
		doc.doctype,
		filters={
			"return_against": doc.return_against,
			"docstatus": 1,
			"is_return": 1,
			"name": ("!=", doc.name),
		},
		pluck="name",
	)


def take_back_return(doc) -> None:
	"""A credit note takes back points in proportion to what it returns, never more than was earned."""
	if not doc.return_against:
		return
	earn_rows = [
		row for row in ledger.document_rows(doc.doctype, doc.return_against) if row["entry_type"] == "Earn"
	]
	if not earn_rows:
		return
	earn_row = earn_rows[0]
	original = frappe.get_doc(doc.doctype, doc.return_against)
	earlier = earlier_returns(doc)
	already = sum((abs(earning_amount(frappe.get_doc(doc.doctype, name))) for name in earlier), Decimal(0))
	returned = abs(earning_amount(doc))
	rows = engine.plan_return(
		earn_row,
		ledger.customer_rows(doc.customer, doc.company, for_update=True),
		to_decimal(earn_row.get("eligible_amount")) or earning_amount(original),
		returned,
		getdate(doc.posting_date),
		bool(ledger.settings().allow_negative_balance),
		already_returned_amount=already,
		precision=ledger.precision(),
		new_name=ledger.new_entry_name,
	)
	ledger.append_rows(
		rows,
		customer=doc.customer,
		company=doc.company,
		voucher_type=doc.doctype,
		voucher_no=doc.name,
		reason=_("Return against {0}").format(doc.return_against),
		eligible_amount=-returned,
	)


def refund_redeemed_points(doc, amount: Decimal) -> None:
	"""A credit note that refunds a points payment gives the points back, never more than were paid.

	They come back as a new lot that expires when the last of the spent lots would have.
	"""
	if not doc.return_against:
		return
	paid = -sum(
		(
			row["points"]
			for row in ledger.document_rows(doc.doctype, doc.return_against)
			if row["entry_type"] == "Redeem"
		),
		Decimal(0),
	)
	earlier = earlier_returns(doc)
	refunded = sum(
		(
			row["points"]
			for name in earlier
			for row in ledger.document_rows(doc.doctype, name)
			if row["entry_type"] == "Return" and row["lot"] == row["name"]
		),
		Decimal(0),
	)
	points = min(points_for_redemption(abs(amount)), paid - refunded)
	if points <= 0:
		return
	spent_lots = {
		row["lot"]
		for row in ledger.document_rows(doc.doctype, doc.return_against)
		if row["entry_type"] == "Redeem"
	}
	expiries = frappe.get_all(ledger.LEDGER, filters={"name": ("in", list(spent_lots))}, pluck="expiry_date")
	last_day = max(expiries) if expiries and all(expiries) else None
	days = date_diff(last_day, doc.posting_date) if last_day else None
	row = engine.plan_earn(
		points,
		getdate(doc.posting_date),
		max(days, 1) if days is not None else None,
		entry_type="Return",
		new_name=ledger.new_entry_name,
	)
	ledger.append_rows(
		[row],
		customer=doc.customer,
		company=doc.company,
		voucher_type=doc.doctype,
		voucher_no=doc.name,
		reason=_("Points paid on {0} refunded").format(doc.return_against),
	)
	ledger.settle_debts(doc.customer, doc.company, doc.posting_date)


def on_cancel(doc) -> None:
	"""Mirror every row the invoice wrote; nothing is deleted."""
	reverse_document(doc.doctype, doc.name, doc.customer, doc.company)


def reverse_document(voucher_type: str, voucher_no: str, customer: str, company: str) -> list[str]:
	source = ledger.document_rows(voucher_type, voucher_no)
	if not source:
		return []
	ledger.lock_customer(customer)
	try:
		rows = engine.plan_reversal(
			source,
			ledger.customer_rows(customer, company, for_update=True),
			getdate(nowdate()),
			bool(ledger.settings().allow_negative_balance),
			new_name=ledger.new_entry_name,
		)
	except EngineError as error:
		ledger.throw_engine_error(error)
	names = ledger.append_rows(
		rows,
		customer=customer,
		company=company,
		voucher_type=voucher_type,
		voucher_no=voucher_no,
		reason=_("Cancelled {0} {1}").format(_(voucher_type), voucher_no),
	)
	return names + ledger.settle_debts(customer, company, nowdate())
