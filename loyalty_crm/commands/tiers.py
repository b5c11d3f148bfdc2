"""Bench commands for loyalty tiers."""

import click
from frappe.commands import pass_context

from loyalty_crm.commands.base import _, check_date_option, connected, loyalty_crm, progress_printer


@loyalty_crm.command("evaluate-tiers")
@click.option("--date", "as_of", help="Evaluate as of this date (default: today).")
@click.option("--dry-run", is_flag=True, help="Compute and print the summary; write nothing.")
@pass_context
def evaluate_tiers(context, as_of=None, dry_run=False):
	"""Every customer's tier: entries, upgrades, downgrades after the grace period; idempotent."""
	import frappe
	from frappe.utils import nowdate

	from loyalty_crm.services.tiers import evaluate_all

	with connected(context):
		summary = evaluate_all(
			check_date_option(as_of, "--date") or nowdate(),
			dry_run=dry_run,
			progress=progress_printer(frappe._("Customers")),
			triggered_by="Bench Command",
		)
		if not summary["ladder"]:
			click.secho(frappe._("No Loyalty Tiers (or tiers are off in Loyalty Settings): nothing to do"))
			return
		if dry_run:
			frappe.db.rollback()
		message = _(
			"{0} customers: {1} entered a tier, {2} up, {3} down, {4} pending downgrade, {5} unchanged; {6} history rows, {7} emails"
		)
		click.secho(
			frappe._(message).format(
				summary["customers"],
				summary["entered"],
				summary["upgraded"],
				summary["downgraded"],
				summary["pending"],
				summary["unchanged"],
				summary["history_rows"],
				summary["emails"],
			),
			fg="green",
		)
		if dry_run:
			click.secho(frappe._("Dry run: nothing was written"), fg="yellow")
