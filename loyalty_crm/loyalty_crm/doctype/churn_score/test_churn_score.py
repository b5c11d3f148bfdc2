# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Churn on a real site: train and score on submitted invoices, write changes only, keep the old model.

One population of real ERPNext invoices is built once for the class (about 220 submitted Sales
Invoices, a credit note, a cancelled invoice and two POS Invoices consolidated by a POS
closing); every test runs inside a savepoint that is rolled back, and the class's data is
rolled back at the end. Horizon: 30 days, so five months of history give several cutoffs.
"""

from unittest.mock import patch

import frappe
import pandas as pd
from erpnext.accounts.doctype.pos_invoice.test_pos_invoice import create_pos_invoice
from erpnext.accounts.doctype.pos_invoice_merge_log.pos_invoice_merge_log import consolidate_pos_invoices
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate, nowdate

from loyalty_crm.loyalty_crm.report.churn_risk.churn_risk import execute as churn_risk_report
from loyalty_crm.services import churn, segments
from loyalty_crm.testing import COMPANY, make_customer, sales_invoice, sales_return, set_settings

test_dependencies = ["Sales Invoice", "POS Invoice", "POS Profile"]

HORIZON = 30
SAVEPOINT = "lcrm_churn_test"


def days_ago(days: int) -> str:
	return add_days(nowdate(), -days)


def invoice(customer: str, rate: float, age: int, **args):
	return sales_invoice(customer, rate, posting_date=days_ago(age), set_posting_time=1, **args)


class TestChurnScore(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		set_settings()
		for field, value in {
			"churn_horizon_days": HORIZON,
			"churn_medium_threshold": 0.3,
			"churn_high_threshold": 0.5,
			"churn_critical_threshold": 0.7,
		}.items():
			frappe.db.set_single_value("Loyalty Settings", field, value)
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
		cls.regulars, cls.leavers = [], []
		# Regulars buy about every three weeks, more often than the 30-day horizon, up to the
		# last three weeks; leavers slow down and stop two months or more ago. (With regulars
		# buying every seven weeks, most 30-day windows held no purchase of theirs either, and a
		# fresh site's model rightly found them the likelier to "churn".) Amounts and days vary
		# so no feature is constant.
		for i in range(30):
			customer = make_customer("LCRM Churn Regular")
			for age in (122 - i % 7, 100 - i % 7, 80 - i % 7, 60 - i % 7, 40 - i % 7, 20 - i % 7):
				invoice(customer, 200 + 10 * i, age)
			cls.regulars.append(customer)
		for i in range(26):
			customer = make_customer("LCRM Churn Leaver")
			if i % 2:
				invoice(customer, 300 + 5 * i, 130 - i)
			invoice(customer, 150 + 7 * i, 100 - i)
			cls.leavers.append(customer)

		# Returns net: a purchase long ago and its full return lately. The return day is no purchase.
		cls.returner = make_customer("LCRM Churn Return")
		bought = invoice(cls.returner, 400, 100)
		sales_return(bought, posting_date=days_ago(5))
		# A cancelled invoice is ignored: the last purchase stays 90 days ago.
		cls.cancelled = make_customer("LCRM Churn Cancel")
		invoice(cls.cancelled, 250, 90)
		invoice(cls.cancelled, 260, 3).cancel()
		# Till sales consolidated by POS closing count once, through the POS Invoices.
		cls.till = make_customer("LCRM Churn Till")
		invoice(cls.till, 120, 80)
		cls.consolidate_till_sales(cls.till, (70, 30))

	@classmethod
	def consolidate_till_sales(cls, customer: str, rates: tuple[float, ...]):
		from erpnext.accounts.doctype.pos_closing_entry.test_pos_closing_entry import init_user_and_profile
		from erpnext.accounts.doctype.pos_opening_entry.test_pos_opening_entry import create_opening_entry
		from erpnext.stock.doctype.stock_entry.stock_entry_utils import make_stock_entry

		make_stock_entry(target="_Test Warehouse - _TC", item_code="_Test Item", qty=20, basic_rate=100)
		user, profile = init_user_and_profile()
		create_opening_entry(profile, user.name)
		frappe.set_user("Administrator")
		sales = []
		for rate in rates:
			sale = create_pos_invoice(customer=customer, rate=rate, do_not_submit=1)
			sale.set("payments", [])
			sale.append("payments", {"mode_of_payment": "Cash", "amount": rate})
			sale.save()
			sale.submit()
			sales.append(frappe._dict(pos_invoice=sale.name, customer=customer))
		# ERPNext's merge commits in a `finally`; here that would leave the class's invoices on
		# the site, so the commit waits for the class's rollback instead.
		with patch.object(frappe.local.db, "commit", lambda *args, **kwargs: None):
			consolidate_pos_invoices(pos_invoices=sales)
		consolidated = frappe.db.get_value("POS Invoice", sales[0].pos_invoice, "consolidated_invoice")
		assert frappe.db.get_value("Sales Invoice", consolidated, "is_consolidated") == 1
		cls.till_sales_total = float(sum(rates))

	def setUp(self):
		frappe.db.savepoint(SAVEPOINT)

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.local.lang = "en"
		frappe.db.rollback(save_point=SAVEPOINT)
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")

	def train(self):
		run = churn.train(COMPANY)
		self.assertEqual(run.status, "Success", run.error_message)
		return run

	def stored(self) -> pd.DataFrame:
		rows = frappe.get_all(
			"Churn Score",
			filters={"company": COMPANY},
			fields=["name", "customer", "score", "risk_band", "value_at_risk", "model_run", "modified"],
		)
		return pd.DataFrame([dict(row) for row in rows]).set_index("customer")

	def test_reads_submitted_invoices_netting_returns_ignoring_cancelled_counting_till_once(self):
		frame = churn.company_transactions(COMPANY, nowdate())

		# the same purchases and returns as the segment refresh reads, customer-day by customer-day
		def per_day(rows):
			return rows.groupby(["customer", "date", rows["amount"] < 0])["amount"].sum().sort_index()

		reference = segments.load_transactions(nowdate(), company=COMPANY)
		pd.testing.assert_series_equal(per_day(frame), per_day(reference), check_names=False)
		returner = frame[frame["customer"] == self.returner]
		self.assertAlmostEqual(returner["amount"].sum(), 0.0, places=2)
		self.assertTrue((returner["amount"] < 0).any(), "the return stays its own negative row")
		cancelled = frame[frame["customer"] == self.cancelled]
		self.assertEqual(cancelled["date"].max(), pd.Timestamp(days_ago(90)))
		till = frame[(frame["customer"] == self.till) & (frame["date"] == pd.Timestamp(nowdate()))]
		self.assertAlmostEqual(till["amount"].sum(), self.till_sales_total, places=2)

		run = self.train()
		churn.score(COMPANY)
		stored = frappe.get_all(
			"Churn Score",
			filters={"company": COMPANY, "customer": ("in", [self.returner, self.cancelled, self.till])},
			fields=["customer", "days_since_last_purchase", "model_run"],
		)
		days = {row.customer: row.days_since_last_purchase for row in stored}
		# the return day is not a purchase, the cancelled invoice never happened, the till sold today
		self.assertEqual(days, {self.returner: 100, self.cancelled: 90, self.till: 0})
		self.assertEqual({row.model_run for row in stored}, {run.name})

	def test_training_records_the_backtest_and_a_verified_model_file(self):
		run = self.train()
		self.assertIn(run.chosen_model, ("logistic_regression", "hist_gradient_boosting"))
		self.assertEqual(run.horizon_days, HORIZON)
		self.assertGreaterEqual(run.customers, 56)
		self.assertEqual(getdate(run.data_end), getdate(nowdate()))
		self.assertTrue(run.cutoffs and run.validation_cutoff)
		self.assertEqual(getdate(run.validation_cutoff), getdate(days_ago(HORIZON)))
		for prefix in ("model", "recency"):
			self.assertTrue(0 <= run.get(f"{prefix}_roc_auc") <= 1, prefix)
			self.assertTrue(0 <= run.get(f"{prefix}_brier") <= 1, prefix)
		# BG/NBD may not fit on a few dozen customers: then its baseline is empty, never made up
		metrics = frappe.parse_json(run.metrics_json)
		self.assertEqual(run.bgnbd_roc_auc, metrics["bgnbd_expected"]["roc_auc"])
		self.assertAlmostEqual(run.model_roc_auc, metrics["model"]["roc_auc"], places=6)
		# up to 10 bins (empty ones left out) that hold every validation row between them
		bins = frappe.parse_json(run.calibration)
		self.assertTrue(1 <= len(bins) <= 10)
		validation_rows = frappe.parse_json(run.metrics_json)["validation_rows"]
		self.assertEqual(sum(row["customers"] for row in bins), validation_rows)
		self.assertTrue(frappe.parse_json(run.importances))
		file = frappe.get_doc("File", {"file_url": run.model_file})
		self.assertTrue(file.is_private)
		self.assertEqual(len(run.model_sha256), 64)
		self.assertEqual(churn.load_model(run.name).chosen_, run.chosen_model)

	def test_scores_equal_the_engine_and_a_second_run_writes_nothing(self):
		run = self.train()
		first = churn.score(COMPANY)
		self.assertGreaterEqual(first.customers, 56)
		self.assertEqual(first.inserted, first.customers)

		model = churn.load_model(run.name)
		expected = model.score(
			churn.company_transactions(COMPANY, nowdate()),
			as_of=pd.Timestamp(nowdate()),
			side=churn.side_tables(COMPANY, nowdate()),
			thresholds=(0.3, 0.5, 0.7),
		).set_index("customer")
		stored = self.stored()
		self.assertEqual(sorted(stored.index), sorted(expected.index))
		for customer, row in expected.iterrows():
			self.assertAlmostEqual(stored.at[customer, "score"], row["score"], places=4)
			self.assertEqual(stored.at[customer, "risk_band"], row["band"])
			self.assertAlmostEqual(stored.at[customer, "value_at_risk"], row["value_at_risk"], places=2)
		self.assertEqual(set(stored["model_run"]), {run.name})

		# leavers should look riskier than regulars, or the model learnt nothing from these invoices
		self.assertGreater(
			stored.loc[self.leavers, "score"].mean(), stored.loc[self.regulars, "score"].mean()
		)

		# the Customer shows the band of its main company, the drivers in words and the day scored
		customer = frappe.db.get_value(
			"Customer",
			self.leavers[0],
			["loyalty_crm_churn_risk", "loyalty_crm_churn_drivers", "loyalty_crm_churn_scored_on"],
			as_dict=True,
		)
		self.assertEqual(customer.loyalty_crm_churn_risk, stored.at[self.leavers[0], "risk_band"])
		self.assertEqual(
			customer.loyalty_crm_churn_drivers or "",
			churn.driver_text(expected.at[self.leavers[0], "drivers"]),
		)
		self.assertEqual(getdate(customer.loyalty_crm_churn_scored_on), getdate(nowdate()))

		second = churn.score(COMPANY)
		self.assertEqual((second.writes, second.customers_updated), (0, 0))
		self.assertEqual(self.stored()["modified"].to_dict(), stored["modified"].to_dict())

		# one changed score is the only row rewritten
		frappe.db.set_value("Churn Score", stored.at[self.regulars[0], "name"], "score", 0.0001)
		third = churn.score(COMPANY)
		self.assertEqual((third.inserted, third.updated, third.deleted), (0, 1, 0))

	def test_failed_training_keeps_the_previous_model_and_scores(self):
		good = self.train()
		churn.score(COMPANY)
		before = self.stored()

		# 400 days of horizon need 800 days of history: the engine refuses, the run says why
		frappe.db.set_single_value("Loyalty Settings", "churn_horizon_days", 400)
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
		failed = churn.train(COMPANY)
		self.assertEqual(failed.status, "Failed")
		self.assertIn("800", failed.error_message)
		self.assertFalse(failed.model_file)
		self.assertEqual(churn.active_run(COMPANY), good.name)

		frappe.db.set_single_value("Loyalty Settings", "churn_horizon_days", HORIZON)
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
		result = churn.score(COMPANY)
		self.assertEqual(result.model_run, good.name)
		self.assertEqual(result.writes, 0)
		self.assertEqual(self.stored()["score"].to_dict(), before["score"].to_dict())

	def test_model_file_changed_after_training_is_refused_and_scores_kept(self):
		run = self.train()
		churn.score(COMPANY)
		before = self.stored()
		path = frappe.get_doc("File", {"file_url": run.model_file}).get_full_path()
		with open(path, "ab") as handle:
			handle.write(b"tampered")
		frappe.local.lang = "zh"
		with self.assertRaises(frappe.ValidationError) as raised:
			churn.score(COMPANY)
		self.assertIn(run.name, str(raised.exception))
		self.assertIn("重新训练", str(raised.exception))
		frappe.local.lang = "en"
		self.assertEqual(self.stored()["score"].to_dict(), before["score"].to_dict())

	def test_report_totals_equal_the_stored_rows(self):
		run = self.train()
		churn.score(COMPANY)
		rows = frappe.get_all(
			"Churn Score", filters={"company": COMPANY}, fields=["risk_band", "value_at_risk"]
		)
		columns, data, message, chart, summary = churn_risk_report({"company": COMPANY})
		self.assertEqual(len(data), len(rows))
		per_band = (
			pd.DataFrame([dict(row) for row in rows])
			.groupby("risk_band")["value_at_risk"]
			.agg(["size", "sum"])
		)
		labels = chart["data"]["labels"]
		customers, value = chart["data"]["datasets"]
		for band, counted, total in zip(labels, customers["values"], value["values"], strict=True):
			expected = per_band.loc[band] if band in per_band.index else {"size": 0, "sum": 0}
			self.assertEqual(counted, expected["size"], band)
			self.assertAlmostEqual(total, float(expected["sum"]), places=2)
		cards = {card["label"]: card["value"] for card in summary}
		at_risk = sum(1 for row in rows if row.risk_band in ("High", "Critical"))
		self.assertEqual(cards[frappe._("Customers at High or Critical Risk")], at_risk)
		self.assertAlmostEqual(
			cards[frappe._("Value at Risk")], sum(row.value_at_risk or 0 for row in rows), places=2
		)
		self.assertAlmostEqual(cards[frappe._("Model ROC AUC")], run.model_roc_auc, places=4)

		only_low = churn_risk_report({"company": COMPANY, "risk_band": "Low"})[1]
		self.assertEqual(len(only_low), sum(1 for row in rows if row.risk_band == "Low"))

	def test_churn_risk_band_segment_holds_the_scored_customers_of_its_band(self):
		self.train()
		churn.score(COMPANY)
		scored = frappe.get_all(
			"Churn Score", filters={"company": COMPANY}, fields=["customer", "risk_band"], as_list=True
		)
		band = pd.Series(dict(scored)).value_counts().index[0]  # the fullest band
		segment = frappe.get_doc(
			{
				"doctype": "Customer Segment",
				"segment_name": f"LCRM Churn {frappe.generate_hash(length=6)}",
				"method": "Churn Risk Band",
				"churn_risk_band": band,
				"company": COMPANY,
			}
		).insert(ignore_permissions=True)
		segments.refresh_segments(segment=segment.name)
		members = set(
			frappe.get_all("Customer Segment Membership", {"segment": segment.name}, pluck="customer")
		)
		self.assertEqual(members, {customer for customer, risk in scored if risk == band})
		# leavers silent for months have no purchase in a short window, yet stay members
		frappe.db.set_single_value("Loyalty Settings", "segment_window_days", 20)
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
		segments.refresh_segments(segment=segment.name)
		again = set(
			frappe.get_all("Customer Segment Membership", {"segment": segment.name}, pluck="customer")
		)
		self.assertEqual(again, members)

		missing_band = frappe.get_doc(
			{"doctype": "Customer Segment", "segment_name": "LCRM Churn no band", "method": "Churn Risk Band"}
		)
		self.assertRaises(frappe.ValidationError, missing_band.insert, ignore_permissions=True)
