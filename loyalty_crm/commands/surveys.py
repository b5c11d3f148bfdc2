"""Bench commands for satisfaction surveys."""

import click
from frappe.commands import pass_context

from loyalty_crm.commands.base import connected, finish_import, loyalty_crm, progress_printer


@loyalty_crm.command("import-surveys")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--no-points", is_flag=True, help="Do not award the survey reward points for these answers.")
@pass_context
def import_surveys(context, path, no_points=False):
	"""Survey answers from a CSV (customer, submitted_on, nps, csat, ces, comment, complaint, ...)."""
	import frappe

	from loyalty_crm.services.survey_import import import_surveys as run

	with connected(context):  # a bad file (BadImportFile) is printed and exits 1 there
		result = run(path, award_points=not no_points, progress=progress_printer(frappe._("Rows written")))
		finish_import(result.errors, frappe._("{0} survey answers imported").format(len(result.created)))
