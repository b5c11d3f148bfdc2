"""What the tiers feature adds to a site at install and migrate, kept as data.

Each step runs only when its records are missing, so an administrator's edits survive every
migrate: the default ladder is created only while no Loyalty Tier exists at all.
"""

from __future__ import annotations

import frappe

from loyalty_crm.services.tiers import DOWNGRADE_TEMPLATE, TIER, UPGRADE_TEMPLATE


def _(message: str) -> str:
	"""Mark for translation: records are stored in English and shown translated (zh.csv)."""
	return message


# name, rank, threshold (12 months' spend by default), multiplier, grace months, colour, description.
# Multipliers start at 1 and there is no discount: installing the app changes nobody's points or
# prices until the administrator decides what each tier is worth.
DEFAULT_LADDER = (
	("Bronze", 1, 0, 1, 0, "#CD7F32", _("Every customer starts here.")),
	("Silver", 2, 500, 1, 3, "#A8A9AD", _("From 500 of spend in the last 12 months.")),
	("Gold", 3, 2000, 1, 3, "#D4AF37", _("From 2,000 of spend in the last 12 months.")),
	("Platinum", 4, 6000, 1, 3, "#7F8FA6", _("From 6,000 of spend in the last 12 months.")),
)

# Loyalty Settings, Tiers section: fields whose JSON default a Single does not get by itself
# when the fields are added to an existing site.
SETTINGS_DEFAULTS = {
	"enable_tiers": 1,
	"tier_metric": "Spend",
	"tier_window": "Rolling Months",
	"tier_window_months": 12,
	"tier_downgrade_mode": "One Rank at a Time",
	"tier_upgrade_email": 0,
	"tier_downgrade_notice_days": 0,
}

EMAIL_TEMPLATES = {
	UPGRADE_TEMPLATE: {
		"subject": "You are now {{ tier }}",
		"response": (
			"<p>Dear {{ customer_name }},</p>"
			"<p>Thank you for your loyalty: you have reached <b>{{ tier }}</b>"
			"{% if previous_tier %} (from {{ previous_tier }}){% endif %}.</p>"
		),
	},
	DOWNGRADE_TEMPLATE: {
		"subject": "Keep your {{ tier }} status",
		"response": (
			"<p>Dear {{ customer_name }},</p>"
			"<p>Your <b>{{ tier }}</b> status is kept until {{ grace_ends }}. "
			"Shop before then to keep it; otherwise it becomes {{ qualifying_tier }}.</p>"
		),
	},
}


def make_tier_settings_defaults():
	for fieldname, value in SETTINGS_DEFAULTS.items():
		if not frappe.db.exists("Singles", {"doctype": "Loyalty Settings", "field": fieldname}):
			frappe.db.set_single_value("Loyalty Settings", fieldname, value)
	frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")


def make_tier_email_templates():
	for name, template in EMAIL_TEMPLATES.items():
		if not frappe.db.exists("Email Template", name):
			frappe.get_doc({"doctype": "Email Template", "name": name, **template}).insert(
				ignore_permissions=True
			)


def make_default_ladder():
	"""Bronze 0 / Silver / Gold / Platinum, inserted lowest first so each save sees a valid ladder."""
	if frappe.db.count(TIER):
		return
	for name, rank, threshold, multiplier, grace, colour, description in DEFAULT_LADDER:
		frappe.get_doc(
			{
				"doctype": TIER,
				"tier_name": name,
				"rank": rank,
				"threshold": threshold,
				"multiplier": multiplier,
				"grace_months": grace,
				"color": colour,
				"description": description,
			}
		).insert(ignore_permissions=True)


def delete_email_templates():
	"""The app's own templates go with it; an administrator's other templates are untouched."""
	for name in EMAIL_TEMPLATES:
		frappe.db.delete("Email Template", {"name": name})


def delete_tier_pricing_rules():
	if not frappe.db.table_exists(TIER):
		return
	for rule in frappe.get_all(TIER, filters={"pricing_rule": ("is", "set")}, pluck="pricing_rule"):
		if frappe.db.exists("Pricing Rule", rule):
			frappe.delete_doc("Pricing Rule", rule, ignore_permissions=True, force=True)
