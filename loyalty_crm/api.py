"""Whitelisted calls for the desk and the till."""

import frappe
from frappe.utils import flt, nowdate

from loyalty_crm.engine import points as engine
from loyalty_crm.services import ledger


@frappe.whitelist()
def customer_loyalty(customer: str, company: str) -> dict:
	"""What the cashier sees on picking a customer: tier, balance, what can be redeemed now.

	Cashiers read this through Customer permission; they have no access to the ledger itself.
	"""
	frappe.has_permission("Customer", "read", customer, throw=True)
	settings = ledger.settings()
	available = ledger.available_points(customer, company, nowdate())
	point_value = ledger.to_decimal(settings.point_value)
	return {
		"customer": customer,
		"tier": frappe.db.get_value("Customer", customer, "loyalty_crm_tier") or "",
		"balance": flt(ledger.balance(customer, company)),
		"available_points": flt(available),
		"redeemable_amount": flt(engine.round_currency(available * point_value)),
		"point_value": flt(point_value),
		"min_redeem_points": flt(settings.min_redeem_points),
		"mode_of_payment": settings.loyalty_mode_of_payment,
	}
