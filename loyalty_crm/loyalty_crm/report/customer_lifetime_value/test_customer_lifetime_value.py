# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The CLV report on real submitted invoices gives exactly what the engine gives on the same data."""

from __future__ import annotations

import frappe
import numpy as np
import pandas as pd
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, nowdate

from loyalty_crm.engine.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value, customer_summary
from loyalty_crm.loyalty_crm.report.customer_lifetime_value.customer_lifetime_value import execute
from loyalty_crm.testing import COMPANY, make_customer, make_customer_group, sales_invoice, sales_return

test_dependencies = ["Sales Invoice", "Customer", "Item"]

# customer key -> [(days ago, amount)]: repeat buyers of different rhythm and spend, and one-timers
HISTORIES = {
	"a": [(400, 100), (300, 120), (200, 90), (100, 110), (20, 105)],
	"b": [(250, 50), (240, 70)],
	"c": [(420, 200)],
	"d": [(150, 300), (60, 250), (30, 280)],
	"e": [(90, 80)],
	"f": [(500, 60), (100, 40), (45, 55)],
	"g": [(330, 150), (180, 140)],
	"h": [(600, 75)],
}


class TestCustomerLifetimeValue(FrappeTestCase):
	def setUp(self):
		self.today = nowdate()
		self.group = make_customer_group("LCRM CLV")
		self.customers = {key: self._customer() for key in HISTORIES}
		self.rows = []  # the engine's input, written down as the invoices are made
		for key, history in HISTORIES.items():
			for days_ago, amount in history:
				self._buy(self.customers[key], amount, days_ago)

	def tearDown(self):
		frappe.db.rollback()

	def _customer(self, **values) -> str:
		name = make_customer("LCRM CLV")
		frappe.db.set_value("Customer", name, {"customer_group": self.group, **values})
		return name

	def _buy(self, customer: str, amount: float, days_ago: int, qty: int = 1):
		date = add_days(self.today, -days_ago)
		invoice = sales_invoice(customer, rate=amount, qty=qty, posting_date=date)
		self.rows.append((customer, date, amount * qty))
		return invoice

	def _filters(self, **values) -> dict:
		return {"company": COMPANY, "customer_group": self.group, **values}

	def _engine(self, horizon: int = 12, rate: float = 0.01) -> pd.DataFrame:
		"""The engine on the invoices this test made, built from the test's own record of them."""
		frame = pd.DataFrame(self.rows, columns=["customer", "date", "amount"])
		summary = customer_summary(frame, observation_end=self.today)
		x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
		bgnbd = BetaGeoModel().fit(summary)
		gamma_gamma = GammaGammaModel().fit(summary)
		summary["p_alive"] = bgnbd.conditional_probability_alive(x, t_x, T)
		summary["expected_purchases"] = bgnbd.conditional_expected_number_of_purchases_up_to_time(
			horizon * 30.0, x, t_x, T
		)
		summary["clv"] = customer_lifetime_value(bgnbd, gamma_gamma, summary, horizon, rate)
		return summary

	def _by_customer(self, data: list[dict]) -> dict[str, dict]:
		return {row["customer"]: row for row in data}

	def test_report_equals_engine_on_real_invoices(self):
		# a cancelled invoice is not a purchase; a return is netted on its day
		cancelled = self._buy(self.customers["c"], 999, 10)
		cancelled.cancel()
		self.rows.pop()
		original = self._buy(self.customers["g"], 100, 15, qty=2)
		sales_return(original, qty=-1, posting_date=add_days(self.today, -5))
		self.rows.append((self.customers["g"], add_days(self.today, -5), -100))

		columns, data, message, chart, summary = execute(self._filters())
		expected = self._engine()
		self.assertIsNone(message)
		self.assertEqual(len(data), len(HISTORIES))
		rows = self._by_customer(data)
		self.assertEqual(set(rows), set(expected.index))
		for customer, want in expected.iterrows():
			row = rows[customer]
			self.assertEqual(row["purchases"], want["frequency"] + 1)
			self.assertAlmostEqual(row["historical_value"], want["historical_value"], places=6)
			self.assertAlmostEqual(row["p_alive"], want["p_alive"] * 100, places=6)
			self.assertAlmostEqual(row["expected_purchases"], want["expected_purchases"], places=6)
			self.assertAlmostEqual(row["predicted_clv"], want["clv"], places=6)
			self.assertEqual(str(row["first_purchase"]), str(want["first_purchase"].date()))
		self.assertAlmostEqual(rows[self.customers["c"]]["historical_value"], 200, places=6)
		self.assertAlmostEqual(rows[self.customers["g"]]["historical_value"], 150 + 140 + 200 - 100, places=6)
		self.assertEqual(rows[self.customers["g"]]["purchases"], 3)  # the return day is no purchase
		self.assertGreater(expected["clv"].sum(), 0)
		# sorted by predicted CLV, highest first
		values = [row["predicted_clv"] for row in data]
		self.assertEqual(values, sorted(values, reverse=True))
		self.assertEqual(chart["type"], "bar")
		self.assertEqual(sum(chart["data"]["datasets"][0]["values"]), len(HISTORIES))
		self.assertEqual(len(chart["data"]["labels"]), len(chart["data"]["datasets"][0]["values"]))
		figures = {figure["label"]: figure["value"] for figure in summary}
		self.assertEqual(figures["Customers"], len(HISTORIES))
		self.assertAlmostEqual(figures["Predicted CLV (12 Months)"], expected["clv"].sum(), places=6)
		self.assertAlmostEqual(figures["Historical Value"], expected["historical_value"].sum(), places=6)
		self.assertEqual({c["fieldname"] for c in columns} >= {"predicted_clv", "p_alive"}, True)

	def test_horizon_and_discount_rate_follow_the_filters(self):
		_columns, data, _message, _chart, _summary = execute(self._filters(horizon_months=6, discount_rate=2))
		expected = self._engine(horizon=6, rate=0.02)
		for customer, row in self._by_customer(data).items():
			self.assertAlmostEqual(row["predicted_clv"], expected.at[customer, "clv"], places=6)
		_columns, data, message, _chart, summary = execute(self._filters(horizon_months=0))
		self.assertIsNone(message)
		self.assertTrue(all(row["predicted_clv"] == 0 and row["expected_purchases"] == 0 for row in data))
		self.assertTrue(all(row["historical_value"] > 0 for row in data))

	def test_filters_narrow_the_result(self):
		territory = frappe.get_doc(
			{
				"doctype": "Territory",
				"territory_name": f"LCRM CLV {frappe.generate_hash(length=6)}",
				"parent_territory": "All Territories",
			}
		).insert(ignore_permissions=True)
		a, d = self.customers["a"], self.customers["d"]
		frappe.db.set_value("Customer", a, {"territory": territory.name, "loyalty_crm_segment": "Champions"})
		frappe.db.set_value("Customer", d, {"loyalty_crm_tier": "Gold"})

		def customers(**values):
			return {row["customer"] for row in execute(self._filters(**values))[1]}

		self.assertEqual(customers(territory=territory.name), {a})
		self.assertEqual(customers(segment="Champions"), {a})
		self.assertEqual(customers(tier="Gold"), {d})
		data = execute(self._filters(segment="Champions"))[1]
		self.assertEqual(data[0]["segment"], "Champions")
		# the date range cuts the history: only customers who bought in the last 50 days
		recent = {self.customers[k] for k, history in HISTORIES.items() if any(d <= 50 for d, _a in history)}
		self.assertEqual(customers(from_date=add_days(self.today, -50)), recent)
		self.assertEqual(customers(company="_Test Company 1"), set())
		self.assertEqual(len(customers()), len(HISTORIES))

	def test_degenerate_data_shows_historical_value_with_a_message(self):
		group = make_customer_group("LCRM CLV once")
		once = []
		for amount in (10, 20, 30):
			customer = make_customer("LCRM CLV once")
			frappe.db.set_value("Customer", customer, "customer_group", group)
			sales_invoice(customer, rate=amount, posting_date=add_days(self.today, -amount))
			once.append(customer)
		_columns, data, message, chart, summary = execute({"company": COMPANY, "customer_group": group})
		self.assertEqual({row["customer"] for row in data}, set(once))
		self.assertEqual(sorted(row["historical_value"] for row in data), [10, 20, 30])
		self.assertTrue(all(row["predicted_clv"] is None and row["p_alive"] is None for row in data))
		self.assertIn("bought only once", message)
		self.assertEqual(chart["type"], "bar")
		self.assertIn("Not available", [figure["value"] for figure in summary])

		# one customer, even with repeat purchases, is too few to fit a model
		sales_invoice(once[0], rate=15, posting_date=add_days(self.today, -3))
		_columns, data, message, _chart, _summary = execute(
			{"company": COMPANY, "customer_group": group, "from_date": add_days(self.today, -12)}
		)
		self.assertEqual(len(data), 1)
		self.assertAlmostEqual(data[0]["historical_value"], 25)
		self.assertIn("at least 2 customers", message)

		empty = execute({"company": COMPANY, "customer_group": make_customer_group("LCRM CLV empty")})
		self.assertEqual(empty[1], [])
		self.assertTrue(empty[2])

	def test_predictions_are_finite_numbers(self):
		data = execute(self._filters())[1]
		values = np.array([[row["p_alive"], row["expected_purchases"], row["predicted_clv"]] for row in data])
		self.assertTrue(np.isfinite(values).all())
		self.assertTrue(((values[:, 0] >= 0) & (values[:, 0] <= 100)).all())
