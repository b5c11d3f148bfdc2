"""Retention campaigns: pick the target, draw the control group, make the offer, send the message, measure.

The statistics are the pure engine's (``engine/campaigns.py``); this module reads and writes.

Launch, in one transaction under a row lock on the campaign (so launching twice, even at the
same moment from two desks, sends nothing twice: the second launch finds it launched):

1. the target: the members of a Customer Segment in the campaign's company (any method,
   including churn-risk bands), or a rule evaluated on the launch date like a Rule segment;
2. customers who ticked *No Marketing Messages* are left out (no offer, no message; counted),
   and so are customers already in another running campaign of the same company (counted):
   one customer, one running campaign per company, so each campaign's lift is its own;
3. the control group is drawn at random from a stored seed within each stratum (the
   customer's primary segment) and frozen as Retention Campaign Member rows;
4. the offer, to treated customers only, through the real mechanism: bonus points are ledger
   lots of type *Campaign* (``services/ledger.py``, under the customers' locks); coupons are
   ERPNext Coupon Codes (one per customer, single use) backed by one Pricing Rule; a points
   multiplier is read by the accrual while the campaign runs;
5. the message: the Email Template queued with Frappe's mail queue, and an SMS through SMS
   Settings. A site without an outgoing Email Account or SMS gateway sends nothing and logs why.

Measuring reads the members' invoices in the window with one aggregated query and hands the
frame to the engine; the daily job measures every running campaign.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

import frappe
import pandas as pd
from frappe import _
from frappe.utils import add_days, cint, flt, getdate, now_datetime, nowdate

from loyalty_crm.engine import campaigns as engine
from loyalty_crm.engine import points as points_engine
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import ledger, segments

CAMPAIGN = "Retention Campaign"
MEMBER = "Retention Campaign Member"
RUNNING = ("Launched", "Measuring")
MEMBER_FIELDS = [
	"name",
	"creation",
	"modified",
	"owner",
	"modified_by",
	"campaign",
	"customer",
	"customer_name",
	"company",
	"campaign_group",
	"stratum",
	"coupon_code",
	"bonus_entry",
	"email_status",
	"sms_status",
]
CHUNK = 1000


def throw_engine_error(error: EngineError):
	frappe.throw(error.translated(_), title=_("Retention Campaign"))


# ---------------------------------------------------------------------------------------------
# Target
# ---------------------------------------------------------------------------------------------


def customer_table() -> pd.DataFrame:
	"""Every enabled customer's stratum, opt-out and addresses in one query."""
	rows = frappe.db.sql(
		"""select name, customer_name, coalesce(loyalty_crm_segment, ''),
			coalesce(loyalty_crm_no_marketing, 0), coalesce(email_id, ''), coalesce(mobile_no, '')
		from `tabCustomer` where disabled = 0"""
	)
	return pd.DataFrame(
		rows, columns=["customer", "customer_name", "stratum", "opted_out", "email", "mobile"]
	).set_index("customer")


def target_customers(doc) -> pd.DataFrame:
	"""The campaign's target: customer (index), customer_name, stratum, opted_out, email, mobile."""
	customers = customer_table()
	if doc.target_type == "Customer Segment":
		names = frappe.db.sql(
			"""select distinct customer from `tabCustomer Segment Membership`
			where segment = %(segment)s and company = %(company)s""",
			{"segment": doc.customer_segment, "company": doc.company},
			pluck=True,
		)
	else:
		profiles, _notes = segments.compute(doc.launch_date, segments.segment_settings(), [])
		rows = profiles[profiles["company"] == doc.company].join(segments.load_customers(), on="customer")
		mask = segments.apply_segment_rule(rows, doc.rule, doc.name) if len(rows) else []
		names = rows.loc[mask, "customer"].tolist() if len(rows) else []
	return customers[customers.index.isin(names)].copy()


def busy_customers(doc) -> pd.Series:
	"""Customers in another running campaign of the same company: customer -> that campaign."""
	rows = frappe.db.sql(
		f"""select m.customer, m.campaign from `tab{MEMBER}` m
		join `tab{CAMPAIGN}` c on c.name = m.campaign
		where c.company = %(company)s and c.status in %(running)s and c.name != %(name)s""",
		{"company": doc.company, "running": RUNNING, "name": doc.name},
	)
	frame = pd.DataFrame(rows, columns=["customer", "campaign"]).drop_duplicates("customer")
	return frame.set_index("customer")["campaign"]


# ---------------------------------------------------------------------------------------------
# Launch
# ---------------------------------------------------------------------------------------------


@dataclass
class LaunchResult:
	campaign: str
	already_launched: bool = False
	target: int = 0
	treated: int = 0
	control: int = 0
	opted_out: int = 0
	other_campaign: int = 0
	points_rows: int = 0
	coupons: int = 0
	emails_queued: int = 0
	emails_skipped: int = 0
	sms_sent: int = 0
	sms_skipped: int = 0
	notes: list[str] = field(default_factory=list)

	def summary(self) -> str:
		if self.already_launched:
			return _("Campaign {0} was already launched; nothing was sent again").format(self.campaign)
		return _(
			"Campaign {0} launched: {1} target customers, {2} treated, {3} in the control group; "
			"left out: {4} with No Marketing Messages, {5} in another running campaign; "
			"{6} bonus point entries, {7} coupon codes, {8} emails queued ({9} not sent), "
			"{10} SMS sent ({11} not sent)"
		).format(
			self.campaign,
			self.target,
			self.treated,
			self.control,
			self.opted_out,
			self.other_campaign,
			self.points_rows,
			self.coupons,
			self.emails_queued,
			self.emails_skipped,
			self.sms_sent,
			self.sms_skipped,
		)


def launch(name: str, *, commit: bool = False) -> LaunchResult:
	"""Launch a Draft campaign; a campaign already launched is left alone (nothing sent twice)."""
	if not frappe.db.exists(CAMPAIGN, name):
		frappe.throw(_("Retention Campaign {0} does not exist").format(name), frappe.DoesNotExistError)
	frappe.db.sql(f"select name from `tab{CAMPAIGN}` where name = %s for update", name)
	doc = frappe.get_doc(CAMPAIGN, name)
	result = LaunchResult(campaign=name)
	if doc.status != "Draft":
		result.already_launched = True
		return result
	doc.validate()  # the same checks as on save, on the stored values
	if getdate(doc.launch_date) > getdate(nowdate()):
		frappe.throw(
			_("Campaign {0} starts on {1}; launch it on or after that day").format(
				frappe.bold(name), frappe.format(doc.launch_date, "Date")
			)
		)
	target = target_customers(doc)
	result.target = len(target)
	if target.empty:
		frappe.throw(
			_("The target of campaign {0} has no customers in company {1}; nothing was launched").format(
				frappe.bold(name), doc.company
			)
		)
	opted = target["opted_out"].astype(int) == 1
	busy = busy_customers(doc)
	in_other = target.index.isin(busy.index) & ~opted
	result.opted_out = int(opted.sum())
	result.other_campaign = int(in_other.sum())
	if result.other_campaign:
		others = sorted(set(busy.reindex(target.index[in_other]).dropna()))
		result.notes.append(
			_("{0} customers were left out: they are in another running campaign ({1})").format(
				result.other_campaign, ", ".join(others[:5])
			)
		)
	eligible = target[~opted & ~in_other]
	if eligible.empty:
		frappe.throw(
			_(
				"Every customer in the target of campaign {0} has No Marketing Messages ticked ({1}) "
				"or is in another running campaign ({2}); nothing was launched"
			).format(frappe.bold(name), result.opted_out, result.other_campaign)
		)
	seed = cint(doc.seed) or secrets.randbelow(2**31 - 1) + 1
	try:
		groups = engine.assign_groups(
			eligible.index.tolist(), eligible["stratum"].tolist(), flt(doc.control_share), seed
		)
	except EngineError as error:
		throw_engine_error(error)
	groups = groups.join(eligible[["customer_name", "email", "mobile"]], on="customer")
	treated = groups[groups["group"] == engine.TREATED]
	result.treated = len(treated)
	result.control = len(groups) - len(treated)

	coupons = issue_coupons(doc, treated["customer"].tolist()) if doc.offer_type == "Coupon" else {}
	result.coupons = len(coupons)
	bonus = award_bonus_points(doc, treated["customer"].tolist()) if doc.offer_type == "Bonus Points" else {}
	result.points_rows = len(bonus)
	email_status = send_emails(doc, treated, coupons, result)
	sms_status = send_sms(doc, treated, coupons, result)

	write_members(doc, groups, coupons, bonus, email_status, sms_status)
	doc.db_set(
		{
			"status": "Launched",
			"seed": seed,
			"launched_on": now_datetime(),
			"target_customers": result.target,
			"treated_customers": result.treated,
			"control_customers": result.control,
			"skipped_opted_out": result.opted_out,
			"skipped_other_campaign": result.other_campaign,
			"emails_queued": result.emails_queued,
			"emails_skipped": result.emails_skipped,
			"sms_sent": result.sms_sent,
			"sms_skipped": result.sms_skipped,
		}
	)
	if commit:
		frappe.db.commit()
	return result


def write_members(
	doc, groups: pd.DataFrame, coupons: dict, bonus: dict, email_status: dict, sms_status: dict
):
	now = now_datetime()
	user = frappe.session.user
	values = [
		(
			frappe.generate_hash(length=12),
			now,
			now,
			user,
			user,
			doc.name,
			customer,
			customer_name,
			doc.company,
			group,
			stratum,
			coupons.get(customer),
			bonus.get(customer),
			email_status.get(customer, ""),
			sms_status.get(customer, ""),
		)
		for customer, customer_name, group, stratum in groups[
			["customer", "customer_name", "group", "stratum"]
		].itertuples(index=False)
	]
	frappe.db.bulk_insert(MEMBER, MEMBER_FIELDS, values, chunk_size=CHUNK)


def issue_coupons(doc, customers: list[str]) -> dict[str, str]:
	"""One Pricing Rule for the campaign and one single-use Coupon Code per treated customer.

	The rule is ERPNext's own transaction-level, coupon-based discount, so the till and the desk
	apply it with no code of ours; its condition ``coupon_code`` keeps it from touching invoices
	that carry no coupon at all. The coupons are ERPNext's *Gift Card* type: the type that names
	its customer and is used once. They are bulk-inserted (thousands per campaign).
	"""
	if not customers:
		return {}
	rule = frappe.get_doc(
		{
			"doctype": "Pricing Rule",
			"title": _("Retention Campaign {0}").format(doc.name)[:140],
			"apply_on": "Transaction",
			"selling": 1,
			"price_or_product_discount": "Price",
			"rate_or_discount": "Discount Percentage",
			"discount_percentage": flt(doc.discount_percentage),
			"apply_discount_on": "Net Total",
			"company": doc.company,
			"valid_from": doc.launch_date,
			"valid_upto": doc.end_date,
			"coupon_code_based": 1,
			"condition": "coupon_code",
		}
	).insert(ignore_permissions=True)
	doc.db_set("pricing_rule", rule.name)
	now = now_datetime()
	user = frappe.session.user
	description = _("Retention Campaign {0}").format(doc.name)
	codes = {customer: f"RC-{frappe.generate_hash(length=10).upper()}" for customer in customers}
	values = [
		(code, now, now, user, user, 0, code, "Gift Card", customer, code, rule.name)
		+ (doc.launch_date, doc.end_date, 1, 0, description)
		for customer, code in codes.items()
	]
	frappe.db.bulk_insert(
		"Coupon Code",
		[
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"docstatus",
			"coupon_name",
			"coupon_type",
			"customer",
			"coupon_code",
			"pricing_rule",
			"valid_from",
			"valid_upto",
			"maximum_use",
			"used",
			"description",
		],
		values,
		chunk_size=CHUNK,
	)
	return codes


def award_bonus_points(doc, customers: list[str]) -> dict[str, str]:
	"""A *Campaign* lot of the bonus points for each treated customer, once.

	Customers already credited by this campaign (a launch retried after a crash) get nothing
	more: the ledger itself is the record of who was paid.
	"""
	already = set(
		frappe.get_all(
			ledger.LEDGER,
			filters={"voucher_type": CAMPAIGN, "voucher_no": doc.name, "entry_type": "Campaign"},
			pluck="customer",
		)
	)
	todo = [customer for customer in customers if customer not in already]
	if not todo:
		return {}
	points = points_engine.round_points(ledger.to_decimal(doc.bonus_points), ledger.precision())
	if points <= 0:
		frappe.throw(_("Bonus Points round to 0 at the points precision of Loyalty Settings"))
	ledger.lock_customers(todo)
	names = iter(ledger.reserve_entry_names(len(todo)))
	try:
		rows = {
			customer: points_engine.plan_earn(
				points,
				getdate(doc.launch_date),
				cint(doc.points_expiry_days) or None,
				entry_type="Campaign",
				new_name=lambda: next(names),
			)
			for customer in todo
		}
	except EngineError as error:
		throw_engine_error(error)
	return ledger.append_customer_lots(
		rows,
		company=doc.company,
		voucher_type=CAMPAIGN,
		voucher_no=doc.name,
		reason=_("Bonus points of campaign {0}").format(doc.name),
	)


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def message_context(doc, row, coupons: dict) -> dict:
	return {
		"customer": row.customer,
		"customer_name": row.customer_name or row.customer,
		"coupon_code": coupons.get(row.customer, ""),
		"bonus_points": _plain(doc.bonus_points) if doc.offer_type == "Bonus Points" else "",
		"points_multiplier": _plain(doc.points_multiplier) if doc.offer_type == "Points Multiplier" else "",
		"discount_percentage": _plain(doc.discount_percentage) if doc.offer_type == "Coupon" else "",
		"end_date": frappe.format(doc.end_date, "Date"),
		"campaign": doc.campaign_name,
	}


def _plain(value) -> int | float:
	"""15 rather than 15.0 in a message to a customer."""
	value = flt(value)
	return int(value) if value == int(value) else value


def send_emails(doc, treated: pd.DataFrame, coupons: dict, result: LaunchResult) -> dict[str, str]:
	"""Queue the campaign's Email Template to treated customers; status per customer.

	Customers without an email address are counted as not sent. Without a default outgoing
	Email Account nothing is queued and the reason is logged (never an error).
	"""
	from frappe.email.doctype.email_account.email_account import EmailAccount

	if not doc.email_template or treated.empty:
		return {}
	has_email = treated["email"].astype(str).str.strip() != ""
	status = {customer: _("No Email Address") for customer in treated.loc[~has_email, "customer"]}
	result.emails_skipped += int((~has_email).sum())
	if not EmailAccount.find_outgoing():
		frappe.log_error(
			title=_("Campaign emails not sent"),
			message=_("Set up a default outgoing Email Account to send the emails of campaign {0}").format(
				doc.name
			),
		)
		result.notes.append(_("No outgoing Email Account: no email was sent"))
		result.emails_skipped += int(has_email.sum())
		status.update({customer: _("No Email Account") for customer in treated.loc[has_email, "customer"]})
		return status
	template = frappe.get_doc("Email Template", doc.email_template)
	for row in treated[has_email].itertuples(index=False):
		message = template.get_formatted_email(message_context(doc, row, coupons))
		frappe.sendmail(
			recipients=[row.email],
			subject=message["subject"],
			message=message["message"],
			reference_doctype=CAMPAIGN,
			reference_name=doc.name,
		)
		status[row.customer] = _("Queued")
		result.emails_queued += 1
	return status


def sms_gateway_ready() -> bool:
	return bool(frappe.db.get_single_value("SMS Settings", "sms_gateway_url"))


def send_sms(doc, treated: pd.DataFrame, coupons: dict, result: LaunchResult) -> dict[str, str]:
	"""Send the SMS text through SMS Settings to treated customers with a mobile number.

	Without a gateway nothing is sent and the reason is logged. A gateway failure for one
	customer is logged and counted; it never undoes the launch.
	"""
	if not cint(doc.send_sms) or treated.empty:
		return {}
	from frappe.core.doctype.sms_settings.sms_settings import send_sms as frappe_send_sms

	has_mobile = treated["mobile"].astype(str).str.strip() != ""
	status = {customer: _("No Mobile Number") for customer in treated.loc[~has_mobile, "customer"]}
	result.sms_skipped += int((~has_mobile).sum())
	if not sms_gateway_ready():
		frappe.log_error(
			title=_("Campaign SMS not sent"),
			message=_("Set up SMS Settings (the gateway URL) to send the SMS of campaign {0}").format(
				doc.name
			),
		)
		result.notes.append(_("No SMS gateway in SMS Settings: no SMS was sent"))
		result.sms_skipped += int(has_mobile.sum())
		status.update({customer: _("No SMS Gateway") for customer in treated.loc[has_mobile, "customer"]})
		return status
	for row in treated[has_mobile].itertuples(index=False):
		text = format_sms(doc.sms_message, message_context(doc, row, coupons))
		try:
			frappe_send_sms([row.mobile], text, success_msg=False)
		except Exception:
			frappe.log_error(title=_("Campaign SMS not sent"))
			status[row.customer] = _("Failed")
			result.sms_skipped += 1
			continue
		status[row.customer] = _("Sent")
		result.sms_sent += 1
	return status


def format_sms(text: str, context: dict) -> str:
	"""``{customer_name}``-style placeholders; an unknown one is left as written."""

	class Keep(dict):
		def __missing__(self, key):
			return "{" + key + "}"

	try:
		return (text or "").format_map(Keep(context))
	except (ValueError, IndexError):
		return text or ""


# ---------------------------------------------------------------------------------------------
# Points multiplier (read by the accrual)
# ---------------------------------------------------------------------------------------------


def campaign_multiplier(customer: str, company: str, posting_date) -> Decimal:
	"""The best multiplier of a running campaign that treats this customer on this day; 1 otherwise.

	One indexed query per invoice (members by customer), so it costs the till next to nothing.
	"""
	value = frappe.db.sql(
		f"""select max(c.points_multiplier) from `tab{MEMBER}` m
		join `tab{CAMPAIGN}` c on c.name = m.campaign
		where m.customer = %(customer)s and m.campaign_group = 'Treated'
			and c.company = %(company)s and c.offer_type = 'Points Multiplier'
			and c.status in %(running)s
			and %(day)s between c.launch_date and c.end_date""",
		{"customer": customer, "company": company, "running": RUNNING, "day": getdate(posting_date)},
	)[0][0]
	return ledger.to_decimal(value) if value and flt(value) > 1 else Decimal(1)


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def window(doc) -> tuple:
	start = getdate(doc.launch_date)
	return start, getdate(add_days(start, cint(doc.measurement_days) - 1))


INVOICES_SQL = """
	select customer, posting_date, base_net_total as amount, coupon_code, base_discount_amount
	from `tabSales Invoice`
	where docstatus = 1 and is_consolidated = 0 and company = %(company)s
		and posting_date between %(start)s and %(end)s
	union all
	select customer, posting_date, base_net_total, coupon_code, base_discount_amount
	from `tabPOS Invoice`
	where docstatus = 1 and company = %(company)s and posting_date between %(start)s and %(end)s
"""


def outcomes(doc) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
	"""Per member: group, net revenue and whether they bought in the window (one query);
	per group and day: revenue (one query); and the coupon redemptions and discounts."""
	start, end = window(doc)
	params = {"campaign": doc.name, "company": doc.company, "start": start, "end": end}
	rows = frappe.db.sql(
		f"""select m.campaign_group, m.customer,
			cast(coalesce(sum(i.amount), 0) as double) as revenue,
			coalesce(sum(case when i.amount > 0 then 1 else 0 end), 0) as purchases
		from `tab{MEMBER}` m
		left join ({INVOICES_SQL}) i on i.customer = m.customer
		where m.campaign = %(campaign)s
		group by m.campaign_group, m.customer""",
		params,
	)
	members = pd.DataFrame(rows, columns=["group", "customer", "revenue", "purchases"])
	members["revenue"] = members["revenue"].astype("float64")
	members["bought"] = members["purchases"].astype(int) > 0
	daily_rows = frappe.db.sql(
		f"""select m.campaign_group, datediff(i.posting_date, %(start)s) as day,
			cast(sum(i.amount) as double) as revenue
		from `tab{MEMBER}` m
		join ({INVOICES_SQL}) i on i.customer = m.customer
		where m.campaign = %(campaign)s
		group by m.campaign_group, i.posting_date""",
		params,
	)
	daily = pd.DataFrame(daily_rows, columns=["group", "day", "revenue"])
	daily["day"] = daily["day"].astype(int)
	daily["revenue"] = daily["revenue"].astype("float64")
	coupon = frappe.db.sql(
		f"""select count(*), cast(coalesce(sum(i.base_discount_amount), 0) as double)
		from `tab{MEMBER}` m
		join ({INVOICES_SQL}) i on i.coupon_code = m.coupon_code and i.customer = m.customer
		where m.campaign = %(campaign)s and m.coupon_code is not null and i.amount > 0""",
		params,
	)[0]
	return members, daily, {"coupon_uses": cint(coupon[0]), "coupon_discount": flt(coupon[1])}


def offer_cost(doc, coupon: dict) -> tuple[int, float]:
	"""(redemptions, cost in company currency) of the offer over the window.

	Bonus points: the points issued times the value of a point (a liability from the day they
	are given), redemptions = treated customers who spent any of them. Coupons: the discounts
	given on invoices with the campaign's coupons, redemptions = those invoices. Multiplier:
	the extra points earned by treated customers in the offer window times the point value,
	redemptions = invoices that earned them.
	"""
	point_value = flt(ledger.settings().point_value)
	if doc.offer_type == "Coupon":
		return coupon["coupon_uses"], coupon["coupon_discount"]
	if doc.offer_type == "Bonus Points":
		issued, spenders = frappe.db.sql(
			f"""select coalesce(sum(case when e.entry_type = 'Campaign' then e.points else 0 end), 0),
				count(distinct case when e.entry_type = 'Redeem' then e.customer end)
			from `tab{ledger.LEDGER}` e
			where e.lot in (
				select name from `tab{ledger.LEDGER}`
				where voucher_type = %(type)s and voucher_no = %(name)s and entry_type = 'Campaign'
			)""",
			{"type": CAMPAIGN, "name": doc.name},
		)[0]
		return cint(spenders), flt(issued) * point_value
	multiplier = flt(doc.points_multiplier)
	if multiplier <= 1:
		return 0, 0.0
	earned, invoices = frappe.db.sql(
		f"""select coalesce(sum(e.points), 0), count(*)
		from `tab{ledger.LEDGER}` e
		join `tab{MEMBER}` m on m.customer = e.customer and m.campaign = %(campaign)s
			and m.campaign_group = 'Treated'
		where e.entry_type = 'Earn' and e.company = %(company)s
			and e.posting_date between %(start)s and %(end)s""",
		{"campaign": doc.name, "company": doc.company, "start": doc.launch_date, "end": doc.end_date},
	)[0]
	return cint(invoices), flt(earned) * (1 - 1 / multiplier) * point_value


def measure(name: str, *, save: bool = True, commit: bool = False) -> dict:
	"""Treated against control over the measurement window; saved on the campaign when ``save``."""
	doc = frappe.get_doc(CAMPAIGN, name)
	if doc.status == "Draft":
		frappe.throw(_("Campaign {0} has not been launched; there is nothing to measure yet").format(name))
	members, daily, coupon = outcomes(doc)
	try:
		result = engine.lift(members[["group", "revenue", "bought"]])
		curve = engine.cumulative_revenue(
			daily, result.treated_customers, result.control_customers, cint(doc.measurement_days)
		)
	except EngineError as error:
		throw_engine_error(error)
	redemptions, cost = offer_cost(doc, coupon)
	incremental = result.incremental_revenue
	start, end = window(doc)
	days_done = max(0, min(cint(doc.measurement_days), (getdate(nowdate()) - start).days + 1))
	figures = {
		"campaign": doc.name,
		"window_start": str(start),
		"window_end": str(end),
		"days_measured": days_done,
		"treated_customers": result.treated_customers,
		"control_customers": result.control_customers,
		"treated_buy_rate": result.treated_buy_rate,
		"control_buy_rate": result.control_buy_rate,
		"buy_rate_difference": result.buy_rate_difference.__dict__,
		"treated_revenue_per_customer": result.treated_revenue_per_customer,
		"control_revenue_per_customer": result.control_revenue_per_customer,
		"revenue_per_customer_difference": result.revenue_per_customer_difference.__dict__,
		"incremental_revenue": incremental.__dict__,
		"offer_redemptions": redemptions,
		"offer_cost": cost,
		"return_on_cost": engine.return_on_cost(incremental.estimate, cost),
		"method": result.method,
		# only the days that have passed: a flat line into the future would read as "no sales"
		"curve": {
			"day": curve.index[: max(days_done, 1)].tolist(),
			"treated": curve["treated"].iloc[: max(days_done, 1)].round(4).tolist(),
			"control": curve["control"].iloc[: max(days_done, 1)].round(4).tolist(),
		},
	}
	figures = _finite(figures)
	if save:
		doc.db_set(
			{
				"last_measured": now_datetime(),
				"treated_buy_rate": _pct(result.treated_buy_rate),
				"control_buy_rate": _pct(result.control_buy_rate),
				"treated_revenue_per_customer": _num(result.treated_revenue_per_customer),
				"control_revenue_per_customer": _num(result.control_revenue_per_customer),
				"incremental_revenue": _num(incremental.estimate),
				"incremental_revenue_low": _num(incremental.low),
				"incremental_revenue_high": _num(incremental.high),
				"offer_redemptions": redemptions,
				"offer_cost": _num(cost),
				"return_on_cost": _num(engine.return_on_cost(incremental.estimate, cost)),
				"results_json": json.dumps(figures, default=_json_safe),
			}
		)
		if commit:
			frappe.db.commit()
	return figures


def _num(value) -> float:
	value = flt(value)
	return round(value, 6) if value == value else 0.0


def _pct(value) -> float:
	return _num(flt(value) * 100)


def _json_safe(value):
	return str(value)


def _finite(value):
	"""NaN (no interval: a group too small) becomes None, which JSON and the browser understand."""
	if isinstance(value, dict):
		return {key: _finite(item) for key, item in value.items()}
	if isinstance(value, list):
		return [_finite(item) for item in value]
	if isinstance(value, float) and value != value:
		return None
	return value


def close(name: str, *, commit: bool = False) -> dict:
	"""Measure one last time and close; a closed campaign never changes again.

	Closing ends the offer too: the coupons' Pricing Rule is disabled (coupons not yet used stop
	working) and the points multiplier stops; bonus points already given stay the customers'.
	"""
	frappe.db.sql(f"select name from `tab{CAMPAIGN}` where name = %s for update", name)
	doc = frappe.get_doc(CAMPAIGN, name)
	if doc.status == "Closed":
		frappe.throw(_("Campaign {0} is already closed").format(name))
	figures = measure(name, save=True)
	if doc.pricing_rule and frappe.db.exists("Pricing Rule", doc.pricing_rule):
		frappe.db.set_value("Pricing Rule", doc.pricing_rule, "disable", 1)
	doc.db_set("status", "Closed")
	if commit:
		frappe.db.commit()
	return figures


def measure_running(as_of=None, commit: bool = True) -> list[str]:
	"""The daily job: measure every running campaign; past its end date it is Measuring, and once
	the measurement window is over it is measured a last time and closed.

	Each campaign in its own savepoint (and commit), so one that fails is logged and the others
	are still measured.
	"""
	today = getdate(as_of or nowdate())
	done = []
	for row in frappe.get_all(
		CAMPAIGN, filters={"status": ("in", RUNNING)}, fields=["name", "end_date", "status"]
	):
		frappe.db.savepoint("lcrm_campaign_measure")
		try:
			doc = frappe.get_doc(CAMPAIGN, row.name)
			_start, end = window(doc)
			if row.status == "Launched" and today > getdate(row.end_date):
				doc.db_set("status", "Measuring")
			if today > end:
				close(row.name)
			else:
				measure(row.name)
			done.append(row.name)
		except Exception:
			frappe.db.rollback(save_point="lcrm_campaign_measure")
			frappe.log_error(title=_("Retention campaign {0} not measured").format(row.name))
		if commit:
			frappe.db.commit()
	return done


def measure_campaigns_daily():
	frappe.enqueue(
		"loyalty_crm.services.campaigns.measure_running",
		queue="long",
		job_id="loyalty_crm:campaigns:measure",
		deduplicate=True,
	)


# ---------------------------------------------------------------------------------------------
# Desk entry points
# ---------------------------------------------------------------------------------------------


@frappe.whitelist(methods=["POST"])
def launch_campaign(name: str) -> str:
	"""The desk's Launch button: checks now, launches in a background job (thousands of coupons
	and emails outlast a web request); a second click while it is queued does nothing."""
	frappe.has_permission(CAMPAIGN, "write", name, throw=True)
	doc = frappe.get_doc(CAMPAIGN, name)
	if doc.status != "Draft":
		return _("Campaign {0} was already launched; nothing was sent again").format(name)
	doc.validate()
	frappe.enqueue(
		"loyalty_crm.services.campaigns.launch_job",
		queue="long",
		job_id=f"loyalty_crm:campaigns:launch:{name}",
		deduplicate=True,
		enqueue_after_commit=True,
		name=name,
	)
	return _("Campaign {0} is being launched in the background; reload the form in a moment").format(name)


def launch_job(name: str) -> None:
	try:
		result = launch(name, commit=True)
	except Exception:
		frappe.db.rollback()
		frappe.log_error(title=_("Retention campaign {0} not launched").format(name))
		raise
	frappe.publish_realtime(
		"msgprint", result.summary(), user=frappe.session.user, doctype=CAMPAIGN, docname=name
	)


@frappe.whitelist(methods=["POST"])
def measure_campaign(name: str) -> dict:
	frappe.has_permission(CAMPAIGN, "write", name, throw=True)
	return measure(name)


@frappe.whitelist(methods=["POST"])
def close_campaign(name: str) -> dict:
	frappe.has_permission(CAMPAIGN, "write", name, throw=True)
	return close(name)
