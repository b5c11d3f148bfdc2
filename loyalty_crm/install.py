"""Install, migrate and uninstall steps: what the app adds to a site, kept as data.

One function returns each kind of record the app creates, and both install and uninstall
read it, so uninstall can never forget what install added (the frappe/hrms pattern).
"""

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

ROLES = ("Loyalty Manager", "Loyalty User")
LOYALTY_MODE_OF_PAYMENT = "Loyalty Points"
LOYALTY_ACCOUNT_NAME = "Loyalty Points Expense"


def get_custom_fields() -> dict[str, list[dict]]:
	"""Read-only caches on Customer that the app's jobs fill; the ledger and jobs are the truth."""
	return {
		"Customer": [
			# Members: date of birth (personal data, see hooks.user_data_fields) and the member card.
			{
				"fieldname": "loyalty_crm_date_of_birth",
				"fieldtype": "Date",
				"label": "Date of Birth",
				"insert_after": "gender",
				"no_copy": 1,
				"description": "Earns the birthday points of Loyalty Settings once a year; born on 29 February: 28 February in other years.",
			},
			{
				"fieldname": "loyalty_crm_card_number",
				"fieldtype": "Data",
				"label": "Member Card Number",
				"insert_after": "loyalty_crm_date_of_birth",
				"unique": 1,
				"no_copy": 1,
				"in_standard_filter": 1,
				"description": "Issued with the first loyalty points or by Issue Member Card; scanned or typed at the till to find the customer.",
			},
			# The loyalty panel (public/js/customer.js, services/customer_panel.py): the first thing on
			# the first tab of a saved customer (naming_series, before it, only shows on new ones), so a
			# desk user sees the loyalty picture without hunting; a section break after it gives the
			# customer's own fields their section back.
			{
				"fieldname": "loyalty_crm_panel_section",
				"fieldtype": "Section Break",
				"label": "Loyalty",
				"insert_after": "naming_series",
				"depends_on": "eval:!doc.__islocal",
			},
			{
				"fieldname": "loyalty_crm_panel",
				"fieldtype": "HTML",
				"label": "Loyalty Panel",
				"insert_after": "loyalty_crm_panel_section",
			},
			{
				"fieldname": "loyalty_crm_panel_end",
				"fieldtype": "Section Break",
				"insert_after": "loyalty_crm_panel",
			},
			{
				"fieldname": "loyalty_crm_section",
				"fieldtype": "Section Break",
				"label": "Loyalty Details",
				"insert_after": "loyalty_program_tier",
				"collapsible": 1,
			},
			{
				"fieldname": "loyalty_crm_tier",
				"fieldtype": "Link",
				"options": "Loyalty Tier",
				"label": "Loyalty Tier",
				"insert_after": "loyalty_crm_section",
				"read_only": 1,
				"no_copy": 1,
				"in_standard_filter": 1,
			},
			# Tiers: the engine's state per customer (services/tiers.py), so one SELECT reads the ladder's state.
			{
				"fieldname": "loyalty_crm_tier_since",
				"fieldtype": "Date",
				"label": "Tier Since",
				"insert_after": "loyalty_crm_tier",
				"read_only": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "loyalty_crm_below_since",
				"fieldtype": "Date",
				"label": "Below Tier Threshold Since",
				"insert_after": "loyalty_crm_tier_since",
				"read_only": 1,
				"no_copy": 1,
				"depends_on": "loyalty_crm_below_since",
			},
			{
				"fieldname": "loyalty_crm_grace_ends",
				"fieldtype": "Date",
				"label": "Keeps Tier Until",
				"insert_after": "loyalty_crm_below_since",
				"read_only": 1,
				"no_copy": 1,
				"depends_on": "loyalty_crm_grace_ends",
				"description": "The grace period ends on this day; the daily evaluation then moves the customer down unless they qualify again.",
			},
			{
				"fieldname": "loyalty_crm_points_balance",
				"fieldtype": "Float",
				"label": "Loyalty Points Balance",
				"insert_after": "loyalty_crm_tier",
				"read_only": 1,
				"no_copy": 1,
				"precision": "6",
				"description": "Sum of the customer's Loyalty Ledger Entries in all companies, refreshed on every movement.",
			},
			{
				"fieldname": "loyalty_crm_column_break",
				"fieldtype": "Column Break",
				"insert_after": "loyalty_crm_points_balance",
			},
			{
				"fieldname": "loyalty_crm_segment",
				"fieldtype": "Data",
				"label": "Customer Segment",
				"insert_after": "loyalty_crm_column_break",
				"read_only": 1,
				"no_copy": 1,
				"in_standard_filter": 1,
			},
			{
				"fieldname": "loyalty_crm_churn_risk",
				"fieldtype": "Select",
				"label": "Churn Risk",
				"options": "\nLow\nMedium\nHigh\nCritical",
				"insert_after": "loyalty_crm_segment",
				"read_only": 1,
				"no_copy": 1,
				"in_standard_filter": 1,
				"description": "Band of the customer's main company (highest predicted value), from the daily churn scoring.",
			},
			# Churn: the scoring job (services/churn.py) fills these from the customer's main company.
			{
				"fieldname": "loyalty_crm_churn_drivers",
				"fieldtype": "Small Text",
				"label": "Churn Drivers",
				"insert_after": "loyalty_crm_churn_risk",
				"read_only": 1,
				"no_copy": 1,
				"depends_on": "loyalty_crm_churn_risk",
			},
			{
				"fieldname": "loyalty_crm_churn_scored_on",
				"fieldtype": "Date",
				"label": "Churn Scored On",
				"insert_after": "loyalty_crm_churn_drivers",
				"read_only": 1,
				"no_copy": 1,
				"depends_on": "loyalty_crm_churn_risk",
			},
			# Segments: the refresh (services/segments.py) fills these from the customer's main company.
			{
				"fieldname": "loyalty_crm_rfm_segment",
				"fieldtype": "Data",
				"label": "RFM Segment",
				"insert_after": "loyalty_crm_churn_scored_on",
				"read_only": 1,
				"no_copy": 1,
				"in_standard_filter": 1,
			},
			{
				"fieldname": "loyalty_crm_r_score",
				"fieldtype": "Int",
				"label": "Recency Score",
				"insert_after": "loyalty_crm_rfm_segment",
				"read_only": 1,
				"no_copy": 1,
				"description": "1-5, 5 = bought most recently; 0 = not scored.",
			},
			{
				"fieldname": "loyalty_crm_f_score",
				"fieldtype": "Int",
				"label": "Frequency Score",
				"insert_after": "loyalty_crm_r_score",
				"read_only": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "loyalty_crm_m_score",
				"fieldtype": "Int",
				"label": "Monetary Score",
				"insert_after": "loyalty_crm_f_score",
				"read_only": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "loyalty_crm_lifecycle_stage",
				"fieldtype": "Data",
				"label": "Lifecycle Stage",
				"insert_after": "loyalty_crm_m_score",
				"read_only": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "loyalty_crm_abc_class",
				"fieldtype": "Data",
				"label": "ABC Class",
				"insert_after": "loyalty_crm_lifecycle_stage",
				"read_only": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "loyalty_crm_clv_band",
				"fieldtype": "Data",
				"label": "CLV Band",
				"insert_after": "loyalty_crm_abc_class",
				"read_only": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "loyalty_crm_segments_html",
				"fieldtype": "HTML",
				"label": "Segment Memberships",
				"insert_after": "loyalty_crm_clv_band",
			},
			# Campaigns: the customer's marketing opt-out, respected by every message the app sends.
			{
				"fieldname": "loyalty_crm_no_marketing",
				"fieldtype": "Check",
				"label": "No Marketing Messages",
				"insert_after": "loyalty_crm_segments_html",
				"description": "Leaves the customer out of retention campaigns (no offer, no email, no SMS).",
			},
		],
		# Tiers: the customer's tier when the invoice was saved; a tier's discount Pricing Rule reads it.
		"Sales Invoice": [invoice_tier_field(), invoice_coupon_field(), *invoice_discount_fields()],
		"POS Invoice": [invoice_tier_field(), *invoice_discount_fields()],
	}


def invoice_discount_fields() -> list[dict]:
	"""Which discount applied when a tier discount meets a cashier's (services/tier_discount.py)."""

	def shown(fieldname: str, fieldtype: str, label: str, after: str, **extra) -> dict:
		return {
			"fieldname": fieldname,
			"fieldtype": fieldtype,
			"label": label,
			"insert_after": after,
			"read_only": 1,
			"print_hide": 1,
			"depends_on": f"eval:doc.{fieldname}",
			**extra,
		}

	def hidden(fieldname: str, fieldtype: str, label: str, after: str) -> dict:
		return {
			"fieldname": fieldname,
			"fieldtype": fieldtype,
			"label": label,
			"insert_after": after,
			"hidden": 1,
			"read_only": 1,
			"print_hide": 1,
		}

	return [
		shown(
			"loyalty_crm_discount_applied",
			"Select",
			"Loyalty Discount Applied",
			"discount_amount",
			options="\nTier Discount\nManual Discount\nTier and Manual Discounts",
			description="Set on save by Loyalty Settings → Tier Discount and a Manual Discount.",
		),
		shown("loyalty_crm_tier_discount", "Percent", "Tier Discount (%)", "loyalty_crm_discount_applied"),
		shown("loyalty_crm_manual_discount", "Percent", "Manual Discount (%)", "loyalty_crm_tier_discount"),
		shown(
			"loyalty_crm_manual_discount_amount",
			"Currency",
			"Manual Discount Amount",
			"loyalty_crm_manual_discount",
			options="currency",
		),
		hidden(
			"loyalty_crm_tier_rule", "Check", "Apply Tier Pricing Rule", "loyalty_crm_manual_discount_amount"
		),
		hidden(
			"loyalty_crm_set_discount_percentage", "Float", "Discount Percentage Set", "loyalty_crm_tier_rule"
		),
		hidden(
			"loyalty_crm_set_discount_amount",
			"Float",
			"Discount Amount Set",
			"loyalty_crm_set_discount_percentage",
		),
	]


def invoice_coupon_field() -> dict:
	"""ERPNext 15 has Coupon Code on POS Invoice and Sales Order but not on Sales Invoice.

	Named ``coupon_code`` like theirs, so ERPNext's own transaction Pricing Rule code (which reads
	``doc.coupon_code``) applies a campaign coupon's discount on a desk invoice as it does at the
	till; events/coupon.py checks and counts its use as ERPNext does for POS Invoices.
	"""
	return {
		"fieldname": "coupon_code",
		"fieldtype": "Link",
		"options": "Coupon Code",
		"label": "Coupon Code",
		"insert_after": "section_break_49",
		"print_hide": 1,
		"no_copy": 1,
	}


def invoice_tier_field() -> dict:
	return {
		"fieldname": "loyalty_crm_tier",
		"fieldtype": "Data",
		"label": "Loyalty Tier",
		"insert_after": "customer_name",
		"fetch_from": "customer.loyalty_crm_tier",
		"read_only": 1,
		"no_copy": 1,
		"print_hide": 1,
		"depends_on": "loyalty_crm_tier",
	}


def before_install():
	"""Roles and the mode of payment exist before the doctypes that name them are synced."""
	make_roles()
	make_mode_of_payment()


def after_install():
	make_roles()
	make_custom_fields()
	make_loyalty_mode_of_payment()
	make_survey_secret()
	make_tier_defaults()
	make_member_defaults()
	make_report_scale()
	frappe.db.commit()


def after_migrate():
	"""Migrate re-creates what an administrator may have deleted; running it twice changes nothing."""
	make_roles()
	fill_missing_setting_defaults()
	make_custom_fields()
	make_loyalty_mode_of_payment()
	make_survey_secret()
	make_tier_defaults()
	make_member_defaults()
	make_report_scale()


def make_report_scale():
	"""The invoice tables' covering index for the reports, and the reports prepared above a size
	(services/report_scale.py says why and how)."""
	from loyalty_crm.services import report_scale

	report_scale.add_customer_day_indexes()
	report_scale.update_prepared_reports()


def make_member_defaults():
	"""Card numbers in the Customer search, the birthday email template, the starter segments and survey template.

	The starter records are imported only when their files changed and never over an edit
	(services/starter_data.py).
	"""
	from loyalty_crm.services import birthdays, cards, starter_data

	cards.add_card_to_customer_search()
	cards.issue_missing_cards()
	birthdays.make_birthday_email_template()
	starter_data.sync()


def fill_missing_setting_defaults(doctype: str = "Loyalty Settings"):
	"""A settings field added by an upgrade starts at its default, not empty, on existing sites.

	Frappe applies Single defaults only when the Single is first created; without this a new
	field would be blank (e.g. a window of 0 months) until an administrator filled it in.
	"""
	from frappe.model import no_value_fields

	stored = set(frappe.db.sql_list("select field from `tabSingles` where doctype = %s", doctype))
	for field in frappe.get_meta(doctype).fields:
		if (
			field.default not in (None, "")
			and field.fieldname not in stored
			and field.fieldtype not in no_value_fields
		):
			frappe.db.set_single_value(doctype, field.fieldname, field.default)


def before_uninstall():
	from loyalty_crm.services import tier_setup

	delete_tier_pricing_rules()
	tier_setup.delete_email_templates()
	delete_member_defaults()
	delete_custom_fields(get_custom_fields())
	from loyalty_crm.services import report_scale

	report_scale.drop_customer_day_indexes()


def delete_member_defaults():
	from loyalty_crm.services import birthdays, cards, starter_data

	cards.remove_card_from_customer_search()
	birthdays.delete_birthday_email_template()
	starter_data.clear_state()


def after_uninstall():
	"""Roles go last: the doctypes whose permissions named them are gone by now."""
	for role in ROLES:
		frappe.db.delete("Has Role", {"role": role})
		frappe.db.delete("Custom DocPerm", {"role": role})
		frappe.db.delete("DocPerm", {"role": role})
		if frappe.db.exists("Role", role):
			frappe.delete_doc("Role", role, ignore_permissions=True, force=True)
	frappe.db.commit()


def make_roles():
	for role in ROLES:
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(
				ignore_permissions=True
			)


def make_custom_fields():
	create_custom_fields(get_custom_fields(), ignore_validate=True)


def delete_custom_fields(custom_fields: dict[str, list[dict]]):
	for doctype, fields in custom_fields.items():
		frappe.db.delete(
			"Custom Field",
			{"fieldname": ("in", [field["fieldname"] for field in fields]), "dt": doctype},
		)
		frappe.clear_cache(doctype=doctype)


def make_loyalty_mode_of_payment():
	"""The standard way a till takes part-payment: a payment row of this mode pays with points.

	Each company gets an expense account for it, so redemption posts a balanced entry
	(Dr Loyalty Points Expense, Cr Debtors) without the administrator building accounts first.
	"""
	make_mode_of_payment()
	for company in frappe.get_all("Company", pluck="name"):
		ensure_loyalty_account(company)


def make_mode_of_payment():
	if not frappe.db.exists("Mode of Payment", LOYALTY_MODE_OF_PAYMENT):
		frappe.get_doc(
			{
				"doctype": "Mode of Payment",
				"mode_of_payment": LOYALTY_MODE_OF_PAYMENT,
				"type": "General",
				"enabled": 1,
			}
		).insert(ignore_permissions=True)


def ensure_loyalty_account(company: str) -> str | None:
	"""Create the company's points expense account and map the mode of payment to it, once."""
	mode = frappe.get_doc("Mode of Payment", LOYALTY_MODE_OF_PAYMENT)
	mapped = next((row.default_account for row in mode.accounts if row.company == company), None)
	if mapped:
		return mapped
	account = frappe.db.get_value(
		"Account", {"company": company, "account_name": LOYALTY_ACCOUNT_NAME, "is_group": 0}
	)
	if not account:
		parent = frappe.db.get_value(
			"Account", {"company": company, "account_name": "Indirect Expenses", "is_group": 1}
		) or frappe.db.get_value(
			"Account", {"company": company, "root_type": "Expense", "is_group": 1}, order_by="lft asc"
		)
		if not parent:
			return None
		account = (
			frappe.get_doc(
				{
					"doctype": "Account",
					"account_name": LOYALTY_ACCOUNT_NAME,
					"company": company,
					"parent_account": parent,
					"root_type": "Expense",
					"report_type": "Profit and Loss",
					"is_group": 0,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)
	mode.append("accounts", {"company": company, "default_account": account})
	mode.save(ignore_permissions=True)
	return account


def make_survey_secret():
	"""The key that signs survey links, generated once and stored encrypted in Survey Settings."""
	from loyalty_crm.services.surveys import ensure_secret

	ensure_secret()


def make_tier_defaults():
	"""Tier settings' defaults, the two tier Email Templates and the default ladder, each only if absent."""
	from loyalty_crm.services import tier_setup

	tier_setup.make_tier_settings_defaults()
	tier_setup.make_tier_email_templates()
	tier_setup.make_default_ladder()


def delete_tier_pricing_rules():
	"""The Pricing Rules that carry tier discounts would match nothing once the tier field is gone."""
	from loyalty_crm.services import tier_setup

	tier_setup.delete_tier_pricing_rules()
