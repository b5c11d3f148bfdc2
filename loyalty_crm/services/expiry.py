"""Expiring lapsed points: set-wise over all customers, committed per chunk, safe to re-run.

A lot with expiry date D can be spent through D; from D + 1 an Expire row takes what is left.
The job recomputes what is left under each chunk's customer locks, so a till redeeming at the
same moment can never make a lot go below zero, and a re-run finds nothing left to expire.
"""

from __future__ import annotations

from collections.abc import Callable

import frappe
from frappe import _
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.utils import add_days, cint, flt, getdate

from loyalty_crm.engine import points as engine
from loyalty_crm.services import ledger

CHUNK = 500


def customers_with_lapsed_points(as_of) -> list[str]:
	return frappe.db.sql_list(
		f"""
		select distinct opener.customer
		from `tab{ledger.LEDGER}` opener
		join `tab{ledger.LEDGER}` e on e.lot = opener.name
		where opener.lot = opener.name and opener.expiry_date < %(as_of)s
		group by opener.name, opener.customer
		having sum(e.points) > 0
		order by opener.customer
		""",
		{"as_of": getdate(as_of)},
	)


def lapsed_lots(customers: list[str], as_of):
	"""Lots (with customer and company) past their expiry date, one SQL aggregation."""
	import pandas as pd

	rows = frappe.db.sql(
		f"""
		select opener.name as lot, opener.customer, opener.company, opener.posting_date as opened_on,
			opener.expiry_date, opener.points, sum(e.points) as remaining
		from `tab{ledger.LEDGER}` opener
		join `tab{ledger.LEDGER}` e on e.lot = opener.name
		where opener.lot = opener.name and opener.expiry_date < %(as_of)s
			and opener.customer in %(customers)s
		group by opener.name
		having remaining > 0
		for update
		""",
		{"as_of": getdate(as_of), "customers": customers},
		as_dict=True,
	)
	frame = pd.DataFrame.from_records([dict(row) for row in rows])
	for column in ("points", "remaining"):
		frame[column] = [ledger.to_decimal(value) for value in frame[column]]
	return frame


def expire_points(as_of, progress: Callable[[int, int], None] | None = None) -> int:
	"""Write Expire rows for every lapsed lot; returns how many rows were written."""
	as_of = getdate(as_of)
	customers = customers_with_lapsed_points(as_of)
	written = 0
	frappe.db.commit()  # each chunk reads after its locks, never through an older snapshot
	for start in range(0, len(customers), CHUNK):
		chunk = customers[start : start + CHUNK]
		for customer in chunk:
			ledger.lock_customer(customer)
		lots = lapsed_lots(chunk, as_of)
		if not lots.empty:
			due = engine.expiring(lots, as_of)
			company_of = dict(zip(lots["lot"], lots["company"], strict=True))
			for customer, group in due.groupby("customer", sort=True):
				draws = list(zip(group["lot"], group["points_to_expire"], strict=True))
				by_company: dict[str, list] = {}
				for lot, value in draws:
					by_company.setdefault(company_of[lot], []).append((lot, value))
				for company, company_draws in by_company.items():
					rows = engine.rows_for_draws(
						company_draws, "Expire", as_of, new_name=ledger.new_entry_name
					)
					written += len(
						ledger.append_rows(
							rows, customer=customer, company=company, reason=_("Points expired")
						)
					)
		frappe.db.commit()
		if progress:
			progress(min(start + CHUNK, len(customers)), len(customers))
	return written


NOTICE_SENT_KEY = "loyalty_crm_expiry_notice_sent_on"


def expiring_on(day) -> list[dict]:
	"""Per customer and company, the points still left in lots whose last usable day is ``day``."""
	return frappe.db.sql(
		f"""
		select lots.customer, lots.company, sum(lots.remaining) as points
		from (
			select opener.customer, opener.company, sum(e.points) as remaining
			from `tab{ledger.LEDGER}` opener
			join `tab{ledger.LEDGER}` e on e.lot = opener.name
			where opener.lot = opener.name and opener.expiry_date = %(day)s
			group by opener.name
			having remaining > 0
		) lots
		group by lots.customer, lots.company
		""",
		{"day": getdate(day)},
		as_dict=True,
	)


def notify_expiring_points(as_of) -> int:
	"""E-mail customers whose points lapse in N days (Loyalty Settings; 0 = off), once a day.

	A re-run the same day sends nothing twice: the day is recorded when the notices are queued.
	"""
	days = cint(ledger.settings().expiry_notice_days)
	as_of = getdate(as_of)
	if days <= 0 or frappe.db.get_default(NOTICE_SENT_KEY) == str(as_of):
		return 0
	if not EmailAccount.find_outgoing():
		frappe.log_error(
			title=_("Loyalty points expiry notices not sent"),
			message=_("Set up a default outgoing Email Account; the notices go out on the next daily run."),
		)
		return 0
	last_day = getdate(add_days(as_of, days))
	due = expiring_on(last_day)
	customers = {
		row.name: row
		for row in frappe.get_all(
			"Customer",
			filters={"name": ("in", [row.customer for row in due] or [""])},
			fields=["name", "customer_name", "email_id", "language"],
		)
	}
	sent = 0
	for row in due:
		customer = customers.get(row.customer)
		if not customer or not customer.email_id:
			continue
		lang = customer.language or None
		frappe.sendmail(
			recipients=[customer.email_id],
			subject=_("Your loyalty points expire on {0}", lang=lang).format(frappe.format(last_day, "Date")),
			message=_(
				"Dear {0}, {1} of your loyalty points with {2} expire on {3}. Use them before then.",
				lang=lang,
			).format(customer.customer_name, flt(row.points), row.company, frappe.format(last_day, "Date")),
			reference_doctype="Customer",
			reference_name=customer.name,
		)
		sent += 1
	frappe.db.set_default(NOTICE_SENT_KEY, str(as_of))
	return sent
