"""Member cards: one unique number per customer, found by the till's and the desk's customer search.

Where the number lives: a unique Data field on Customer (``loyalty_crm_card_number``), not a
doctype of its own. A customer has one card at a time, and the search that has to find it is
the Customer link search ERPNext's till and the desk invoice already use: in ERPNext 15 the
POS customer selector and Sales Invoice's customer field set no custom query, so Frappe's
``search_widget`` searches the Customer's ``search_fields``. Adding the card field there (a
Property Setter, appended to whatever the administrator configured) makes both find a customer
by a scanned or typed number with no override of ERPNext's search. The till additionally asks
:func:`find_by_card` on Enter, so a scanned number selects the member at once and an unknown
number says so instead of an empty drop-down.

Numbers are issued from a Frappe Series (``tabSeries``, incremented under a row lock, so two
tills issuing at once get different numbers) when the customer's first points are written
(``ledger.append_rows``) or on demand (the Customer form's *Issue Member Card*), and can be
imported from an earlier card system (``bench loyalty-crm import-cards``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import frappe
from frappe import _
from frappe.model.naming import getseries

from loyalty_crm.engine import member_cards as engine
from loyalty_crm.engine.errors import EngineError

CARD_FIELD = "loyalty_crm_card_number"
SERIES_KEY = "LOYALTY-CRM-CARD-"


# ---------------------------------------------------------------- issuing
def next_card_number() -> str:
	"""The next generated number not already taken (an imported card may hold a generated-looking one)."""
	while True:
		number = engine.generated_card_number(int(getseries(SERIES_KEY, 10)))
		if not frappe.db.exists("Customer", {CARD_FIELD: number}):
			return number


def ensure_card_number(customer: str) -> str:
	"""The customer's card number, issuing one if they have none. One indexed read when they do."""
	current = frappe.db.get_value("Customer", customer, CARD_FIELD)
	if current:
		return current
	number = next_card_number()
	frappe.db.set_value("Customer", customer, CARD_FIELD, number, update_modified=False)
	return number


def issue_missing_cards(chunk: int = 1000) -> int:
	"""Members without a card (points written before cards existed, e.g. on an upgraded site) get one.

	Run on migrate. Set-wise: one query finds them, one locked update of the Series reserves all
	their numbers, and one ``UPDATE ... CASE`` per chunk writes them; returns how many were issued.
	"""
	customers = frappe.db.sql_list(
		f"""select c.name from `tabCustomer` c
		where (c.`{CARD_FIELD}` is null or c.`{CARD_FIELD}` = '')
			and exists (select 1 from `tabLoyalty Ledger Entry` l where l.customer = c.name)
		order by c.creation, c.name"""
	)
	if not customers:
		return 0
	numbers = reserve_card_numbers(len(customers))
	for start in range(0, len(customers), chunk):
		names = customers[start : start + chunk]
		cases = " ".join(["when %s then %s"] * len(names))
		values = [value for pair in zip(names, numbers[start : start + chunk], strict=True) for value in pair]
		frappe.db.sql(
			f"""update `tabCustomer` set `{CARD_FIELD}` = case name {cases} end
			where name in ({", ".join(["%s"] * len(names))})""",
			(*values, *names),
		)
	return len(customers)


def reserve_card_numbers(count: int) -> list[str]:
	"""``count`` new generated numbers from one locked update of the Series, skipping any already held."""
	numbers: list[str] = []
	while len(numbers) < count:
		wanted = count - len(numbers)
		frappe.db.sql("insert ignore into `tabSeries` (`name`, `current`) values (%s, 0)", SERIES_KEY)
		current = int(
			frappe.db.sql("select `current` from `tabSeries` where name = %s for update", SERIES_KEY)[0][0]
			or 0
		)
		frappe.db.sql("update `tabSeries` set `current` = %s where name = %s", (current + wanted, SERIES_KEY))
		batch = [engine.generated_card_number(current + i) for i in range(1, wanted + 1)]
		taken = set(frappe.get_all("Customer", filters={CARD_FIELD: ("in", batch)}, pluck=CARD_FIELD))
		numbers.extend(number for number in batch if number not in taken)
	return numbers


@frappe.whitelist(methods=["POST"])
def issue_card(customer: str) -> str:
	"""The Customer form's *Issue Member Card*: the existing number, or a new one."""
	frappe.has_permission("Customer", "write", customer, throw=True)
	if not frappe.db.exists("Customer", customer):
		frappe.throw(_("Customer {0} not found").format(customer), frappe.DoesNotExistError)
	return ensure_card_number(customer)


# ---------------------------------------------------------------- finding
@frappe.whitelist()
def find_by_card(card_number: str) -> dict:
	"""The customer holding a card number, or ``found: False`` with a message the till shows.

	Read through Customer permission, as the till's customer search is; a cashier sees a name,
	never a customer they could not pick anyway (disabled customers are not found).
	"""
	frappe.has_permission("Customer", "read", throw=True)
	number = engine.normalise_card_number(card_number)
	row = (
		frappe.db.get_value(
			"Customer",
			{CARD_FIELD: number, "disabled": 0},
			["name", "customer_name"],
			as_dict=True,
		)
		if number
		else None
	)
	if row and frappe.has_permission("Customer", "read", row.name):
		return {
			"found": True,
			"card_number": number,
			"customer": row.name,
			"customer_name": row.customer_name,
		}
	if number.isdigit() and len(number) == engine.GENERATED_LENGTH and not engine.is_generated_number(number):
		message = _(
			"{0} is not a valid member card number: its check digit is wrong. Scan it again or check the digits."
		)
	else:
		message = _("No member has card number {0}")
	return {"found": False, "card_number": number, "message": message.format(number)}


def add_card_to_customer_search() -> None:
	"""Append the card field to Customer's search fields (a Property Setter), keeping the administrator's."""
	from frappe.custom.doctype.property_setter.property_setter import make_property_setter

	current = frappe.get_meta("Customer").search_fields or ""
	fields = [name.strip() for name in current.split(",") if name.strip()]
	if CARD_FIELD in fields:
		return
	make_property_setter(
		"Customer",
		None,
		"search_fields",
		",".join([*fields, CARD_FIELD]),
		"Data",
		for_doctype=True,
		validate_fields_for_doctype=False,
	)


def remove_card_from_customer_search() -> None:
	"""Uninstall: take the card field out of the search fields again (the field itself goes too)."""
	from frappe.custom.doctype.property_setter.property_setter import make_property_setter

	current = frappe.get_meta("Customer").search_fields or ""
	fields = [name.strip() for name in current.split(",") if name.strip()]
	if CARD_FIELD not in fields:
		return
	make_property_setter(
		"Customer",
		None,
		"search_fields",
		",".join(name for name in fields if name != CARD_FIELD),
		"Data",
		for_doctype=True,
		validate_fields_for_doctype=False,
	)


# ---------------------------------------------------------------- importing
@dataclass
class CardImport:
	errors: list[str] = field(default_factory=list)
	assigned: int = 0


def import_cards(path: str, replace: bool = False) -> CardImport:
	"""Card numbers from an earlier system: ``customer,card_number``; every row checked before any is written.

	A customer who already has a different number keeps it unless ``replace`` is given; a
	number another customer holds, a number twice in the file, or a customer twice is refused.
	"""
	result = CardImport()
	with open(path, newline="", encoding="utf-8-sig") as handle:
		reader = csv.DictReader(handle)
		headers = [(name or "").strip().lower() for name in reader.fieldnames or []]
		missing = [column for column in ("customer", "card_number") if column not in headers]
		if missing:
			result.errors.append(_("The file is missing the column(s): {0}").format(", ".join(missing)))
			return result
		rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
	if not rows:
		result.errors.append(_("The file has no rows to import"))
		return result

	names = [row["customer"] for row in rows]
	existing = {
		row.name: row.get(CARD_FIELD) or ""
		for row in frappe.get_all("Customer", filters={"name": ("in", names)}, fields=["name", CARD_FIELD])
	}
	planned: list[tuple[str, str]] = []
	seen_numbers: dict[str, int] = {}
	seen_customers: dict[str, int] = {}
	for line, row in enumerate(rows, start=2):
		customer = row["customer"]
		if customer not in existing:
			result.errors.append(_("Row {0}: unknown customer {1}").format(line, customer or "''"))
			continue
		try:
			number = engine.validate_card_number(row["card_number"])
		except EngineError as error:
			result.errors.append(_("Row {0}: {1}").format(line, error.translated(_)))
			continue
		if number in seen_numbers:
			result.errors.append(
				_("Row {0}: card number {1} is also on row {2}").format(line, number, seen_numbers[number])
			)
			continue
		if customer in seen_customers:
			result.errors.append(
				_("Row {0}: customer {1} is also on row {2}").format(line, customer, seen_customers[customer])
			)
			continue
		seen_numbers[number] = line
		seen_customers[customer] = line
		if existing[customer] and existing[customer] != number and not replace:
			result.errors.append(
				_("Row {0}: customer {1} already has card number {2}; use --replace to give them {3}").format(
					line, customer, existing[customer], number
				)
			)
			continue
		planned.append((customer, number))

	holders = {
		row.get(CARD_FIELD): row.name
		for row in frappe.get_all(
			"Customer",
			filters={CARD_FIELD: ("in", [number for _customer, number in planned] or [""])},
			fields=["name", CARD_FIELD],
		)
	}
	giving_up = {customer for customer, number in planned if existing[customer] != number}
	for customer, number in planned:
		holder = holders.get(number)
		# a holder who gets another number in this same file gives this one up (a swap)
		if holder and holder != customer and holder not in giving_up:
			result.errors.append(
				_("Row {0}: card number {1} belongs to customer {2}").format(
					seen_customers[customer], number, holder
				)
			)
	if result.errors:
		return result

	# Clear first, then set: a swap of two numbers never trips the unique index half-way.
	changing = [customer for customer, number in planned if existing[customer] != number]
	if changing:
		frappe.db.set_value("Customer", {"name": ("in", changing)}, CARD_FIELD, None, update_modified=False)
	for customer, number in planned:
		if existing[customer] != number:
			frappe.db.set_value("Customer", customer, CARD_FIELD, number, update_modified=False)
	result.assigned = len(changing)
	return result


# ---------------------------------------------------------------- printing
def loyalty_member_card(doc) -> dict:
	"""Jinja method for the *Loyalty Member Card* print format: what the card shows.

	Printing never issues a number: a print request is rolled back, so a number made here would
	be printed and then forgotten. A customer without one prints a card that says how to get one.
	"""
	import base64

	import segno

	doc = frappe._dict(doc.as_dict() if hasattr(doc, "as_dict") else doc)
	number = doc.get(CARD_FIELD) or ""
	tier = doc.get("loyalty_crm_tier") or ""
	card = frappe._dict(
		number=number,
		spaced_number=" ".join(number[i : i + 4] for i in range(0, len(number), 4))
		if number.isdigit()
		else number,
		customer_name=doc.get("customer_name") or doc.get("name"),
		tier=tier,
		tier_color=(frappe.db.get_value("Loyalty Tier", tier, "color") if tier else None) or "#2f5d8a",
		company=frappe.defaults.get_global_default("company") or "",
		barcode="",
		qr="",
	)
	if number:
		svg = engine.code128_svg(number, module_width=2, height=56)
		card.barcode = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
		# micro=False: segno picks a Micro QR for a short number, which most phone and till scanners cannot read
		card.qr = segno.make(number, error="m", micro=False).svg_data_uri(scale=4, border=2)
	return card


def validate_customer(doc, method=None):
	"""Customer validate: a card number typed on the form is stored as scanned (upper case, no
	spaces) and must look like a card number; a duplicate is refused by the unique index."""
	value = doc.get(CARD_FIELD)
	if not value:
		doc.set(CARD_FIELD, None)
		return
	try:
		doc.set(CARD_FIELD, engine.validate_card_number(value))
	except EngineError as error:
		frappe.throw(error.translated(_), title=_("Member Card Number"))
