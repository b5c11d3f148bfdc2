# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The nightly pipeline on a real site: same final state as the separate stages, changes only,
a failed chunk retried alone, a run in progress left alone, a worker killed mid-chunk.

The pipeline commits (run records, one transaction per chunk) and real RQ workers only see
committed rows, so this class commits its data: a company of its own with ~300 customers and
their submitted invoices from the demo shop (bulk SQL: the pipeline reads only the invoice
totals), its segments and a churn model. Everything the runs write about other customers of
the test site is put back afterwards (``SiteState``), and the class's own rows are deleted.
"""

import contextlib
import os
import signal
import subprocess
import time
from datetime import datetime, timedelta
from unittest.mock import patch

import frappe
import pandas as pd
from frappe import _
from frappe.installer import update_site_config
from frappe.tests.utils import FrappeTestCase
from frappe.utils import get_bench_path, now_datetime

from loyalty_crm.services import churn, nightly, segments, tiers
from loyalty_crm.testing import set_tier_ladder, set_tier_settings

COMPANY = "_LCRM Nightly Co"
PREFIX = "LCRM-NT-"
SEGMENT_PREFIX = "LCRM NT "
CHUNK = 60
SEGMENT_FIELDS = set(segments.CUSTOMER_FIELDS)
RESULT_TABLES = ("Customer Segment Membership", "Churn Score", "Loyalty Tier History")
CUSTOMER_FIELDS = (
	"loyalty_crm_tier",
	"loyalty_crm_tier_since",
	"loyalty_crm_below_since",
	"loyalty_crm_grace_ends",
	"loyalty_crm_segment",
	"loyalty_crm_rfm_segment",
	"loyalty_crm_r_score",
	"loyalty_crm_f_score",
	"loyalty_crm_m_score",
	"loyalty_crm_lifecycle_stage",
	"loyalty_crm_abc_class",
	"loyalty_crm_clv_band",
	"loyalty_crm_churn_risk",
	"loyalty_crm_churn_drivers",
	"loyalty_crm_churn_scored_on",
)


class SiteState:
	"""What the pipeline writes about every customer, saved before and put back after the class."""

	def __init__(self):
		self.rows = {
			table: frappe.db.sql(f"select * from `tab{table}`", as_dict=True) for table in RESULT_TABLES
		}
		fields = ", ".join(f"`{f}`" for f in CUSTOMER_FIELDS)
		self.customers = frappe.db.sql(f"select name, {fields} from `tabCustomer`", as_dict=True)
		self.segments = frappe.db.sql("select name, member_count, last_refreshed from `tabCustomer Segment`")
		self.notice = frappe.db.get_default(tiers.NOTICE_SENT_KEY)
		self.settings = frappe.db.sql(
			"select * from `tabSingles` where doctype = 'Loyalty Settings'", as_dict=True
		)
		self.ladder = frappe.db.sql("select * from `tabLoyalty Tier`", as_dict=True)

	def restore(self):
		for table, rows in self.rows.items():
			frappe.db.sql(f"delete from `tab{table}`")
			if rows:
				frappe.db.bulk_insert(table, list(rows[0]), [tuple(row.values()) for row in rows])
		for row in self.customers:
			values = {f: row[f] for f in CUSTOMER_FIELDS}
			frappe.db.set_value("Customer", row["name"], values, update_modified=False)
		for name, count, refreshed in self.segments:
			frappe.db.set_value(
				"Customer Segment",
				name,
				{"member_count": count, "last_refreshed": refreshed},
				update_modified=False,
			)
		frappe.db.set_default(tiers.NOTICE_SENT_KEY, self.notice)
		frappe.db.sql("delete from `tabSingles` where doctype = 'Loyalty Settings'")
		for row in self.settings:
			frappe.db.sql(
				"insert into `tabSingles` (doctype, field, value) values (%s, %s, %s)",
				(row.doctype, row.field, row.value),
			)
		frappe.db.sql("delete from `tabLoyalty Tier`")
		if self.ladder:
			frappe.db.bulk_insert(
				"Loyalty Tier", list(self.ladder[0]), [tuple(row.values()) for row in self.ladder]
			)
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
		frappe.db.commit()


def seed():
	"""The company, its customers and invoices (from the demo shop), segments and a churn model."""
	from loyalty_crm.offline.demo_data import demo_transactions

	now, admin = now_datetime(), "Administrator"
	currency = frappe.db.get_value("Company", {}, "default_currency") or "INR"
	frappe.db.bulk_insert(
		"Company",
		["name", "creation", "modified", "owner", "modified_by", "company_name", "abbr", "default_currency"],
		[(COMPANY, now, now, admin, admin, COMPANY, "LNT", currency)],
	)
	frame = demo_transactions(n_customers=300, seed=5, start="2024-10-01")
	frame["customer"] = PREFIX + frame["customer"].str.slice(5)
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	territory = frappe.db.get_value("Territory", {"is_group": 0}, "name")
	names = sorted(frame["customer"].unique())
	frappe.db.bulk_insert(
		"Customer",
		["name", "creation", "modified", "owner", "modified_by", "customer_name", "customer_type"]
		+ ["customer_group", "territory"],
		[(n, now, now, admin, admin, n, "Individual", group, territory) for n in names],
	)
	rows = []
	for i, (customer, day, amount) in enumerate(
		frame[["customer", "date", "amount"]].itertuples(index=False)
	):
		rows.append(
			(f"{PREFIX}SI-{i:06d}", now, now, admin, admin, customer, customer, COMPANY, day.date())
			+ (1, int(amount < 0), 0, currency, float(amount), float(amount), float(amount) * 1.1)
		)
	frappe.db.bulk_insert(
		"Sales Invoice",
		["name", "creation", "modified", "owner", "modified_by", "customer", "customer_name", "company"]
		+ ["posting_date", "docstatus", "is_return", "is_consolidated", "currency", "base_net_total"]
		+ ["net_total", "base_grand_total"],
		rows,
	)
	for name, values in {
		"Champions": {"method": "RFM Segment", "rfm_segment": "Champions", "priority": 1},
		"ABC A": {"method": "ABC Class", "abc_class": "A", "priority": 2},
		"At Risk": {"method": "Lifecycle Stage", "lifecycle_stage": "At Risk", "priority": 3},
		"High Churn": {"method": "Churn Risk Band", "churn_risk_band": "High", "priority": 4},
	}.items():
		frappe.get_doc(
			{
				"doctype": "Customer Segment",
				"segment_name": SEGMENT_PREFIX + name,
				"company": COMPANY,
				**values,
			}
		).insert(ignore_permissions=True)
	frappe.db.commit()
	as_of = frame["date"].max().date()
	run = churn.train(COMPANY, as_of=as_of, commit=True)
	assert run.status == "Success", run.error_message
	return as_of, names


def cleanup():
	frappe.db.sql("delete from `tabSales Invoice` where name like %s", PREFIX + "%")
	for table in RESULT_TABLES:
		frappe.db.sql(f"delete from `tab{table}` where customer like %s", PREFIX + "%")
	frappe.db.sql("delete from `tabCustomer` where name like %s", PREFIX + "%")
	frappe.db.sql("delete from `tabCustomer Segment` where name like %s", SEGMENT_PREFIX + "%")
	for run in frappe.get_all("Churn Model Run", {"company": COMPANY}, pluck="name"):
		for file in frappe.get_all(
			"File", {"attached_to_doctype": "Churn Model Run", "attached_to_name": run}, pluck="name"
		):
			frappe.delete_doc("File", file, force=True, ignore_permissions=True)
	frappe.db.sql("delete from `tabChurn Model Run` where company = %s", COMPANY)
	frappe.db.sql("delete from `tabLoyalty Nightly Chunk` where parent like 'NIGHTLY-%'")
	frappe.db.sql("delete from `tabLoyalty Nightly Run`")
	frappe.db.sql("delete from `tabCompany` where name = %s", COMPANY)
	frappe.db.commit()


def state(customers: list[str]) -> dict[str, pd.DataFrame]:
	"""What the stages wrote about these customers, comparable between runs."""
	values = {"customers": tuple(customers)}
	fields = ", ".join(f"`{f}`" for f in CUSTOMER_FIELDS)
	out = {
		"customers": pd.DataFrame(
			frappe.db.sql(
				f"select name, {fields} from `tabCustomer` where name in %(customers)s order by name", values
			),
			columns=["name", *CUSTOMER_FIELDS],
		),
		"memberships": pd.DataFrame(
			frappe.db.sql(
				f"""select customer, segment, company, {", ".join(segments.SNAPSHOT)}
				from `tabCustomer Segment Membership` where customer in %(customers)s
				order by customer, segment, company""",
				values,
			),
			columns=["customer", "segment", "company", *segments.SNAPSHOT],
		),
		"scores": pd.DataFrame(
			frappe.db.sql(
				"""select customer, company, score, risk_band, drivers, predicted_clv, value_at_risk
				from `tabChurn Score` where customer in %(customers)s order by customer, company""",
				values,
			),
			columns=[
				"customer",
				"company",
				"score",
				"risk_band",
				"drivers",
				"predicted_clv",
				"value_at_risk",
			],
		),
		"tier_history": pd.DataFrame(
			frappe.db.sql(
				"""select customer, `change`, from_tier, to_tier, change_date, metric_value
				from `tabLoyalty Tier History` where customer in %(customers)s
				order by customer, change_date, to_tier""",
				values,
			),
			columns=["customer", "change", "from_tier", "to_tier", "change_date", "metric_value"],
		),
	}
	return {key: normal(frame) for key, frame in out.items()}


def normal(frame: pd.DataFrame) -> pd.DataFrame:
	"""Text of every value (None as ""), so frames read at different times compare by value."""
	return frame.astype(object).where(frame.notna(), "").astype(str).astype(object).reset_index(drop=True)


def forget(customers: list[str]) -> None:
	"""Drop what the stages wrote about these customers, so the next run has to write it all."""
	values = {"customers": tuple(customers)}
	for table in RESULT_TABLES:
		frappe.db.sql(f"delete from `tab{table}` where customer in %(customers)s", values)
	sets = ", ".join(f"`{f}` = null" for f in CUSTOMER_FIELDS if not f.endswith("_score"))
	frappe.db.sql(
		f"""update `tabCustomer` set {sets}, loyalty_crm_r_score = 0, loyalty_crm_f_score = 0,
		loyalty_crm_m_score = 0 where name in %(customers)s""",
		values,
	)
	frappe.db.commit()


class TestLoyaltyNightlyRun(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cleanup()
		cls.site_state = SiteState()
		# the settings the runs depend on, whatever earlier tests left (SiteState puts them back)
		set_tier_settings()
		if not tiers.active_ladder():
			set_tier_ladder()
		frappe.db.set_single_value("Loyalty Settings", "enable_churn_scoring", 1)
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
		cls.as_of, cls.customers = seed()
		# The reference: the stages run one after the other, as before the pipeline.
		churn.score(COMPANY, as_of=cls.as_of, commit=True)
		segments.refresh_segments(as_of=cls.as_of, commit=True)
		tiers.evaluate_all(cls.as_of, commit=True)
		cls.reference = state(cls.customers)

	@classmethod
	def tearDownClass(cls):
		cleanup()
		cls.site_state.restore()
		super().tearDownClass()

	def setUp(self):
		# a run a failed test left "in progress" must not make the next test's run a no-op
		frappe.db.sql(
			f"update `tab{nightly.RUN}` set status = 'Abandoned' where status in %s", (nightly.ACTIVE,)
		)
		forget(self.customers)
		self.chunk = patch.object(nightly, "CHUNK", CHUNK)
		self.chunk.start()

	def tearDown(self):
		self.chunk.stop()
		frappe.db.rollback()

	def assert_reference(self, message: str):
		now = state(self.customers)
		for key, frame in self.reference.items():
			pd.testing.assert_frame_equal(now[key], frame, obj=f"{message}: {key}")

	def chunk_rows(self, run: str, stage: str | None = None) -> list[dict]:
		filters = {"parent": run}
		if stage:
			filters["stage"] = stage
		return frappe.get_all(
			"Loyalty Nightly Chunk",
			filters=filters,
			fields=["chunk_no", "stage", "status", "attempts", "writes", "first_customer", "last_customer"],
			order_by="chunk_no",
		)

	def test_same_final_state_as_the_separate_stages_then_a_second_run_writes_nothing(self):
		self.assertTrue(len(self.reference["memberships"]) and len(self.reference["scores"]))
		self.assertTrue((self.reference["customers"]["loyalty_crm_tier"] != "").all())
		self.assertTrue((self.reference["customers"]["loyalty_crm_churn_risk"] != "").any())

		first = nightly.run(as_of=self.as_of, inline=True)
		self.assert_reference("nightly run")
		run = frappe.get_doc(nightly.RUN, first.run)
		self.assertEqual(run.status, "Completed", run.error)
		total = frappe.db.count("Customer")
		self.assertEqual(run.customers, total)
		stages = ("tiers", "churn", "segments")  # in the order they are computed and queued
		self.assertEqual(run.chunks_total, len(stages) * -(-total // CHUNK))
		self.assertEqual(
			[row.stage for row in self.chunk_rows(first.run)],
			[s for s in stages for _ in range(-(-total // CHUNK))],
		)
		self.assertEqual(run.chunks_done, run.chunks_total)
		self.assertGreater(run.writes, 0)
		self.assertEqual(run.read_source, "primary")
		self.assertTrue({"Read", "Segments", "Tiers", "Churn scores"} <= set(first.timings))

		second = nightly.run(as_of=self.as_of, inline=True)
		again = frappe.get_doc(nightly.RUN, second.run)
		self.assertEqual(again.status, "Completed")
		self.assertEqual(again.writes, 0)
		self.assertEqual({row.writes for row in self.chunk_rows(second.run)}, {0})
		self.assert_reference("second run")

	def test_a_failing_chunk_is_retried_alone_and_one_failing_for_good_is_reported_and_rerun(self):
		real = nightly.apply_chunk
		calls = []

		def flaky(payload):
			ours = self.customers[0] in payload["customers"]
			calls.append(ours)
			if ours and calls.count(True) == 1:  # the first chunk holding our first customer, once
				raise frappe.db.InternalError("Deadlock found when trying to get lock (simulated)")
			return real(payload)

		with patch.object(nightly, "apply_chunk", flaky):
			result = nightly.run(as_of=self.as_of, inline=True)
		rows = self.chunk_rows(result.run)
		retried = [row for row in rows if row.attempts != 1]
		self.assertEqual(len(retried), 1)
		ours = retried[0]
		self.assertEqual((ours.status, ours.attempts), ("Done", 2))
		self.assertTrue(ours.first_customer <= self.customers[0] <= ours.last_customer)
		self.assertEqual({row.status for row in rows}, {"Done"})
		self.assertEqual(frappe.db.get_value(nightly.RUN, result.run, "status"), "Completed")
		self.assert_reference("after a retried chunk")

		# A segments chunk that keeps failing after writing part of its rows: the run says so,
		# its customers keep their stored memberships and segment fields (no half-written
		# chunk), the other stages of the same customers are written, and the next run
		# completes it.
		forget(self.customers)
		before = state(self.customers)

		def broken(payload):
			if payload["stage"] == "segments" and self.customers[0] in payload["customers"]:
				segments.write_memberships(
					payload["memberships"], payload["segment_names"], customers=payload["customers"]
				)
				raise ValueError("simulated failure after writing part of the chunk")
			return real(payload)

		with patch.object(nightly, "apply_chunk", broken):
			failed = nightly.run(as_of=self.as_of, inline=True)
		run = frappe.get_doc(nightly.RUN, failed.run)
		self.assertEqual(run.status, "Completed with Errors")
		self.assertEqual(run.chunks_failed, 1)
		bad = next(row for row in run.chunks if row.status == "Failed")
		self.assertEqual((bad.stage, bad.attempts), ("segments", nightly.MAX_ATTEMPTS))
		self.assertIn(str(bad.chunk_no), run.summary)
		self.assertIn("simulated failure", bad.error)
		inside = [c for c in self.customers if bad.first_customer <= c <= bad.last_customer]
		self.assertIn(self.customers[0], inside)
		untouched = state(inside)
		self.assertTrue(untouched["memberships"].empty, "the failed chunk's memberships must not be written")
		segment_fields = ["name", *(f for f in CUSTOMER_FIELDS if f in SEGMENT_FIELDS)]
		pd.testing.assert_frame_equal(
			untouched["customers"][segment_fields],
			normal(before["customers"][before["customers"]["name"].isin(inside)])[segment_fields],
		)
		reference = self.reference["scores"]
		self.assertEqual(len(untouched["scores"]), int(reference["customer"].isin(inside).sum()))
		nightly.run(as_of=self.as_of, inline=True)
		self.assert_reference("re-run after a failed chunk")

	def test_one_job_drains_the_queued_chunks_and_a_failed_attempt_goes_to_the_back(self):
		"""Queued (not inline), no worker: one drain job, run here, applies every chunk in turn,
		the failed attempt last, and the run ends as if the stages ran alone."""
		from loyalty_crm.services import nightly_drain

		clear_long_queue()
		result = nightly.run(as_of=self.as_of, inline=False)
		rows = self.chunk_rows(result.run)
		self.assertTrue(rows)
		self.assertEqual({row.status for row in rows}, {"Queued"})
		queued_jobs = get_long_queue().jobs
		self.assertEqual(len(queued_jobs), len(rows))  # every worker on `long` can join in
		self.assertEqual({job.kwargs["kwargs"]["run_name"] for job in queued_jobs}, {result.run})
		clear_long_queue()  # no worker of a later test may take them

		real, order = nightly.apply_chunk, []

		def flaky(payload):
			number = len(order) + 1
			order.append((payload["stage"], payload["customers"][0]))
			if number == 1:
				raise frappe.db.InternalError("Lock wait timeout exceeded (simulated)")
			return real(payload)

		with patch.object(nightly, "apply_chunk", flaky):
			taken = nightly_drain.drain(result.run)
		clear_long_queue()  # the retry queued a job of its own too
		self.assertEqual(taken, len(rows) + 1)
		self.assertEqual(order[-1], order[0])  # the failed first chunk, again, after all the others
		rows = self.chunk_rows(result.run)
		self.assertEqual({row.status for row in rows}, {"Done"})
		self.assertEqual(sorted(row.attempts for row in rows), [1] * (len(rows) - 1) + [2])
		self.assertEqual(frappe.db.get_value(nightly.RUN, result.run, "status"), "Completed")
		self.assertEqual(frappe.cache.llen(nightly_drain.todo_key(result.run)), 0)
		self.assert_reference("chunks drained by one job")

	def test_a_run_in_progress_is_left_alone_and_a_silent_one_is_abandoned(self):
		runs = frappe.db.count(nightly.RUN)
		busy = frappe.get_doc(
			{"doctype": nightly.RUN, "as_of": self.as_of, "status": "Writing", "heartbeat": now_datetime()}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		result = nightly.run(as_of=self.as_of, inline=True)
		self.assertTrue(result.skipped)
		self.assertEqual(result.run, busy.name)
		self.assertIn(busy.name, result.message)
		self.assertEqual(frappe.db.count(nightly.RUN), runs + 1)
		with patch("frappe.enqueue") as enqueue:
			message = nightly.enqueue_nightly(as_of=self.as_of)
		enqueue.assert_not_called()
		self.assertIn(busy.name, message)

		frappe.db.set_value(
			nightly.RUN,
			busy.name,
			"heartbeat",
			frappe.utils.add_to_date(now_datetime(), hours=-2),
			update_modified=False,
		)
		frappe.db.commit()
		result = nightly.run(as_of=self.as_of, inline=True)
		self.assertFalse(result.skipped)
		self.assertEqual(frappe.db.get_value(nightly.RUN, busy.name, "status"), "Abandoned")
		self.assertEqual(frappe.db.get_value(nightly.RUN, result.run, "status"), "Completed")
		self.assert_reference("after abandoning a silent run")

	def test_a_coordinator_job_a_killed_worker_left_started_blocks_queueing_only_while_fresh(self):
		"""RQ keeps a killed worker's job "started" until its timeout, an hour; the run it started is
		abandoned after STALE_MINUTES of silence, and from then on queueing must work again."""
		from frappe.utils.background_jobs import create_job_id, get_job, get_queue
		from rq.job import Job, JobStatus

		queue = get_queue("long")
		left = Job.create("frappe.ping", id=create_job_id(nightly.JOB_ID), connection=queue.connection)
		left.origin = queue.name
		left.started_at = datetime.utcnow() - timedelta(minutes=1)
		left.save()
		left.set_status(JobStatus.STARTED)
		try:
			self.assertIsNone(nightly.in_progress())
			with patch("frappe.enqueue") as enqueue:
				message = nightly.enqueue_nightly(as_of=self.as_of)
			enqueue.assert_not_called()
			self.assertIn(_("queued"), message)

			left.started_at = datetime.utcnow() - timedelta(minutes=nightly.STALE_MINUTES + 1)
			left.save()
			self.assertEqual(nightly.enqueue_nightly(as_of=self.as_of), _("Nightly recompute queued"))
			queued = get_job(nightly.JOB_ID)
			self.assertEqual(queued.get_status(), JobStatus.QUEUED)
			self.assertEqual(queued.func_name, "frappe.utils.background_jobs.execute_job")
			self.assertEqual(queued.kwargs["method"], "loyalty_crm.services.nightly.coordinator_job")
			self.assertIn(queued.id, queue.get_job_ids())
		finally:  # the queued coordinator has the same id: no worker of a later test may run it
			with contextlib.suppress(Exception):
				Job.fetch(left.id, connection=queue.connection).delete()

	def test_a_worker_killed_in_the_middle_of_a_chunk_leaves_it_unwritten_and_a_rerun_completes(self):
		before = state(self.customers)
		everyone = sorted(frappe.get_all("Customer", pluck="name"))
		held = everyone.index(self.customers[0]) // CHUNK + 1  # its tiers chunk: the first stage
		update_site_config(nightly.HOLD_KEY, held)
		update_site_config(nightly.HOLD_KEY + "_seconds", 120)
		frappe.cache.delete_value(nightly.HELD_KEY)
		clear_long_queue()
		worker, result = start_worker(), None
		try:
			result = nightly.run(as_of=self.as_of, inline=False)
			wait_for(
				lambda: frappe.cache.get_value(nightly.HELD_KEY, expires=True) == held,
				"the chunk to be held before its commit",
			)
			kill(worker)
		finally:
			update_site_config(nightly.HOLD_KEY, None)
			update_site_config(nightly.HOLD_KEY + "_seconds", None)
			kill(worker)
			forget_jobs_of(result and result.run)
		frappe.db.rollback()
		rows = {row.chunk_no: row for row in self.chunk_rows(result.run)}
		self.assertEqual({rows[n].status for n in range(1, held)}, {"Done"} if held > 1 else set())
		self.assertEqual(rows[held].status, "Queued")
		self.assertEqual(frappe.db.get_value(nightly.RUN, result.run, "status"), "Writing")
		killed = [c for c in self.customers if rows[held].first_customer <= c <= rows[held].last_customer]
		self.assertTrue(killed)
		# the killed chunk's customers show what was stored before: nothing half-written
		now = state(killed)
		for key, frame in before.items():
			subset = frame[frame.iloc[:, 0].isin(killed)].reset_index(drop=True)
			pd.testing.assert_frame_equal(now[key], subset, obj=key)

		# The worker is gone; the run still looks in progress, so a plain re-run does nothing and
		# says so, and a forced re-run on a fresh worker completes with the same final state.
		self.assertTrue(nightly.run(as_of=self.as_of, inline=False).skipped)
		worker = start_worker()
		try:
			again = nightly.run(as_of=self.as_of, inline=False, force=True)
			wait_for(
				lambda: frappe.db.get_value(nightly.RUN, again.run, "status") not in nightly.ACTIVE,
				"the forced re-run to finish",
			)
		finally:
			kill(worker)
		self.assertEqual(frappe.db.get_value(nightly.RUN, again.run, "status"), "Completed")
		self.assertEqual(frappe.db.get_value(nightly.RUN, result.run, "status"), "Abandoned")
		self.assert_reference("forced re-run after the kill")


class TestNightlyRunOnReplica(TestLoyaltyNightlyRun):
	"""The same pipeline with the site's read replica configured: a real second MariaDB loaded
	with a snapshot of the site after the seeding. The read goes there; every write (chunks,
	run record) lands on the primary, and the final state is the reference."""

	@classmethod
	def setUpClass(cls):
		from loyalty_crm.services.test_replica import skip_without_mariadbd
		from loyalty_crm.testing_replica import start_replica

		super().setUpClass()
		skip_without_mariadbd()
		frappe.db.commit()
		cls.server = start_replica()

	@classmethod
	def tearDownClass(cls):
		if getattr(cls, "server", None):
			cls.server.stop()
		super().tearDownClass()

	# the other scenarios do not depend on where the read goes; run the one that does
	test_a_failing_chunk_is_retried_alone_and_one_failing_for_good_is_reported_and_rerun = None
	test_one_job_drains_the_queued_chunks_and_a_failed_attempt_goes_to_the_back = None
	test_a_coordinator_job_a_killed_worker_left_started_blocks_queueing_only_while_fresh = None
	test_a_run_in_progress_is_left_alone_and_a_silent_one_is_abandoned = None
	test_a_worker_killed_in_the_middle_of_a_chunk_leaves_it_unwritten_and_a_rerun_completes = None
	test_same_final_state_as_the_separate_stages_then_a_second_run_writes_nothing = None

	def test_the_read_goes_to_the_replica_and_every_write_to_the_primary(self):
		from loyalty_crm.testing_replica import replica_configured

		replica_runs = int(self.server.sql(f"select count(*) from `tab{nightly.RUN}`")[0][0])
		with replica_configured(self.server):
			result = nightly.run(as_of=self.as_of, inline=True)
		run = frappe.get_doc(nightly.RUN, result.run)
		self.assertEqual((run.status, run.read_source, run.read_note), ("Completed", "replica", None))
		self.assert_reference("nightly run read from the replica")
		self.assertGreater(run.writes, 0)
		# nothing was written on the replica: no run record, no membership of our customers
		self.assertEqual(int(self.server.sql(f"select count(*) from `tab{nightly.RUN}`")[0][0]), replica_runs)
		on_replica = self.server.sql(
			f"select count(*) from `tabCustomer Segment Membership` where customer like '{PREFIX}%'"
		)
		self.assertEqual(int(on_replica[0][0]), len(self.reference["memberships"]))

		# replica down: the run reads the primary, says why, and ends the same
		self.server.shutdown()
		forget(self.customers)
		with replica_configured(self.server):
			fallback = nightly.run(as_of=self.as_of, inline=True)
		run = frappe.get_doc(nightly.RUN, fallback.run)
		self.assertEqual((run.status, run.read_source), ("Completed", "primary"))
		self.assertTrue(run.read_note)
		self.assertIn(run.read_note, run.notes)
		self.assert_reference("nightly run with the replica down")


def get_long_queue():
	from frappe.utils.background_jobs import get_queue

	return get_queue("long")


def clear_long_queue() -> None:
	"""Empty the bench's long queue before a real worker starts on it. No worker runs during
	tests, so jobs earlier tests queued pile up from run to run (seen on CI: the worker was
	still working through them when the wait for our chunk ran out), and they are not this
	test's to run."""
	get_long_queue().empty()


def forget_jobs_of(run: str | None) -> None:
	"""Delete the jobs of ``run`` the killed worker left "started" in Redis (RQ would keep them
	for the job timeout; they are not this test's to leave behind)."""
	from frappe.utils.background_jobs import get_queue
	from rq.job import Job

	if not run:
		return
	queue = get_queue("long")
	for job_id in queue.started_job_registry.get_job_ids():
		with contextlib.suppress(Exception):
			job = Job.fetch(job_id, connection=queue.connection)
			if (job.kwargs.get("kwargs") or {}).get("run_name") == run:
				job.delete()


def start_worker() -> subprocess.Popen:
	"""A real RQ worker of the long queue for this bench, in its own process group."""
	bench = get_bench_path()
	return subprocess.Popen(
		[os.path.join(bench, "env", "bin", "python"), "-m", "frappe.utils.bench_helper", "frappe", "worker"]
		+ ["--queue", "long"],
		cwd=os.path.join(bench, "sites"),
		stdout=open(os.environ.get("LCRM_WORKER_LOG", os.devnull), "ab"),
		stderr=subprocess.STDOUT,
		start_new_session=True,
		env={**os.environ, "PYTHONUNBUFFERED": "1"},
	)


def kill(worker: subprocess.Popen) -> None:
	"""SIGKILL the worker and its work horse (RQ starts the horse in a session of its own)."""
	import psutil

	if worker.poll() is not None:
		return
	for process in [*psutil.Process(worker.pid).children(recursive=True), psutil.Process(worker.pid)]:
		with contextlib.suppress(psutil.NoSuchProcess):
			process.send_signal(signal.SIGKILL)
	worker.wait(timeout=30)


def wait_for(condition, what: str, seconds: float = 120) -> None:
	deadline = time.monotonic() + seconds
	while time.monotonic() < deadline:
		frappe.db.rollback()
		if condition():
			return
		time.sleep(0.5)
	raise AssertionError(f"timed out waiting for {what}")
