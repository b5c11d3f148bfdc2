# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The till: POS Invoices earn and redeem, POS closing's consolidation never counts twice."""

from decimal import Decimal

import frappe
from erpnext.accounts.doctype.pos_invoice.pos_invoice import make_sales_return
from erpnext.accounts.doctype.pos_invoice.test_pos_invoice import create_pos_invoice
from erpnext.accounts.doctype.pos_invoice_merge_log.pos_invoice_merge_log import consolidate_pos_invoices
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import ledger
from loyalty_crm.testing import balance, make_customer, points_of, sales_invoice, set_settings

test_dependencies = ["POS Invoice", "POS Profile", "Sales Invoice"]


def till_sale(customer, rate, payments):
	invoice = create_pos_invoice(customer=customer, rate=rate, do_not_submit=1)
	invoice.set("payments", [])
	for mode, amount in payments.items():
		invoice.append("payments", {"mode_of_payment": mode, "amount": amount})
	invoice.save()
	invoice.submit()
	return invoice


class TestPOSTill(FrappeTestCase):
	def setUp(self):
		"""A stocked till with an open shift, as ERPNext's own POS tests set it up (rolled back after)."""
		from erpnext.accounts.doctype.pos_closing_entry.test_pos_closing_entry import init_user_and_profile
		from erpnext.accounts.doctype.pos_opening_entry.test_pos_opening_entry import create_opening_entry
		from erpnext.stock.doctype.stock_entry.stock_entry_utils import make_stock_entry

		make_stock_entry(target="_Test Warehouse - _TC", item_code="_Test Item", qty=100, basic_rate=100)
		user, profile = init_user_and_profile()
		create_opening_entry(profile, user.name)
		frappe.set_user("Administrator")
		set_settings()
		self.customer = make_customer("LCRM Till")

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	def test_pos_invoice_earns_and_consolidation_does_not_count_again(self):
		first = till_sale(self.customer, 300, {"Cash": 300})
		second = till_sale(self.customer, 200, {"Cash": 200})
		self.assertEqual(balance(self.customer), Decimal("500"))
		rows_before = frappe.db.count(ledger.LEDGER, {"customer": self.customer})

		consolidate_pos_invoices(
			pos_invoices=[
				frappe._dict(pos_invoice=first.name, customer=self.customer),
				frappe._dict(pos_invoice=second.name, customer=self.customer),
			]
		)
		first.reload()
		self.assertTrue(first.consolidated_invoice)
		consolidated = frappe.get_doc("Sales Invoice", first.consolidated_invoice)
		self.assertEqual(consolidated.is_consolidated, 1)
		self.assertEqual(consolidated.docstatus, 1)
		self.assertEqual(points_of("Sales Invoice", consolidated.name), 0)
		self.assertEqual(frappe.db.count(ledger.LEDGER, {"customer": self.customer}), rows_before)
		self.assertEqual(balance(self.customer), Decimal("500"))

	def test_pos_return_is_reversed_once(self):
		sale = till_sale(self.customer, 300, {"Cash": 300})
		credit_note = make_sales_return(sale.name)
		credit_note.items[0].qty = -1
		credit_note.set("payments", [])
		credit_note.append("payments", {"mode_of_payment": "Cash", "amount": -300})
		credit_note.paid_amount = -300
		credit_note.submit()
		self.assertEqual(points_of("POS Invoice", credit_note.name, "Return"), Decimal("-300"))
		self.assertEqual(balance(self.customer), 0)

		consolidate_pos_invoices(
			pos_invoices=[
				frappe._dict(pos_invoice=sale.name, customer=self.customer),
				frappe._dict(pos_invoice=credit_note.name, customer=self.customer),
			]
		)
		credit_note.reload()
		consolidated_note = frappe.get_doc("Sales Invoice", credit_note.consolidated_invoice)
		self.assertEqual(consolidated_note.is_return, 1)
		# ERPNext 15.65 points the consolidated note at the consolidated sale; either way it is
		# POS closing's copy, and the POS return already took the points back
		self.assertEqual(consolidated_note.is_consolidated, 1)
		self.assertEqual(points_of("Sales Invoice", consolidated_note.name), 0)
		self.assertEqual(balance(self.customer), 0)

	def test_points_earned_at_desk_are_redeemed_at_till(self):
		sales_invoice(self.customer, rate=2000)  # 2000 points = 20.00
		till = till_sale(self.customer, 100, {"Loyalty Points": 20, "Cash": 80})
		self.assertEqual(points_of("POS Invoice", till.name, "Redeem"), Decimal("-2000"))
		self.assertEqual(points_of("POS Invoice", till.name, "Earn"), Decimal("80"))
		self.assertEqual(balance(self.customer), Decimal("80"))

	def test_cancelled_till_sale_reverses_earn_and_redeem(self):
		sales_invoice(self.customer, rate=1000)
		till = till_sale(self.customer, 100, {"Loyalty Points": 5, "Cash": 95})
		till.cancel()
		self.assertEqual(points_of("POS Invoice", till.name), 0)
		self.assertEqual(balance(self.customer), Decimal("1000"))
