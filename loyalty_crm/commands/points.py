"""Bench commands for the points ledger and the site's health."""

import click
from frappe.commands import pass_context

from loyalty_crm.commands.base import (
	_,
	check_date_option,
	connected,
	finish_import,
	loyalty_crm,
	progress_printer,
)


@loyalty_crm.command("doctor")
@pass_context
def doctor(context):
	"""Check that the site is ready for Loyalty CRM and print what to fix."""
	import frappe

	from loyalty_crm.services.doctor import is_healthy, run_checks

	with connected(context) as site:
		checks = run_checks()
		for check in checks:
			mark = "OK  " if check.ok else ("FAIL" if check.blocking else "WARN")
			colour = "green" if check.ok else ("red" if check.blocking else "yellow")
			click.secho(f"[{mark}] {check.label}: {check.detail}", fg=colour)
		healthy = is_healthy(checks)
		message = _("Loyalty CRM is healthy on {0}") if healthy else _("Loyalty CRM needs attention on {0}")
		click.secho(frappe._(message).format(site), fg="green" if healthy else "red", bold=True)
	if not healthy:
		raise SystemExit(1)


@loyalty_crm.command("expire-points")
@click.option("--date", "as_of", help="Expire points that lapsed before this date (default: today).")
@pass_context
def expire_points(context, as_of=None):
	"""Write Expire rows for lapsed points; running it twice changes nothing."""
	import frappe
	from frappe.utils import nowdate

	from loyalty_crm.services.expiry import expire_points as run

	with connected(context):
		as_of = check_date_option(as_of, "--date") or nowdate()
		written = run(as_of, progress=progress_printer(frappe._("Customers")))
		click.echo(frappe._("{0} expiry rows written").format(written))


@loyalty_crm.command("import-points")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_context
def import_points(context, path):
	"""Opening balances from a CSV (customer, company, points[, expiry_date, posting_date, reason])."""
	import frappe

	from loyalty_crm.services.points_import import import_points as run

	with connected(context):
		result = run(path, progress=progress_printer(frappe._("Rows written")))
		finish_import(result.errors, frappe._("{0} opening balances imported").format(len(result.created)))
