"""Bench command for member cards: numbers from an earlier card system."""

import click
from frappe.commands import pass_context

from loyalty_crm.commands.base import connected, finish_import, loyalty_crm


@loyalty_crm.command("import-cards")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
	"--replace", is_flag=True, help="Give customers who already have a card the number in the file."
)
@pass_context
def import_cards(context, path, replace=False):
	"""Member card numbers from a CSV (customer, card_number); nothing is written if a row is bad."""
	import frappe

	from loyalty_crm.services.cards import import_cards as run

	with connected(context):
		result = run(path, replace=replace)
		finish_import(result.errors, frappe._("{0} member card numbers imported").format(result.assigned))
