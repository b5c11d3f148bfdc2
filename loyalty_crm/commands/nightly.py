"""Bench command for the nightly recompute (expiry, segments, tiers, churn scores, CLV bands)."""

import time

import click
from frappe.commands import pass_context

from loyalty_crm.commands.base import check_date_option, connected, loyalty_crm


@loyalty_crm.command("nightly")
@click.option("--as-of", "as_of", help="Recompute as of this date (default: today).")
@click.option(
	"--queue",
	"queue",
	is_flag=True,
	help="Write the chunks through the RQ workers of the long queue (in parallel) instead of here.",
)
@click.option("--force", is_flag=True, help="Start even if a run looks in progress (its worker died).")
@pass_context
def nightly(context, as_of=None, queue=False, force=False):
	"""Run the nightly recompute now: one read of the invoices, every stage, changed rows only.

	Without --queue the chunks are written here, one after the other; with --queue they go to
	the workers and this command waits for them. Another run in progress makes it do nothing.
	"""
	import frappe

	from loyalty_crm.services import nightly as service

	with connected(context):
		as_of = check_date_option(as_of, "--as-of")
		result = service.run(
			as_of=as_of,
			triggered_by="Bench Command",
			force=force,
			inline=not queue,
			progress=lambda message: click.echo(message),
		)
		if result.skipped:
			click.secho(result.message, fg="yellow")
			return
		status = frappe.db.get_value(service.RUN, result.run, "status")
		while status in service.ACTIVE:
			done, total = frappe.db.get_value(service.RUN, result.run, ["chunks_done", "chunks_total"])
			click.echo(frappe._("Chunks written: {0} of {1}").format(done, total))
			time.sleep(2)
			frappe.db.rollback()  # a fresh snapshot of what the workers committed
			status = frappe.db.get_value(service.RUN, result.run, "status")
		summary = frappe.db.get_value(service.RUN, result.run, "summary") or ""
		click.secho(
			f"{result.run}: {frappe._(status)}\n{summary}", fg="green" if status == "Completed" else "red"
		)
		if status != "Completed":
			raise SystemExit(1)
