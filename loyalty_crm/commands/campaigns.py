"""Bench commands for retention campaigns: `bench --site S loyalty-crm campaign launch|measure NAME`."""

import click
from frappe.commands import pass_context

from loyalty_crm.commands.base import _, connected, loyalty_crm


@loyalty_crm.group("campaign")
def campaign():
	"""Retention campaigns: launch one, or measure it now."""


@campaign.command("launch")
@click.argument("name")
@pass_context
def launch(context, name):
	"""Launch a Draft campaign: draw the control group, issue the offer, send the messages.

	Launching a campaign that is already launched sends nothing and says so.
	"""
	import frappe

	from loyalty_crm.services import campaigns

	with connected(context):
		try:
			result = campaigns.launch(name, commit=True)
		except frappe.ValidationError as error:
			frappe.db.rollback()
			click.secho(frappe.utils.strip_html(str(error)), fg="red")
			raise SystemExit(1) from None
		for note in result.notes:
			click.secho(frappe.utils.strip_html(note), fg="yellow")
		click.secho(result.summary(), fg="yellow" if result.already_launched else "green")


@campaign.command("measure")
@click.argument("name")
@pass_context
def measure(context, name):
	"""Measure a launched campaign now: treated against control, saved on the campaign."""
	import frappe

	from loyalty_crm.services import campaigns

	with connected(context):
		try:
			figures = campaigns.measure(name, save=True, commit=True)
		except frappe.ValidationError as error:
			frappe.db.rollback()
			click.secho(frappe.utils.strip_html(str(error)), fg="red")
			raise SystemExit(1) from None
		incremental = figures["incremental_revenue"]
		click.echo(
			frappe._(_("{0}: {1} treated, {2} control; revenue per customer {3} vs {4}")).format(
				name,
				figures["treated_customers"],
				figures["control_customers"],
				_fmt(figures["treated_revenue_per_customer"]),
				_fmt(figures["control_revenue_per_customer"]),
			)
		)
		click.secho(
			frappe._(
				_("Incremental revenue {0} (95% interval {1} to {2}); offer cost {3}; return on cost {4}")
			).format(
				_fmt(incremental["estimate"]),
				_fmt(incremental["low"]),
				_fmt(incremental["high"]),
				_fmt(figures["offer_cost"]),
				_fmt(figures["return_on_cost"]),
			),
			fg="green",
		)


def _fmt(value) -> str:
	return "-" if value is None else f"{value:,.2f}"
