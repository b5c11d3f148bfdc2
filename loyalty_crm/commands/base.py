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
