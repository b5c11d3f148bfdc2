# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Member cards on a real site: issued on the first points, found by the till's and the desk's search."""

import base64
import csv
import os
import re
import tempfile
from urllib.parse import unquote

import frappe
from frappe.desk.search import search_link
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.engine import member_cards as engine
from loyalty_crm.services import cards
from loyalty_crm.testing import make_customer, sales_invoice, set_settings

test_dependencies = ["Customer", "Company", "Item"]


def write_csv(rows):
	handle = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="")
	csv.writer(handle).writerows(rows)
	handle.close()
	return handle.name


def card_of(customer):
	return frappe.db.get_value("Customer", customer, cards.CARD_FIELD)


class TestMemberCard(FrappeTestCase):
	def setUp(self):
		set_settings()

	def tearDown(self):
		frappe.db.rollback()

	def test_first_points_issue_a_card_and_later_ones_keep_it(self):
		customer = make_customer()
		self.assertFalse(card_of(customer))
		sales_invoice(customer, 100)
		number = card_of(customer)
		self.assertTrue(engine.is_generated_number(number), number)
		sales_invoice(customer, 50)
		self.assertEqual(card_of(customer), number)

	def test_members_without_a_card_get_one_on_migrate(self):
		"""An upgraded site: customers whose points predate cards are issued numbers set-wise."""
		members = [make_customer() for _ in range(3)]
		for customer in members:
			sales_invoice(customer, 10)
			frappe.db.set_value("Customer", customer, cards.CARD_FIELD, None)
		taken = cards.issue_card(make_customer())
		not_a_member = make_customer()
		self.assertGreaterEqual(cards.issue_missing_cards(chunk=2), 3)
		numbers = [card_of(customer) for customer in members]
		self.assertTrue(all(engine.is_generated_number(number) for number in numbers), numbers)
		self.assertEqual(len({*numbers, taken}), 4)
		self.assertFalse(card_of(not_a_member))
		self.assertEqual(cards.issue_missing_cards(), 0)  # nothing left to issue
		# the Series moved past the reserved numbers: the next card is new
		self.assertNotIn(cards.issue_card(make_customer()), {*numbers, taken})

	def test_issue_on_demand_is_stable_and_unique(self):
		first, second = make_customer(), make_customer()
		number = cards.issue_card(first)
		self.assertEqual(cards.issue_card(first), number)
		self.assertNotEqual(cards.issue_card(second), number)
		self.assertEqual(card_of(first), number)

	def test_search_finds_the_customer_by_card_number(self):
		"""The path ERPNext's POS customer selector and Sales Invoice's customer field take (no custom query)."""
		customer = make_customer("Card Search")
		number = cards.issue_card(customer)
		found = [row["value"] for row in search_link("Customer", number)]
		self.assertEqual(found, [customer])
		# the same search without the card field in search_fields would not find it by number
		self.assertIn(cards.CARD_FIELD, frappe.get_meta("Customer").search_fields)

	def test_find_by_card_scanned_or_typed_with_spaces(self):
		customer = make_customer()
		number = cards.issue_card(customer)
		spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
		result = cards.find_by_card(f"  {spaced} ")
		self.assertEqual((result["found"], result["customer"]), (True, customer))

	def test_unknown_number_says_so(self):
		unused = next(
			engine.generated_card_number(seq)
			for seq in range(9_000_000_000, 9_000_001_000)
			if not frappe.db.exists("Customer", {cards.CARD_FIELD: engine.generated_card_number(seq)})
		)
		result = cards.find_by_card(unused)
		self.assertFalse(result["found"])
		self.assertEqual(result["message"], f"No member has card number {unused}")
		# one digit mistyped: the check digit tells, not "no member"
		wrong = unused[:-1] + str((int(unused[-1]) + 1) % 10)
		result = cards.find_by_card(wrong)
		self.assertFalse(result["found"])
		self.assertIn("check digit is wrong", result["message"])

	def test_card_number_typed_on_the_form_is_checked_and_normalised(self):
		doc = frappe.get_doc("Customer", make_customer())
		doc.set(cards.CARD_FIELD, " ab-12 34 ")
		doc.save()
		self.assertEqual(card_of(doc.name), "AB-1234")
		doc.set(cards.CARD_FIELD, "x1")
		with self.assertRaisesRegex(frappe.ValidationError, "Card number X1 must be 4 to 32"):
			doc.save()
		doc.reload()
		good = engine.generated_card_number(77)
		doc.set(cards.CARD_FIELD, good[:-1] + str((int(good[-1]) + 1) % 10))  # one digit mistyped
		with self.assertRaisesRegex(frappe.ValidationError, "check digit is wrong"):
			doc.save()

	def test_disabled_customer_is_not_found(self):
		customer = make_customer()
		number = cards.issue_card(customer)
		frappe.db.set_value("Customer", customer, "disabled", 1)
		self.assertFalse(cards.find_by_card(number)["found"])

	def test_import_assigns_numbers_and_refuses_a_bad_file_whole(self):
		first, second, third = make_customer(), make_customer(), make_customer()
		taken = cards.issue_card(third)
		good = write_csv([["customer", "card_number"], [first, "OLD-1001"], [second, " old-1002 "]])
		bad = write_csv(
			[
				["customer", "card_number"],
				[first, "NEW-2001"],  # first already holds OLD-1001 (no --replace)
				[second, "x"],  # too short
				["No Such Customer", "NEW-2003"],
				[third, "NEW-2004"],  # third holds a generated card (no --replace)
				[make_customer(), taken],  # belongs to third
				[make_customer(), "NEW-2006"],
				[make_customer(), "new-2006"],  # same number again after normalising
			]
		)
		try:
			result = cards.import_cards(good)
			self.assertEqual((result.errors, result.assigned), ([], 2))
			self.assertEqual((card_of(first), card_of(second)), ("OLD-1001", "OLD-1002"))
			self.assertEqual(cards.find_by_card("old-1002")["customer"], second)

			result = cards.import_cards(bad)
			self.assertEqual(result.assigned, 0)
			text = "\n".join(result.errors)
			for expected in (
				"Row 2: customer",
				"already has card number OLD-1001",
				"Row 3: Card number X must be 4 to 32",
				"Row 4: unknown customer No Such Customer",
				"Row 5: customer",
				f"Row 6: card number {taken} belongs to customer {third}",
				"Row 8: card number NEW-2006 is also on row 7",
			):
				self.assertIn(expected, text)
			self.assertEqual((card_of(first), card_of(third)), ("OLD-1001", taken))
		finally:
			os.unlink(good)
			os.unlink(bad)

	def test_replace_swaps_numbers_between_customers(self):
		first, second = make_customer(), make_customer()
		a, b = cards.issue_card(first), cards.issue_card(second)
		path = write_csv([["customer", "card_number"], [first, b], [second, a]])
		try:
			result = cards.import_cards(path, replace=True)
		finally:
			os.unlink(path)
		self.assertEqual(result.errors, [])
		self.assertEqual((card_of(first), card_of(second)), (b, a))

	def test_print_format_has_barcode_and_qr_of_the_number(self):
		customer = make_customer("Card Print")
		number = cards.issue_card(customer)
		html = frappe.get_print("Customer", customer, "Loyalty Member Card", no_letterhead=1)
		self.assertIn(frappe.db.get_value("Customer", customer, "customer_name"), html)
		self.assertIn(" ".join(number[i : i + 4] for i in range(0, 12, 4)), html)
		barcode = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
		self.assertIsNotNone(barcode)
		svg = base64.b64decode(barcode.group(1)).decode()
		# as many bars as the encoding of this number has runs of bar modules
		self.assertEqual(svg.count("<rect ") - 1, len(re.findall("1+", engine.code128_modules(number))))
		qr = re.search(r'src="(data:image/svg\+xml[^"]+)"', html.split(barcode.group(0), 1)[1])
		self.assertIsNotNone(qr)  # the QR code after the barcode
		# a regular QR code (21 modules + 2 x 2 quiet modules, at 4 px), not the Micro QR segno would
		# pick for 12 digits, which phone and till scanners do not read
		self.assertIn("width='100'", unquote(qr.group(1)))

	def test_print_without_number_says_how_to_get_one(self):
		customer = make_customer()
		html = frappe.get_print("Customer", customer, "Loyalty Member Card", no_letterhead=1)
		self.assertIn("Issue Member Card", html)
		self.assertFalse(card_of(customer))  # printing issues nothing
