# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The analytics reports above a size: prepared in the background, same rows, nothing computed in the request.

On a real site: the flag follows the invoice count across the threshold (from the service, from
Loyalty Settings, daily), a desk call of a prepared report computes nothing and a Generate
enqueues the job on the ``long`` queue, the job's stored result has the same rows as a direct
run, and the report read through the covering index equals the plain aggregate.
"""

from __future__ import annotations

import json
from unittest import mock

import frappe
import pandas as pd
from frappe.core.doctype.prepared_report import prepared_report
from frappe.desk.query_report import run
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate, nowdate

from loyalty_crm.loyalty_crm.report.customer_retention import customer_retention
from loyalty_crm.services import clv, report_scale
from loyalty_crm.testing import COMPANY, make_customer, make_customer_group, sales_invoice, sales_return

test_dependencies = ["Sales Invoice", "Customer", "Item"]


def flags() -> dict[str, int]:
	return dict(
		frappe.get_all(
			"Report",
			filters={"name": ("in", report_scale.REPORTS)},
			fields=["name", "prepared_report"],
			as_list=True,
		)
	)


class TestPreparedReportSwitch(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")

	def set_threshold(self, value: int) -> None:
		frappe.db.set_single_value("Loyalty Settings", report_scale.THRESHOLD_FIELD, value)

	def test_flag_flips_at_the_threshold(self):
		sales_invoice(make_customer("LCRM Scale"), rate=10)  # at least one, so the threshold is above 0
		rows = report_scale.invoice_rows()
		self.set_threshold(rows)  # exactly at the size: not above it
		state = report_scale.update_prepared_reports()
		self.assertEqual(state.rows, rows)
		self.assertFalse(state.prepared)
		self.assertEqual(set(flags().values()), {0})
		self.assertEqual(set(flags()), set(report_scale.REPORTS))

		self.set_threshold(rows - 1)  # one invoice above it
		state = report_scale.update_prepared_reports()
		self.assertTrue(state.prepared)
		self.assertEqual(set(flags().values()), {1})
		self.assertEqual(report_scale.update_prepared_reports().changed, [])  # nothing left to write

		# one more submitted invoice crosses a threshold set at today's count
		self.set_threshold(rows)
		report_scale.update_prepared_reports()
		self.assertEqual(set(flags().values()), {0})
		sales_invoice(make_customer("LCRM Scale"), rate=10)
		self.assertEqual(report_scale.invoice_rows(), rows + 1)
		with mock.patch.object(frappe.db, "commit"):  # the daily job commits; the test must not
			report_scale.update_prepared_reports_daily()
		self.assertEqual(set(flags().values()), {1})

	def test_settings_change_applies_now_and_bad_value_is_refused(self):
		rows = report_scale.invoice_rows()
		self.set_threshold(rows + 1000)
		report_scale.update_prepared_reports()
		settings = frappe.get_single("Loyalty Settings")
		settings.prepared_report_threshold = 0  # always, whatever the count (even none)
		settings.save()
		self.assertEqual(set(flags().values()), {1})
		settings = frappe.get_single("Loyalty Settings")
		settings.prepared_report_threshold = rows + 1
		settings.save()
		self.assertEqual(set(flags().values()), {0})

		settings = frappe.get_single("Loyalty Settings")
		settings.prepared_report_threshold = -5
		with self.assertRaises(frappe.ValidationError) as raised:
			settings.save()
		message = str(raised.exception)
		self.assertIn("Prepared Reports Above (Invoices)", message)
		self.assertIn("-5", message)
		stored = frappe.db.get_single_value("Loyalty Settings", report_scale.THRESHOLD_FIELD)
		self.assertEqual(stored, rows + 1)  # the refused value was not saved
		self.assertEqual(set(flags().values()), {0})

	def test_daily_and_migrate_hooks_are_registered(self):
		self.assertIn(
			"loyalty_crm.services.report_scale.update_prepared_reports_daily",
			frappe.get_hooks("scheduler_events")["daily"],
		)
		for table, _columns in report_scale.INDEXES:
			self.assertTrue(report_scale.has_customer_day_index(table), table)


class TestPreparedRun(FrappeTestCase):
	"""A few customers in a group of their own, so the report's rows are only theirs."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.group = make_customer_group("LCRM Scale")
		cls.start = add_days(nowdate(), -200)
		cls.customers = []
		for k in range(3):
			customer = make_customer("LCRM Scale")
			frappe.db.set_value("Customer", customer, "customer_group", cls.group)
			cls.customers.append(customer)
			for offset in range(0, 150, 40 + 20 * k):
				sales_invoice(customer, rate=50 + 10 * k, posting_date=add_days(cls.start, offset + k))
		# a return on a later day and two invoices on one day: netted per customer and day
		original = sales_invoice(cls.customers[0], rate=80, posting_date=add_days(cls.start, 160))
		sales_return(original, posting_date=add_days(cls.start, 170))
		sales_invoice(cls.customers[1], rate=30, posting_date=add_days(cls.start, 160))
		sales_invoice(cls.customers[1], rate=45, posting_date=add_days(cls.start, 160))
		cls.filters = {
			"company": COMPANY,
			"customer_group": cls.group,
			"from_date": str(cls.start),
			"to_date": nowdate(),
			"period": "Month",
		}
		frappe.db.set_value("Report", "Customer Retention", "prepared_report", 1)

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		super().tearDownClass()

	def test_desk_call_computes_nothing_and_generate_enqueues(self):
		with mock.patch.object(customer_retention, "execute", wraps=customer_retention.execute) as execute:
			answer = run("Customer Retention", filters=json.dumps(self.filters))
		execute.assert_not_called()
		self.assertTrue(answer["prepared_report"])
		self.assertIsNone(answer["doc"])  # nothing prepared yet for these filters
		self.assertNotIn("result", answer)

		with mock.patch.object(prepared_report, "enqueue") as enqueue:
			name = prepared_report.make_prepared_report("Customer Retention", json.dumps(self.filters))[
				"name"
			]
		enqueue.assert_called_once()
		self.assertIs(enqueue.call_args.args[0], prepared_report.generate_report)
		self.assertEqual(enqueue.call_args.kwargs["queue"], "long")
		self.assertEqual(enqueue.call_args.kwargs["prepared_report"], name)
		self.assertEqual(frappe.db.get_value("Prepared Report", name, "status"), "Queued")

	def test_prepared_result_has_the_rows_of_a_direct_run(self):
		direct = run("Customer Retention", filters=json.dumps(self.filters), ignore_prepared_report=True)
		self.assertEqual(sum(row["cohort_size"] for row in direct["result"]), 3)
		with mock.patch.object(prepared_report, "enqueue"):
			name = prepared_report.make_prepared_report("Customer Retention", json.dumps(self.filters))[
				"name"
			]
		with mock.patch.object(prepared_report, "update_job_id"):  # it commits, to show "Started"
			prepared_report.generate_report(name)  # what the background job runs
		self.assertEqual(frappe.db.get_value("Prepared Report", name, "status"), "Completed")

		answer = run("Customer Retention", filters=json.dumps(self.filters))
		self.assertTrue(answer["prepared_report"])
		self.assertEqual(answer["doc"].name, name)
		sent = json.loads(frappe.as_json(direct))  # the stored file is JSON: compare like with like
		self.assertEqual(answer["result"], sent["result"])
		self.assertEqual(
			[c["fieldname"] for c in answer["columns"]], [c["fieldname"] for c in sent["columns"]]
		)
		self.assertEqual(answer["report_summary"], sent["report_summary"])
		as_of = next(card for card in answer["report_summary"] if card["label"] == "Data As Of")
		self.assertEqual(getdate(as_of["value"]), getdate(self.filters["to_date"]))

	def test_indexed_read_equals_the_plain_aggregate(self):
		filters = clv.with_defaults(self.filters)
		frame = clv.fetch_transactions(filters)
		rows = frappe.db.sql(
			"""select customer, posting_date, sum(base_net_total) from `tabSales Invoice` ignore index (lcrm_customer_days)
			where docstatus = 1 and is_consolidated = 0 and company = %(company)s
				and posting_date between %(from_date)s and %(to_date)s and customer in %(customers)s
			group by customer, posting_date""",
			{**filters, "customers": tuple(self.customers)},
		)
		plain = pd.DataFrame.from_records(rows, columns=["customer", "date", "amount"])
		plain["date"] = pd.to_datetime(plain["date"])
		plain["amount"] = plain["amount"].astype("float64")
		key = ["customer", "date"]
		ours = frame[frame["customer"].isin(self.customers)].sort_values(key).reset_index(drop=True)
		pd.testing.assert_frame_equal(ours, plain.sort_values(key).reset_index(drop=True))
		self.assertIn(-80.0, ours["amount"].tolist())  # the return's own day


class TestAsOfCards(FrappeTestCase):
	"""Prepared results show the summary but not the message: the as-of date must be a card."""

	def tearDown(self):
		frappe.db.rollback()

	def test_stored_segments_are_as_of_their_last_refresh(self):
		from loyalty_crm.loyalty_crm.report.customer_segments.customer_segments import execute

		segment = frappe.get_all("Customer Segment", pluck="name", limit=1)[0]
		customer = make_customer("LCRM Scale")
		frappe.get_doc(
			{
				"doctype": "Customer Segment Membership",
				"customer": customer,
				"segment": segment,
				"company": COMPANY,
			}
		).insert(ignore_permissions=True)
		frappe.db.set_value("Customer Segment", segment, "last_refreshed", "2026-01-15 03:00:00")
		cards = execute({"company": COMPANY, "segment": segment})[4]
		as_of = [card["value"] for card in cards if card["label"] == "Data As Of"]
		self.assertEqual(as_of, [getdate("2026-01-15")])  # not today: the day the memberships were written

	def test_churn_risk_is_as_of_the_latest_scoring(self):
		from loyalty_crm.loyalty_crm.report.churn_risk.churn_risk import execute

		company = "_Test Company 1"
		for days_ago in (9, 2):
			customer = make_customer("LCRM Scale")
			frappe.get_doc(
				{
					"doctype": "Churn Score",
					"customer": customer,
					"company": company,
					"risk_band": "High",
					"score": 0.6,
					"scored_on": add_days(nowdate(), -days_ago),
				}
			).insert(ignore_permissions=True)
		columns, data, message, chart, cards = execute({"company": company})
		scored = [card["value"] for card in cards if card["label"] == "Scored On"]
		self.assertEqual(scored, [max(getdate(row.scored_on) for row in data)])
		self.assertGreaterEqual(scored[0], getdate(add_days(nowdate(), -2)))
