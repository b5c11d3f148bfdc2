"""Recency, frequency and monetary metrics, their 1-5 quintile scores and named segments.

Vocabulary (differs from lifetimes on purpose, because RFM marketing tables use it):

* ``recency_days`` -- days from the customer's last purchase day to ``as_of`` (0 = bought on
  ``as_of``); lifetimes' ``recency`` is the customer's *age* at the last purchase instead.
* ``frequency`` -- number of purchase days in the window (a day's returns are netted against
  its purchases by :func:`~loyalty_crm.engine.transactions.daily_purchases`); lifetimes counts
  *repeat* purchases, i.e. one less.
* ``monetary`` -- net revenue in the window (all purchases minus all returns).

Scoring rule (deterministic, documented because administrators compare runs):
each metric is ranked 1..n after a stable sort on (value, customer id) -- ``rank(method="first")``
on the sorted frame -- and the score is ``ceil(5 * rank / n)``, so each score holds a fifth of the
customers and equal values are split by customer id (the id that sorts first gets the lower
score). Recency is reversed: it is ranked on ``-recency_days``, so the most recent fifth gets 5.

Customers whose window nets to zero or less (only returns, or returns cancelling their
purchases) would distort the quintiles: :func:`customer_metrics` reports them with
``returns_only=True`` and the scoring functions leave them out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import daily_purchases, normalize_transactions

CHAMPIONS = _("Champions")
LOYAL_CUSTOMERS = _("Loyal Customers")
POTENTIAL_LOYALIST = _("Potential Loyalist")
NEW_CUSTOMERS = _("New Customers")
PROMISING = _("Promising")
NEED_ATTENTION = _("Need Attention")
ABOUT_TO_SLEEP = _("About To Sleep")
AT_RISK = _("At Risk")
CANT_LOSE_THEM = _("Can't Lose Them")
HIBERNATING = _("Hibernating")
LOST = _("Lost")
OTHERS = _("Others")

# First matching rule wins; a customer no rule matches is OTHERS. ``r``, ``f``, ``m`` are the
# 1-5 scores; ``fm`` is the mean of f and m rounded half up, ``(f + m + 1) // 2``. Ranges are
# inclusive [low, high]; a missing key means "any score". This default partitions the whole
# R x FM grid, so OTHERS only appears with administrator tables:
#
#        FM=1            FM=2                FM=3              FM=4-5
#   R=5  New Customers   Potential Loyalist  Loyal Customers   Champions
#   R=4  Promising       Potential Loyalist  Loyal Customers   Champions
#   R=3  About To Sleep  Need Attention      Loyal Customers   Loyal Customers
#   R=2  Hibernating     Hibernating         At Risk           At Risk
#   R=1  Lost            Lost                At Risk           Can't Lose Them
DEFAULT_SEGMENT_TABLE: list[dict[str, object]] = [
	{"segment": CHAMPIONS, "r": [4, 5], "fm": [4, 5]},
	{"segment": LOYAL_CUSTOMERS, "r": [3, 5], "fm": [3, 5]},
	{"segment": POTENTIAL_LOYALIST, "r": [4, 5], "fm": [2, 2]},
	{"segment": NEW_CUSTOMERS, "r": [5, 5], "fm": [1, 1]},
	{"segment": PROMISING, "r": [4, 4], "fm": [1, 1]},
	{"segment": NEED_ATTENTION, "r": [3, 3], "fm": [2, 2]},
	{"segment": ABOUT_TO_SLEEP, "r": [3, 3], "fm": [1, 1]},
	{"segment": CANT_LOSE_THEM, "r": [1, 1], "fm": [4, 5]},
	{"segment": AT_RISK, "r": [1, 2], "fm": [3, 5]},
	{"segment": HIBERNATING, "r": [2, 2], "fm": [1, 2]},
	{"segment": LOST, "r": [1, 1], "fm": [1, 2]},
]

RANGE_KEYS = ("r", "f", "m", "fm")
METRIC_COLUMNS = (
	"recency_days",
	"frequency",
	"monetary",
	"first_purchase",
	"last_purchase",
	"tenure_days",
	"returns_only",
)
SCORE_COLUMNS = (
	"recency_days",
	"frequency",
	"monetary",
	"r_score",
	"f_score",
	"m_score",
	"rfm_score",
	"segment",
)


def as_of_timestamp(as_of: object) -> pd.Timestamp:
	"""One reading of 'as of' for every engine function: a naive timestamp at midnight."""
	try:
		stamp = pd.Timestamp(as_of)
	except (TypeError, ValueError):
		stamp = pd.NaT
	if pd.isna(stamp):
		raise EngineError(_("The as-of date {0} is not a date"), as_of)
	if stamp.tzinfo is not None:
		stamp = stamp.tz_localize(None)
	return stamp.normalize()


def customer_metrics(
	transactions: pd.DataFrame, as_of: object, window_days: int | None = None
) -> pd.DataFrame:
	"""Per-customer RFM inputs for everyone with a transaction in the window.

	The window is the ``window_days`` days ending at ``as_of`` (inclusive); ``None`` means all
	history up to ``as_of``. Later transactions are ignored, so a re-run for an old date gives
	the old answer. ``first_purchase``/``tenure_days`` use all history up to ``as_of`` (a window
	must not make a ten-year customer look new); recency and tenure are NaN for a customer who
	never had a positive purchase day.

	Returns a frame indexed by ``customer`` with columns ``recency_days`` (float), ``frequency``
	(int), ``monetary`` (float), ``first_purchase``, ``last_purchase`` (datetime),
	``tenure_days`` (float) and ``returns_only`` (bool: net revenue in window <= 0, not scored).
	"""
	stamp = as_of_timestamp(as_of)
	window = _window_days(window_days)
	history, names = transactions_until(transactions, stamp)
	in_window = history if window is None else history[history["date"] > stamp - pd.Timedelta(days=window)]
	days = daily_purchases(history)
	days_in_window = days if window is None else days[days["date"] > stamp - pd.Timedelta(days=window)]

	codes = np.flatnonzero(np.bincount(in_window["customer"].to_numpy(), minlength=len(names)))
	spans = days.groupby("customer")["date"].agg(["min", "max"]).reindex(codes)
	out = pd.DataFrame(index=codes)
	out["recency_days"] = (stamp - spans["max"]).dt.days.astype("float64")
	out["frequency"] = days_in_window.groupby("customer").size().reindex(codes, fill_value=0).astype("int64")
	out["monetary"] = in_window.groupby("customer")["amount"].sum().reindex(codes).astype("float64")
	out["first_purchase"] = spans["min"]
	out["last_purchase"] = spans["max"]
	out["tenure_days"] = (stamp - spans["min"]).dt.days.astype("float64")
	out["returns_only"] = out["monetary"] <= 0
	out.index = pd.Index(names[codes], name="customer", dtype="object")
	return out


def transactions_until(transactions: pd.DataFrame, as_of: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
	"""Validated transactions up to ``as_of``, customers replaced by integer codes.

	Grouping on integers is several times faster than on strings at a million rows; the codes
	follow the sorted customer ids, so ``names[code]`` maps back and order is preserved.
	"""
	history = normalize_transactions(transactions)
	history = history.loc[history["date"] <= as_of]
	codes, names = pd.factorize(history["customer"], sort=True)
	history = history.assign(customer=codes.astype("int64")).reset_index(drop=True)
	return history, np.asarray(names, dtype="object")


def rfm_scores(
	transactions: pd.DataFrame,
	as_of: object,
	window_days: int | None = None,
	score_table: object = None,
) -> pd.DataFrame:
	"""Scores and segments straight from transactions (see :func:`score_metrics`)."""
	return score_metrics(customer_metrics(transactions, as_of, window_days), score_table)


def score_metrics(metrics: pd.DataFrame, score_table: object = None) -> pd.DataFrame:
	"""Quintile scores and segment for the scorable customers of a metrics frame.

	Rows with ``returns_only`` (or, when that column is absent, ``monetary <= 0``) are left
	out: a customer who gave money back is not a 'low spender' and must not shift the
	quintile boundaries of everyone else.

	Returns a frame indexed by customer with ``recency_days``, ``frequency``, ``monetary``,
	``r_score``, ``f_score``, ``m_score`` (int 1-5), ``rfm_score`` (str like ``"545"``) and
	``segment`` (English name from the table, ``Others`` when no rule matches).
	"""
	table = validate_segment_table(DEFAULT_SEGMENT_TABLE if score_table is None else score_table)
	missing = [
		column for column in ("recency_days", "frequency", "monetary") if column not in metrics.columns
	]
	if missing:
		raise EngineError(_("Customer metrics are missing the column(s): {0}"), ", ".join(missing))
	excluded = metrics["returns_only"] if "returns_only" in metrics.columns else metrics["monetary"] <= 0
	scored = metrics.loc[~excluded.astype(bool), ["recency_days", "frequency", "monetary"]].copy()
	if scored.isna().any().any():
		raise EngineError(_("Customer metrics have empty recency, frequency or monetary values"))
	id_order = customer_id_order(scored.index)
	scored["r_score"] = quintile_scores(-scored["recency_days"], id_order)
	scored["f_score"] = quintile_scores(scored["frequency"], id_order)
	scored["m_score"] = quintile_scores(scored["monetary"], id_order)
	scored["rfm_score"] = (
		scored["r_score"].astype(str) + scored["f_score"].astype(str) + scored["m_score"].astype(str)
	)
	scored["segment"] = assign_segments(scored["r_score"], scored["f_score"], scored["m_score"], table)
	return scored[list(SCORE_COLUMNS)]


def quintile_scores(values: pd.Series, id_order: np.ndarray | None = None) -> pd.Series:
	"""1-5 by fifths of the rank; higher value, higher score; ties split by customer id.

	``id_order`` (position of each customer id in sorted order) can be passed in when several
	metrics of one frame are scored, so the ids are sorted once.
	"""
	n = len(values)
	if n == 0:
		return pd.Series([], index=values.index, dtype="int64")
	key = customer_id_order(values.index) if id_order is None else id_order
	order = np.lexsort((key, values.to_numpy(dtype="float64")))
	rank = np.empty(n, dtype="int64")
	rank[order] = np.arange(1, n + 1)
	return pd.Series((5 * rank + n - 1) // n, index=values.index, dtype="int64")


def customer_id_order(index: pd.Index) -> np.ndarray:
	"""Position of each id in sorted (string) order; cheap when the index is already sorted."""
	ids = index.astype(str)
	if ids.is_monotonic_increasing:
		return np.arange(len(ids))
	return pd.factorize(ids, sort=True)[0]


def assign_segments(
	r_score: pd.Series, f_score: pd.Series, m_score: pd.Series, table: Sequence[Mapping[str, object]]
) -> pd.Series:
	"""First matching rule wins (``np.select`` keeps that order); no match is ``Others``."""
	scores = {
		"r": r_score.to_numpy(),
		"f": f_score.to_numpy(),
		"m": m_score.to_numpy(),
		"fm": (f_score.to_numpy() + m_score.to_numpy() + 1) // 2,
	}
	conditions = []
	for rule in table:
		matched = np.ones(len(r_score), dtype=bool)
		for key in RANGE_KEYS:
			if key in rule:
				low, high = rule[key]
				matched &= (scores[key] >= low) & (scores[key] <= high)
		conditions.append(matched)
	names = [str(rule["segment"]) for rule in table]
	segments = np.select(conditions, names, default=OTHERS) if conditions else np.full(len(r_score), OTHERS)
	return pd.Series(segments, index=r_score.index, dtype="object")


def validate_segment_table(table: object) -> list[dict[str, object]]:
	"""Check an administrator's table (list of rules, or its JSON text) and return a clean copy.

	Each rule is a dict with a non-empty ``segment`` name and optional inclusive ranges
	``r``, ``f``, ``m``, ``fm`` given as ``[low, high]`` whole numbers within 1-5.
	"""
	if isinstance(table, str):
		try:
			table = json.loads(table)
		except ValueError as error:
			raise EngineError(_("The segment table is not valid JSON: {0}"), error) from None
	if not isinstance(table, (list, tuple)) or not table:
		raise EngineError(_("The segment table must be a non-empty list of rules"))
	return [_validate_segment_rule(rule, number) for number, rule in enumerate(table, start=1)]


def _validate_segment_rule(rule: object, number: int) -> dict[str, object]:
	if not isinstance(rule, Mapping):
		raise EngineError(
			_("Segment rule {0} must be an object with a segment name and score ranges"), number
		)
	unknown = sorted(str(key) for key in rule if key not in ("segment", *RANGE_KEYS))
	if unknown:
		raise EngineError(
			_("Segment rule {0} has unknown key(s) {1}; allowed: segment, r, f, m, fm"),
			number,
			", ".join(unknown),
		)
	name = rule.get("segment")
	if not isinstance(name, str) or not name.strip():
		raise EngineError(_("Segment rule {0} has no segment name"), number)
	clean: dict[str, object] = {"segment": name.strip()}
	for key in RANGE_KEYS:
		if key in rule:
			clean[key] = _validate_score_range(rule[key], key, number)
	return clean


def _validate_score_range(value: object, key: str, number: int) -> tuple[int, int]:
	is_pair = isinstance(value, (list, tuple)) and len(value) == 2
	if not is_pair or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
		raise EngineError(_("Segment rule {0}: {1} must be a pair of whole numbers [low, high]"), number, key)
	low, high = int(value[0]), int(value[1])
	if not 1 <= low <= high <= 5:
		raise EngineError(
			_("Segment rule {0}: {1} range {2}-{3} must lie within 1-5 with low <= high"),
			number,
			key,
			low,
			high,
		)
	return low, high


def _window_days(window_days: object) -> int | None:
	if window_days is None:
		return None
	if isinstance(window_days, bool) or not isinstance(window_days, (int, np.integer)) or window_days <= 0:
		raise EngineError(_("The window must be a positive number of days, got {0}"), window_days)
	return int(window_days)
