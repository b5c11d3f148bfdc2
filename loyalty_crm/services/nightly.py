"""The nightly recompute: one read of the invoices feeds segments, tiers, churn scores and CLV bands.

Why one pipeline: each stage used to aggregate the same million invoices again (segments, tiers,
churn). Here a coordinator job

1. expires lapsed points (the ledger's own set-wise job, committed per chunk, safe to re-run);
2. reads once, on the read replica when the site has a healthy one (``services.replica``):
   the customer-days of every invoice (``services.customer_days``), the customers, the churn
   side tables of each company with a model, and the ledger's points when tiers climb on points;
3. hands the same frames to every stage's engine: segment profiles (RFM, ABC, CLV bands,
   lifecycle, clusters) and wanted memberships, churn scores with predicted CLV, the tier
   ladder's metric;
4. splits the customers into chunks (sorted by name), puts each chunk's wanted state in the
   cache (Redis, which every worker machine shares) and enqueues one job per chunk on ``long``.

A chunk job compares its customers' wanted state with what is stored and writes only the
differences (memberships, Customer fields, tier changes and history, Churn Scores), then marks
itself done, all in ONE transaction: a chunk is applied completely or not at all, so a kill at
any moment leaves no half-written chunk. A failed chunk is retried alone (up to
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
from frappe import _
from frappe.utils import add_to_date, cint, flt, get_datetime, getdate, now_datetime, nowdate

from loyalty_crm.services import churn, customer_days, segments, tiers

RUN = "Loyalty Nightly Run"
CHUNK_DOCTYPE = "Loyalty Nightly Chunk"
# Customers per chunk job. Each job is a fresh fork of its worker that imports pandas and the
# app (about half a second), so chunks are large; a chunk is still one transaction of a size
# InnoDB handles easily (10k customers' memberships, scores and tier rows on a first run).
CHUNK = 10_000
MAX_ATTEMPTS = 3
JOB_TIMEOUT = 3600
STALE_MINUTES = 30
ACTIVE = ("Queued", "Reading", "Computing", "Writing", "Finalizing")
JOB_ID = "loyalty_crm:nightly"
CACHE_SECONDS = 2 * 24 * 3600
# A test hook: the chunk with this number waits this many seconds before its commit, so a test
# can kill the worker in the middle of a chunk. Site config, never set in production.
HOLD_KEY = "loyalty_crm_nightly_test_hold_chunk"
HELD_KEY = "loyalty_crm:nightly:held_chunk"  # cache: the chunk now held (what the test waits for)


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
	from frappe.utils.background_jobs import is_job_enqueued

	active = in_progress()
	if active or is_job_enqueued(JOB_ID):
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
		plan = prepare(doc, as_of, timings, say)
		doc.reload()
		enqueue_chunks(doc, plan, inline=inline, say=say)
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
	say(_("{0}...").format(_(name)))
	yield
	timings[name] = round(time.perf_counter() - started, 3)


def set_status(doc, status: str, **values) -> None:
	frappe.db.set_value(
		RUN, doc.name, {"status": status, "heartbeat": now_datetime(), **values}, update_modified=False
	)
	frappe.db.commit()


def prepare(doc, as_of, timings: dict[str, float], say) -> dict:
	"""Expiry, the shared read and every stage's computation; returns the plan for the chunks."""
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
	set_status(
		doc,
		"Computing",
		read_source=source.name,
		read_note=source.reason,
		customer_days=len(days),
		customers=len(customers),
	)
	notes: list[str] = [_("{0} lapsed points rows expired").format(expired)] if expired else []
	if source.reason:
		notes.append(source.reason)

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
		main = segments.main_values(profiles)
	with timed(timings, "Tiers", say):
		tier_values = None
		if ladder:
			if points is not None:
				tier_values = points
			else:
				start, end = tier_window(as_of, tier_options)
				earn_on_grand = tiers.settings().earn_on == "Grand Total"
				tier_values = customer_days.window_metric(
					days, tier_options["metric"], start, end, earn_on_grand
				)
	plan = {
		"as_of": str(as_of),
		"customers": sorted(customers.index.astype(str)),
		"segment_names": [row.name for row in segment_rows],
		"memberships": wanted,
		"main": main,
		"tier_values": tier_values,
		"send_notices": bool(ladder) and tiers.notices_due(as_of),
		"churn": scores,
		"models": models,
	}
	frappe.db.set_value(
		RUN, doc.name, "notes", "\n".join(str(n) for n in notes) or None, update_modified=False
	)
	return plan


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


def chunk_payload(plan: dict, names: list[str]) -> dict:
	"""The part of the plan one chunk of customers needs (small enough for the cache)."""
	members = plan["memberships"]
	tier_values = plan["tier_values"]
	return {
		"as_of": plan["as_of"],
		"customers": names,
		"segment_names": plan["segment_names"],
		"memberships": members[members["customer"].isin(names)].reset_index(drop=True),
		"main": plan["main"][plan["main"].index.isin(names)],
		"tier_values": None if tier_values is None else tier_values[tier_values.index.isin(names)],
		"send_notices": plan["send_notices"],
		"churn": {
			company: frame[frame["customer"].isin(names)].reset_index(drop=True)
			for company, frame in plan["churn"].items()
		},
		"models": plan["models"],
	}


def enqueue_chunks(doc, plan: dict, inline: bool, say) -> None:
	names = plan["customers"]
	chunks = [names[first : first + CHUNK] for first in range(0, len(names), CHUNK)]
	for number, part in enumerate(chunks, start=1):
		frappe.cache.set_value(
			cache_key(doc.name, number), chunk_payload(plan, part), expires_in_sec=CACHE_SECONDS
		)
		doc.append(
			"chunks",
			{
				"chunk_no": number,
				"first_customer": part[0],
				"last_customer": part[-1],
				"customers": len(part),
				"status": "Queued",
			},
		)
	doc.status = "Writing"
	doc.chunks_total = len(chunks)
	doc.heartbeat = now_datetime()
	doc.save(ignore_permissions=True)
	frappe.db.commit()
	if not chunks:
		maybe_finalize(doc.name)
		return
	for number in range(1, len(chunks) + 1):
		if inline:
			say(_("Chunk {0} of {1}").format(number, len(chunks)))
			attempt = 1
			while run_chunk(doc.name, number, attempt, requeue=False) == "retry":
				attempt += 1
		else:
			enqueue_chunk(doc.name, number, 1)


def enqueue_chunk(run_name: str, chunk_no: int, attempt: int) -> None:
	frappe.enqueue(
		"loyalty_crm.services.nightly.run_chunk",
		queue="long",
		timeout=JOB_TIMEOUT,
		job_id=f"{JOB_ID}:{run_name}:{chunk_no}:{attempt}",
		deduplicate=True,
		enqueue_after_commit=False,
		run_name=run_name,
		chunk_no=chunk_no,
		attempt=attempt,
	)


# ---------------------------------------------------------------------------------------------
# One chunk
# ---------------------------------------------------------------------------------------------


def run_chunk(run_name: str, chunk_no: int, attempt: int = 1, requeue: bool = True) -> str:
	"""Apply one chunk in one transaction; returns "done", "retry" or "failed"."""
	started = time.perf_counter()
	row = frappe.db.get_value(
		CHUNK_DOCTYPE, {"parent": run_name, "chunk_no": chunk_no}, ["name", "status"], as_dict=True
	)
	if not row or row.status != "Queued" or frappe.db.get_value(RUN, run_name, "status") != "Writing":
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
				enqueue_chunk(run_name, chunk_no, attempt + 1)
			return "retry"
		outcome = "failed"
	maybe_finalize(run_name)
	return outcome


def hold(chunk_no: int) -> None:
	if cint(frappe.conf.get(HOLD_KEY)) == chunk_no:
		frappe.cache.set_value(HELD_KEY, chunk_no)
		time.sleep(cint(frappe.conf.get(HOLD_KEY + "_seconds")) or 60)


def apply_chunk(payload: dict) -> int:
	"""Write what differs for the chunk's customers; returns the number of rows written."""
	customers = payload["customers"]
	as_of = getdate(payload["as_of"])
	inserted, deleted = segments.write_memberships(
		payload["memberships"], payload["segment_names"], customers=customers
	)
	writes = inserted + deleted
	writes += segments.update_customers(segments.with_primary(payload["main"], customers), customers)
	if payload["tier_values"] is not None:
		summary = tiers.evaluate_all(
			as_of,
			customers=customers,
			values=payload["tier_values"],
			commit=False,
			send_notices=payload["send_notices"],
			triggered_by="Daily Evaluation",
		)
		writes += summary["history_rows"] + summary["customers_written"]
	for company, wanted in payload["churn"].items():
		added, changed, removed = churn.write_scores(
			company, wanted, payload["models"][company], as_of, customers=customers
		)
		writes += added + changed + removed
	if payload["churn"]:
		writes += churn.update_customers(customers)
	return writes


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
		_("Read from: {0}").format(_(doc.read_source or "primary")),
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
