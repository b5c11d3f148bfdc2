"""The nightly recompute: one read of the invoices feeds segments, tiers, churn scores and CLV bands.

Why one pipeline: each stage used to aggregate the same million invoices again (segments, tiers,
churn). Here a coordinator job

1. expires lapsed points (the ledger's own set-wise job, committed per chunk, safe to re-run);
2. reads once, on the read replica when the site has a healthy one (``services.replica``):
   the customer-days of every invoice (``services.customer_days``), the customers, the churn
   side tables of each company with a model, and the ledger's points when tiers climb on points;
3. hands the same frames to every stage's engine, one stage after the other: the tier
   ladder's metric, churn scores with predicted CLV, segment profiles (RFM, ABC, CLV bands,
   lifecycle, clusters) and wanted memberships;
4. as soon as a stage is computed, splits the customers into chunks (sorted by name), puts
   each chunk's wanted state in the cache (Redis, which every worker machine shares) and
   enqueues one job per chunk on ``long``: workers write the tiers while churn is computed,
   and churn scores while segments are computed.

A chunk job compares its customers' wanted state in its stage with what is stored and writes
only the differences (tier changes and history; Churn Scores and the Customer's churn fields;
memberships and the Customer's segment fields), then marks itself done, all in ONE
transaction: a chunk is applied completely or not at all, so a kill at any moment leaves no
half-written chunk. A failed chunk is retried alone (up to
``MAX_ATTEMPTS``); the last chunk to finish closes the run (member counts, e-mail group actions,
the day's downgrade-notice marker). Re-running the whole pipeline after a crash gives the same
final state: every chunk compares with what is stored, so what an earlier run wrote is not
written again. Chunks of different customers run in parallel on as many RQ workers as the
site has, on as many machines as share its Redis and database.
"""

from __future__ import annotations

import contextlib
import resource
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import frappe
import pandas as pd
from frappe import _, _lt
from frappe.utils import add_to_date, cint, flt, get_datetime, getdate, now_datetime, nowdate

from loyalty_crm.services import churn, customer_days, nightly_drain, segments, tiers

RUN = "Loyalty Nightly Run"
CHUNK_DOCTYPE = "Loyalty Nightly Chunk"
# Customers per chunk job. Each job is a fresh fork of its worker that imports pandas and the
# app (about half a second), so chunks are large; a chunk is still one transaction of a size
# InnoDB handles easily (10k customers' memberships, scores and tier rows on a first run).
CHUNK = 10_000
MAX_ATTEMPTS = 5  # deadlocks between parallel chunks are transient; a retry goes to the back of the queue
JOB_TIMEOUT = 3600
STALE_MINUTES = 30
ACTIVE = ("Queued", "Reading", "Computing", "Writing", "Finalizing")
JOB_ID = "loyalty_crm:nightly"
WRITABLE = ("Computing", "Writing")  # run states in which queued chunks are applied
CACHE_SECONDS = 2 * 24 * 3600
# A test hook: the chunk with this number waits this many seconds before its commit, so a test
# can kill the worker in the middle of a chunk. Site config, never set in production.
HOLD_KEY = "loyalty_crm_nightly_test_hold_chunk"
HELD_KEY = "loyalty_crm:nightly:held_chunk"  # cache: the chunk now held (what the test waits for)


# Phase names: timings are keyed by the English name, progress is said in the site's language.
PHASES = {
	"Expire points": _lt("Expire points"),
	"Read": _lt("Read"),
	"Tiers": _lt("Tiers"),
	"Churn scores": _lt("Churn scores"),
	"Segments": _lt("Segments"),
}


STAGE_PHASE = {"tiers": "Tiers", "churn": "Churn scores", "segments": "Segments"}


@dataclass
class NightlyResult:
	run: str | None = None
	skipped: bool = False
	message: str = ""
	timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Entry points: scheduler, desk button, bench command
# ---------------------------------------------------------------------------------------------


def run_nightly_daily():
	"""Scheduler (daily): the whole recompute as one deduplicated job on ``long``."""
	enqueue_nightly(triggered_by="Scheduler")


def enqueue_nightly(as_of=None, triggered_by: str = "Scheduler") -> str:
	"""Queue the coordinator unless one is queued or running; returns what happened, translated."""
	active = in_progress()
	if active or coordinator_job_alive():
		message = _("A nightly run is already in progress ({0}); nothing was queued").format(
			active or _("queued")
		)
		frappe.logger("loyalty_crm").info(message)
		return message
	frappe.enqueue(
		"loyalty_crm.services.nightly.coordinator_job",
		queue="long",
		timeout=JOB_TIMEOUT,
		job_id=JOB_ID,
		deduplicate=True,
		as_of=str(getdate(as_of or nowdate())),
		triggered_by=triggered_by,
	)
	return _("Nightly recompute queued")


@frappe.whitelist()
def run_now() -> str:
	frappe.only_for("System Manager")
	return enqueue_nightly(triggered_by="Desk")


def coordinator_job_alive() -> bool:
	"""Whether the coordinator's job is queued, or started and not silent for STALE_MINUTES.

	A worker killed mid-run leaves its job "started" in Redis until RQ's own clean-up, an hour
	later (the job timeout): without this the scheduler and the desk button would refuse to queue
	for that hour although the run itself was already marked abandoned.
	"""
	from datetime import datetime, timedelta

	from frappe.utils.background_jobs import get_job
	from rq.job import JobStatus

	job = get_job(JOB_ID)
	status = job.get_status() if job else None
	if status == JobStatus.QUEUED:
		return True
	if status != JobStatus.STARTED:
		return False
	limit = datetime.utcnow() - timedelta(minutes=STALE_MINUTES)
	if job.started_at and job.started_at.replace(tzinfo=None) >= limit:
		return True
	job.delete()  # dead: frappe.enqueue would otherwise take it for a running duplicate
	return False


def coordinator_job(as_of=None, triggered_by: str = "Scheduler"):
	run(as_of=as_of, triggered_by=triggered_by)


def in_progress() -> str | None:
	"""The active run, if any; a run silent for longer than STALE_MINUTES is marked abandoned."""
	limit = add_to_date(now_datetime(), minutes=-STALE_MINUTES)
	for name, heartbeat in frappe.db.sql(
		f"select name, heartbeat from `tab{RUN}` where status in %(active)s order by creation desc",
		{"active": ACTIVE},
	):
		if heartbeat and get_datetime(heartbeat) >= limit:
			return name
		abandon(name, _("No activity for {0} minutes").format(STALE_MINUTES))
	return None


def abandon(name: str, reason: str) -> None:
	frappe.db.sql(
		f"update `tab{RUN}` set status = 'Abandoned', notes = concat(coalesce(notes, ''), %s) where name = %s",
		(reason + "\n", name),
	)
	frappe.db.commit()


# ---------------------------------------------------------------------------------------------
# The coordinator
# ---------------------------------------------------------------------------------------------


def run(
	as_of=None,
	triggered_by: str = "Bench Command",
	force: bool = False,
	inline: bool = False,
	progress: Callable[[str], None] | None = None,
) -> NightlyResult:
	"""Expire, read once, compute every stage, then write in chunks (queued, or here if ``inline``).

	Another run in progress makes this do nothing and say so; ``force`` marks it abandoned
	first (for an administrator who knows its worker died)."""
	as_of = getdate(as_of or nowdate())
	say = progress or (lambda message: None)
	active = in_progress()
	if active and not force:
		message = _("A nightly run is already in progress ({0}); nothing was done").format(active)
		frappe.logger("loyalty_crm").info(message)
		return NightlyResult(run=active, skipped=True, message=message)
	if active:
		abandon(active, _("Replaced by a forced re-run"))

	doc = frappe.get_doc({"doctype": RUN, "as_of": as_of, "status": "Reading", "triggered_by": triggered_by})
	doc.started = doc.heartbeat = now_datetime()
	doc.insert(ignore_permissions=True)
	frappe.db.commit()
	timings: dict[str, float] = {}
	try:
		prepare(doc, as_of, timings, say, inline=inline)
	except Exception:
		frappe.db.rollback()
		frappe.db.set_value(
			RUN,
			doc.name,
			{"status": "Failed", "error": traceback.format_exc(), "finished": now_datetime()},
			update_modified=False,
		)
		frappe.db.commit()
		raise
	return NightlyResult(
		run=doc.name, message=frappe.db.get_value(RUN, doc.name, "summary") or "", timings=timings
	)


@contextlib.contextmanager
def timed(timings: dict[str, float], name: str, say):
	started = time.perf_counter()
	say(_("{0}...").format(PHASES[name]))
	yield
	timings[name] = round(time.perf_counter() - started, 3)


def set_status(doc, status: str, **values) -> None:
	frappe.db.set_value(
		RUN, doc.name, {"status": status, "heartbeat": now_datetime(), **values}, update_modified=False
	)
	frappe.db.commit()


def prepare(doc, as_of, timings: dict[str, float], say, inline: bool = False) -> None:
	"""Expiry, the shared read, then each stage's computation; each stage's chunks are queued as
	soon as that stage is computed, so workers write one stage while the next is computed."""
	from loyalty_crm.services import expiry, replica  # the coordinator's alone: chunk jobs import less

	with timed(timings, "Expire points", say):
		expired = expiry.expire_points(as_of)
		expiry.notify_expiring_points(as_of)
		frappe.db.commit()  # the replica check compares with committed rows

	ladder = tiers.active_ladder()
	tier_options = tiers.ladder_options() if ladder else None
	with timed(timings, "Read", say), replica.reading("nightly") as source:
		days = customer_days.read(as_of)
		customers = segments.load_customers()
		models = {}
		if churn.churn_settings().scoring:  # "Score Churn Daily" in Loyalty Settings
			models = {company: churn.active_run(company) for company in days["company"].cat.categories}
			models = {company: name for company, name in models.items() if name}
		side = {company: churn.side_tables(company, as_of) for company in models}
		points = None
		if ladder and tier_options["metric"] == "points":
			start, end = tier_window(as_of, tier_options)
			points = tiers.window_metric("points", start, end)
		stored_bands = stored_churn_bands(exclude=list(models))
	notes: list[str] = [_("{0} lapsed points rows expired").format(expired)] if expired else []
	if source.reason:
		notes.append(source.reason)
	names = sorted(customers.index.astype(str))
	ranges = [names[first : first + CHUNK] for first in range(0, len(names), CHUNK)]
	set_status(
		doc,
		"Computing",
		read_source=source.name,
		read_note=source.reason,
		customer_days=len(days),
		customers=len(customers),
		notes="\n".join(str(n) for n in notes) or None,
	)
	queue = ChunkQueue(doc.name, str(as_of), ranges, inline=inline, say=say)

	with timed(timings, "Tiers", say):
		if ladder:
			if points is None:
				start, end = tier_window(as_of, tier_options)
				earn_on_grand = tiers.settings().earn_on == "Grand Total"
				points = customer_days.window_metric(days, tier_options["metric"], start, end, earn_on_grand)
			queue.add("tiers", {"values": points, "send_notices": tiers.notices_due(as_of)})
	with timed(timings, "Churn scores", say):
		scores = {}
		for company, run_name in models.items():
			try:
				scores[company], _run = churn.compute_scores(
					company,
					as_of,
					run_name,
					transactions=customer_days.transactions(days, company),
					side=side[company],
				)
			except frappe.ValidationError as error:
				notes.append(_("{0}: churn not scored ({1})").format(company, error))
		if scores:
			queue.add("churn", {"scores": scores, "models": models})
	with timed(timings, "Segments", say):
		config = segments.segment_settings()
		segment_rows = segments.load_segments()
		profiles, segment_notes = segments.compute(
			as_of, config, segment_rows, transactions=customer_days.transactions(days)
		)
		notes.extend(segment_notes)
		bands = pd.concat(
			[stored_bands]
			+ [frame[["customer", "risk_band"]].assign(company=company) for company, frame in scores.items()],
			ignore_index=True,
		)
		wanted = segments.wanted_memberships(profiles, customers, segment_rows, churn_scores=bands)
		queue.add(
			"segments",
			{
				"memberships": wanted,
				"main": segments.main_values(profiles),
				"segment_names": [row.name for row in segment_rows],
				"priorities": {row.name: row.priority for row in segment_rows},
			},
		)
	frappe.db.set_value(
		RUN, doc.name, "notes", "\n".join(str(n) for n in notes) or None, update_modified=False
	)
	queue.close()


def tier_window(as_of, options: dict):
	from loyalty_crm.engine import tiers as tier_engine

	return tier_engine.qualification_window(as_of, options["window_kind"], options["window_months"])


def stored_churn_bands(exclude: list[str]) -> pd.DataFrame:
	"""Stored bands of companies this run does not score (no model), for Churn Risk Band segments."""
	rows = frappe.db.sql(
		"select customer, company, risk_band from `tabChurn Score` where company not in %(exclude)s",
		{"exclude": tuple(exclude) or ("",)},
	)
	return pd.DataFrame(rows, columns=["customer", "company", "risk_band"])


# ---------------------------------------------------------------------------------------------
# Fan-out
# ---------------------------------------------------------------------------------------------


def cache_key(run_name: str, chunk_no: int) -> str:
	return f"loyalty_crm:nightly:{run_name}:{chunk_no}"


def part_for(frame, names: list[str], column: str | None = "customer"):
	"""The rows of ``frame`` (a DataFrame or Series) that belong to the chunk's customers."""
	keys = frame.index if column is None else frame[column]
	return frame[keys.isin(names)]


def stage_payload(stage: str, state: dict, names: list[str]) -> dict:
	"""The part of a stage's computed state one chunk of customers needs."""
	if stage == "tiers":
		return {"values": part_for(state["values"], names, None), "send_notices": state["send_notices"]}
	if stage == "churn":
		return {
			"scores": {
				company: part_for(frame, names).reset_index(drop=True)
				for company, frame in state["scores"].items()
			},
			"models": state["models"],
		}
	return {
		"memberships": part_for(state["memberships"], names).reset_index(drop=True),
		"main": part_for(state["main"], names, None),
		"segment_names": state["segment_names"],
		"priorities": state["priorities"],
	}


class ChunkQueue:
	"""Puts each stage's chunks in the cache and on the queue (or applies them here, inline)."""

	def __init__(self, run_name: str, as_of: str, ranges: list[list[str]], inline: bool, say):
		self.run_name, self.as_of, self.ranges, self.inline, self.say = run_name, as_of, ranges, inline, say
		self.number = 0
		nightly_drain.forget(run_name)  # what an earlier life of the site left under this run name

	def add(self, stage: str, state: dict) -> None:
		first_number = self.number + 1
		for names in self.ranges:
			self.number += 1
			payload = {
				"stage": stage,
				"as_of": self.as_of,
				"customers": names,
				**stage_payload(stage, state, names),
			}
			frappe.cache.set_value(
				cache_key(self.run_name, self.number), payload, expires_in_sec=CACHE_SECONDS
			)
			frappe.get_doc(
				{
					"doctype": CHUNK_DOCTYPE,
					"parent": self.run_name,
					"parenttype": RUN,
					"parentfield": "chunks",
					"idx": self.number,
					"chunk_no": self.number,
					"stage": stage,
					"first_customer": names[0],
					"last_customer": names[-1],
					"customers": len(names),
					"status": "Queued",
				}
			).db_insert()
		frappe.db.sql(
			f"update `tab{RUN}` set chunks_total = %s, heartbeat = %s where name = %s",
			(self.number, now_datetime(), self.run_name),
		)
		frappe.db.commit()
		label = PHASES[STAGE_PHASE[stage]]
		for number in range(first_number, self.number + 1):
			if self.inline:
				self.say(
					_("{0}: chunk {1} of {2}").format(
						label, number - first_number + 1, self.number - first_number + 1
					)
				)
				attempt = 1
				while run_chunk(self.run_name, number, attempt, requeue=False) == "retry":
					attempt += 1
			else:  # onto the run's work list, taken by the jobs that drain it (nightly_drain)
				nightly_drain.push(self.run_name, number, 1)

	def close(self) -> None:
		"""Every stage is queued: from now on the last chunk to finish closes the run."""
		set_status(frappe._dict(name=self.run_name), "Writing")
		maybe_finalize(self.run_name)


# ---------------------------------------------------------------------------------------------
# One chunk
# ---------------------------------------------------------------------------------------------


def run_chunk(run_name: str, chunk_no: int, attempt: int = 1, requeue: bool = True) -> str:
	"""Apply one chunk in one transaction; returns "done", "retry" or "failed"."""
	started = time.perf_counter()
	name = frappe.db.get_value(CHUNK_DOCTYPE, {"parent": run_name, "chunk_no": chunk_no})
	# locked by primary key (one row, not the run's other chunks): a second attempt of the same
	# chunk waits here, then finds it done
	row = name and frappe.db.get_value(CHUNK_DOCTYPE, name, ["name", "status"], as_dict=True, for_update=True)
	if not row or row.status != "Queued" or frappe.db.get_value(RUN, run_name, "status") not in WRITABLE:
		return "done"  # already applied, or the run was abandoned: nothing to do
	payload = frappe.cache.get_value(cache_key(run_name, chunk_no), expires=True)
	try:
		if payload is None:
			raise frappe.ValidationError(
				_(
					"The computed state of chunk {0} is no longer in the cache; run the nightly recompute again"
				).format(chunk_no)
			)
		writes = apply_chunk(payload)
		hold(chunk_no)
		frappe.db.sql(
			f"""update `tab{CHUNK_DOCTYPE}` set status = 'Done', attempts = %(attempt)s, writes = %(writes)s,
				seconds = %(seconds)s, peak_mb = %(peak)s, finished = %(now)s, error = null
			where name = %(name)s""",
			{
				"attempt": attempt,
				"writes": writes,
				"seconds": round(time.perf_counter() - started, 3),
				"peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
				"now": now_datetime(),
				"name": row.name,
			},
		)
		frappe.db.sql(
			f"update `tab{RUN}` set heartbeat = %s, chunks_done = chunks_done + 1, writes = writes + %s where name = %s",
			(now_datetime(), writes, run_name),
		)
		frappe.db.commit()
		outcome = "done"
	except Exception:
		frappe.db.rollback()
		error = traceback.format_exc()
		last = attempt >= MAX_ATTEMPTS or payload is None
		frappe.db.sql(
			f"update `tab{CHUNK_DOCTYPE}` set attempts = %s, error = %s, status = %s where name = %s",
			(attempt, error[-4000:], "Failed" if last else "Queued", row.name),
		)
		frappe.db.sql(
			f"update `tab{RUN}` set heartbeat = %s, chunks_failed = chunks_failed + %s where name = %s",
			(now_datetime(), 1 if last else 0, run_name),
		)
		frappe.db.commit()
		frappe.log_error(
			title=_("Nightly run {0}: chunk {1} failed").format(run_name, chunk_no), message=error
		)
		if not last:
			if requeue:
				nightly_drain.push(run_name, chunk_no, attempt + 1)
			return "retry"
		outcome = "failed"
	maybe_finalize(run_name)
	return outcome


def hold(chunk_no: int) -> None:
	if cint(frappe.conf.get(HOLD_KEY)) == chunk_no:
		frappe.cache.set_value(HELD_KEY, chunk_no)
		time.sleep(cint(frappe.conf.get(HOLD_KEY + "_seconds")) or 60)


def apply_chunk(payload: dict) -> int:
	"""Write what differs for the chunk's customers in its stage; returns the rows written."""
	customers = payload["customers"]
	as_of = getdate(payload["as_of"])
	if payload["stage"] == "tiers":
		summary = tiers.evaluate_all(
			as_of,
			customers=customers,
			values=payload["values"],
			commit=False,
			send_notices=payload["send_notices"],
			triggered_by="Daily Evaluation",
		)
		return summary["history_rows"] + summary["customers_written"]
	if payload["stage"] == "churn":
		writes = 0
		for company, wanted in payload["scores"].items():
			added, changed, removed = churn.write_scores(
				company, wanted, payload["models"][company], as_of, customers=customers
			)
			writes += added + changed + removed
		return writes + churn.update_customers(customers)
	wanted = payload["memberships"]
	inserted, deleted = segments.write_memberships(wanted, payload["segment_names"], customers=customers)
	primary = None
	if "priorities" in payload:  # written just now: the chunk's stored memberships are the wanted ones
		primary = segments.primary_of(
			wanted[["customer", "segment"]].assign(priority=wanted["segment"].map(payload["priorities"]))
		)
	values = segments.with_primary(payload["main"], customers, primary=primary)
	return inserted + deleted + segments.update_customers(values, customers)


# ---------------------------------------------------------------------------------------------
# Closing the run
# ---------------------------------------------------------------------------------------------


def maybe_finalize(run_name: str) -> None:
	"""The last chunk to finish closes the run (exactly once: a conditional update decides)."""
	queued = frappe.db.count(CHUNK_DOCTYPE, {"parent": run_name, "status": "Queued"})
	if queued:
		return
	frappe.db.sql(
		f"update `tab{RUN}` set status = 'Finalizing' where name = %s and status = 'Writing'", run_name
	)
	claimed = frappe.db._cursor.rowcount == 1
	frappe.db.commit()
	if claimed:
		finalize(run_name)


def finalize(run_name: str) -> None:
	doc = frappe.get_doc(RUN, run_name)
	as_of = getdate(doc.as_of)
	counts = dict(frappe.db.sql(f"select segment, count(*) from `tab{segments.MEMBERSHIP}` group by segment"))
	stamp = now_datetime()
	email_added = 0
	for row in segments.load_segments():
		frappe.db.set_value(
			segments.SEGMENT,
			row.name,
			{"member_count": cint(counts.get(row.name)), "last_refreshed": stamp},
			update_modified=False,
		)
		if row.enabled and row.action == "Add to Email Group" and row.email_group:
			email_added += segments.add_members_to_email_group(row.name, row.email_group).added
	failed = [chunk.chunk_no for chunk in doc.chunks if chunk.status == "Failed"]
	if tiers.active_ladder() and not failed:
		tiers.mark_notices_sent(as_of)
	finished = now_datetime()
	seconds = (get_datetime(finished) - get_datetime(doc.started)).total_seconds()
	lines = [
		_("{0} customers in {1} chunks; rows written: {2}").format(
			doc.customers, doc.chunks_total, cint(frappe.db.get_value(RUN, run_name, "writes"))
		),
		_("Read from: {0}").format(_("replica") if doc.read_source == "replica" else _("primary")),
	]
	if email_added:
		lines.append(_("Email group members added: {0}").format(email_added))
	if failed:
		lines.append(
			_("Chunks that failed after {0} attempts: {1}. Run the nightly recompute again.").format(
				MAX_ATTEMPTS, ", ".join(str(n) for n in failed)
			)
		)
	frappe.db.set_value(
		RUN,
		run_name,
		{
			"status": "Completed with Errors" if failed else "Completed",
			"finished": finished,
			"heartbeat": finished,
			"seconds": flt(seconds, 2),
			"summary": "\n".join(lines),
		},
		update_modified=False,
	)
	frappe.db.commit()
	for chunk in doc.chunks:
		frappe.cache.delete_value(cache_key(run_name, chunk.chunk_no))
	nightly_drain.forget(run_name)
