"""What every bench command shares: the `loyalty-crm` group and a connected site."""

from contextlib import contextmanager

import click
from frappe.commands import get_site


@click.group("loyalty-crm")
def loyalty_crm():
	"""Loyalty CRM administration."""


@contextmanager
def connected(context):
	import frappe

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		yield site
	finally:
		frappe.destroy()


def progress_printer(label: str):
	"""A one-line counter for long jobs; the services report progress through it."""

	def show(done: int, total: int):
		click.echo(f"\r{label}: {done}/{total}", nl=done >= total)

	return show


def _(message: str) -> str:
	"""Mark for translation; translated with frappe._ once the site is connected."""
	return message


def finish_import(errors: list[str], imported: str) -> None:
	"""Validate-all-then-write imports end the same way: every bad row printed and nothing kept, or commit.

	``imported`` is the translated success line.
	"""
	import frappe

	if errors:
		frappe.db.rollback()
		for error in errors:
			click.secho(error, fg="red")
		click.secho(frappe._("Nothing was imported: fix the rows above and run again"), fg="red", bold=True)
		raise SystemExit(1)
	frappe.db.commit()
	click.secho(imported, fg="green")
