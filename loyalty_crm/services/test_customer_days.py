# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The shared read of the invoices against a per-invoice reference computed in pandas.

Edge rows are added with SQL (the read only looks at the totals): a day with purchases and a
return, a zero-amount invoice, a cancelled and a draft invoice, a consolidated Sales Invoice,
POS Invoices on a day that also has a Sales Invoice, names with commas, quotes and a
separator character (which must take the plain path and still be right).
"""

import frappe
import pandas as pd
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from loyalty_crm.services import customer_days

AS_OF = "2026-06-30"


def insert(table: str, name: str, customer: str, day: str, net: float, docstatus: int = 1, **extra):
	now = now_datetime()
	values = {
		"name": name,
		"creation": now,
		"modified": now,
		"owner": "Administrator",
		"modified_by": "Administrator",
		"customer": customer,
		"company": "_Test Company",
		"posting_date": day,
		"docstatus": docstatus,
		"is_return": int(net < 0),
		"base_net_total": net,
		"base_grand_total": round(net * 1.18, 2),
		**extra,
	}
	frappe.db.bulk_insert(table, list(values), [tuple(values.values())])


def reference(as_of: str) -> pd.DataFrame:
	"""Per invoice from the database, summed in pandas the way the stages expect."""
	rows = frappe.db.sql(
		"""
		select company, customer, posting_date, base_net_total, base_grand_total from `tabSales Invoice`
		where docstatus = 1 and is_consolidated = 0 and posting_date <= %(as_of)s and ifnull(customer, '') != ''
		union all
		select company, customer, posting_date, base_net_total, base_grand_total from `tabPOS Invoice`
		where docstatus = 1 and posting_date <= %(as_of)s and ifnull(customer, '') != ''
		""",
		{"as_of": as_of},
	)
	frame = pd.DataFrame(rows, columns=["company", "customer", "date", "net", "grand"])
	frame["net"] = frame["net"].astype(float)
	frame["grand"] = frame["grand"].astype(float)
	frame["invoices"] = (frame["net"] > 0).astype(int) - (frame["net"] < 0).astype(int)
	frame["returns"] = frame["net"] < 0
	frame["date"] = pd.to_datetime(frame["date"])
	return summed(frame)


def summed(frame: pd.DataFrame) -> pd.DataFrame:
	if "returns" not in frame:
		frame = frame.assign(returns=frame["net"] < 0)
	out = frame.groupby(["company", "customer", "date", "returns"], observed=True)[
		["net", "grand", "invoices"]
	].sum()
	return (
		out.reset_index()
		.drop(columns="returns")
		.sort_values(["company", "customer", "date", "net"])
		.reset_index(drop=True)
	)


class TestCustomerDays(FrappeTestCase):
	def setUp(self):
		frappe.db.rollback()  # a setUp that failed half-way gets no tearDown
		self.customers = ["LCRM Days, Plain", 'LCRM Days "Quoted"', "LCRM Days \x1f Unit"]
		for customer in self.customers:
			frappe.db.bulk_insert("Customer", ["name", "customer_name"], [(customer, customer)])
		plain, quoted, odd = self.customers
		insert("Sales Invoice", "LCRM-DAYS-1", plain, "2026-06-01", 100.5, is_consolidated=0)
		insert("Sales Invoice", "LCRM-DAYS-2", plain, "2026-06-01", 20.25, is_consolidated=0)
		insert("Sales Invoice", "LCRM-DAYS-3", plain, "2026-06-01", -30.0, is_consolidated=0)
		insert("Sales Invoice", "LCRM-DAYS-4", plain, "2026-06-02", 0.0, is_consolidated=0)
		insert("Sales Invoice", "LCRM-DAYS-5", plain, "2026-06-03", 55.0, docstatus=2, is_consolidated=0)
		insert("Sales Invoice", "LCRM-DAYS-6", plain, "2026-06-03", 65.0, docstatus=0, is_consolidated=0)
		insert("Sales Invoice", "LCRM-DAYS-7", plain, "2026-06-04", 999.0, is_consolidated=1)
		insert("Sales Invoice", "LCRM-DAYS-8", quoted, "2026-06-05", 12.0, is_consolidated=0)
		insert("Sales Invoice", "LCRM-DAYS-9", quoted, "2026-07-05", 13.0, is_consolidated=0)  # after as-of
		insert("POS Invoice", "LCRM-DAYS-P1", quoted, "2026-06-05", 8.0)
		insert("POS Invoice", "LCRM-DAYS-P2", quoted, "2026-06-05", -3.0)
		insert("POS Invoice", "LCRM-DAYS-P3", odd, "2026-06-06", 7.0)

	def tearDown(self):
		frappe.db.rollback()

	def test_the_shared_read_equals_the_per_invoice_reference(self):
		days = customer_days.read(AS_OF)
		got = summed(
			days[["company", "customer", "date", "net", "grand", "invoices"]].astype({"company": object})
		)
		want = reference(AS_OF)
		pd.testing.assert_frame_equal(got, want, check_dtype=False, atol=1e-6)

		plain = days[days["customer"] == self.customers[0]].sort_values(["date", "net"])
		# a day of purchases and a return stays two rows; the zero invoice is a row of its own day
		self.assertEqual(plain["net"].round(2).tolist(), [-30.0, 120.75, 0.0])
		self.assertEqual(plain["invoices"].tolist(), [-1, 2, 0])
		# one day in both tables: purchases merged across tables, the return apart
		quoted = days[days["customer"] == self.customers[1]].sort_values("net")
		self.assertEqual(quoted["net"].round(2).tolist(), [-3.0, 20.0])
		self.assertEqual(quoted["invoices"].tolist(), [-1, 2])
		self.assertEqual(days.loc[days["customer"] == self.customers[2], "net"].tolist(), [7.0])

	def test_one_company_and_the_stage_views(self):
		days = customer_days.read(AS_OF, company="_Test Company")
		self.assertEqual(set(days["company"].astype(str)), {"_Test Company"})
		transactions = customer_days.transactions(days, "_Test Company")
		self.assertEqual(list(transactions.columns), ["customer", "date", "amount"])
		self.assertAlmostEqual(transactions["amount"].sum(), days["net"].sum(), places=6)

		spend = customer_days.window_metric(days, "spend", "2026-06-01", "2026-06-05", earn_on_grand=False)
		self.assertAlmostEqual(spend[self.customers[0]], 90.75, places=6)
		grand = customer_days.window_metric(days, "spend", "2026-06-01", "2026-06-05", earn_on_grand=True)
		self.assertAlmostEqual(
			grand[self.customers[0]], round(100.5 * 1.18, 2) + round(20.25 * 1.18, 2) - 35.4, places=6
		)
		invoices = customer_days.window_metric(
			days, "invoices", "2026-06-01", "2026-06-05", earn_on_grand=False
		)
		self.assertEqual(invoices[self.customers[0]], 1.0)  # two invoices, one credit note, a zero
		self.assertEqual(invoices[self.customers[1]], 1.0)
		self.assertNotIn(self.customers[2], spend.index)  # outside the window
