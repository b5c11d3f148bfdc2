"""Helpers for the app's FrappeTestCases: real ERPNext documents, built the way ERPNext's own tests build them."""

from __future__ import annotations

from decimal import Decimal

import frappe
from frappe.utils import nowdate

from loyalty_crm.services import ledger

COMPANY = "_Test Company"


def before_tests():
	"""`bench run-tests --app loyalty_crm` runs only our hooks: complete ERPNext's setup as its tests expect."""
	from erpnext.setup.utils import before_tests as erpnext_before_tests

	erpnext_before_tests()


def make_customer(prefix: str = "LCRM") -> str:
	"""A fresh customer per test, so ledgers of different tests never mix."""
	customer = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": f"{prefix} {frappe.generate_hash(length=8)}",
			"customer_group": "_Test Customer Group",
			"territory": "_Test Territory",
		}
	).insert(ignore_permissions=True)
	return customer.name


def set_settings(**values):
	settings = frappe.get_single("Loyalty Settings")
	defaults = {
		"enable_accrual": 1,
		"earn_on": "Net Total",
		"points_per_unit": 1,
		"points_precision": 2,
		"default_expiry_days": 365,
		"point_value": 0.01,
		"min_redeem_points": 0,
		"allow_negative_balance": 0,
		"builtin_program_policy": "Leave ERPNext Program Alone",
		"loyalty_mode_of_payment": "Loyalty Points",
		"expiry_notice_days": 0,
		# points tests must not depend on tier rows other tests left behind; tier tests turn tiers on
		"enable_tiers": 0,
		"lifecycle_at_risk_floor_days": 0,
		"lifecycle_lapsed_floor_days": 0,
		"tier_discount_with_manual": "Yields to a Manual Discount",
	}
	tables = {
		"excluded_item_groups": [{"item_group": g} for g in values.pop("excluded_item_groups", [])],
		"campaigns": values.pop("campaigns", []),
	}
	settings.update({**defaults, **values, **tables})
	settings.save(ignore_permissions=True)
	frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
	return settings


def sales_invoice(customer: str, rate: float, qty: float = 1, submit: bool = True, save: bool = True, **args):
	from erpnext.accounts.doctype.sales_invoice.test_sales_invoice import create_sales_invoice

	invoice = create_sales_invoice(customer=customer, rate=rate, qty=qty, do_not_save=True, **args)
	if not rate:  # ERPNext's helper reads rate 0 as "use the default rate"
		invoice.items[0].update({"rate": 0, "price_list_rate": 0, "discount_percentage": 0})
	if save:
		invoice.insert()
	if submit:
		invoice.submit()
	return invoice


def pos_sales_invoice(customer: str, rate: float, payments: dict[str, float], submit: bool = True):
	"""A till sale made directly as a Sales Invoice (is_pos), paid by the given modes."""
	from erpnext.accounts.doctype.pos_profile.test_pos_profile import make_pos_profile

	invoice = sales_invoice(customer, rate, submit=False, save=False)
	invoice.is_pos = 1
	invoice.pos_profile = make_pos_profile().name
	for mode, amount in payments.items():
		invoice.append("payments", {"mode_of_payment": mode, "amount": amount})
	invoice.insert()
	if submit:
		invoice.submit()
	return invoice


def points_of(voucher_type: str, voucher_no: str, entry_type: str | None = None) -> Decimal:
	rows = ledger.document_rows(voucher_type, voucher_no)
	return sum((row["points"] for row in rows if entry_type in (None, row["entry_type"])), Decimal(0))


def balance(customer: str) -> Decimal:
	return ledger.balance(customer, COMPANY)


def today():
	return nowdate()


def make_customer_group(prefix: str = "LCRM Group") -> str:
	"""A fresh customer group: filtering a report by it isolates a test's customers from the site's."""
	group = frappe.get_doc(
		{
			"doctype": "Customer Group",
			"customer_group_name": f"{prefix} {frappe.generate_hash(length=8)}",
			"parent_customer_group": "All Customer Groups",
		}
	).insert(ignore_permissions=True)
	return group.name


def sales_return(invoice, qty: float = -1, posting_date: str | None = None, submit: bool = True):
	"""A credit note returning ``qty`` (negative) of the invoice's first item, at its rate."""
	item = invoice.items[0]
	args = {"posting_date": posting_date} if posting_date else {}
	return sales_invoice(
		invoice.customer,
		rate=item.rate,
		qty=qty,
		is_return=1,
		return_against=invoice.name,
		submit=submit,
		**args,
	)


def survey_template(reward_points: float = 0, name: str | None = None, **values) -> str:
	"""A Survey Template asking every question, made the default in Survey Settings."""
	name = name or f"LCRM Survey {frappe.generate_hash(length=6)}"
	template = frappe.get_doc(
		{"doctype": "Survey Template", "template_name": name, "reward_points": reward_points, **values}
	).insert(ignore_permissions=True)
	set_survey_settings(default_template=template.name)
	return template.name


def set_survey_settings(**values):
	settings = frappe.get_single("Survey Settings")
	defaults = {
		"enable_surveys": 1,
		"invitation_valid_days": 30,
		"issue_on_submit": 0,
		"submissions_per_hour": 20,
	}
	settings.update({**defaults, **values})
	settings.save(ignore_permissions=True)
	frappe.clear_document_cache("Survey Settings", "Survey Settings")
	return settings


# Tiers
# -----
TEST_LADDER = (
	# name, rank, threshold, multiplier, grace months
	("Bronze", 1, 0, 1, 0),
	("Silver", 2, 500, 2, 1),
	("Gold", 3, 2000, 3, 2),
	("Platinum", 4, 6000, 4, 3),
)


def set_tier_ladder(ladder=TEST_LADDER):
	"""A known ladder for a test (rolled back with it): the default tier names, test values."""
	names = [row[0] for row in ladder]
	for name in frappe.get_all("Loyalty Tier", filters={"name": ("not in", names)}, pluck="name"):
		frappe.db.delete("Loyalty Tier", name)
	for name, rank, threshold, multiplier, grace in ladder:
		values = {
			"rank": rank,
			"threshold": threshold,
			"multiplier": multiplier,
			"grace_months": grace,
			"discount_percentage": 0,
		}
		if frappe.db.exists("Loyalty Tier", name):
			frappe.db.set_value("Loyalty Tier", name, values)
		else:
			frappe.get_doc({"doctype": "Loyalty Tier", "tier_name": name, **values}).db_insert()
	for rule in frappe.get_all("Loyalty Tier", filters={"pricing_rule": ("is", "set")}, pluck="pricing_rule"):
		frappe.db.set_value("Pricing Rule", rule, "disable", 1)


def set_tier_settings(**values):
	"""Tier settings for a test; unspecified ones take the defaults (spend, 12 months, one rank)."""
	defaults = {
		"enable_tiers": 1,
		"tier_metric": "Spend",
		"tier_window": "Rolling Months",
		"tier_window_months": 12,
		"tier_downgrade_mode": "One Rank at a Time",
		"tier_upgrade_email": 0,
		"tier_downgrade_notice_days": 0,
	}
	for field, value in {**defaults, **values}.items():
		frappe.db.set_single_value("Loyalty Settings", field, value)
	frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")


def ensure_outgoing_email_account():
	"""Emails are queued only with a default outgoing account; a test site may have none (rolled back)."""
	if frappe.db.exists("Email Account", {"enable_outgoing": 1, "default_outgoing": 1}):
		return
	frappe.get_doc(
		{
			"doctype": "Email Account",
			"email_account_name": "LCRM Test Outgoing",
			"email_id": "lcrm-outgoing@example.com",
			"enable_outgoing": 1,
			"default_outgoing": 1,
			"smtp_server": "localhost",
			"smtp_port": 25,
		}
	).db_insert()
	if hasattr(frappe.local, "outgoing_email_account"):
		frappe.local.outgoing_email_account = {}


def browser_survey_links(count: int = 2) -> list[str]:
	"""For tests/browser/survey_page.py: fresh invoices' survey links (paths), committed.

	Run by `bench --site S execute loyalty_crm.testing.browser_survey_links`; it leaves a
	customer, its invoices and a template on the site, as a manual test would.
	"""
	from loyalty_crm.services import surveys

	before_tests()
	set_settings()
	survey_template(
		reward_points=20,
		name=f"LCRM Browser Survey {frappe.generate_hash(length=6)}",
		texts=[{"language": "en", "title": "How was your visit to our store?"}],
	)
	customer = make_customer("Browser")
	paths = []
	for _index in range(count):
		token = surveys.issue_invitation(sales_invoice(customer, rate=88))
		paths.append(surveys.survey_url(token).split("/survey", 1)[1])
	frappe.db.commit()
	return ["/survey" + path for path in paths]


def browser_pos_till() -> dict:
	"""For tests/browser/pos_till.py: a till the Administrator can open, and a customer with points.

	Run by `bench --site S execute loyalty_crm.testing.browser_pos_till`; it leaves a POS Profile
	(Cash and the loyalty mode of payment), an open POS Opening Entry, stock and a customer with a
	tier and points on the site, as a manual test would. Loyalty Settings other than the mode of
	payment and the switches for accrual and tiers are left as they are.
	"""
	from erpnext.accounts.doctype.pos_opening_entry.test_pos_opening_entry import create_opening_entry
	from erpnext.stock.doctype.stock_entry.stock_entry_utils import make_stock_entry

	before_tests()
	mode = frappe.db.get_single_value("Loyalty Settings", "loyalty_mode_of_payment") or "Loyalty Points"
	for field, value in {"enable_accrual": 1, "enable_tiers": 1, "loyalty_mode_of_payment": mode}.items():
		frappe.db.set_single_value("Loyalty Settings", field, value)
	frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
	profile_name = "LCRM Browser Till"
	if not frappe.db.exists("POS Profile", profile_name):
		frappe.get_doc(
			{
				"doctype": "POS Profile",
				"name": profile_name,
				"company": COMPANY,
				"currency": "INR",
				"warehouse": "_Test Warehouse - _TC",
				"selling_price_list": "_Test Price List",
				"cost_center": "_Test Cost Center - _TC",
				"write_off_account": "_Test Write Off - _TC",
				"write_off_cost_center": "_Test Cost Center - _TC",
				"income_account": "Sales - _TC",
				"expense_account": "_Test Account Cost for Goods Sold - _TC",
				"payments": [{"mode_of_payment": "Cash", "default": 1}, {"mode_of_payment": mode}],
				"applicable_for_users": [{"user": "Administrator", "default": 1}],
			}
		).insert(ignore_permissions=True)
	profile = frappe.get_doc("POS Profile", profile_name)
	opening = frappe.db.get_value(
		"POS Opening Entry",
		{"user": "Administrator", "pos_profile": profile_name, "status": "Open", "docstatus": 1},
		"name",
	)
	if not opening:
		opening = create_opening_entry(profile, "Administrator").name
	stock = frappe.db.get_value(
		"Bin", {"item_code": "_Test Item", "warehouse": profile.warehouse}, "actual_qty"
	)
	if (stock or 0) < 10:
		make_stock_entry(item_code="_Test Item", target=profile.warehouse, qty=50, basic_rate=100)
	price = {"item_code": "_Test Item", "price_list": profile.selling_price_list}
	if not frappe.db.exists("Item Price", price):
		frappe.get_doc({"doctype": "Item Price", **price, "price_list_rate": 100}).insert(
			ignore_permissions=True
		)
	customer = make_customer("Till")
	sales_invoice(customer, rate=2500)
	frappe.db.commit()
	return {
		"customer": customer,
		"pos_profile": profile_name,
		"opening_entry": opening,
		"mode": mode,
		"warehouse": profile.warehouse,
	}


def browser_member_card() -> dict:
	"""For tests/browser/member_card.py: the till of browser_pos_till and a member in their birthday week.

	The customer's first points (browser_pos_till's invoice) issued their card number; their date
	of birth is set so that today is their birthday, and a number no member holds is returned too.
	"""
	from frappe.utils import add_years, getdate

	from loyalty_crm.engine.member_cards import generated_card_number
	from loyalty_crm.services.cards import CARD_FIELD

	till = browser_pos_till()
	customer = till["customer"]
	frappe.db.set_value("Customer", customer, "customer_name", "Lin Mei (林美)")
	frappe.db.set_value("Customer", customer, "loyalty_crm_date_of_birth", add_years(getdate(nowdate()), -30))
	unknown = next(
		generated_card_number(seq)
		for seq in range(9_000_000_000, 9_000_001_000)
		if not frappe.db.exists("Customer", {CARD_FIELD: generated_card_number(seq)})
	)
	frappe.db.commit()
	return {**till, "card_number": frappe.db.get_value("Customer", customer, CARD_FIELD), "unknown": unknown}
