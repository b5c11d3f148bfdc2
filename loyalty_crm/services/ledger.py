"""Reading and appending Loyalty Ledger Entries: the only code that writes the ledger.

Rows are planned by ``loyalty_crm.engine.points`` (pure) and appended here, named before
insertion because a lot names itself. Nothing here updates or deletes a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import frappe
from frappe import _
from frappe.model.naming import make_autoname
from frappe.utils import cint, flt, getdate, now_datetime

from loyalty_crm.engine import points as engine
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import cards

LEDGER = "Loyalty Ledger Entry"
ROW_FIELDS = ["name", "entry_type", "points", "posting_date", "expiry_date", "lot", "reverses"]
INSERT_FIELDS = [
	"name",
	"creation",
	"modified",
	"owner",
	"modified_by",
	"customer",
	"customer_name",
	"company",
	"entry_type",
	"posting_date",
	"expiry_date",
	"points",
	"currency_value",
	"lot",
	"reverses",
	"voucher_type",
	"voucher_no",
	"reason",
	"eligible_amount",
	"against_voucher_type",
	"against_voucher_no",
]


def settings():
	return frappe.get_cached_doc("Loyalty Settings")


def precision() -> int:
	return cint(settings().points_precision)


def new_entry_name() -> str:
	return make_autoname("LLE-.#########", LEDGER)


def throw_engine_error(error: EngineError):
	frappe.throw(error.translated(_), title=_("Loyalty Points"))


def lock_customer(customer: str) -> None:
	"""Serialise every movement of one customer's points on the Customer row.

	Two tills redeeming the same last points: the second waits here, then re-reads the ledger
	and finds the points gone.
	"""
	frappe.db.sql("select name from `tabCustomer` where name = %s for update", customer)


def customer_rows(customer: str, company: str, for_update: bool = False) -> list[dict]:
	"""All the customer's rows in a company.

	Under :func:`lock_customer` pass ``for_update``: a locking read sees what another till
	committed while we waited, where a plain read would still see this transaction's snapshot.
	"""
	fields = ", ".join(
		f"`{field}`" for field in [*ROW_FIELDS, "voucher_type", "voucher_no", "eligible_amount"]
	)
	rows = frappe.db.sql(
		f"""select {fields} from `tab{LEDGER}`
		where customer = %(customer)s and company = %(company)s
		order by creation asc, name asc {"for update" if for_update else ""}""",
		{"customer": customer, "company": company},
		as_dict=True,
	)
	return [_as_engine_row(row) for row in rows]


def document_rows(voucher_type: str, voucher_no: str) -> list[dict]:
	rows = frappe.get_all(
		LEDGER,
		filters={"voucher_type": voucher_type, "voucher_no": voucher_no},
		fields=[*ROW_FIELDS, "customer", "company", "eligible_amount"],
		order_by="creation asc, name asc",
	)
	return [_as_engine_row(row) for row in rows]


def customer_lots(customer: str, company: str, for_update: bool = False):
	rows = customer_rows(customer, company, for_update)
	return engine.lot_balances(rows) if rows else None


def available_points(customer: str, company: str, as_of) -> Decimal:
	lots = customer_lots(customer, company)
	return engine.available_points(lots, getdate(as_of)) if lots is not None else Decimal(0)


def append_rows(
	rows: Iterable[dict],
	*,
	customer: str,
	company: str,
	voucher_type: str | None = None,
	voucher_no: str | None = None,
	reason: str | None = None,
	eligible_amount: Decimal | None = None,
	against: tuple[str, str] | None = None,
) -> list[str]:
	"""Insert planned rows as they are, in one statement, and refresh the customer's balance cache.

	The rows were planned and checked by the engine from documents Frappe already validated, so
	they go in with one bulk INSERT rather than a Document each: this runs on every till sale.
	Points go to the DECIMAL column as exact decimals, never through a float. ``against`` is the
	(doctype, name) the points are about when that is not the source (a survey's invoice).
	"""
	rows = list(rows)
	if not rows:
		return []
	point_value = to_decimal(settings().point_value)
	now = now_datetime()
	user = frappe.session.user
	customer_name = frappe.db.get_value("Customer", customer, "customer_name")
	amount = engine.round_currency(eligible_amount) if eligible_amount is not None else Decimal(0)
	values = [
		(
			row["name"],
			now,
			now,
			user,
			user,
			customer,
			customer_name,
			company,
			row["entry_type"],
			row["posting_date"],
			row.get("expiry_date"),
			Decimal(row["points"]),
			engine.round_currency(Decimal(row["points"]) * point_value),
			row["lot"],
			row.get("reverses"),
			voucher_type,
			voucher_no,
			reason,
			amount,
			*(against or (None, None)),
		)
		for row in rows
	]
	frappe.db.bulk_insert(LEDGER, INSERT_FIELDS, values)
	refresh_balance(customer)
	# the first movement of points makes the customer a member: they get a card number
	cards.ensure_card_number(customer)
	return [row["name"] for row in rows]


def settle_debts(customer: str, company: str, as_of) -> list[str]:
	"""New points pay off a negative balance left by an earlier cancellation first."""
	if not has_debt(customer, company):
		return []
	lots = customer_lots(customer, company, for_update=True)
	if lots is None:
		return []
	rows = engine.plan_settlement(lots, getdate(as_of), new_name=new_entry_name)
	return append_rows(rows, customer=customer, company=company, reason=_("Pays off a negative balance"))


def has_debt(customer: str, company: str) -> bool:
	"""One indexed query, so the usual sale (no debt) does not load the customer's whole ledger."""
	return bool(
		frappe.db.sql(
			f"""select debt.name from `tab{LEDGER}` debt
			join `tab{LEDGER}` e on e.lot = debt.name
			where debt.customer = %(customer)s and debt.company = %(company)s
				and debt.lot = debt.name and debt.points < 0
			group by debt.name
			having sum(e.points) < 0
			limit 1""",
			{"customer": customer, "company": company},
		)
	)


def refresh_balance(customer: str) -> Decimal:
	"""The Customer field is a cache of the sum of the ledger, never a number of its own."""
	total = frappe.db.sql(
		f"select coalesce(sum(points), 0) from `tab{LEDGER}` where customer = %s", customer
	)[0][0]
	frappe.db.set_value("Customer", customer, "loyalty_crm_points_balance", total, update_modified=False)
	return Decimal(str(total))


def balance(customer: str, company: str | None = None) -> Decimal:
	filters = {"customer": customer, **({"company": company} if company else {})}
	total = frappe.db.get_value(LEDGER, filters, "sum(points)") or 0
	return Decimal(str(total))


def to_decimal(value) -> Decimal:
	"""Frappe hands Float columns over as floats; the ledger math takes exact decimals."""
	return Decimal(str(flt(value, 9)))


def _as_engine_row(row: dict) -> dict:
	row = dict(row)
	row["points"] = to_decimal(row["points"])
	return row


# ---------------------------------------------------------------- many customers at once


ENTRY_PREFIX = "LLE-"


def reserve_entry_names(count: int) -> list[str]:
	"""A block of names from the ledger's own series (LLE-.#########) in one locked update.

	Same names :func:`new_entry_name` gives one by one, without a series update per row.
	"""
	if count <= 0:
		return []
	row = frappe.db.sql("select `current` from `tabSeries` where `name` = %s for update", ENTRY_PREFIX)
	start = cint(row[0][0]) if row else 0
	if row:
		frappe.db.sql(
			"update `tabSeries` set `current` = %s where `name` = %s", (start + count, ENTRY_PREFIX)
		)
	else:
		frappe.db.sql("insert into `tabSeries` (`name`, `current`) values (%s, %s)", (ENTRY_PREFIX, count))
	return [f"{ENTRY_PREFIX}{number:09d}" for number in range(start + 1, start + count + 1)]


def lock_customers(customers: list[str]) -> None:
	""":func:`lock_customer` for many customers, in name order so two jobs cannot deadlock."""
	ordered = sorted(set(customers))
	for first in range(0, len(ordered), 1000):
		frappe.db.sql(
			"select name from `tabCustomer` where name in %(names)s order by name for update",
			{"names": tuple(ordered[first : first + 1000])},
		)


def append_customer_lots(
	rows_by_customer: dict[str, dict],
	*,
	company: str,
	voucher_type: str,
	voucher_no: str,
	reason: str | None = None,
) -> dict[str, str]:
	"""One new lot per customer (e.g. a campaign's bonus points), bulk-inserted under the customers' locks.

	The caller plans each row with ``engine.plan_earn`` (names from :func:`reserve_entry_names`)
	and has already taken :func:`lock_customers`. Balance caches are refreshed with one UPDATE
	per 1,000 customers. Returns customer -> entry name.
	"""
	if not rows_by_customer:
		return {}
	point_value = to_decimal(settings().point_value)
	now = now_datetime()
	user = frappe.session.user
	customers = list(rows_by_customer)
	names = {}
	for first in range(0, len(customers), 1000):
		names.update(
			frappe.db.sql(
				"select name, customer_name from `tabCustomer` where name in %(names)s",
				{"names": tuple(customers[first : first + 1000])},
			)
		)
	values = [
		tuple(
			{
				"name": row["name"],
				"creation": now,
				"modified": now,
				"owner": user,
				"modified_by": user,
				"customer": customer,
				"customer_name": names.get(customer),
				"company": company,
				"entry_type": row["entry_type"],
				"posting_date": row["posting_date"],
				"expiry_date": row.get("expiry_date"),
				"points": Decimal(row["points"]),
				"currency_value": engine.round_currency(Decimal(row["points"]) * point_value),
				"lot": row["lot"],
				"reverses": row.get("reverses"),
				"voucher_type": voucher_type,
				"voucher_no": voucher_no,
				"reason": reason,
				"eligible_amount": Decimal(0),
			}.get(field)
			for field in INSERT_FIELDS
		)
		for customer, row in rows_by_customer.items()
	]
	frappe.db.bulk_insert(LEDGER, INSERT_FIELDS, values)
	for first in range(0, len(customers), 1000):
		frappe.db.sql(
			f"""update `tabCustomer` c
			set c.loyalty_crm_points_balance = (
				select coalesce(sum(e.points), 0) from `tab{LEDGER}` e where e.customer = c.name
			)
			where c.name in %(names)s""",
			{"names": tuple(customers[first : first + 1000])},
		)
	return {customer: row["name"] for customer, row in rows_by_customer.items()}
