# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""CLV bands by predicted CLV when the CLV models fit, by historical value (with the reason)
when they cannot; the basis on every membership and in the Customer Segments report.

Runs in a company of ERPNext's test records that no other test sells in, so the models see
exactly the invoices made here.
"""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.engine import value_bands
from loyalty_crm.loyalty_crm.report.customer_segments.customer_segments import execute
from loyalty_crm.services import segments
from loyalty_crm.testing import make_customer, sales_invoice, set_settings

test_dependencies = ["Sales Invoice"]

COMPANY = "_Test Company 5"
ACCOUNTS = {
	"company": COMPANY,
	"debit_to": "Debtors - _TC5",
	"income_account": "Sales - _TC5",
	"expense_account": "Cost of Goods Sold - _TC5",
	"cost_center": "Main - _TC5",
	"warehouse": "Stores - _TC5",
	"currency": "INR",
}

# Repeat buyers at their own pace (days ago of each purchase, amount of the first; each next
# purchase costs 1 more), and a big spender who bought three times within a week almost a year
# ago (inside the 365-day window, so scored) and never again.
REPEAT_BUYERS = {
	"c0": ([188, 157, 108, 100, 94], 138),
	"c1": ([200, 192, 141], 135),
	"c2": ([187], 174),
	"c3": ([308, 278, 260, 259, 141], 124),
	"c4": ([292, 212, 133, 127], 105),
	"c5": ([275], 179),
	"c6": ([203, 82], 102),
	"c7": ([214, 67], 127),
	"whale": ([350, 345, 340], 5000),
}


class TestCLVBandBasis(FrappeTestCase):
	def setUp(self):
		set_settings()
		self.assertFalse(
			frappe.db.exists("Sales Invoice", {"company": COMPANY, "docstatus": 1}),
			f"{COMPANY} must have no submitted invoices for this test",
		)
		self.everyone = self.segment(
			method="Rule", rule=frappe.as_json([{"field": "monetary", "operator": ">", "value": 0}])
		)
		self.high = self.segment(method="CLV Band", clv_band="High")

	def tearDown(self):
		frappe.db.rollback()

	def segment(self, **values) -> str:
		return (
			frappe.get_doc(
				{
					"doctype": "Customer Segment",
					"segment_name": f"LCRM CLV {frappe.generate_hash(length=8)}",
					"company": COMPANY,
					**values,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)

	def buy(self, customer: str, rate: float, days_ago: int):
		sales_invoice(customer, rate, posting_date=add_days(nowdate(), -days_ago), **ACCOUNTS)

	def memberships(self, segment: str) -> dict:
		rows = frappe.get_all(
			segments.MEMBERSHIP,
			filters={"segment": segment},
			fields=["customer", "clv_band", "clv_basis", "clv_basis_note"],
		)
		return {row.customer: row for row in rows}

	def test_historical_basis_with_the_reason_then_predicted_once_the_model_fits(self):
		once = [make_customer("LCRM CLV Once") for _ in range(5)]
		for i, customer in enumerate(once):
			self.buy(customer, 50 + 10 * i, 3 + i)
		segments.refresh_segments()

		rows = self.memberships(self.everyone)
		self.assertEqual(set(rows), set(once))
		for row in rows.values():
			self.assertEqual(row.clv_basis, "Historical Value")
			self.assertIn("every customer bought only once", row.clv_basis_note)
		# by historical value: the biggest one-time buyer is the High band
		self.assertEqual(set(self.memberships(self.high)), {once[-1]})
		for filters in ({"company": COMPANY}, {"company": COMPANY, "as_of": nowdate()}):
			columns, data, message, *_ = execute(filters)
			self.assertIn("clv_basis_label", [column["fieldname"] for column in columns])
			mine = [row for row in data if row["segment"] == self.everyone]
			self.assertEqual({row["clv_basis_label"] for row in mine}, {"Historical Value"})
			self.assertIn(f"{COMPANY}: CLV bands use historical value", message)
			self.assertIn("every customer bought only once", message)

		names = {}
		for key, (days, amount) in REPEAT_BUYERS.items():
			names[key] = make_customer(f"LCRM CLV {key}")
			for k, days_ago in enumerate(days):
				self.buy(names[key], amount + k, days_ago)
		result = segments.refresh_segments()
		self.assertFalse([note for note in result.notes if COMPANY in note and "historical" in note])

		rows = self.memberships(self.everyone)
		self.assertEqual(set(rows), set(once) | set(names.values()))
		for row in rows.values():
			self.assertEqual((row.clv_basis, row.clv_basis_note), ("Predicted CLV", None))
		# the big spender of a year ago tops historical value but not the prediction
		transactions = segments.load_transactions(nowdate())
		mine = transactions[transactions["company"] == COMPANY]
		historical = mine.groupby("customer")["amount"].sum()
		self.assertEqual(value_bands.clv_bands(historical).loc[names["whale"], "band"], "High")
		self.assertNotIn(names["whale"], self.memberships(self.high))
		self.assertNotEqual(rows[names["whale"]].clv_band, "High")
		self.assertEqual(
			frappe.db.get_value("Customer", names["whale"], "loyalty_crm_clv_band"),
			rows[names["whale"]].clv_band,
		)
		columns, data, message, *_ = execute({"company": COMPANY, "segment": self.everyone})
		self.assertEqual({row["clv_basis_label"] for row in data}, {"Predicted CLV"})
		self.assertNotIn("CLV bands use historical value", message)
