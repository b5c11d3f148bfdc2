"""doc_events for Sales Invoice and POS Invoice: the desk, the till, returns and cancellations.

Both doctypes carry the same loyalty-relevant fields, so one set of handlers serves both; the
differences (POS consolidation, ERPNext's own program) are decided in services.accrual.
POS closing re-saves submitted POS Invoices through their update-after-submit events; no
handler here listens to those, so consolidation changes no points.
"""

from loyalty_crm.services import accrual, tier_discount, tiers


def before_validate(doc, method=None):
	# Before ERPNext's validate applies Pricing Rules: the tier discount and a cashier's discount.
	tier_discount.before_validate(doc)


def validate(doc, method=None):
	tier_discount.remember_final_discount(doc)
	accrual.validate_invoice(doc)


def on_submit(doc, method=None):
	accrual.on_submit(doc)
	# After the accrual: a points ladder counts this invoice's points; the next invoice earns
	# with the new multiplier.
	tiers.on_invoice_submit(doc)


def on_cancel(doc, method=None):
	accrual.on_cancel(doc)
