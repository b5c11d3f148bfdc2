# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Points accrual, redemption, returns, cancellation and expiry on real ERPNext invoices."""

from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import ledger
from loyalty_crm.services.expiry import NOTICE_SENT_KEY, expire_points, notify_expiring_points
from loyalty_crm.testing import (
	balance,
	make_customer,
	points_of,
	pos_sales_invoice,
	sales_invoice,
	set_settings,
)

test_dependencies = ["Sales Invoice", "Customer", "Item", "Email Account"]


class TestLoyaltyLedgerEntry(FrappeTestCase):
	def setUp(self):
		set_settings()
		self.customer = make_customer()

	def tearDown(self):
		frappe.db.rollback()

	def test_submit_earns_points_on_net_total(self):
		invoice = sales_invoice(self.customer, rate=123.45)
		self.assertEqual(points_of("Sales Invoice", invoice.name, "Earn"), Decimal("123.45"))
		self.assertEqual(balance(self.customer), Decimal("123.45"))
		cached = frappe.db.get_value("Customer", self.customer, "loyalty_crm_points_balance")
		self.assertAlmostEqual(cached, 123.45, places=6)
		entry = frappe.get_doc(ledger.LEDGER, {"voucher_no": invoice.name})
		self.assertEqual(entry.lot, entry.name)
		self.assertEqual(str(entry.expiry_date), add_days(nowdate(), 365))

	def test_points_keep_decimals_and_follow_settings(self):
		set_settings(points_per_unit=0.1, points_precision=1)
		invoice = sales_invoice(self.customer, rate=99.99)
		# 99.99 x 0.1 = 9.999 -> 10.0 with one decimal, half up (ERPNext would truncate to 9)
		self.assertEqual(points_of("Sales Invoice", invoice.name), Decimal("10"))

	def test_excluded_item_group_earns_nothing(self):
		set_settings(excluded_item_groups=["_Test Item Group"])
		invoice = sales_invoice(self.customer, rate=100, submit=False)
		invoice.append(
			"items",
			{
				"item_code": "_Test Non Stock Item",
				"qty": 1,
				"rate": 50,
				"income_account": "Sales - _TC",
				"expense_account": "Cost of Goods Sold - _TC",
				"cost_center": "_Test Cost Center - _TC",
			},
		)
		invoice.save()
		invoice.submit()
		self.assertEqual(points_of("Sales Invoice", invoice.name), Decimal("50"))

	def test_campaign_multiplier_in_window(self):
		set_settings(
			campaigns=[
				{
					"campaign_name": "Double",
					"from_date": add_days(nowdate(), -1),
					"to_date": nowdate(),
					"multiplier": 2,
				}
			]
		)
		invoice = sales_invoice(self.customer, rate=40)
		self.assertEqual(points_of("Sales Invoice", invoice.name), Decimal("80"))

	def test_cancel_appends_reversal_and_keeps_history(self):
		invoice = sales_invoice(self.customer, rate=100)
		invoice.cancel()
		rows = ledger.document_rows("Sales Invoice", invoice.name)
		self.assertEqual([row["entry_type"] for row in rows], ["Earn", "Reverse"])
		self.assertEqual(rows[1]["reverses"], rows[0]["name"])
		self.assertEqual(balance(self.customer), 0)

	def test_rows_cannot_be_edited_or_deleted(self):
		invoice = sales_invoice(self.customer, rate=10)
		entry = frappe.get_doc(ledger.LEDGER, {"voucher_no": invoice.name})
		entry.points = 1000
		self.assertRaises(frappe.PermissionError, entry.save, ignore_permissions=True)
		self.assertRaises(frappe.PermissionError, frappe.delete_doc, ledger.LEDGER, entry.name, force=True)
		self.assertEqual(balance(self.customer), Decimal("10"))

	def test_partial_returns_take_back_in_proportion_never_more(self):
		from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return

		invoice = sales_invoice(self.customer, rate=100, qty=3)
		self.assertEqual(balance(self.customer), Decimal("300"))
		for expected in ("200", "100", "0"):
			credit_note = make_sales_return(invoice.name)
			credit_note.items[0].qty = -1
			credit_note.insert()
			credit_note.submit()
			self.assertEqual(balance(self.customer), Decimal(expected))
		self.assertEqual(points_of("Sales Invoice", invoice.name, "Earn") + Decimal(0), Decimal("300"))

	def test_redeem_with_loyalty_mode_of_payment_across_invoice_types(self):
		sales_invoice(self.customer, rate=1000)  # 1000 points at 0.01 = 10.00
		till = pos_sales_invoice(self.customer, 100, {"Loyalty Points": 10, "Cash": 90})
		self.assertEqual(points_of("Sales Invoice", till.name, "Redeem"), Decimal("-1000"))
		# the till sale earns on what was not paid with points: 90% of 100
		self.assertEqual(points_of("Sales Invoice", till.name, "Earn"), Decimal("90"))
		self.assertEqual(balance(self.customer), Decimal("90"))
		# the books balance: the points part is debited to the mode of payment's account
		account = frappe.db.get_value(
			"Mode of Payment Account",
			{"parent": "Loyalty Points", "company": till.company},
			"default_account",
		)
		debit = frappe.db.get_value(
			"GL Entry", {"voucher_no": till.name, "account": account, "is_cancelled": 0}, "sum(debit)"
		)
		self.assertEqual(debit, 10)

	def test_returning_a_sale_paid_with_points_gives_the_points_back(self):
		from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return

		sales_invoice(self.customer, rate=1000)
		till = pos_sales_invoice(self.customer, 100, {"Loyalty Points": 10, "Cash": 90})
		self.assertEqual(balance(self.customer), Decimal("90"))
		credit_note = make_sales_return(till.name)
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(
			[p.amount for p in credit_note.payments if p.mode_of_payment == "Loyalty Points"], [-10]
		)
		# the 90 points the sale earned go back, the 1000 points it was paid with come back
		self.assertEqual(points_of("Sales Invoice", credit_note.name, "Return"), Decimal("910"))
		self.assertEqual(balance(self.customer), Decimal("1000"))
		credit_note.cancel()
		self.assertEqual(balance(self.customer), Decimal("90"))

	def test_redeem_more_than_balance_is_refused_and_writes_nothing(self):
		sales_invoice(self.customer, rate=100)  # 100 points = 1.00
		before = frappe.db.count(ledger.LEDGER, {"customer": self.customer})
		with self.assertRaisesRegex(frappe.ValidationError, "Not enough points"):
			pos_sales_invoice(self.customer, 50, {"Loyalty Points": 5, "Cash": 45})
		self.assertEqual(frappe.db.count(ledger.LEDGER, {"customer": self.customer}), before)
		self.assertEqual(balance(self.customer), Decimal("100"))

	def test_redeem_in_another_company_is_refused(self):
		from loyalty_crm.services import accrual

		sales_invoice(self.customer, rate=1000)
		draft = sales_invoice(self.customer, rate=100, submit=False)
		draft.company = "_Test Company 1"  # the same customer buying from another company of the group
		with self.assertRaisesRegex(frappe.ValidationError, "points are kept per company"):
			accrual.check_redemption(draft, Decimal("5"), ledger.customer_lots(self.customer, draft.company))

	def test_redeem_more_than_the_invoice_or_below_minimum_is_refused(self):
		from loyalty_crm.services import accrual

		set_settings(min_redeem_points=200)
		sales_invoice(self.customer, rate=100000)  # plenty of points
		draft = sales_invoice(self.customer, rate=50, submit=False)
		lots = ledger.customer_lots(self.customer, draft.company)
		# the engine's errors: the invoice hooks turn them into translated frappe.throw messages
		with self.assertRaisesRegex(EngineError, "At most 5000.00 points can be redeemed on this invoice"):
			accrual.check_redemption(draft, Decimal("60"), lots)
		with self.assertRaisesRegex(EngineError, "At least 200.00 points"):
			accrual.check_redemption(draft, Decimal("1"), lots)
		self.assertEqual(len(accrual.check_redemption(draft, Decimal("50"), lots)), 1)

	def test_cancel_of_spent_points_blocks_unless_negative_allowed(self):
		earned = sales_invoice(self.customer, rate=1000)
		pos_sales_invoice(self.customer, 100, {"Loyalty Points": 10, "Cash": 90})
		with self.assertRaisesRegex(frappe.ValidationError, "already redeemed"):
			earned.reload()
			earned.cancel()
		frappe.db.rollback()

	def test_cancel_of_spent_points_goes_negative_when_allowed(self):
		set_settings(allow_negative_balance=1)
		earned = sales_invoice(self.customer, rate=1000)
		pos_sales_invoice(self.customer, 100, {"Loyalty Points": 10, "Cash": 90})
		earned.reload()
		earned.cancel()
		# 1000 earned - 1000 redeemed + 90 earned - 1000 reversed = -910
		self.assertEqual(balance(self.customer), Decimal("-910"))
		# new points pay the debt first
		sales_invoice(self.customer, rate=1000)
		self.assertEqual(balance(self.customer), Decimal("90"))

	def test_expiry_is_idempotent(self):
		invoice = sales_invoice(self.customer, rate=100, posting_date=add_days(nowdate(), -400))
		self.assertEqual(points_of("Sales Invoice", invoice.name), Decimal("100"))
		expire_points(nowdate())
		self.assertEqual(balance(self.customer), 0)
		rows = frappe.db.count(ledger.LEDGER, {"customer": self.customer})
		expire_points(nowdate())
		self.assertEqual(frappe.db.count(ledger.LEDGER, {"customer": self.customer}), rows)

	def test_expiry_notice_is_off_by_default_and_sent_once_when_on(self):
		frappe.db.set_value("Customer", self.customer, "email_id", "lcrm-notice@example.com")
		frappe.db.set_default(NOTICE_SENT_KEY, "")
		# earned 358 days ago with a 365-day life: last usable day is 7 days from now
		sales_invoice(self.customer, rate=100, posting_date=add_days(nowdate(), -358))
		queued = {"recipient": "lcrm-notice@example.com"}
		self.assertEqual(notify_expiring_points(nowdate()), 0)
		self.assertFalse(frappe.db.exists("Email Queue Recipient", queued))

		set_settings(expiry_notice_days=7)
		# Frappe caches the outgoing account per process: an earlier test's account, rolled back
		# with that test, would still be found.
		frappe.local.outgoing_email_account = {}
		self.assertEqual(notify_expiring_points(nowdate()), 0, "no outgoing email account: nothing queued")
		self.assertFalse(frappe.db.exists("Email Queue Recipient", queued))
		frappe.db.set_value(
			"Email Account", "_Test Email Account 1", {"enable_outgoing": 1, "default_outgoing": 1}
		)
		frappe.local.outgoing_email_account = {}
		self.assertEqual(notify_expiring_points(nowdate()), 1)
		self.assertEqual(frappe.db.count("Email Queue Recipient", queued), 1)
		self.assertEqual(notify_expiring_points(nowdate()), 0)
		self.assertEqual(frappe.db.count("Email Queue Recipient", queued), 1)

	def test_zero_total_earns_nothing(self):
		invoice = sales_invoice(self.customer, rate=0)
		self.assertEqual(points_of("Sales Invoice", invoice.name), 0)

	def test_customer_in_erpnext_program_is_not_double_awarded(self):
		program = make_erpnext_loyalty_program()
		frappe.db.set_value("Customer", self.customer, "loyalty_program", program)
		invoice = sales_invoice(self.customer, rate=100)
		self.assertEqual(points_of("Sales Invoice", invoice.name), 0)
		self.assertTrue(frappe.db.exists("Loyalty Point Entry", {"invoice": invoice.name}))

	def test_take_over_policy_stops_erpnext_program(self):
		set_settings(builtin_program_policy="Loyalty CRM Takes Over")
		program = make_erpnext_loyalty_program()
		frappe.db.set_value("Customer", self.customer, "loyalty_program", program)
		invoice = sales_invoice(self.customer, rate=100)
		self.assertEqual(points_of("Sales Invoice", invoice.name), Decimal("100"))
		self.assertFalse(frappe.db.exists("Loyalty Point Entry", {"invoice": invoice.name}))


def make_erpnext_loyalty_program() -> str:
	from erpnext.accounts.doctype.loyalty_program.test_loyalty_program import create_records

	create_records()  # ERPNext's own fixture: the "Loyalty - _TC" expense account and friends
	name = "LCRM ERPNext Program"
	if not frappe.db.exists("Loyalty Program", name):
		frappe.get_doc(
			{
				"doctype": "Loyalty Program",
				"loyalty_program_name": name,
				"auto_opt_in": 0,
				"from_date": add_days(nowdate(), -10),
				"loyalty_program_type": "Single Tier Program",
				"conversion_factor": 1,
				"expiry_duration": 10,
				"company": "_Test Company",
				"cost_center": "Main - _TC",
				"expense_account": "Loyalty - _TC",
				"collection_rules": [{"tier_name": "Silver", "collection_factor": 1, "min_spent": 0}],
			}
		).insert(ignore_permissions=True)
	return name
