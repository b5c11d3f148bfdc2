# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The Customer Satisfaction report shows the engine's figures for the same answers."""

import frappe
import pandas as pd
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_months, get_first_day, nowdate

from loyalty_crm.engine.surveys import score_summary
from loyalty_crm.loyalty_crm.report.customer_satisfaction.customer_satisfaction import execute
from loyalty_crm.testing import COMPANY, make_customer, sales_invoice, set_settings, survey_template

# (months ago, nps, csat, ces, complaint); None = not asked
ANSWERS = [
	(1, 10, 5, 7, 0),
	(1, 9, 4, None, 0),
	(1, 3, 2, 2, 1),
	(1, None, 5, 6, 0),
	(0, 0, 1, 1, 1),
	(0, 8, 4, 5, 0),
	(0, 10, None, None, 0),
]


class TestCustomerSatisfaction(FrappeTestCase):
	def setUp(self):
		set_settings()
		survey_template(reward_points=0)
		self.segment = f"Survey Segment {frappe.generate_hash(length=6)}"
		self.customers = [make_customer() for _ in range(2)]
		for customer in self.customers:
			frappe.db.set_value(
				"Customer", customer, {"loyalty_crm_segment": self.segment, "loyalty_crm_tier": "Gold"}
			)
		self.first_month = get_first_day(add_months(nowdate(), -1))
		rows = []
		for index, (months_ago, nps, csat, ces, complaint) in enumerate(ANSWERS):
			submitted_on = f"{get_first_day(add_months(nowdate(), -months_ago))} 10:00:00"
			frappe.get_doc(
				{
					"doctype": "Satisfaction Survey",
					"customer": self.customers[index % 2],
					"company": COMPANY,
					"submitted_on": submitted_on,
					"nps": nps,
					"csat": csat,
					"ces": ces,
					"complaint": complaint,
					"complaint_category": "Product" if complaint else None,
				}
			).insert()
			rows.append(
				{"submitted_on": submitted_on, "nps": nps, "csat": csat, "ces": ces, "complaint": complaint}
			)
		self.expected = score_summary(pd.DataFrame(rows), period="month")
		self.filters = {
			"company": COMPANY,
			"segment": self.segment,
			"from_date": self.first_month,
			"to_date": nowdate(),
		}

	def tearDown(self):
		frappe.db.rollback()

	def test_monthly_figures_equal_the_engines(self):
		columns, data, message, chart, summary = execute(self.filters)
		self.assertIsNone(message)
		self.assertEqual(len(data), 2)
		for row, (_, expected) in zip(data, self.expected.iterrows(), strict=True):
			self.assertEqual(row["month"], expected["period"].strftime("%Y-%m"))
			for field in ("responses", "promoters", "detractors", "complaints"):
				self.assertEqual(row[field], expected[field], field)
			for field in ("nps", "csat", "ces_mean", "ces_agree_pct", "complaint_rate_per_survey"):
				self.assertAlmostEqual(row[field], float(expected[field]), places=9, msg=field)
		# the month before: 4 answers, NPS over 3 of them: 2 promoters, 1 detractor -> 33.3
		self.assertAlmostEqual(data[0]["nps"], 100 / 3, places=9)
		self.assertEqual(chart["data"]["labels"], [row["month"] for row in data])
		self.assertEqual(summary[0]["value"], len(ANSWERS))
		self.assertIn("month_start", data[0], "each month carries its dates for the drill-down link")

	def test_complaint_rate_per_invoice_counts_the_segments_invoices(self):
		sales_invoice(self.customers[0], rate=10)
		sales_invoice(self.customers[1], rate=10)
		_, data, *_ = execute(self.filters)
		this_month = data[-1]
		self.assertEqual(this_month["invoices"], 2)
		self.assertAlmostEqual(this_month["complaint_rate_per_invoice"], 50.0)

	def test_filters_and_response_list(self):
		_, data, message, *_ = execute({**self.filters, "tier": "Platinum"})
		self.assertEqual(data, [])
		self.assertTrue(message)
		columns, rows, *_ = execute({**self.filters, "tier": "Gold", "show_responses": 1})
		self.assertEqual(len(rows), len(ANSWERS))
		self.assertEqual(columns[0]["options"], "Satisfaction Survey")
		self.assertEqual({row["customer"] for row in rows}, set(self.customers))
