"""Helpers for the app's FrappeTestCases: real ERPNext documents, built the way ERPNext's own tests build them."""

from __future__ import annotations

from decimal import Decimal

import frappe
from frappe.utils import nowdate

from loyalty_crm.services import ledger

COMPANY = "_Test Company"


def before_tests():
	"""`bench run-tests --app loyalty_crm` runs only our hooks: complete ERPNext's setup as its tests expect."""
	from erpnext.setup.utils import before_tests as erpnext_before_tests

	erpnext_before_tests()


def make_customer(prefix: str = "LCRM") -> str:
	"""A fresh customer per test, so ledgers of different tests never mix."""
	customer = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": f"{prefix} {frappe.generate_hash(length=8)}",
			"customer_group": "_Test Customer Group",
			"territory": "_Test Territory",
		}
	).insert(ignore_permissions=True)
	return customer.name


def set_settings(**values):
	settings = frappe.get_single("Loyalty Settings")
	defaults = {
		"enable_accrual": 1,
		"earn_on": "Net Total",
		"points_per_unit": 1,
		"points_precision": 2,
		"default_expiry_days": 365,
		"point_value": 0.01,
		"min_redeem_points": 0,
		"allow_negative_balance": 0,
		"builtin_program_policy": "Leave ERPNext Program Alone",
		"loyalty_mode_of_payment": "Loyalty Points",
	}
	tables = {
		"excluded_item_groups": [{"item_group": g} for g in values.pop("excluded_item_groups", [])],
		"campaigns": values.pop("campaigns", []),
	}
	settings.update({**defaults, **values, **tables})
	settings.save(ignore_permissions=True)
	frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
	return settings


def sales_invoice(customer: str, rate: float, qty: float = 1, submit: bool = True, save: bool = True, **args):
	from erpnext.accounts.doctype.sales_invoice.test_sales_invoice import create_sales_invoice

	invoice = create_sales_invoice(customer=customer, rate=rate, qty=qty, do_not_save=True, **args)
	if not rate:  # ERPNext's helper reads rate 0 as "use the default rate"
		invoice.items[0].update({"rate": 0, "price_list_rate": 0, "discount_percentage": 0})
	if save:
		invoice.insert()
	if submit:
		invoice.submit()
	return invoice


def pos_sales_invoice(customer: str, rate: float, payments: dict[str, float], submit: bool = True):
	"""A till sale made directly as a Sales Invoice (is_pos), paid by the given modes."""
	from erpnext.accounts.doctype.pos_profile.test_pos_profile import make_pos_profile

	invoice = sales_invoice(customer, rate, submit=False, save=False)
	invoice.is_pos = 1
	invoice.pos_profile = make_pos_profile().name
	for mode, amount in payments.items():
		invoice.append("payments", {"mode_of_payment": mode, "amount": amount})
	invoice.insert()
	if submit:
		invoice.submit()
	return invoice


def points_of(voucher_type: str, voucher_no: str, entry_type: str | None = None) -> Decimal:
	rows = ledger.document_rows(voucher_type, voucher_no)
	return sum((row["points"] for row in rows if entry_type in (None, row["entry_type"])), Decimal(0))


def balance(customer: str) -> Decimal:
	return ledger.balance(customer, COMPANY)


def today():
	return nowdate()
