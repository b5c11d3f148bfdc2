"""Whitelisted calls for the desk and the till."""

import frappe
from frappe.utils import flt, nowdate

from loyalty_crm.engine import points as engine
from loyalty_crm.services import ledger
from loyalty_crm.services.birthdays import birthday_status


@frappe.whitelist()
def customer_loyalty(customer: str, company: str) -> dict:
	"""What the cashier sees on picking a customer: tier, balance, what can be redeemed now.

	Cashiers read this through Customer permission; they have no access to the ledger itself.
	"""
	customer, company = _checked(customer, company)
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
		# the till's birthday badge and the member card number under the customer's name
		"birthday": birthday_status(customer),
		"card_number": frappe.db.get_value("Customer", customer, "loyalty_crm_card_number") or "",
	}


def _checked(customer, company) -> tuple[str, str]:
	"""Both names given, text, and existing: a clear message instead of an empty answer or a crash.

	Frappe checks the declared types on web requests; this also covers direct calls (the till's
	scripts, other apps) and says which name is wrong. The existence check comes after the
	permission-free type checks only: a user without Customer access learns nothing from
	"does not exist" that the Customer list would not tell them, and Guest never gets here
	(the method is not guest-allowed).
	"""
	from frappe import _

	from loyalty_crm.engine.csv_import import shown
	from loyalty_crm.services.input_checks import check_text

	customer = check_text(customer, _("Customer"), 140, required=True)
	company = check_text(company, _("Company"), 140, required=True)
	if not frappe.db.exists("Customer", customer):
		frappe.throw(
			_("Customer {0} does not exist; pick the customer again").format(shown(customer)),
			frappe.DoesNotExistError,
		)
	if not frappe.db.exists("Company", company):
		frappe.throw(
			_("Company {0} does not exist; check the POS Profile's company").format(shown(company)),
			frappe.DoesNotExistError,
		)
	return customer, company
