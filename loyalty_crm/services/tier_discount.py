"""The tier discount next to a discount the cashier typed: the rule the retailer chose.

A tier's discount is a standard transaction-level Pricing Rule (see ``services.tiers``). Left
alone, ERPNext applies such a rule on every save by *overwriting* the invoice's Additional
Discount Percentage, so a cashier's 5% goodwill discount silently became the tier's 10%, or a
20% manager discount shrank to it. Loyalty Settings → *Tier Discount and a Manual Discount*
decides instead:

* **Yields to a Manual Discount** (default): the cashier's discount stands; the tier's applies
  only when the cashier gave none. Nothing the cashier gave is ever taken away.
* **Replaces a Manual Discount**: the tier's discount applies, as ERPNext would do by itself.
* **Adds to a Manual Discount**: both. Percentages add up (5% + 10% = 15%, at most 100%); a typed
  discount *amount* gets the tier's percentage of the net total added to it.

How: ``before_validate`` (it runs before ERPNext's validate applies Pricing Rules and computes
the totals, at the till and at the desk alike) works out the outcome and sets the invoice's
discount itself. The tier's Pricing Rule carries the condition ``loyalty_crm_tier_rule == 1``
as well as the tier's name, and the flag is set only when the outcome is the tier's discount
alone; otherwise the rule does not fire and ERPNext totals the discount set here. So totals,
taxes and payments are computed once, by ERPNext, on the final discount.

Which discount the cashier typed must survive re-saves (a draft saved twice, the till's save and
then submit): the invoice keeps the manual discount and the discount it was last saved with
(``loyalty_crm_set_discount_*``, written after ERPNext's rules ran). A discount equal to the one
last saved is not new input; any other value is the cashier's. The invoice shows the tier's discount, the manual one and which
applied (*Loyalty Discount Applied*).
"""

from __future__ import annotations

import frappe
from frappe.utils import cint, flt

YIELDS = "Yields to a Manual Discount"
REPLACES = "Replaces a Manual Discount"
ADDS = "Adds to a Manual Discount"
MODES = (YIELDS, REPLACES, ADDS)

TIER = "Tier Discount"
MANUAL = "Manual Discount"
BOTH = "Tier and Manual Discounts"
APPLIED = (TIER, MANUAL, BOTH)

RULE_FLAG = "loyalty_crm_tier_rule"


def mode() -> str:
	value = frappe.get_cached_doc("Loyalty Settings").get("tier_discount_with_manual")
	return value if value in MODES else YIELDS


def tier_discount(tier: str | None) -> float:
	"""The discount of the invoice's tier while its Pricing Rule is enabled; 0 otherwise."""
	if not tier:
		return 0.0
	row = frappe.db.sql(
		"""select tier.discount_percentage
		from `tabLoyalty Tier` tier
		join `tabPricing Rule` rule on rule.name = tier.pricing_rule
		where tier.name = %s and rule.disable = 0""",
		tier,
	)
	return flt(row[0][0]) if row else 0.0


def manual_discount(doc) -> tuple[float, float]:
	"""(percentage, amount) the cashier gave: what the invoice carries, unless it is what we set."""
	percentage, amount = flt(doc.get("additional_discount_percentage")), flt(doc.get("discount_amount"))
	set_percentage = flt(doc.get("loyalty_crm_set_discount_percentage"))
	set_amount = flt(doc.get("loyalty_crm_set_discount_amount"))
	ours = (
		percentage == set_percentage
		if set_percentage
		else (
			percentage == 0 and amount == set_amount and (amount or doc.get("loyalty_crm_discount_applied"))
		)
	)
	if ours:
		return flt(doc.get("loyalty_crm_manual_discount")), flt(doc.get("loyalty_crm_manual_discount_amount"))
	if percentage:
		return percentage, 0.0
	return 0.0, amount


def before_validate(doc) -> None:
	"""Decide the invoice's additional discount before ERPNext applies Pricing Rules and totals."""
	if doc.get("is_return") or doc.get("is_consolidated") or cint(doc.get("ignore_pricing_rule")):
		return
	manual_percentage, manual_amount = manual_discount(doc)
	tier = tier_discount(doc.get("loyalty_crm_tier"))
	has_manual = bool(manual_percentage or manual_amount)
	rule = mode()

	applied = None
	percentage, amount = manual_percentage, manual_amount
	if tier and (not has_manual or rule == REPLACES):
		applied, percentage, amount = TIER, tier, 0.0
	elif tier and rule == ADDS:
		applied = BOTH
		if manual_percentage:
			percentage = min(100.0, manual_percentage + tier)
		else:
			percentage, amount = 0.0, manual_amount + _tier_amount(doc, tier)
	elif has_manual:
		applied = MANUAL

	doc.set(RULE_FLAG, 1 if applied == TIER else 0)
	if applied != TIER:  # the rule stays silent: the discount set here is the invoice's
		doc.additional_discount_percentage = percentage
		if percentage:
			doc.discount_amount = 0  # ERPNext recomputes it from the percentage
		else:
			doc.discount_amount = amount
	doc.loyalty_crm_tier_discount = tier
	doc.loyalty_crm_manual_discount = manual_percentage
	doc.loyalty_crm_manual_discount_amount = manual_amount
	doc.loyalty_crm_discount_applied = applied
	doc.loyalty_crm_set_discount_percentage = percentage
	doc.loyalty_crm_set_discount_amount = 0 if percentage else amount


def remember_final_discount(doc) -> None:
	"""After ERPNext's validate: the discount the invoice ends up with is not the cashier's input.

	Another transaction-level Pricing Rule (a promotion, a coupon) may have set it after us; on
	the next save it must not be read as typed by the cashier.
	"""
	if doc.get("is_return") or doc.get("is_consolidated") or cint(doc.get("ignore_pricing_rule")):
		return
	percentage = flt(doc.get("additional_discount_percentage"))
	doc.loyalty_crm_set_discount_percentage = percentage
	doc.loyalty_crm_set_discount_amount = 0 if percentage else flt(doc.get("discount_amount"))


def _tier_amount(doc, tier: float) -> float:
	"""The tier's percentage of the invoice's net total before any additional discount."""
	base = sum(flt(item.qty) * flt(item.rate) for item in doc.get("items") or [])
	return flt(base * tier / 100, doc.precision("discount_amount"))
