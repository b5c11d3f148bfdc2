"""Tier discount Pricing Rules fire only when services.tier_discount says the tier's discount
alone applies, so they no longer overwrite a discount the cashier typed. Rewrites the condition
of the rules made before; a disabled rule stays disabled."""

import frappe


def execute():
	from loyalty_crm.services.tiers import pricing_rule_condition

	rules = frappe.get_all(
		"Loyalty Tier", filters={"pricing_rule": ("is", "set")}, fields=["name", "pricing_rule"]
	)
	for tier in rules:
		if frappe.db.exists("Pricing Rule", tier.pricing_rule):
			frappe.db.set_value(
				"Pricing Rule",
				tier.pricing_rule,
				"condition",
				pricing_rule_condition(tier.name),
				update_modified=False,
			)
