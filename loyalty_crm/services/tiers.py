"""Loyalty tiers on the site: the ladder, upgrades on invoice submit, the daily evaluation.

The rules live in ``loyalty_crm.engine.tiers`` (pure). This module reads the ladder (Loyalty
Tier rows plus the ladder-wide metric, window and downgrade mode of Loyalty Settings), reads
each customer's window metric with one SQL aggregation, hands both to the engine and writes
only what changed: the Customer's tier caches and one Loyalty Tier History row per change.
It also keeps the Pricing Rule that carries a tier's discount and sends the optional emails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import add_days, cint, flt, getdate, now_datetime, nowdate

from loyalty_crm.engine import tiers as engine
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import bulk

TIER = "Loyalty Tier"
HISTORY = "Loyalty Tier History"
HISTORY_PREFIX = "LTH-"
CHUNK = 5000
NOTICE_SENT_KEY = "loyalty_crm_tier_notices_sent_on"

# Loyalty Settings options -> engine vocabulary (the options are what people read).
METRICS = {"Spend": "spend", "Points Earned": "points", "Number of Invoices": "invoices"}
WINDOWS = {"Rolling Months": "rolling", "Calendar Year": "calendar_year"}
DOWNGRADE_MODES = {"One Rank at a Time": "one_rank", "Straight to Qualifying Tier": "to_qualifying"}
CHANGE_LABELS = {"entry": "Entry", "upgrade": "Upgrade", "downgrade": "Downgrade"}
MOVES = tuple(CHANGE_LABELS)

UPGRADE_TEMPLATE = "Loyalty Tier Upgrade"
DOWNGRADE_TEMPLATE = "Loyalty Tier Downgrade Notice"

# Customer custom fields (install.get_custom_fields): the tier is the cache users see, the
# other three are the engine's state, kept so one SELECT gives the whole ladder's state.
STATE_FIELDS = {
	"tier": "loyalty_crm_tier",
	"tier_since": "loyalty_crm_tier_since",
	"below_since": "loyalty_crm_below_since",
	"grace_ends": "loyalty_crm_grace_ends",
}


def settings():
	return frappe.get_cached_doc("Loyalty Settings")


def throw_engine_error(error: EngineError):
	frappe.throw(error.translated(_), title=_("Loyalty Tiers"))


# --------------------------------------------------------------------------------------------
# The ladder
# --------------------------------------------------------------------------------------------


def ladder_options(settings_doc=None) -> dict:
	"""Metric, window and downgrade mode in the engine's words; defaults match the JSON defaults."""
	doc = settings_doc or settings()
	window = WINDOWS.get(doc.get("tier_window") or "Rolling Months", "rolling")
	return {
		"metric": METRICS.get(doc.get("tier_metric") or "Spend", "spend"),
		"window_kind": window,
		"window_months": cint(doc.get("tier_window_months")) if window == "rolling" else None,
		"downgrade_mode": DOWNGRADE_MODES.get(
			doc.get("tier_downgrade_mode") or "One Rank at a Time", "one_rank"
		),
	}


def saved_tiers(exclude: str | None = None) -> list[dict]:
	filters = {"name": ("!=", exclude)} if exclude else {}
	return frappe.get_all(
		TIER,
		filters=filters,
		fields=["name", "rank", "threshold", "multiplier", "grace_months"],
		order_by="`rank` asc",
	)


def ladder_rows(tiers: list[dict], settings_doc=None) -> list[dict]:
	"""Loyalty Tier rows in the shape ``engine.tiers`` reads: one metric and window for all."""
	options = ladder_options(settings_doc)
	return [
		{
			"tier": tier["name"],
			"rank": tier["rank"],
			"metric": options["metric"],
			"threshold": str(flt(tier["threshold"])),
			"window_kind": options["window_kind"],
			"window_months": options["window_months"],
			"multiplier": str(flt(tier["multiplier"])),
			"grace_months": tier["grace_months"],
		}
		for tier in tiers
	]


def active_ladder() -> list[dict] | None:
	"""The site's ladder, or None when tiers are off or no tier exists (then nothing happens)."""
	enabled = settings().get("enable_tiers")
	if enabled is not None and not cint(enabled):
		return None
	tiers = saved_tiers()
	return ladder_rows(tiers) if tiers else None


def validate_tier(tier) -> None:
	"""The whole ladder (all saved tiers with this one as it would be saved) must be valid."""
	if flt(tier.multiplier) <= 0:
		frappe.throw(
			_("Tier multipliers must be numbers greater than 0; {0} has {1}").format(
				tier.tier_name, flt(tier.multiplier)
			),
			title=_("Loyalty Tiers"),
		)
	if not 0 <= flt(tier.discount_percentage) <= 100:
		frappe.throw(_("The discount of tier {0} must be between 0 and 100%").format(tier.tier_name))
	proposed = {
		"name": tier.tier_name or tier.name,
		"rank": tier.rank,
		"threshold": tier.threshold,
		"multiplier": tier.multiplier,
		"grace_months": tier.grace_months,
	}
	try:
		engine.validate_ladder(ladder_rows([*saved_tiers(exclude=tier.name), proposed]))
	except EngineError as error:
		throw_engine_error(error)


def validate_settings(settings_doc) -> None:
	"""Loyalty Settings, Tiers section: a usable window, and the saved ladder still valid under it."""
	if (settings_doc.get("tier_window") or "Rolling Months") == "Rolling Months" and cint(
		settings_doc.get("tier_window_months")
	) < 1:
		frappe.throw(
			_("The tier qualification window must be at least 1 month; got {0}").format(
				cint(settings_doc.get("tier_window_months"))
			),
			title=_("Loyalty Tiers"),
		)
	tiers = saved_tiers()
	if tiers:
		try:
			engine.validate_ladder(ladder_rows(tiers, settings_doc))
		except EngineError as error:
			throw_engine_error(error)


def check_tier_not_held(tier) -> None:
	"""A tier customers hold cannot be deleted: their tier would point at nothing."""
	holders = frappe.db.count("Customer", {STATE_FIELDS["tier"]: tier.name})
	if holders:
		frappe.throw(
			_(
				"Tier {0} cannot be deleted: {1} customer(s) hold it. Move them first (change the ladder and run the tier evaluation)."
			).format(tier.name, holders),
			frappe.LinkExistsError,
			title=_("Loyalty Tiers"),
		)


# --------------------------------------------------------------------------------------------
# The discount benefit: one standard Pricing Rule per tier with a discount
# --------------------------------------------------------------------------------------------


def pricing_rule_condition(tier_name: str) -> str:
	"""Pricing Rule condition, evaluated by ERPNext against the invoice (its Loyalty Tier field).

	``loyalty_crm_tier_rule`` is set by ``services.tier_discount`` only when the tier's discount
	alone is the outcome; when a cashier's discount yields, adds or stands, the rule stays silent
	instead of overwriting it.
	"""
	return f"loyalty_crm_tier == {json.dumps(tier_name)} and loyalty_crm_tier_rule == 1"


def sync_pricing_rule(tier) -> None:
	"""Create, update or disable the tier's Pricing Rule so it matches the tier's discount."""
	discount = flt(tier.discount_percentage)
	name = (
		tier.pricing_rule
		if tier.pricing_rule and frappe.db.exists("Pricing Rule", tier.pricing_rule)
		else None
	)
	if discount <= 0:
		if name:
			frappe.db.set_value("Pricing Rule", name, "disable", 1)
		return
	rule = frappe.get_doc("Pricing Rule", name) if name else frappe.new_doc("Pricing Rule")
	rule.update(
		{
			"title": _("Loyalty Tier {0}").format(tier.name),
			"disable": 0,
			"apply_on": "Transaction",
			"price_or_product_discount": "Price",
			"selling": 1,
			"buying": 0,
			"applicable_for": "",
			"company": "",  # every company (None would take the user's default company)
			"currency": rule.currency or frappe.db.get_default("currency") or "INR",
			"rate_or_discount": "Discount Percentage",
			"discount_percentage": discount,
			"apply_discount_on": "Net Total",
			"condition": pricing_rule_condition(tier.name),
		}
	)
	rule.save(ignore_permissions=True)
	if tier.pricing_rule != rule.name:
		tier.db_set("pricing_rule", rule.name, update_modified=False)


def delete_pricing_rule(tier) -> None:
	if tier.pricing_rule and frappe.db.exists("Pricing Rule", tier.pricing_rule):
		frappe.delete_doc("Pricing Rule", tier.pricing_rule, ignore_permissions=True, force=True)


# --------------------------------------------------------------------------------------------
# Reading: the window metric (one aggregation) and the customers' state
# --------------------------------------------------------------------------------------------


def window_metric(metric: str, start, end, customers: list[str] | None = None):
	"""Each customer's ladder metric over [start, end], as a float Series indexed by customer.

	Submitted Sales and POS Invoices net of returns (credit notes are negative), cancelled ones
	excluded; the Sales Invoice POS closing consolidates is skipped (its POS Invoices count).
	Spend is in company currency, on the total points are earned on (net or grand, per
	settings). Invoices: +1 per invoice, -1 per credit note, never below 0. Points: points
	earned (Earn and Return rows, and the Reverse rows that undo them) from the ledger.
	Mirrors ``engine.tiers.qualifying_metric``; aggregated in SQL so a million invoices never
	leave the database.
	"""
	import pandas as pd

	values = {"start": getdate(start), "end": getdate(end)}
	if customers is not None:
		if not customers:
			return pd.Series(dtype="float64", name=metric)
		values["customers"] = tuple(customers)
	if metric == "points":
		only = " and entry.customer in %(customers)s" if customers is not None else ""
		rows = frappe.db.sql(
			f"""
			select entry.customer, sum(entry.points)
			from `tabLoyalty Ledger Entry` entry
			left join `tabLoyalty Ledger Entry` reversed on reversed.name = entry.reverses
			where entry.posting_date between %(start)s and %(end)s {only}
				and (entry.entry_type in ('Earn', 'Return')
					or (entry.entry_type = 'Reverse' and reversed.entry_type in ('Earn', 'Return')))
			group by entry.customer
			""",
			values,
		)
	else:
		# Column names come from these two constants, never from input.
		column = "base_grand_total" if settings().earn_on == "Grand Total" else "base_net_total"
		measure = "sum(amount)" if metric == "spend" else "greatest(sum(sign(amount)), 0)"
		only = " and customer in %(customers)s" if customers is not None else ""
		rows = frappe.db.sql(
			f"""
			select customer, {measure}
			from (
				select customer, {column} as amount from `tabSales Invoice`
				where docstatus = 1 and is_consolidated = 0
					and posting_date between %(start)s and %(end)s {only}
				union all
				select customer, {column} as amount from `tabPOS Invoice`
				where docstatus = 1 and posting_date between %(start)s and %(end)s {only}
			) activity
			group by customer
			""",
			values,
		)
	return pd.Series(
		[flt(value) for _customer, value in rows],
		index=pd.Index([customer for customer, _value in rows], name="customer", dtype=object),
		name=metric,
		dtype="float64",
	)


def customer_state(customers: list[str] | None = None, lock: bool = False):
	"""The engine's ``current`` frame (plus customer_name and grace_ends) from Customer, one query."""
	import pandas as pd

	values = {}
	where = ""
	if customers is not None:
		where = "where name in %(customers)s"
		values["customers"] = tuple(customers) or ("",)
	rows = frappe.db.sql(
		f"""
		select name as customer, customer_name, loyalty_crm_tier as tier,
			loyalty_crm_tier_since as tier_since, loyalty_crm_below_since as below_since,
			loyalty_crm_grace_ends as grace_ends
		from `tabCustomer` {where}
		order by name
		{"for update" if lock else ""}
		""",
		values,
	)
	columns = ["customer", "customer_name", "tier", "tier_since", "below_since", "grace_ends"]
	frame = pd.DataFrame.from_records(list(rows), columns=columns)
	for column in ("tier_since", "below_since", "grace_ends"):
		frame[column] = pd.to_datetime(frame[column])
	frame["tier"] = frame["tier"].where(frame["tier"].notna() & (frame["tier"] != ""), None)
	return frame


# --------------------------------------------------------------------------------------------
# Immediate path: invoice submit
# --------------------------------------------------------------------------------------------


def tier_multiplier(customer: str) -> Decimal:
	"""The customer's earn multiplier: one read (Customer joined to its tier); 1 without a tier."""
	if not customer:
		return Decimal(1)
	rows = frappe.db.sql(
		"""
		select tier.multiplier
		from `tabCustomer` customer
		join `tabLoyalty Tier` tier on tier.name = customer.loyalty_crm_tier
		where customer.name = %s
		""",
		customer,
	)
	multiplier = flt(rows[0][0]) if rows else 0
	return Decimal(str(multiplier)) if multiplier > 0 else Decimal(1)


def on_invoice_submit(doc) -> None:
	"""Upgrade at once when this invoice lifts the customer over a threshold.

	Runs after the points accrual, so for a points ladder the points this invoice earned count.
	Never raises for an ordinary invoice: without tiers nothing happens, and an unusable ladder
	or state is logged (Error Log) instead of blocking the sale. Downgrades wait for the daily run.
	"""
	if doc.get("is_consolidated") or doc.get("is_return") or not doc.get("customer"):
		return
	ladder = active_ladder()
	if not ladder:
		return
	try:
		upgrade_customer(doc.customer, ladder, voucher=(doc.doctype, doc.name))
	except EngineError as error:
		frappe.log_error(
			title=_("Loyalty tier not updated for {0}").format(doc.customer),
			message=error.translated(_),
			reference_doctype=doc.doctype,
			reference_name=doc.name,
		)


def upgrade_customer(customer: str, ladder: list[dict], as_of=None, voucher: tuple | None = None):
	"""Entry or upgrade for one customer from their window metric now; returns the decision."""
	as_of = getdate(as_of or nowdate())
	first = ladder[0]
	start, end = engine.qualification_window(as_of, first["window_kind"], first["window_months"])
	value = float(window_metric(first["metric"], start, end, [customer]).get(customer, 0.0))
	state = frappe.db.get_value("Customer", customer, list(STATE_FIELDS.values()), as_dict=True)
	if state is None:
		return None
	current = state[STATE_FIELDS["tier"]] or None
	decision = engine.upgrade_on_invoice(current, value, ladder)
	if decision.change in ("entry", "upgrade"):
		threshold = next(row["threshold"] for row in ladder if row["tier"] == decision.tier)
		row = {
			"reason_code": decision.reason_code,
			"metric": first["metric"],
			"metric_value": value,
			"new_tier": decision.tier,
			"threshold": float(threshold),
		}
		set_customer_state(customer, decision.tier, as_of, None, None)
		frappe.get_doc(
			{
				"doctype": HISTORY,
				"customer": customer,
				"change": CHANGE_LABELS[decision.change],
				"from_tier": current,
				"to_tier": decision.tier,
				"change_date": as_of,
				"reason": engine.explain(row, _),
				"metric_value": value,
				"triggered_by": "Invoice" if voucher else "Bench Command",
				"voucher_type": voucher[0] if voucher else None,
				"voucher_no": voucher[1] if voucher else None,
			}
		).insert(ignore_permissions=True)
		if decision.change == "upgrade" or decision.tier != ladder[0]["tier"]:
			notify_upgrades([(customer, decision.tier, current)])
	elif decision.reason_code == "qualifies" and state[STATE_FIELDS["below_since"]]:
		# Back above the threshold during the grace period: the grace clock stops.
		set_customer_state(customer, current, state[STATE_FIELDS["tier_since"]], None, None)
	return decision


def set_customer_state(customer: str, tier, tier_since, below_since, grace_ends) -> None:
	frappe.db.set_value(
		"Customer",
		customer,
		{
			STATE_FIELDS["tier"]: tier,
			STATE_FIELDS["tier_since"]: tier_since,
			STATE_FIELDS["below_since"]: below_since,
			STATE_FIELDS["grace_ends"]: grace_ends,
		},
		update_modified=False,
	)


# --------------------------------------------------------------------------------------------
# Periodic path: every customer, set-wise
# --------------------------------------------------------------------------------------------


def empty_summary() -> dict:
	return {
		"customers": 0,
		"entered": 0,
		"upgraded": 0,
		"downgraded": 0,
		"pending": 0,
		"unchanged": 0,
		"history_rows": 0,
		"customers_written": 0,
		"emails": 0,
		"ladder": True,
	}


def evaluate_all(
	as_of=None,
	dry_run: bool = False,
	progress: Callable[[int, int], None] | None = None,
	triggered_by: str = "Daily Evaluation",
	customers: list[str] | None = None,
	commit: bool = True,
	values=None,
	send_notices: bool | None = None,
) -> dict:
	"""Every customer's tier on ``as_of``: one aggregation, the engine per chunk, only changes written.

	Chunks of customers are locked (the same row lock invoice submission takes), re-read,
	evaluated and written, then committed; running the same day again writes nothing.
	``dry_run`` computes the same summary and writes nothing. ``customers`` limits the run
	(tests, targeted re-evaluation, a nightly chunk). ``values`` is the window metric already
	computed (the nightly run's shared read); ``send_notices`` overrides the once-a-day rule.
	"""
	import pandas as pd

	summary = empty_summary()
	ladder = active_ladder()
	if not ladder:
		summary["ladder"] = False
		return summary
	as_of = getdate(as_of or nowdate())
	options = ladder_options()
	try:
		start, end = engine.qualification_window(as_of, options["window_kind"], options["window_months"])
	except EngineError as error:
		throw_engine_error(error)
	if values is None:
		values = window_metric(options["metric"], start, end, customers)
	names = (
		sorted(customers)
		if customers is not None
		else frappe.db.sql_list("select name from `tabCustomer` order by name")
	)
	total = len(names)
	summary["customers"] = total
	# Downgrade notices go out once per day even if the evaluation runs again.
	if send_notices is None:
		send_notices = customers is not None or frappe.db.get_default(NOTICE_SENT_KEY) != str(as_of)
	for first in range(0, total, CHUNK):
		chunk = names[first : first + CHUNK]
		state = customer_state(chunk, lock=not dry_run)
		metric_values = values.reindex(pd.Index(state["customer"], dtype=object), fill_value=0.0)
		try:
			result = engine.evaluate_tiers(
				state[list(engine.CURRENT_COLUMNS)],
				metric_values,
				ladder,
				as_of,
				downgrade_mode=options["downgrade_mode"],
			)
		except EngineError as error:
			throw_engine_error(error)
		count_changes(result, summary)
		if not dry_run:
			write_results(result, state, as_of, triggered_by, summary, ladder, send_notices)
			if commit:
				frappe.db.commit()
		if progress:
			progress(min(first + CHUNK, total), total)
	if not dry_run and customers is None:
		mark_notices_sent(as_of)
		if commit:
			frappe.db.commit()
	return summary


def mark_notices_sent(as_of) -> None:
	"""Downgrade notices of ``as_of`` are out: a later evaluation that day sends none."""
	frappe.db.set_default(NOTICE_SENT_KEY, str(getdate(as_of)))


def notices_due(as_of) -> bool:
	return frappe.db.get_default(NOTICE_SENT_KEY) != str(getdate(as_of))


def count_changes(result, summary: dict) -> None:
	counts = result["change"].value_counts()
	summary["entered"] += int(counts.get("entry", 0))
	summary["upgraded"] += int(counts.get("upgrade", 0))
	summary["downgraded"] += int(counts.get("downgrade", 0))
	summary["pending"] += int(counts.get("pending_downgrade", 0))
	summary["unchanged"] += int(counts.get("none", 0))


def write_results(
	result, state, as_of, triggered_by: str, summary: dict, ladder: list[dict], send_notices: bool = True
) -> None:
	"""Customer caches where any state field changed; one history row per tier change (bulk)."""
	import numpy as np
	import pandas as pd

	new = engine.next_state(result).set_index("customer")
	new["grace_ends"] = pd.to_datetime(result["grace_ends"]).to_numpy()
	# A downgrade that leaves the customer below the new tier starts that tier's grace period:
	# show its end, not the one just passed (the engine reports the tier it left).
	still_below = ((result["change"] == "downgrade") & result["below_since"].notna()).to_numpy()
	if still_below.any():
		grace = {
			row["tier"]: int(row["grace_months"]) for row in engine.validate_ladder(ladder).to_dict("records")
		}
		new.loc[new.index[still_below], "grace_ends"] = [
			pd.Timestamp(engine.add_months(since, grace[tier]))
			for tier, since in zip(
				new["tier"].to_numpy()[still_below], new["below_since"].to_numpy()[still_below], strict=True
			)
		]
	old = state.set_index("customer").reindex(new.index)

	def differs(column):
		a, b = old[column], new[column]
		if column == "tier":
			return a.fillna("").astype(str).to_numpy() != b.fillna("").astype(str).to_numpy()
		a, b = pd.to_datetime(a).dt.normalize(), pd.to_datetime(b).dt.normalize()
		return ~((a == b) | (a.isna() & b.isna())).to_numpy()

	changed = np.zeros(len(new), dtype=bool)
	for column in ("tier", "tier_since", "below_since", "grace_ends"):
		changed |= differs(column)
	update_customers(new[changed])
	summary["customers_written"] = summary.get("customers_written", 0) + int(changed.sum())

	moves = result[result["change"].isin(MOVES)]
	if send_notices:
		summary["emails"] += notify_pending_downgrades(result, as_of)
	if not len(moves):
		return
	reasons = engine.explain_all(moves, _)
	names = reserve_history_names(len(moves))
	now = now_datetime()
	user = frappe.session.user
	customer_names = state.set_index("customer")["customer_name"]
	rows = []
	for i, (customer, change, from_tier, to_tier, value) in enumerate(
		zip(
			moves["customer"],
			moves["change"].astype(str),
			moves["old_tier"].astype(object),
			moves["new_tier"].astype(object),
			moves["metric_value"],
			strict=True,
		)
	):
		rows.append(
			(
				names[i],
				now,
				now,
				user,
				user,
				customer,
				customer_names.get(customer),
				CHANGE_LABELS[change],
				None if pd.isna(from_tier) else from_tier,
				to_tier,
				as_of,
				reasons[i],
				float(value),
				triggered_by,
			)
		)
	bulk.insert_rows(
		HISTORY,
		[
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"customer",
			"customer_name",
			"change",
			"from_tier",
			"to_tier",
			"change_date",
			"reason",
			"metric_value",
			"triggered_by",
		],
		rows,
	)
	summary["history_rows"] += len(rows)
	entry_tier = str(result["new_tier"].cat.categories[0])
	ups = moves[
		(moves["change"] == "upgrade") | ((moves["change"] == "entry") & (moves["new_tier"] != entry_tier))
	]
	summary["emails"] += notify_upgrades(
		list(zip(ups["customer"], ups["new_tier"].astype(str), ups["old_tier"].astype(object), strict=True))
	)


def update_customers(changed) -> None:
	"""One UPDATE per distinct new state (few: tiers x dates), chunked by customer."""
	if not len(changed):
		return
	import pandas as pd

	def value(x):
		return None if x is None or (not isinstance(x, str) and pd.isna(x)) else x

	keys = [
		(
			value(tier),
			value(pd.Timestamp(since).date() if not pd.isna(since) else None),
			value(pd.Timestamp(below).date() if not pd.isna(below) else None),
			value(pd.Timestamp(ends).date() if not pd.isna(ends) else None),
		)
		for tier, since, below, ends in zip(
			changed["tier"], changed["tier_since"], changed["below_since"], changed["grace_ends"], strict=True
		)
	]
	groups: dict[tuple, list[str]] = {}
	for customer, key in zip(changed.index, keys, strict=True):
		groups.setdefault(key, []).append(customer)
	for (tier, since, below, ends), customers in groups.items():
		for first in range(0, len(customers), 1000):
			frappe.db.sql(
				"""
				update `tabCustomer`
				set loyalty_crm_tier = %(tier)s, loyalty_crm_tier_since = %(since)s,
					loyalty_crm_below_since = %(below)s, loyalty_crm_grace_ends = %(ends)s
				where name in %(customers)s
				""",
				{
					"tier": tier,
					"since": since,
					"below": below,
					"ends": ends,
					"customers": tuple(customers[first : first + 1000]),
				},
			)


def reserve_history_names(count: int) -> list[str]:
	"""A block of names from the doctype's own series (LTH-.#########), one locked update."""
	row = frappe.db.sql("select `current` from `tabSeries` where `name` = %s for update", HISTORY_PREFIX)
	start = cint(row[0][0]) if row else 0
	if row:
		frappe.db.sql(
			"update `tabSeries` set `current` = %s where `name` = %s", (start + count, HISTORY_PREFIX)
		)
	else:
		frappe.db.sql(
			"insert into `tabSeries` (`name`, `current`) values (%s, %s)", (HISTORY_PREFIX, start + count)
		)
	return [f"{HISTORY_PREFIX}{number:09d}" for number in range(start + 1, start + count + 1)]


# --------------------------------------------------------------------------------------------
# Emails (off by default: Loyalty Settings switches, texts in two Email Templates)
# --------------------------------------------------------------------------------------------


def notify_upgrades(moves: list[tuple]) -> int:
	"""Queue the upgrade email for (customer, new tier, old tier) rows when switched on."""
	if not moves or not cint(settings().get("tier_upgrade_email")):
		return 0
	return send_tier_emails(
		UPGRADE_TEMPLATE,
		{customer: {"tier": tier, "previous_tier": old} for customer, tier, old in moves},
	)


def notify_pending_downgrades(result, as_of) -> int:
	"""Queue the notice for customers whose grace period ends exactly N days after ``as_of``."""
	import pandas as pd

	days = cint(settings().get("tier_downgrade_notice_days"))
	if days <= 0:
		return 0
	due = pd.Timestamp(add_days(as_of, days))
	pending = result[
		(result["change"] == "pending_downgrade") & (pd.to_datetime(result["grace_ends"]) == due)
	]
	return send_tier_emails(
		DOWNGRADE_TEMPLATE,
		{
			customer: {"tier": tier, "qualifying_tier": qualifying, "grace_ends": getdate(due)}
			for customer, tier, qualifying in zip(
				pending["customer"],
				pending["old_tier"].astype(str),
				pending["qualifying_tier"].astype(str),
				strict=True,
			)
		},
	)


def send_tier_emails(template: str, context_by_customer: dict[str, dict]) -> int:
	"""Queue one email per customer with an email address; a mail problem never blocks a sale."""
	from frappe.email.doctype.email_account.email_account import EmailAccount

	if not context_by_customer or not frappe.db.exists("Email Template", template):
		return 0
	if not EmailAccount.find_outgoing():
		frappe.log_error(
			title=_("Loyalty tier emails not sent"),
			message=_("Set up a default outgoing Email Account to send {0}").format(template),
		)
		return 0
	email_template = frappe.get_doc("Email Template", template)
	rows = frappe.get_all(
		"Customer",
		filters={"name": ("in", list(context_by_customer)), "email_id": ("is", "set")},
		fields=["name", "customer_name", "email_id"],
	)
	sent = 0
	try:
		for row in rows:
			context = {
				"customer": row.name,
				"customer_name": row.customer_name,
				**context_by_customer[row.name],
			}
			message = email_template.get_formatted_email(context)
			frappe.sendmail(
				recipients=[row.email_id],
				subject=message["subject"],
				message=message["message"],
				reference_doctype="Customer",
				reference_name=row.name,
			)
			sent += 1
	except Exception:
		frappe.log_error(title=_("Loyalty tier emails not sent"))
	return sent
