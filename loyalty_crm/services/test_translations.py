"""The Simplified Chinese is complete: every string the app shows has a zh.csv row, and no row is stale.

The strings are extracted the way Frappe extracts them (``services.translations``), on a real
site, so a new label, ``_()`` or ``__()`` without a row fails here with the list to translate:

    bench --site SITE execute loyalty_crm.services.translations.print_missing
"""

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import translations


class TestSimplifiedChinese(FrappeTestCase):
	def test_extraction_sees_every_kind_of_string(self):
		"""The extractor must see each kind of string, or "nothing missing" would prove nothing."""
		messages = translations.app_messages()
		expected = {
			"Loyalty Ledger Entry": "a doctype name",
			"Points per Currency Unit": "a field label",
			"Rolling Months": "a Select option",
			"Horizon (Months)": "a report filter label (JS __())",
			"Predicted CLV": "a report column (Python _())",
			"Customer Lifetime Value": "a report reached through Customer",
			"Keeps Tier Until": "an install-time custom field",
			"Points Liability": "a Number Card",
			"Average Retention Curve": "a Dashboard Chart",
			"Bronze": "a default tier name",
			"Loyalty Member Card": "a print format",
		}
		for message, kind in expected.items():
			self.assertIn(message, messages, kind)
		self.assertFalse(
			[m for m, where in messages.items() if where.startswith("Navbar:")], "site navbar is not ours"
		)

	def test_every_string_has_a_zh_row_and_every_row_is_used(self):
		missing, unused = translations.check()
		self.assertEqual(
			missing,
			[],
			f"{len(missing)} string(s) without a zh.csv row; list them with "
			"`bench --site SITE execute loyalty_crm.services.translations.print_missing`",
		)
		self.assertEqual(unused, [], "zh.csv rows whose string the app no longer shows")

	def test_rows_are_well_formed(self):
		rows = translations.zh_rows()
		sources = [row[0] for row in rows]
		self.assertEqual(len(sources), len(set(sources)), "one row per string")
		for row in rows:
			self.assertGreaterEqual(len(row), 2, row)
			self.assertTrue(row[1].strip(), f"empty translation for {row[0]!r}")
			for index in range(10):
				placeholder = f"{{{index}}}"
				self.assertEqual(
					placeholder in row[0], placeholder in row[1], f"{placeholder} in {row[0]!r} / {row[1]!r}"
				)
		self.assertTrue(frappe.get_app_path("loyalty_crm", "translations", "zh.csv"))
