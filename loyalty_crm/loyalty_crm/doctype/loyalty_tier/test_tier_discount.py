# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""A tier's discount next to a cashier's: yields (default), replaces, adds, at the desk and the till.

Silver gives 10%; the cashier types 5% (or an amount). Every invoice is a real one, saved again
and submitted, so a discount this app set is never mistaken for the cashier's on the next save.
"""

import frappe
from erpnext.accounts.doctype.pos_invoice.test_pos_invoice import create_pos_invoice
from frappe.tests.utils import FrappeTestCase
from frappe.utils import flt

from loyalty_crm.services import tier_discount
from loyalty_crm.testing import make_customer, sales_invoice, set_settings, set_tier_ladder, set_tier_settings

test_dependencies = ["Sales Invoice", "POS Invoice", "POS Profile", "Customer", "Item"]


class TestTierDiscount(FrappeTestCase):
	def setUp(self):
		from erpnext.accounts.doctype.pos_closing_entry.test_pos_closing_entry import init_user_and_profile
		from erpnext.accounts.doctype.pos_opening_entry.test_pos_opening_entry import create_opening_entry
		from erpnext.stock.doctype.stock_entry.stock_entry_utils import make_stock_entry

		make_stock_entry(target="_Test Warehouse - _TC", item_code="_Test Item", qty=100, basic_rate=100)
		user, profile = init_user_and_profile()
		create_opening_entry(profile, user.name)
		frappe.set_user("Administrator")
		set_settings()
		set_tier_settings()
		set_tier_ladder()
		silver = frappe.get_doc("Loyalty Tier", "Silver")
		silver.discount_percentage = 10
		silver.save()
		self.member = make_customer("LCRM Tier Discount")
		frappe.db.set_value("Customer", self.member, "loyalty_crm_tier", "Silver")

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	def use(self, mode: str):
		set_settings(tier_discount_with_manual=mode)

	# ------------------------------------------------------------ invoices

	def desk(self, percentage: float = 0, amount: float = 0, submit: bool = True):
		invoice = sales_invoice(self.member, rate=200, submit=False, save=False)
		invoice.additional_discount_percentage = percentage
		invoice.discount_amount = amount
		invoice.apply_discount_on = "Net Total"
		invoice.insert()
		invoice.save()  # a draft saved twice: our own discount must not turn into the cashier's
		if submit:
			invoice.submit()
		return invoice

	def till(self, percentage: float = 0, amount: float = 0):
		invoice = create_pos_invoice(customer=self.member, rate=200, do_not_save=1)
		invoice.additional_discount_percentage = percentage
		invoice.discount_amount = amount
		invoice.apply_discount_on = "Net Total"
		invoice.insert()  # the till saves on checkout ...
		invoice.set("payments", [])
		invoice.append("payments", {"mode_of_payment": "Cash", "amount": invoice.grand_total})
		invoice.save()
		invoice.submit()  # ... and saves again on submit
		return invoice

	def assert_discount(self, invoice, percentage, discount_amount, applied, manual=0, manual_amount=0):
		invoice.reload()
		self.assertEqual(invoice.docstatus, 1)
		self.assertEqual(flt(invoice.additional_discount_percentage), percentage)
		self.assertEqual(flt(invoice.discount_amount), discount_amount)
		self.assertEqual(flt(invoice.net_total), 200 - discount_amount)
		self.assertEqual(invoice.loyalty_crm_discount_applied, applied)
		self.assertEqual(flt(invoice.loyalty_crm_tier_discount), 10)
		self.assertEqual(flt(invoice.loyalty_crm_manual_discount), manual)
		self.assertEqual(flt(invoice.loyalty_crm_manual_discount_amount), manual_amount)

	def both_places(self, percentage=0, amount=0):
		return {"desk": self.desk(percentage, amount), "till": self.till(percentage, amount)}

	# ------------------------------------------------------------ the three rules

	def test_default_rule_yields_to_the_cashiers_discount(self):
		self.assertEqual(tier_discount.mode(), tier_discount.YIELDS)
		for place, invoice in self.both_places(5).items():
			with self.subTest(place=place):
				self.assert_discount(invoice, 5, 10, "Manual Discount", manual=5)
		for place, invoice in self.both_places(amount=25).items():
			with self.subTest(place=place, manual="amount"):
				self.assert_discount(invoice, 0, 25, "Manual Discount", manual_amount=25)
		# no manual discount: the tier's applies
		for place, invoice in self.both_places().items():
			with self.subTest(place=place, manual=None):
				self.assert_discount(invoice, 10, 20, "Tier Discount")

	def test_replaces_rule_gives_the_tier_discount_instead(self):
		self.use(tier_discount.REPLACES)
		for place, invoice in self.both_places(5).items():
			with self.subTest(place=place):
				self.assert_discount(invoice, 10, 20, "Tier Discount", manual=5)
		for place, invoice in self.both_places(25).items():  # also when the cashier gave more
			with self.subTest(place=place, manual=25):
				self.assert_discount(invoice, 10, 20, "Tier Discount", manual=25)

	def test_adds_rule_gives_both(self):
		self.use(tier_discount.ADDS)
		for place, invoice in self.both_places(5).items():
			with self.subTest(place=place):
				# 5% + 10% = 15% of 200, and not 25% after the second save
				self.assert_discount(invoice, 15, 30, "Tier and Manual Discounts", manual=5)
		for place, invoice in self.both_places(amount=25).items():
			with self.subTest(place=place, manual="amount"):
				# 25 typed + 10% of 200
				self.assert_discount(invoice, 0, 45, "Tier and Manual Discounts", manual_amount=25)
		# never more than 100% (desk only: a till refuses a sale with nothing to pay)
		self.assert_discount(self.desk(95), 100, 200, "Tier and Manual Discounts", manual=95)

	# ------------------------------------------------------------ drafts and other customers

	def test_cashier_changes_the_discount_of_a_saved_draft(self):
		draft = self.desk(submit=False)
		self.assertEqual(
			(draft.additional_discount_percentage, draft.loyalty_crm_discount_applied), (10, "Tier Discount")
		)
		draft.additional_discount_percentage = 7  # typed over the tier's 10%
		draft.save()
		self.assertEqual(
			(draft.additional_discount_percentage, draft.loyalty_crm_discount_applied), (7, "Manual Discount")
		)
		draft.additional_discount_percentage = 0  # and removed again: the tier's comes back
		draft.discount_amount = 0
		draft.save()
		self.assertEqual(
			(draft.additional_discount_percentage, draft.loyalty_crm_discount_applied), (10, "Tier Discount")
		)
		draft.submit()
		self.assertEqual(flt(draft.net_total), 180)

	def test_customer_without_a_tier_discount_keeps_the_cashiers_only(self):
		for mode in tier_discount.MODES:
			self.use(mode)
			other = make_customer("LCRM No Tier")
			invoice = sales_invoice(other, rate=200, submit=False, save=False)
			invoice.additional_discount_percentage = 5
			invoice.insert()
			invoice.submit()
			with self.subTest(mode=mode):
				self.assertEqual(flt(invoice.additional_discount_percentage), 5)
				self.assertEqual(invoice.loyalty_crm_discount_applied, "Manual Discount")
				self.assertEqual(flt(invoice.loyalty_crm_tier_discount), 0)
			plain = sales_invoice(other, rate=200)
			self.assertFalse(plain.additional_discount_percentage)
			self.assertFalse(plain.loyalty_crm_discount_applied)

	def test_another_pricing_rule_is_not_taken_for_the_cashiers_discount(self):
		other = make_customer("LCRM Promo")
		frappe.get_doc(
			{
				"doctype": "Pricing Rule",
				"title": f"LCRM promo {frappe.generate_hash(length=6)}",
				"apply_on": "Transaction",
				"price_or_product_discount": "Price",
				"selling": 1,
				"applicable_for": "Customer",
				"customer": other,
				"company": "_Test Company",
				"currency": "INR",
				"rate_or_discount": "Discount Percentage",
				"discount_percentage": 3,
				"apply_discount_on": "Net Total",
			}
		).insert()
		invoice = sales_invoice(other, rate=200, submit=False)
		invoice.save()
		invoice.submit()
		self.assertEqual(flt(invoice.additional_discount_percentage), 3)
		self.assertFalse(invoice.loyalty_crm_discount_applied, "the promotion is nobody's manual discount")
		self.assertEqual(flt(invoice.loyalty_crm_manual_discount), 0)
