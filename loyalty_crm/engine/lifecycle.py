"""Lifecycle stage per customer: New, Active, At Risk, Lapsed, Won Back.

"Overdue" depends on the customer's rhythm: a weekly shopper absent for two months is at
risk, a yearly one is not. So a customer with at least two purchase days is judged against
their own median interval between purchase days; a customer with one purchase day has no
rhythm yet and is judged against global day thresholds.

Rules, with ``days_since_last`` = days from the last purchase day to ``as_of``:

* thresholds -- ``at_risk_after = max(at_risk_factor * median_interval, at_risk_floor_days)``
  and ``lapsed_after = max(lapsed_factor * median_interval, lapsed_floor_days)`` with two or
  more purchase days, else ``at_risk_days`` and ``lapsed_days``. The floors exist because a
  rhythm read from a handful of purchases can be absurdly short: two purchases a day apart
  would otherwise make a customer Lapsed four days later. By default the floors are a third
  of the global thresholds (30 and 60 days with the defaults), so a weekly shopper still turns
  At Risk well before a one-time buyer does, but nobody is written off within days;
* **New** -- first purchase at most ``new_days`` days before ``as_of`` (wins over the rest: a
  newcomer has no rhythm worth judging);
* **Lapsed** -- ``days_since_last > lapsed_after``;
* **At Risk** -- ``days_since_last > at_risk_after``;
* **Won Back** -- otherwise active, and the purchase that ended their latest lapse is no older
  than ``at_risk_after`` days (the window in which they count as active). A gap between two
  consecutive purchase days is a lapse when it is longer than the lapse threshold *known when
  the gap began*: ``lapsed_factor`` x the median of the intervals before it, or ``lapsed_days``
  when there was no earlier interval. Judging the gap against a median that already includes
  the gap would hide most returns (two purchases 400 days apart have a 400-day "rhythm").
  Requiring the return to be recent keeps a customer from being "won back" for ever;
* **Active** -- everyone else.

Purchase days come from :func:`~loyalty_crm.engine.transactions.daily_purchases` (a day's
returns netted); customers without any positive purchase day up to ``as_of`` have no stage and
are not returned.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.rfm import as_of_timestamp, transactions_until
from loyalty_crm.engine.transactions import daily_purchases

NEW = _("New")
ACTIVE = _("Active")
AT_RISK = _("At Risk")
LAPSED = _("Lapsed")
WON_BACK = _("Won Back")
STAGES = (NEW, ACTIVE, AT_RISK, LAPSED, WON_BACK)
STAGE_COLUMNS = (
	"stage",
	"first_purchase",
	"last_purchase",
	"purchases",
	"days_since_last",
	"median_interval",
	"at_risk_after",
	"lapsed_after",
	"won_back_on",
)


# A floor left unset is this share of its global threshold: low enough that a customer's own
# rhythm still matters (a weekly shopper is At Risk after 30 days, a one-time buyer after 90),
# high enough that a burst of purchases never makes someone Lapsed within days.
FLOOR_SHARE = 1 / 3


@dataclass(frozen=True)
class LifecycleSettings:
	"""Thresholds in days and multiples of a customer's median interval (see module doc).

	``at_risk_floor_days`` / ``lapsed_floor_days``: None means :data:`FLOOR_SHARE` of
	``at_risk_days`` / ``lapsed_days``; :func:`lifecycle_settings` fills them in.
	"""

	new_days: float = 30
	at_risk_days: float = 90
	lapsed_days: float = 180
	at_risk_factor: float = 2.0
	lapsed_factor: float = 4.0
	at_risk_floor_days: float | None = None
	lapsed_floor_days: float | None = None


def lifecycle_settings(settings: LifecycleSettings | Mapping[str, object] | None = None) -> LifecycleSettings:
	"""Defaults overlaid with what the administrator set, validated once."""
	if isinstance(settings, LifecycleSettings):
		values = asdict(settings)
	else:
		values = asdict(LifecycleSettings())
		given = dict(settings or {})
		unknown = sorted(str(key) for key in given if key not in values)
		if unknown:
			raise EngineError(
				_("Unknown lifecycle setting(s) {0}; allowed: {1}"), ", ".join(unknown), ", ".join(values)
			)
		values.update(given)
	for field, share_of in (("at_risk_floor_days", "at_risk_days"), ("lapsed_floor_days", "lapsed_days")):
		if values[field] is None:
			values[field] = _default_floor(values[share_of])
	for field in fields(LifecycleSettings):
		value = values[field.name]
		if (
			isinstance(value, bool)
			or not isinstance(value, numbers.Real)
			or not np.isfinite(value)
			or value <= 0
		):
			raise EngineError(
				_("Lifecycle setting {0} must be a positive number, got {1}"), field.name, value
			)
	if values["at_risk_days"] >= values["lapsed_days"]:
		raise EngineError(
			_("At-risk days ({0}) must be fewer than lapsed days ({1})"),
			values["at_risk_days"],
			values["lapsed_days"],
		)
	if values["at_risk_factor"] >= values["lapsed_factor"]:
		raise EngineError(
			_("At-risk factor ({0}) must be smaller than lapsed factor ({1})"),
			values["at_risk_factor"],
			values["lapsed_factor"],
		)
	# Messages name the settings as the Loyalty Settings form labels them.
	if values["at_risk_floor_days"] > values["at_risk_days"]:
		raise EngineError(
			_(
				"Never At Risk Before ({0} days) cannot be more than At Risk After ({1} days): one-purchase customers would turn At Risk sooner than regular ones"
			),
			_days(values["at_risk_floor_days"]),
			_days(values["at_risk_days"]),
		)
	if values["lapsed_floor_days"] > values["lapsed_days"]:
		raise EngineError(
			_(
				"Never Lapsed Before ({0} days) cannot be more than Lapsed After ({1} days): one-purchase customers would lapse sooner than regular ones"
			),
			_days(values["lapsed_floor_days"]),
			_days(values["lapsed_days"]),
		)
	if values["at_risk_floor_days"] >= values["lapsed_floor_days"]:
		raise EngineError(
			_("Never At Risk Before ({0} days) must be fewer days than Never Lapsed Before ({1} days)"),
			_days(values["at_risk_floor_days"]),
			_days(values["lapsed_floor_days"]),
		)
	return LifecycleSettings(**{key: float(value) for key, value in values.items()})


def _days(value: float) -> str:
	"""A day count as people write it: 120, not 120.0."""
	return f"{float(value):g}"


def _default_floor(threshold: object) -> object:
	"""A share of a valid threshold (so default floors keep the thresholds' order); anything
	else is left for the validation below to refuse with its own message."""
	if isinstance(threshold, numbers.Real) and not isinstance(threshold, bool) and np.isfinite(threshold):
		return float(threshold) * FLOOR_SHARE
	return threshold


def lifecycle_stages(
	transactions: pd.DataFrame,
	as_of: object,
	settings: LifecycleSettings | Mapping[str, object] | None = None,
) -> pd.DataFrame:
	"""Stage per customer as of a date (transactions after it are ignored).

	Returns a frame indexed by ``customer`` with ``stage`` (one of :data:`STAGES`),
	``first_purchase``, ``last_purchase``, ``purchases`` (purchase days), ``days_since_last``,
	``median_interval`` (NaN below two purchase days), ``at_risk_after``, ``lapsed_after``
	(the thresholds applied, in days) and ``won_back_on`` (purchase day that ended the latest
	lapse, NaT if none).
	"""
	config = lifecycle_settings(settings)
	stamp = as_of_timestamp(as_of)
	history, names = transactions_until(transactions, stamp)
	days = daily_purchases(history)
	days["gap"] = days.groupby("customer")["date"].diff().dt.days.astype("float64")
	days["lapse"] = days["gap"] > _lapse_threshold_at_gap(days, config)

	per = days.groupby("customer").agg(
		first_purchase=("date", "min"),
		last_purchase=("date", "max"),
		purchases=("date", "size"),
		median_interval=("gap", "median"),
	)
	per["won_back_on"] = days[days["lapse"]].groupby("customer")["date"].max().reindex(per.index)
	per["days_since_last"] = (stamp - per["last_purchase"]).dt.days.astype("int64")
	rhythm = per["purchases"] >= 2
	per["at_risk_after"] = np.where(
		rhythm,
		np.maximum(config.at_risk_factor * per["median_interval"], config.at_risk_floor_days),
		config.at_risk_days,
	)
	per["lapsed_after"] = np.where(
		rhythm,
		np.maximum(config.lapsed_factor * per["median_interval"], config.lapsed_floor_days),
		config.lapsed_days,
	)

	since_first = (stamp - per["first_purchase"]).dt.days
	since_return = (stamp - per["won_back_on"]).dt.days
	per["stage"] = np.select(
		[
			since_first <= config.new_days,
			per["days_since_last"] > per["lapsed_after"],
			per["days_since_last"] > per["at_risk_after"],
			since_return.le(per["at_risk_after"]).to_numpy(dtype=bool),
		],
		[NEW, LAPSED, AT_RISK, WON_BACK],
		default=ACTIVE,
	)
	per.index = pd.Index(names[per.index.to_numpy()], name="customer", dtype="object")
	return per[list(STAGE_COLUMNS)]


def _lapse_threshold_at_gap(days: pd.DataFrame, config: LifecycleSettings) -> pd.Series:
	"""Lapse threshold in force when each gap began: from the intervals before it only."""
	if days.empty:
		return pd.Series(config.lapsed_days, index=days.index, dtype="float64")
	running = days.groupby("customer")["gap"].expanding().median().reset_index(level=0, drop=True)
	prior = running.reindex(days.index).groupby(days["customer"]).shift(1)
	return (config.lapsed_factor * prior).clip(lower=config.lapsed_floor_days).fillna(config.lapsed_days)
