"""Retention campaigns measured against a randomised control group.

A campaign makes an offer to most of a target group and holds back a random *control group*
that gets nothing. What the offer did is the difference between the two groups over the
measurement window; nothing else (season, a price change, a competitor) differs between them,
because chance alone decided who was held back.

* :func:`assign_groups` draws the control group from a stored seed, separately inside each
  stratum (e.g. the customer's primary segment), so the two groups have the same mix and a
  campaign can be re-drawn identically from its seed.
* :func:`lift` compares the groups: share who bought (difference of proportions, Wald
  interval) and revenue per customer (difference of means, **Welch's t** interval, which does
  not assume equal variances: an offer usually changes the spread of spend as well as its
  mean). Incremental revenue is the difference in revenue per customer times the number of
  treated customers, with the interval scaled the same way.
* :func:`cumulative_revenue` gives the daily curve of cumulative revenue per customer for each
  group, which a chart shows.

Pure Python + pandas/numpy/scipy; no frappe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from loyalty_crm.engine.errors import EngineError, _

TREATED = "Treated"
CONTROL = "Control"
GROUPS = (TREATED, CONTROL)
MAX_CONTROL_SHARE = 50.0
CONFIDENCE = 0.95


def validate_control_share(control_share: float) -> float:
	"""The share held back, in percent, 0-50.

	More than half held back would make the campaign mostly a non-campaign; 0 is allowed for a
	campaign that wants no measurement (its results then say so).
	"""
	try:
		share = float(control_share)
	except (TypeError, ValueError):
		raise EngineError(
			_("Control group share must be a number of percent, got {0}"), control_share
		) from None
	if not math.isfinite(share) or share < 0 or share > MAX_CONTROL_SHARE:
		raise EngineError(
			_("Control group share must be between 0 and {0} %, got {1} %"), int(MAX_CONTROL_SHARE), share
		)
	return share


def assign_groups(
	customers: Sequence[str] | pd.Series,
	strata: Sequence | pd.Series | None,
	control_share: float,
	seed: int,
) -> pd.DataFrame:
	"""Treated or Control for every customer, reproducible from ``seed``.

	Customers are sorted by (stratum, customer) before the random keys are drawn, so the result
	depends only on the set of customers, their strata, the share and the seed, never on the
	order a query returned them in. Inside each stratum the customers with the lowest keys form
	the control group, and its size is the stratum's size times the share rounded half up: every
	stratum is within half a customer of the wanted share (balanced per stratum).

	Returns a frame with columns ``customer``, ``stratum``, ``group``, in the sorted order.
	"""
	share = validate_control_share(control_share)
	if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
		raise EngineError(_("The random seed must be a whole number, 0 or more, got {0}"), seed)
	frame = pd.DataFrame({"customer": pd.Series(list(customers), dtype=object)})
	if frame.empty:
		raise EngineError(_("The campaign's target has no customers"))
	if frame["customer"].isna().any():
		raise EngineError(_("Every target row needs a customer"))
	duplicated = frame["customer"][frame["customer"].duplicated()]
	if len(duplicated):
		raise EngineError(
			_("Each customer may appear once in a campaign's target, repeated: {0}"),
			", ".join(map(str, duplicated.iloc[:10])),
		)
	if strata is None:
		frame["stratum"] = ""
	else:
		strata = list(strata)
		if len(strata) != len(frame):
			raise EngineError(
				_("One stratum per customer is needed, got {0} for {1}"), len(strata), len(frame)
			)
		frame["stratum"] = pd.Series(strata, dtype=object).fillna("").astype(str)
	frame = frame.sort_values(["stratum", "customer"], kind="mergesort").reset_index(drop=True)
	keys = np.random.default_rng(int(seed)).random(len(frame))
	frame["key"] = keys
	order = frame.groupby("stratum", sort=False)["key"].rank(method="first").to_numpy() - 1
	size = frame.groupby("stratum", sort=False)["key"].transform("size").to_numpy()
	wanted = np.floor(size * share / 100.0 + 0.5)
	frame["group"] = np.where(order < wanted, CONTROL, TREATED)
	return frame[["customer", "stratum", "group"]]


@dataclass(frozen=True)
class Interval:
	estimate: float
	low: float
	high: float

	def scaled(self, factor: float) -> Interval:
		return Interval(self.estimate * factor, self.low * factor, self.high * factor)

	def covers(self, value: float) -> bool:
		return bool(self.low <= value <= self.high)


@dataclass(frozen=True)
class Lift:
	"""Treated against control over the measurement window."""

	treated_customers: int
	control_customers: int
	treated_buy_rate: float
	control_buy_rate: float
	buy_rate_difference: Interval
	treated_revenue_per_customer: float
	control_revenue_per_customer: float
	revenue_per_customer_difference: Interval
	incremental_revenue: Interval
	method: str = "Welch t (revenue per customer), Wald difference of proportions (share who bought), 95 %"

	def as_dict(self) -> dict:
		return asdict(self)


def difference_of_proportions(
	treated_yes: int, treated_n: int, control_yes: int, control_n: int, confidence: float = CONFIDENCE
) -> Interval:
	"""Wald interval for p_treated - p_control; NaN bounds when a group is empty."""
	if treated_n <= 0 or control_n <= 0:
		nan = float("nan")
		return Interval(nan, nan, nan)
	p_t = treated_yes / treated_n
	p_c = control_yes / control_n
	diff = p_t - p_c
	se = math.sqrt(p_t * (1 - p_t) / treated_n + p_c * (1 - p_c) / control_n)
	z = float(stats.norm.ppf(0.5 + confidence / 2))
	return Interval(diff, diff - z * se, diff + z * se)


def welch_interval(treated: np.ndarray, control: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
	"""Welch's t interval for mean(treated) - mean(control).

	Needs at least two values per group for a variance; with fewer the bounds are NaN. With no
	spread at all in either group the interval is the point itself.
	"""
	treated = np.asarray(treated, dtype="float64")
	control = np.asarray(control, dtype="float64")
	nan = float("nan")
	if len(treated) == 0 or len(control) == 0:
		return Interval(nan, nan, nan)
	diff = float(treated.mean() - control.mean())
	if len(treated) < 2 or len(control) < 2:
		return Interval(diff, nan, nan)
	a = treated.var(ddof=1) / len(treated)
	b = control.var(ddof=1) / len(control)
	se2 = a + b
	if se2 <= 0:
		return Interval(diff, diff, diff)
	df = se2**2 / (a**2 / (len(treated) - 1) + b**2 / (len(control) - 1))
	t = float(stats.t.ppf(0.5 + confidence / 2, df))
	half = t * math.sqrt(se2)
	return Interval(diff, diff - half, diff + half)


def lift(outcomes: pd.DataFrame, confidence: float = CONFIDENCE) -> Lift:
	"""Compare the groups in ``outcomes``: one row per campaign member.

	Columns: ``group`` (Treated/Control), ``revenue`` (net revenue in the window, 0 for a
	member who bought nothing) and ``bought`` (had at least one purchase in the window).
	"""
	missing = [column for column in ("group", "revenue", "bought") if column not in outcomes.columns]
	if missing:
		raise EngineError(_("Campaign outcomes are missing the column(s): {0}"), ", ".join(missing))
	unknown = sorted(set(outcomes["group"].astype(object)) - set(GROUPS))
	if unknown:
		raise EngineError(_("Unknown campaign group(s): {0}"), ", ".join(map(str, unknown)))
	revenue = pd.to_numeric(outcomes["revenue"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
	bought = outcomes["bought"].astype(bool).to_numpy()
	is_treated = (outcomes["group"] == TREATED).to_numpy()
	n_t = int(is_treated.sum())
	n_c = int(len(outcomes) - n_t)
	yes_t = int(bought[is_treated].sum())
	yes_c = int(bought[~is_treated].sum())
	revenue_diff = welch_interval(revenue[is_treated], revenue[~is_treated], confidence)
	nan = float("nan")
	return Lift(
		treated_customers=n_t,
		control_customers=n_c,
		treated_buy_rate=yes_t / n_t if n_t else nan,
		control_buy_rate=yes_c / n_c if n_c else nan,
		buy_rate_difference=difference_of_proportions(yes_t, n_t, yes_c, n_c, confidence),
		treated_revenue_per_customer=float(revenue[is_treated].mean()) if n_t else nan,
		control_revenue_per_customer=float(revenue[~is_treated].mean()) if n_c else nan,
		revenue_per_customer_difference=revenue_diff,
		incremental_revenue=revenue_diff.scaled(n_t),
	)


def return_on_cost(incremental_revenue: float, cost: float) -> float:
	"""(incremental revenue - cost) / cost: 0.5 means every unit spent brought 1.5 back.

	On revenue, not margin (the app does not know item margins). NaN when nothing was spent.
	"""
	if not cost or not math.isfinite(incremental_revenue):
		return float("nan")
	return (incremental_revenue - cost) / cost


def cumulative_revenue(
	daily: pd.DataFrame, treated_customers: int, control_customers: int, days: int
) -> pd.DataFrame:
	"""Cumulative revenue per customer for each group on day 0 .. days-1 of the window.

	``daily`` has columns ``group``, ``day`` (0 = launch day) and ``revenue`` (already summed or
	not: rows are added up). Days without sales carry the total forward.
	"""
	if days < 1:
		raise EngineError(_("The measurement window must be at least 1 day, got {0}"), days)
	index = pd.RangeIndex(days, name="day")
	result = pd.DataFrame(index=index)
	frame = daily if not daily.empty else pd.DataFrame({"group": [], "day": [], "revenue": []})
	frame = frame[(frame["day"] >= 0) & (frame["day"] < days)]
	for group, size, column in (
		(TREATED, treated_customers, "treated"),
		(CONTROL, control_customers, "control"),
	):
		rows = frame[frame["group"] == group]
		per_day = rows.groupby("day")["revenue"].sum().reindex(index, fill_value=0.0).astype("float64")
		result[column] = per_day.cumsum() / size if size else np.nan
	return result
