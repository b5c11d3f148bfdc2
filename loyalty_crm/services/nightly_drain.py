"""The nightly run's chunk jobs: each takes the run's queued chunks from a Redis list until none
is left, so a worker pays for its imports once per stage instead of once per chunk.

RQ forks a fresh work horse for every job, and a horse imports what its job needs: for a chunk
that is pandas and the stage services, about 0.2 s, more than an unchanged chunk's own work at
1M invoices (measured: 33 chunk jobs spent more time importing than comparing). One job per
chunk is still queued, so every worker listening on ``long`` joins in; the jobs that find the
list empty return after a few milliseconds because this module imports only frappe.

Each chunk is still applied and committed on its own (``nightly.run_chunk``); a failed attempt
goes back to the end of the list. A worker killed mid-chunk loses only that chunk's item: its row
stays Queued, the run stays in progress until abandoned, and a re-run completes it.
"""

import frappe

TODO_SECONDS = 2 * 24 * 3600  # as long as the computed chunks stay in the cache


def todo_key(run_name: str) -> str:
	return f"loyalty_crm:nightly:{run_name}:todo"


def push(run_name: str, chunk_no: int, attempt: int) -> None:
	"""Add a chunk attempt to the run's list and queue one job to take work from it."""
	key = todo_key(run_name)
	frappe.cache.rpush(key, f"{chunk_no}:{attempt}")
	frappe.cache.expire(frappe.cache.make_key(key), TODO_SECONDS)
	frappe.enqueue(
		"loyalty_crm.services.nightly_drain.drain",
		queue="long",
		timeout=3600,
		enqueue_after_commit=False,
		run_name=run_name,
	)


def drain(run_name: str) -> int:
	"""Apply the run's queued chunks one after the other; returns how many this job took."""
	taken = 0
	while (item := frappe.cache.lpop(todo_key(run_name))) is not None:
		from loyalty_crm.services import nightly

		chunk_no, attempt = (int(part) for part in frappe.safe_decode(item).split(":"))
		nightly.run_chunk(run_name, chunk_no, attempt)
		taken += 1
	return taken


def forget(run_name: str) -> None:
	frappe.cache.delete_value(todo_key(run_name))
