# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The retention report on real invoices equals the cohort engine; new-vs-repeat equals ERPNext's own report."""

from __future__ import annotations

import calendar

import frappe
import pandas as pd
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_months, get_first_day, getdate, nowdate

from loyalty_crm.engine.cohorts import (
	churn_rate_per_period,
	cohort_matrix,
	new_vs_repeat_by_month,
	repeat_purchase_rate,
	retention_curve,
	retention_rates,
)
from loyalty_crm.loyalty_crm.report.customer_retention.customer_retention import execute
from loyalty_crm.testing import (
	COMPANY,
	make_customer,
	make_customer_group,
	pos_sales_invoice,
	sales_invoice,
	sales_return,
)

test_dependencies = ["Sales Invoice", "Customer", "Item"]

# customer key -> [(months ago, day of month, amount)]
HISTORIES = {
	"a": [(10, 3, 100), (9, 5, 80), (8, 7, 120), (5, 2, 90), (1, 9, 60)],
	"b": [(10, 12, 50), (7, 4, 70)],
	"c": [(8, 20, 200)],
	"d": [(6, 1, 30), (5, 8, 35), (4, 15, 40), (3, 2, 45)],
	"e": [(6, 2, 25), (6, 18, 25)],
	"f": [(3, 6, 300), (2, 11, 310), (0, 1, 320)],
	"h": [(4, 10, 75)],
}


def month_day(months_ago: int, day: int) -> str:
	return str(add_days(add_months(get_first_day(nowdate()), -months_ago), day - 1))


class RetentionFixture(FrappeTestCase):
	def setUp(self):
		self.today = nowdate()
		self.group = make_customer_group("LCRM Retention")
		self.rows = []  # the engine's input, written down as the invoices are made
		self.customers = {}

	def tearDown(self):
		frappe.db.rollback()

	def _customer(self) -> str:
		name = make_customer("LCRM Retention")
		frappe.db.set_value("Customer", name, "customer_group", self.group)
		return name

	def _make(self, histories: dict) -> None:
		for key, history in histories.items():
			self.customers[key] = self._customer()
			for months_ago, day, amount in history:
				self._buy(self.customers[key], amount, month_day(months_ago, day))

	def _buy(self, customer: str, amount: float, date: str, qty: int = 1):
		invoice = sales_invoice(customer, rate=amount, qty=qty, posting_date=date)
		self.rows.append((customer, date, amount * qty))
		return invoice

	def _frame(self) -> pd.DataFrame:
		return pd.DataFrame(self.rows, columns=["customer", "date", "amount"])


class TestCustomerRetention(RetentionFixture):
	def setUp(self):
		super().setUp()
		self._make(HISTORIES)
		# g bought two months ago and brought it all back last month: last month is no activity
		self.customers["g"] = self._customer()
		original = self._buy(self.customers["g"], 150, month_day(2, 5))
		sales_return(original, posting_date=month_day(1, 5))
		self.rows.append((self.customers["g"], month_day(1, 5), -150))
		# h's second purchase was cancelled: not a purchase
		self._buy(self.customers["h"], 999, month_day(2, 3)).cancel()
		self.rows.pop()
		self.from_date = month_day(11, 1)

	def _filters(self, **values) -> dict:
		values = {"company": COMPANY, "customer_group": self.group, "from_date": self.from_date, **values}
		return values

	def test_monthly_matrix_equals_engine(self):
		columns, data, message, chart, summary = execute(self._filters())
		counts = cohort_matrix(self._frame(), "month", start=self.from_date, end=self.today)
		rates = retention_rates(counts) * 100
		self.assertIsNone(message)
		self.assertEqual(len(data), len(counts))
		self.assertEqual([c["fieldname"] for c in columns[2:]], [f"period_{k}" for k in counts.columns])
		self.assertEqual(columns[3]["fieldtype"], "Percent")
		for row, (cohort, expected) in zip(data, rates.iterrows(), strict=True):
			self.assertEqual(row["cohort"], str(cohort))
			self.assertEqual(row["cohort_size"], counts.at[cohort, 0])
			for age, value in expected.items():
				if pd.isna(value):
					self.assertNotIn(f"period_{age}", row)  # not reached yet: blank, not 0
				else:
					self.assertAlmostEqual(row[f"period_{age}"], value, places=9)
		# every customer is in exactly one cohort; the cancelled and returned sales changed nothing
		self.assertEqual(sum(row["cohort_size"] for row in data), len(self.customers))
		self.assertEqual(chart["type"], "line")
		curve = retention_curve(counts).dropna()
		self.assertEqual(chart["data"]["labels"], [f"Month {k}" for k in curve.index])
		for got, want in zip(chart["data"]["datasets"][0]["values"], curve * 100, strict=True):
			self.assertAlmostEqual(got, round(want, 2))
		figures = {figure["label"]: figure["value"] for figure in summary}
		self.assertEqual(figures["New Customers"], len(self.customers))
		self.assertAlmostEqual(figures["Retention Rate (next month)"], round(curve[1] * 100, 2))
		self.assertAlmostEqual(
			figures["Churn Rate (next month)"], round(churn_rate_per_period(counts)[1] * 100, 2)
		)
		repeat = repeat_purchase_rate(self._frame(), start=self.from_date, end=self.today)
		self.assertAlmostEqual(figures["Repeat Purchase Rate"], round(repeat * 100, 2))

	def test_counts_toggle_and_weekly_cohorts(self):
		columns, data, _message, _chart, _summary = execute(self._filters(show_counts=1))
		counts = cohort_matrix(self._frame(), "month", start=self.from_date, end=self.today)
		self.assertEqual(columns[3]["fieldtype"], "Int")
		for row, (_cohort, expected) in zip(data, counts.iterrows(), strict=True):
			self.assertEqual(
				{k: v for k, v in row.items() if k.startswith("period_")},
				{f"period_{age}": int(value) for age, value in expected.items() if not pd.isna(value)},
			)
		columns, data, _message, chart, _summary = execute(self._filters(period="Week", show_counts=1))
		weekly = cohort_matrix(self._frame(), "week", start=self.from_date, end=self.today)
		self.assertEqual(len(data), len(weekly))
		self.assertEqual(data[0]["cohort"], weekly.index[0].start_time.date().isoformat())
		self.assertEqual(getdate(data[0]["cohort"]).weekday(), 0)  # weeks start on Monday
		self.assertEqual(len(columns) - 2, len(weekly.columns))
		self.assertEqual(sum(row["cohort_size"] for row in data), len(self.customers))
		self.assertTrue(chart["data"]["labels"][0].startswith("Week"))

	def test_filters_narrow_the_result(self):
		pos = pos_sales_invoice(self.customers["c"], 40, {"Cash": 40})
		_columns, data, _message, _chart, summary = execute(self._filters(pos_profile=pos.pos_profile))
		self.assertEqual(len(data), 1)
		self.assertEqual(data[0]["cohort_size"], 1)
		self.assertEqual(data[0]["cohort"], str(pd.Period(self.today, "M")))  # c's first POS sale
		# a later window makes returning customers look new: only who bought in the last 2 months
		recent = execute(self._filters(from_date=month_day(2, 1)))[1]
		self.assertEqual(sum(row["cohort_size"] for row in recent), 4)  # a, f, g and c's POS sale
		other_group = execute(self._filters(customer_group=make_customer_group("LCRM Retention empty")))
		self.assertEqual(other_group[1], [])
		self.assertTrue(other_group[2])


class TestAgainstCustomerAcquisitionAndLoyalty(RetentionFixture):
	"""New vs repeat customers per month: ERPNext's report and ``new_vs_repeat_by_month`` on the same invoices.

	ERPNext's report scans every submitted Sales Invoice of the company up to To Date, so the test
	runs it before and after making invoices for fresh customers and compares the difference:
	other customers' rows cancel out, and fresh customers cannot change anyone else's new/repeat status.
	"""

	def _erpnext(self) -> pd.DataFrame:
		from erpnext.selling.report.customer_acquisition_and_loyalty.customer_acquisition_and_loyalty import (
			execute as erpnext_execute,
		)

		filters = frappe._dict(
			view_type="Monthly", company=COMPANY, from_date=month_day(11, 1), to_date=self.today
		)
		_columns, data = erpnext_execute(filters)
		names = list(calendar.month_name)
		months = [pd.Period(year=int(row["year"]), month=names.index(row["month"]), freq="M") for row in data]
		fields = ["new_customers", "repeat_customers", "new_customer_revenue", "repeat_customer_revenue"]
		return pd.DataFrame([[row[f] for f in fields] for row in data], index=months, columns=fields)

	def _delta(self, histories: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
		before = self._erpnext()
		self._make(histories)
		delta = self._erpnext() - before
		ours = new_vs_repeat_by_month(self._frame())
		return delta.reindex(ours.index), ours

	def test_same_numbers_on_one_invoice_per_customer_and_month(self):
		clean = {key: history for key, history in HISTORIES.items() if key != "e"}
		erpnext, ours = self._delta(clean)
		self.assertEqual(erpnext["new_customers"].tolist(), ours["new_customers"].tolist())
		self.assertEqual(erpnext["repeat_customers"].tolist(), ours["repeat_customers"].tolist())
		# no taxes on these invoices, so ERPNext's grand total equals our net total
		for column in ("new_customer_revenue", "repeat_customer_revenue"):
			for got, want in zip(erpnext[column], ours[column], strict=True):
				self.assertAlmostEqual(got, want, places=6)
		self.assertEqual(int(ours["new_customers"].sum()), len(clean))

	def test_documented_differences_invoices_vs_customers_and_returns(self):
		"""ERPNext counts invoices, we count customers; ERPNext counts a return as a repeat visit."""
		erpnext, ours = self._delta({"twice": [(3, 2, 100), (3, 20, 60)]})
		month = pd.Period(month_day(3, 1), "M")
		# two invoices in the customer's first month: ERPNext 1 new + 1 repeat, we 1 new customer
		self.assertEqual((erpnext.at[month, "new_customers"], erpnext.at[month, "repeat_customers"]), (1, 1))
		self.assertEqual((ours.at[month, "new_customers"], ours.at[month, "repeat_customers"]), (1, 0))
		# revenue: ERPNext books the second invoice as repeat revenue, we book the whole month as new
		self.assertAlmostEqual(erpnext.at[month, "repeat_customer_revenue"], 60)
		self.assertAlmostEqual(ours.at[month, "new_customer_revenue"], 160)

		customer = self.customers["twice"]
		before = self._erpnext()
		original = frappe.get_last_doc("Sales Invoice", filters={"customer": customer, "docstatus": 1})
		sales_return(original, posting_date=month_day(1, 5))
		self.rows.append((customer, month_day(1, 5), -original.items[0].rate))
		erpnext_return = (self._erpnext() - before).loc[pd.Period(month_day(1, 1), "M")]
		ours = new_vs_repeat_by_month(self._frame())
		# a return is a "repeat customer" invoice with negative revenue in ERPNext; for us the
		# customer was not active that month, only the (negative) revenue counts
		self.assertEqual(erpnext_return["repeat_customers"], 1)
		self.assertEqual(ours.at[pd.Period(month_day(1, 1), "M"), "repeat_customers"], 0)
		self.assertAlmostEqual(
			erpnext_return["repeat_customer_revenue"],
			ours.at[pd.Period(month_day(1, 1), "M"), "repeat_customer_revenue"],
		)
