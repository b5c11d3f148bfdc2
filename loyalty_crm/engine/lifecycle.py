"""Lifecycle stage per customer: New, Active, At Risk, Lapsed, Won Back.

"Overdue" depends on the customer's rhythm: a weekly shopper absent for two months is at
risk, a yearly one is not. So a customer with at least two purchase days is judged against
their own median interval between purchase days; a customer with one purchase day has no
rhythm yet and is judged against global day thresholds.

Rules, with ``days_since_last`` = days from the last purchase day to ``as_of``:

* thresholds -- ``at_risk_after = at_risk_factor * median_interval`` and
  ``lapsed_after = lapsed_factor * median_interval`` with two or more purchase days, else
  ``at_risk_days`` and ``lapsed_days``;
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


@dataclass(frozen=True)
class LifecycleSettings:
	"""Thresholds in days and multiples of a customer's median interval (see module doc)."""

	new_days: float = 30
	at_risk_days: float = 90
	lapsed_days: float = 180
	at_risk_factor: float = 2.0
	lapsed_factor: float = 4.0


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
	return LifecycleSettings(**{key: float(value) for key, value in values.items()})


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
		rhythm, config.at_risk_factor * per["median_interval"], config.at_risk_days
	)
	per["lapsed_after"] = np.where(rhythm, config.lapsed_factor * per["median_interval"], config.lapsed_days)

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
	return (config.lapsed_factor * prior).fillna(config.lapsed_days)
