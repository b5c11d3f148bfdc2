"""Bench commands for customer segments."""

import click
from frappe.commands import pass_context

from loyalty_crm.commands.base import (
	check_date_option,
	check_record_option,
	connected,
	loyalty_crm,
	progress_printer,
)


@loyalty_crm.command("refresh-segments")
@click.option("--segment", help="Rewrite only this Customer Segment's memberships.")
@click.option("--company", help="Rewrite only memberships in this company.")
@click.option("--as-of", "as_of", help="Segment as of this date (default: today).")
@pass_context
def refresh_segments(context, segment=None, company=None, as_of=None):
	"""Recompute segment memberships and the Customer segment fields now (inline, with progress).

	Writes only what changed: running it twice in a row writes nothing the second time.
	"""
	import frappe

	from loyalty_crm.services.segments import refresh_segments as run

	with connected(context):
		segment = check_record_option("Customer Segment", segment, "--segment")
		company = check_record_option("Company", company, "--company")
		as_of = check_date_option(as_of, "--as-of")
		try:
			result = run(
				segment=segment,
				company=company,
				as_of=as_of,
				progress=progress_printer(frappe._("Customers written")),
				commit=True,
			)
		except frappe.ValidationError as error:
			frappe.db.rollback()
			click.secho(str(error), fg="red")
			raise SystemExit(1) from None
		colour = "yellow" if result.nothing_to_segment else "green"
		click.secho(result.summary(), fg=colour)
		click.echo(frappe._("Done in {0:.1f} s").format(result.seconds))
