"""ABC (Pareto) classes of customers by revenue.

Customers are ranked by revenue, highest first (equal revenue: customer id ascending, so a
re-run gives the same classes). Walking down that list, a customer is in class A while the
revenue *before* them is below the first cut-off: the customer whose revenue crosses the
cut-off is still A (they are needed to reach it), and the next one is B. The same rule applies
at the second cut-off between B and C. So with cut-offs (80, 95), A is the smallest set of top
customers that together make at least 80% of revenue.

Customers with zero or negative revenue make none of the revenue and are always C; their
share is 0. Shares are in percent (0-100), the unit of the cut-offs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _

CLASS_A = "A"
CLASS_B = "B"
CLASS_C = "C"


def abc_classes(revenue: pd.Series | pd.DataFrame, cutoffs: Sequence[float] = (80, 95)) -> pd.DataFrame:
	"""Classes A/B/C for revenue per customer (a Series, or a metrics frame's ``monetary``).

	Returns a frame indexed by customer, in rank order, with ``revenue``, ``share`` and
	``cumulative_share`` (percent of total positive revenue) and ``abc_class``.
	"""
	first, second = validate_cutoffs(cutoffs)
	values = _revenue_series(revenue)
	frame = pd.DataFrame({"revenue": values.to_numpy(), "key": values.index.astype(str)}, index=values.index)
	frame["negated"] = -frame["revenue"]
	frame = frame.sort_values(["negated", "key"], kind="mergesort")
	positive = frame["revenue"].clip(lower=0).to_numpy()
	total = positive.sum()
	share = positive / total * 100 if total > 0 else np.zeros(len(frame))
	cumulative = np.cumsum(share)
	# Rounding removes float noise such as 79.99999999999999 at an exact cut-off.
	before = np.round(cumulative - share, 9)
	classes = np.select([before < first, before < second], [CLASS_A, CLASS_B], default=CLASS_C)
	classes[positive <= 0] = CLASS_C
	out = pd.DataFrame(
		{"revenue": frame["revenue"], "share": share, "cumulative_share": cumulative, "abc_class": classes},
		index=frame.index,
	)
	out.index.name = values.index.name or "customer"
	return out


def validate_cutoffs(cutoffs: Sequence[float]) -> tuple[float, float]:
	"""Two percentages, strictly increasing, strictly inside (0, 100)."""
	try:
		first, second = (float(value) for value in cutoffs)
	except (TypeError, ValueError):
		raise EngineError(
			_("ABC cut-offs must be two percentages such as 80, 95; got {0}"), cutoffs
		) from None
	if not (0 < first < second < 100):
		raise EngineError(
			_("ABC cut-offs must increase strictly and lie between 0 and 100 (exclusive); got {0}, {1}"),
			first,
			second,
		)
	return first, second


def _revenue_series(revenue: pd.Series | pd.DataFrame) -> pd.Series:
	if isinstance(revenue, pd.DataFrame):
		if "monetary" not in revenue.columns:
			raise EngineError(_("Customer metrics need a monetary column for ABC classes"))
		revenue = revenue["monetary"]
	values = pd.to_numeric(revenue, errors="coerce")
	if values.isna().any():
		bad = ", ".join(str(customer) for customer in values.index[values.isna()][:10])
		raise EngineError(_("Revenue is missing or not a number for customer(s): {0}"), bad)
	if not values.index.is_unique:
		bad = ", ".join(str(customer) for customer in values.index[values.index.duplicated()][:10])
		raise EngineError(_("Revenue lists customer(s) more than once: {0}"), bad)
	return values.astype("float64")
