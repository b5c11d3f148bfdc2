"""What every bench command shares: the `loyalty-crm` group and a connected site."""

import re
from contextlib import contextmanager
from datetime import date

import click
import frappe
from frappe.commands import get_site


@click.group("loyalty-crm")
def loyalty_crm():
	"""Loyalty CRM administration."""


@contextmanager
def connected(context):
	"""A connected site; bad input (any frappe.ValidationError) ends the command with its message.

	The message is printed in red, the transaction rolled back and the exit code is 1: a user who
	typed a wrong date or company name gets one line saying so, never a traceback.
	"""
	from frappe.utils import strip_html

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		yield site
	except frappe.ValidationError as error:
		frappe.db.rollback()
		click.secho(strip_html(str(error)) or type(error).__name__, fg="red")
		raise SystemExit(1) from None
	finally:
		frappe.destroy()


class BadOption(frappe.ValidationError):
	"""A bench command option that names nothing on the site or is not a usable date."""


def check_date_option(value: str | None, option: str, allow_future: bool = False) -> date | None:
	"""``--date``-like options: YYYY-MM-DD, from 2000 on, and not after today unless allowed.

	A future date is refused because every dated command (expiry, tiers, segments) would act
	on days that have not happened: expiring points customers still own, for example.
	"""
	from frappe.utils import getdate, nowdate

	from loyalty_crm.engine.csv_import import EARLIEST_DATE, shown

	if value is None:
		return None
	text = str(value).strip()
	try:
		parsed = date.fromisoformat(text) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else None
	except ValueError:
		parsed = None
	today = getdate(nowdate())
	if parsed is None:
		message = frappe._("{0} {1} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31")
		frappe.throw(message.format(option, shown(value)), BadOption)
	if parsed < EARLIEST_DATE:
		message = frappe._("{0} {1} is before {2}; check the year")
		frappe.throw(message.format(option, shown(value), EARLIEST_DATE.isoformat()), BadOption)
	if not allow_future and parsed > today:
		message = frappe._("{0} {1} is in the future (today is {2}); give today or an earlier date")
		frappe.throw(message.format(option, shown(value), today.isoformat()), BadOption)
	return parsed


def check_record_option(doctype: str, value: str | None, option: str) -> str | None:
	"""``--company`` / ``--segment``: the record must exist; returns its exact name."""
	from loyalty_crm.engine.csv_import import shown

	if value is None:
		return None
	text = str(value).strip()
	name = frappe.db.get_value(doctype, text, "name") if text and len(text) <= 140 else None
	if not name:
		known = frappe.get_all(doctype, pluck="name", limit=6, order_by="name asc")
		listed = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
		message = frappe._("{0} {1}: there is no {2} of that name; the names are: {3}")
		frappe.throw(message.format(option, shown(value), frappe._(doctype), listed or "-"), BadOption)
	return name


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
