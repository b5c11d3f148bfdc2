"""Birthday rewards: the daily job, the one-per-birthday rule, the till's birthday badge.

The rules (29 February, the catch-up days, the birthday week) are the pure engine's
(``engine/birthdays.py``); this module reads customers, checks the ledger and writes.

Each reward is one ledger row of its own type, *Birthday*, planned by ``engine.points.plan_earn``
and written by ``ledger.append_rows`` under the customer's row lock, so it is counted apart from
purchase points (it does not count towards a Points Earned tier ladder) and a second grant for
the same birthday finds the first one even when two workers race. The row's source is the
Customer itself and its reason names the birthday (e.g. "Birthday 2026-03-14"); "once a year"
is checked on the posting dates: a birthday is rewarded between the birthday and the end of
its catch-up days, so any Birthday row posted in that range is that birthday's reward.

Which company: the points go to the site's default company (Global Defaults), the company whose
tills a customer's birthday offer is meant for on a single-company site; a multi-company site
can move them with an adjustment.
"""

from __future__ import annotations

from datetime import date, timedelta

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from loyalty_crm.engine import birthdays as engine
from loyalty_crm.engine import points as points_engine
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import ledger

DOB_FIELD = "loyalty_crm_date_of_birth"
ENTRY_TYPE = "Birthday"
EMAIL_TEMPLATE = "Loyalty Birthday Greeting"
EMAIL_TEMPLATES = {
	EMAIL_TEMPLATE: {
		"subject": "Happy birthday, {{ customer_name }}!",
		"response": (
			"<p>Dear {{ customer_name }},</p>"
			"<p>Happy birthday! We have added <b>{{ points }}</b> points to your loyalty account"
			" as our present. Enjoy them on your next visit.</p>"
		),
	},
}


class BirthdayRewardError(frappe.ValidationError):
	pass


def reward_company() -> str | None:
	return frappe.defaults.get_global_default("company")


def rewarded_customers(customers: list[str], birthday: date) -> set[str]:
	"""Customers who already have a Birthday row for the birthday on ``birthday`` (one query)."""
	if not customers:
		return set()
	return set(
		frappe.get_all(
			ledger.LEDGER,
			filters={
				"customer": ("in", customers),
				"entry_type": ENTRY_TYPE,
				"posting_date": ("between", [birthday, birthday + timedelta(days=engine.CATCH_UP_DAYS)]),
			},
			pluck="customer",
			distinct=True,
		)
	)


def grant_birthday_points(customer: str, as_of: date | str | None = None, *, send_email: bool = True) -> str:
	"""Write the customer's birthday reward for the birthday due on ``as_of``; refuse a second one.

	Refused with a translated message (nothing written) when birthday points are off, the
	customer has no date of birth, no birthday is due on that day, or this birthday was rewarded.
	"""
	today = getdate(as_of or nowdate())
	settings = ledger.settings()
	points = ledger.to_decimal(settings.get("birthday_points") or 0)
	if points <= 0:
		frappe.throw(
			_("Birthday points are off: set Birthday Points in Loyalty Settings"), BirthdayRewardError
		)
	company = reward_company()
	if not company:
		frappe.throw(
			_("Set a default company in Global Defaults to give birthday points"), BirthdayRewardError
		)
	date_of_birth = frappe.db.get_value("Customer", customer, DOB_FIELD)
	if not date_of_birth:
		frappe.throw(_("Customer {0} has no date of birth").format(customer), BirthdayRewardError)
	birthday = engine.reward_birthday(getdate(date_of_birth), today)
	if birthday is None:
		frappe.throw(
			_(
				"No birthday of customer {0} is due on {1}: the reward is given from the birthday to {2} days after"
			).format(customer, frappe.format(today, "Date"), engine.CATCH_UP_DAYS),
			BirthdayRewardError,
		)
	ledger.lock_customer(customer)
	if rewarded_customers([customer], birthday):
		frappe.throw(
			_("Customer {0} already received the birthday points for {1}").format(
				customer, frappe.format(birthday, "Date")
			),
			BirthdayRewardError,
		)
	name = _write_reward(customer, company, points, birthday, today, settings)
	if send_email:
		send_birthday_emails(settings.get("birthday_email_template"), {customer: points})
	return name


def _write_reward(customer, company, points, birthday: date, today: date, settings) -> str:
	try:
		row = points_engine.plan_earn(
			points_engine.round_points(points, ledger.precision()),
			today,
			settings.default_expiry_days or None,
			entry_type=ENTRY_TYPE,
			new_name=ledger.new_entry_name,
		)
	except EngineError as error:
		ledger.throw_engine_error(error)
	name = ledger.append_rows(
		[row],
		customer=customer,
		company=company,
		voucher_type="Customer",
		voucher_no=customer,
		reason=_("Birthday {0}").format(birthday.isoformat()),
	)[0]
	ledger.settle_debts(customer, company, today)
	return name


def grant_due(as_of: date | str | None = None) -> int:
	"""Every customer whose birthday reward is due on ``as_of`` and not yet given; returns how many.

	One query reads the dates of birth of enabled customers, the engine picks who is due (29
	February rule, catch-up days), one query per birthday date finds who was already rewarded;
	then each due customer gets their row under their lock (a few hundred a day at 100k members).
	"""
	today = getdate(as_of or nowdate())
	settings = ledger.settings()
	points = ledger.to_decimal(settings.get("birthday_points") or 0)
	company = reward_company()
	if points <= 0 or not company:
		return 0
	import pandas as pd

	rows = frappe.db.sql(
		f"""select name, `{DOB_FIELD}` from `tabCustomer`
		where `{DOB_FIELD}` is not null and disabled = 0""",
		as_list=True,
	)
	if not rows:
		return 0
	frame = pd.DataFrame(rows, columns=["customer", "date_of_birth"]).set_index("customer")
	due = engine.due_rewards(frame["date_of_birth"], today)
	granted: dict[str, object] = {}
	for birthday, customers in due.groupby(due.map(str)).groups.items():
		birthday = getdate(birthday)
		done = rewarded_customers(list(customers), birthday)
		for customer in customers:
			if customer in done:
				continue
			ledger.lock_customer(customer)
			if rewarded_customers([customer], birthday):  # another worker was first
				continue
			_write_reward(customer, company, points, birthday, today, settings)
			granted[customer] = points
	send_birthday_emails(settings.get("birthday_email_template"), granted)
	return len(granted)


def grant_birthday_points_daily():
	"""Scheduler: today's birthday rewards, committed; a failure is logged, never raised at the scheduler."""
	try:
		grant_due(nowdate())
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()
		frappe.log_error(title=_("Birthday points not given"))


def send_birthday_emails(template: str | None, points_by_customer: dict) -> int:
	"""The optional birthday email; customers without an email address or a site without mail get none."""
	if not template or not points_by_customer:
		return 0
	from loyalty_crm.services.tiers import send_tier_emails

	return send_tier_emails(
		template,
		{
			customer: {"points": frappe.format(points, "Float")}
			for customer, points in points_by_customer.items()
		},
	)


def birthday_status(customer: str, as_of: date | str | None = None) -> dict:
	"""For the till's badge: is it the customer's birthday week, and which day is the birthday."""
	today = getdate(as_of or nowdate())
	value = frappe.db.get_value("Customer", customer, DOB_FIELD)
	date_of_birth = getdate(value) if value else None
	if not engine.in_birthday_week(date_of_birth, today):
		return {"birthday_week": False}
	birthday = engine.nearest_birthday(date_of_birth, today)
	return {
		"birthday_week": True,
		"birthday": birthday.isoformat(),
		"is_today": birthday == today,
	}


def make_birthday_email_template():
	"""The greeting template, created once; the administrator chooses whether to use it (Loyalty Settings)."""
	for name, template in EMAIL_TEMPLATES.items():
		if not frappe.db.exists("Email Template", name):
			frappe.get_doc({"doctype": "Email Template", "name": name, **template}).insert(
				ignore_permissions=True
			)


def delete_birthday_email_template():
	for name in EMAIL_TEMPLATES:
		frappe.db.delete("Email Template", {"name": name})


def validate_customer(doc, method=None):
	"""Customer validate: a date of birth in the future or before 1900 is refused, naming the value."""
	value = doc.get(DOB_FIELD)
	if not value:
		return
	try:
		engine.validate_date_of_birth(getdate(value), getdate(nowdate()))
	except EngineError as error:
		frappe.throw(error.translated(_), title=_("Date of Birth"))
