# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Packed reads give the same text values as plain reads, whatever the values hold."""

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import packed_read

QUERY = """select name as customer, customer_group, loyalty_crm_churn_drivers as drivers,
	loyalty_crm_r_score as r_score, loyalty_crm_churn_scored_on as scored_on
	from `tabCustomer` where name like 'LCRM Packed%%' order by name"""
COLUMNS = ["customer", "customer_group", "drivers", "r_score", "scored_on"]


class TestPackedRead(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()

	def insert(self, names: list[str], drivers: str | None = "First line\nsecond, with a comma"):
		frappe.db.bulk_insert(
			"Customer",
			["name", "customer_name", "customer_group", "loyalty_crm_churn_drivers", "loyalty_crm_r_score"]
			+ ["loyalty_crm_churn_scored_on"],
			[
				(n, n, None if i % 2 else "Commercial", drivers, i % 5, f"2026-01-0{1 + i % 9}")
				for i, n in enumerate(names)
			],
		)

	def test_many_rows_across_packs_with_nulls_empty_text_and_newlines(self):
		names = [f"LCRM Packed {i:05d}" for i in range(packed_read.ROWS_PER_PACK * 2 + 7)]
		self.insert(names)
		frappe.db.sql("update `tabCustomer` set loyalty_crm_churn_drivers = '' where name = %s", names[3])
		frame = packed_read.read_frame(QUERY, {}, COLUMNS)
		self.assertEqual(len(frame), len(names))
		frame = frame.sort_values("customer").reset_index(drop=True)
		self.assertEqual(frame["customer"].tolist(), names)
		self.assertTrue(frame.loc[1, "customer_group"] != frame.loc[1, "customer_group"])  # NULL -> NaN
		self.assertEqual(frame.loc[0, "customer_group"], "Commercial")
		self.assertEqual(frame.loc[3, "drivers"], "")
		self.assertEqual(frame.loc[0, "drivers"], "First line\nsecond, with a comma")
		self.assertEqual(frame.loc[6, "r_score"], "1")
		self.assertEqual(frame.loc[0, "scored_on"], "2026-01-01")
		plain = packed_read.plain(QUERY, {}, COLUMNS)
		self.assertEqual(plain["customer"].tolist(), names)
		self.assertEqual(plain.loc[0, "scored_on"], "2026-01-01")
		self.assertEqual(plain.loc[6, "r_score"], "1")

	def test_a_value_holding_a_separator_is_read_plainly_and_still_right(self):
		odd = ["LCRM Packed A\x1fB", "LCRM Packed C\x1eD", "LCRM Packed E"]
		self.insert(odd, drivers="x\x1fy")
		frame = packed_read.read_frame(QUERY, {}, COLUMNS).sort_values("customer").reset_index(drop=True)
		self.assertEqual(frame["customer"].tolist(), sorted(odd))
		self.assertEqual(set(frame["drivers"]), {"x\x1fy"})
		self.assertEqual(len(frame.columns), len(COLUMNS))
