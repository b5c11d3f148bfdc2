"""Tier lookups the points accrual needs; the tiers issue fills in the ladder."""

from decimal import Decimal


def tier_multiplier(customer: str) -> Decimal:
	"""The one place accrual asks for a customer's earn multiplier (1 until tiers exist)."""
	return Decimal(1)
