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
from frappe.utils import cint, flt, getdate

from loyalty_crm.engine import points as engine
from loyalty_crm.engine.errors import EngineError

LEDGER = "Loyalty Ledger Entry"
ROW_FIELDS = ["name", "entry_type", "points", "posting_date", "expiry_date", "lot", "reverses"]


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
) -> list[str]:
	"""Insert planned rows as they are and refresh the customer's balance cache."""
	point_value = Decimal(str(flt(settings().point_value)))
	names = []
	for row in rows:
		points = Decimal(row["points"])
		entry = frappe.get_doc(
			{
				"doctype": LEDGER,
				"customer": customer,
				"company": company,
				"entry_type": row["entry_type"],
				"posting_date": row["posting_date"],
				"expiry_date": row.get("expiry_date"),
				"points": float(points),
				"currency_value": float(engine.round_currency(points * point_value)),
				"lot": row["lot"],
				"reverses": row.get("reverses"),
				"voucher_type": voucher_type,
				"voucher_no": voucher_no,
				"reason": reason,
				"eligible_amount": float(eligible_amount) if eligible_amount is not None else 0,
			}
		)
		# A row that opens a lot links to itself, which no link check can find before the insert.
		entry.insert(ignore_permissions=True, set_name=row["name"], ignore_links=row["lot"] == row["name"])
		names.append(entry.name)
	if names:
		refresh_balance(customer)
	return names


def settle_debts(customer: str, company: str, as_of) -> list[str]:
	"""New points pay off a negative balance left by an earlier cancellation first."""
	lots = customer_lots(customer, company, for_update=True)
	if lots is None:
		return []
	rows = engine.plan_settlement(lots, getdate(as_of), new_name=new_entry_name)
	return append_rows(rows, customer=customer, company=company, reason=_("Pays off a negative balance"))


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
	return Decimal(str(flt(value, 9))).normalize()


def _as_engine_row(row: dict) -> dict:
	row = dict(row)
	row["points"] = to_decimal(row["points"])
	return row
