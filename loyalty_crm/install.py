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
			{
				"fieldname": "loyalty_crm_section",
				"fieldtype": "Section Break",
				"label": "Loyalty",
				"insert_after": "loyalty_program_tier",
				"collapsible": 1,
			},
			{
				"fieldname": "loyalty_crm_tier",
				"fieldtype": "Data",
				"label": "Loyalty Tier",
				"insert_after": "loyalty_crm_section",
				"read_only": 1,
				"no_copy": 1,
				"in_standard_filter": 1,
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
				"options": "\nLow\nMedium\nHigh",
				"insert_after": "loyalty_crm_segment",
				"read_only": 1,
				"no_copy": 1,
			},
		]
	}


def before_install():
	"""Roles and the mode of payment exist before the doctypes that name them are synced."""
	make_roles()
	make_mode_of_payment()


def after_install():
	make_roles()
	make_custom_fields()
	make_loyalty_mode_of_payment()
	frappe.db.commit()


def after_migrate():
	"""Migrate re-creates what an administrator may have deleted; running it twice changes nothing."""
	make_roles()
	make_custom_fields()
	make_loyalty_mode_of_payment()


def before_uninstall():
	delete_custom_fields(get_custom_fields())


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
