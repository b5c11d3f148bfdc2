"""doc_events for coupons on invoices: ERPNext's own checks, on the desk Sales Invoice too.

ERPNext 15 checks and counts Coupon Codes on POS Invoices (and Sales Orders) but a Sales Invoice
has no coupon field; the app adds one (install.invoice_coupon_field) and ERPNext's transaction
Pricing Rule code applies its discount. Here the desk invoice gets the same validity check and
use count as the till, through ERPNext's own functions. For both doctypes, a coupon issued to a
customer (a campaign's coupon) is refused on another customer's invoice.
"""

import frappe
from frappe import _


def validate(doc, method=None):
	coupon = doc.get("coupon_code")
	if not coupon or doc.get("is_return") or doc.get("is_consolidated"):
		return
	owner = frappe.db.get_value("Coupon Code", coupon, ["coupon_type", "customer"], as_dict=True)
	if owner and owner.coupon_type == "Gift Card" and owner.customer and owner.customer != doc.customer:
		frappe.throw(
			_("Coupon Code {0} was issued to customer {1}; it cannot be used on an invoice for {2}").format(
				frappe.bold(coupon), owner.customer, doc.customer
			),
			title=_("Coupon Code"),
		)
	if doc.doctype == "Sales Invoice":
		from erpnext.accounts.doctype.pricing_rule.utils import validate_coupon_code

		validate_coupon_code(coupon)


def on_submit(doc, method=None):
	if _counts(doc):
		from erpnext.accounts.doctype.pricing_rule.utils import update_coupon_code_count

		update_coupon_code_count(doc.coupon_code, "used")


def on_cancel(doc, method=None):
	if _counts(doc):
		from erpnext.accounts.doctype.pricing_rule.utils import update_coupon_code_count

		update_coupon_code_count(doc.coupon_code, "cancelled")


def _counts(doc) -> bool:
	"""Only a desk Sales Invoice: ERPNext counts POS Invoices itself."""
	return bool(
		doc.doctype == "Sales Invoice"
		and doc.get("coupon_code")
		and not doc.get("is_return")
		and not doc.get("is_consolidated")
	)
