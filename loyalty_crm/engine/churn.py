"""Churn: which customers are about to stop buying, how sure we are, and why.

**Definition.** A customer is *churned at date t* if they make no purchase in the
``horizon_days`` after t, i.e. none in (t, t + horizon]. A purchase is a customer-day with a
positive net amount, as everywhere in the engine (``transactions.daily_purchases``): a day that
only returns goods is not a purchase, two receipts on one day are one. Only customers who
bought at least once on or before t are asked the question.

**Training by backtest, never on the future.** The model is a classifier of "churned in the
next horizon" on features computed from the data on or before a cutoff. Labels need a full
horizon after the cutoff, so the latest labelled cutoff is ``as_of - horizon_days``; a few
earlier cutoffs (``n_cutoffs``, a quarter of a horizon apart) are stacked under it. Customers
are split into two fixed groups by a hash of their id: candidates learn on the *training*
customers at the earlier cutoffs and are judged on the *validation* customers at the latest
cutoff (out of time *and* out of customer, so one customer never sits on both sides). The
better candidate on validation ROC AUC (a scaled logistic regression, or histogram gradient
boosting) is calibrated with ``CalibratedClassifierCV`` (sigmoid on small data, isotonic on
large) on a third of the training customers that the candidates never learnt from, so a
score of 0.3 means about 30 %; it is judged again on the same validation rows, and finally
refitted the same way on every labelled row (all customers, all cutoffs) to score the present.

**Baselines** on the same validation rows: recency alone, and BG/NBD expected purchases in
the horizon. Not ``1 - P(alive)``: BG/NBD's P(alive) is 1 for every one-time buyer, so it would
rank silent one-time buyers as safe. Each baseline's probabilities come from a one-feature
logistic fit on the training rows (ROC AUC depends only on the ranking, Brier score needs
probabilities).

**Drivers** are model-agnostic: for each feature, the score change when that feature alone is
set to the population median. The three largest increases become sentences (English templates
marked with the engine's ``_()``, numbers in ``values``; the Frappe layer translates them).

Interface notes for the Frappe layer (extensions of the agreed interface, nothing removed):

* ``SideTables.points`` and ``SideTables.tiers`` may carry a ``date`` column. Dated rows are
  histories (points: ``customer, date, balance`` = balance as of that date, or
  ``customer, date, points`` = ledger movements that are summed; tiers: ``customer, date,
  tier_rank`` = rank from that date), so each cutoff sees the state it had then. A table
  *without* dates describes today only: it is used at cutoffs on or after the last
  transaction date (i.e. when scoring), never at past cutoffs, because today's balance of a
  customer who left long ago would leak the answer. Such a feature is therefore not learnt
  (it is missing at every training cutoff) and the model leaves it out; pass dated rows to use it.
* ``metrics_`` also holds ``"validation_rows"``, ``"training_rows"``, ``"churn_rate"`` and
  ``"out_of_time"`` (False only when a single cutoff fits in the history).
* ``directions_`` (+1/-1 per feature: does a higher value go with a higher score) is learnt
  too; drivers only name a feature group whose value sits on the risky side of the median.
  A model pickled before this attribute existed still scores (its drivers are unfiltered).
* ``drivers_text(drivers, translate)`` joins a customer's drivers into one line, e.g. with
  ``frappe._`` as ``translate``.
* ``score(..., clv=...)`` takes a Series of 12-month CLV by customer to use instead of the
  engine's own BG/NBD + Gamma-Gamma fit (customers missing from it get the engine's value).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalty_crm.engine.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value
from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import daily_purchases, normalize_transactions

TREND_DAYS = 90  # spend in the last 90 days against the 90 before
COMPLAINT_DAYS = 180
MIN_CUSTOMERS = 50  # customers with a purchase at the latest labelled cutoff
MIN_HISTORY_DAYS = 28  # a cutoff needs this much history before it to say anything
VALIDATION_SHARE = 4  # one customer in four is a validation customer
ISOTONIC_MIN_ROWS = 5000  # below this, isotonic calibration overfits; sigmoid is used
CLV_MONTHS = 12
CLV_MONTHLY_DISCOUNT = 0.01
DEFAULT_THRESHOLDS = (0.3, 0.5, 0.7)
BANDS = ("Low", "Medium", "High", "Critical")
IMPORTANCE_MAX_ROWS = 20_000  # validation rows used for permutation importance
DRIVER_MIN_EFFECT = 0.01  # score points; smaller changes are noise, not a reason

FEATURES: dict[str, tuple[str, str]] = {
	"recency_days": ("Days since the last purchase", "days"),
	"frequency": ("Purchase days so far", "count"),
	"monetary_mean": ("Mean net spend per purchase day", "currency"),
	"monetary_total": ("Total net spend so far (returns deducted)", "currency"),
	"tenure_days": ("Days since the first purchase", "days"),
	"interval_median_days": ("The customer's own median days between purchases", "days"),
	"interval_cv": ("Coefficient of variation of the days between purchases", "ratio"),
	"recency_ratio": ("Days since the last purchase ÷ own median interval", "ratio"),
	"last_interval_ratio": ("The last gap between purchases ÷ own median gap (slowing down)", "ratio"),
	"last_spend_ratio": ("Spend on the last purchase day ÷ own mean spend per purchase day", "ratio"),
	"spend_trend": ("Net spend in the last 90 days ÷ the 90 days before, minus 1", "ratio"),
	"return_share": ("Returned amount ÷ amount bought", "share"),
	"expected_purchases": ("BG/NBD expected purchases in the horizon", "count"),
	"p_alive": ("BG/NBD probability that the customer is still active", "probability"),
	"last_nps": ("Last NPS answer (0–10)", "score"),
	"last_csat": ("Last CSAT answer", "score"),
	"complaints_180d": ("Complaints in the last 180 days", "count"),
	"points_balance": ("Loyalty points balance", "points"),
	"tier_rank": ("Loyalty tier rank (higher is better)", "rank"),
}

# Drivers are reported per group of related features, each group set to its medians together:
# setting "days since the last purchase" alone to the median while P(alive), which is computed
# from it, keeps its value asks the model about a customer who cannot exist, and correlated
# features would each claim the same reason. The first member named is the one the sentence
# is about.
DRIVER_GROUPS: dict[str, tuple[str, ...]] = {
	"silence": ("recency_ratio", "recency_days", "p_alive", "expected_purchases"),
	"rhythm": ("frequency", "interval_median_days", "interval_cv", "tenure_days"),
	"slowdown": ("last_interval_ratio",),
	"spend": ("monetary_mean", "monetary_total"),
	"last_spend": ("last_spend_ratio",),
	"trend": ("spend_trend",),
	"returns": ("return_share",),
	"nps": ("last_nps",),
	"csat": ("last_csat",),
	"complaints": ("complaints_180d",),
	"points": ("points_balance",),
	"tier": ("tier_rank",),
}
# groups whose features are missing only for lack of purchases: those stay missing when the
# group is set to the median, so a one-time buyer's silence is judged as a one-time buyer's
KEEP_MISSING = frozenset({"silence", "slowdown", "last_spend"})
# the feature whose side of the median decides whether a group can be a reason (see _driver_lists)
DRIVER_LEADS: dict[str, str] = {
	"silence": "recency_days",
	"rhythm": "frequency",
	"slowdown": "last_interval_ratio",
	"spend": "monetary_mean",
	"last_spend": "last_spend_ratio",
	"trend": "spend_trend",
	"returns": "return_share",
	"nps": "last_nps",
	"csat": "last_csat",
	"complaints": "complaints_180d",
	"points": "points_balance",
	"tier": "tier_rank",
}
DRIVER_MESSAGES: dict[str, str] = {
	"silence_ratio": _("No purchase for {0}× their usual interval"),
	"silence_days": _("No purchase for {0} days"),
	"rhythm_once": _("Has bought only once, {0} days ago"),
	"rhythm": _("Only {0} purchases in {1} days"),
	"slowdown": _("Last gap between purchases was {0}× their usual"),
	"spend": _("Spends {0} per visit, typical is {1}"),
	"spend_total": _("Has spent {0} in total, typical is {1}"),
	"last_spend": _("Last purchase was {0} % below their usual spend"),
	"last_spend_up": _("Last purchase was {0} % above their usual spend"),
	"few_purchases": _("Only {0} purchases so far"),
	"trend_down": _("Spend down {0} % on the previous quarter"),
	"trend_up": _("Spend up {0} % on the previous quarter"),
	"trend_none": _("Bought nothing 3 to 6 months ago"),
	"returns": _("Returned {0} % of what they bought"),
	"nps": _("Last NPS answer was {0}"),
	"csat": _("Last satisfaction score was {0}"),
	"no_survey": _("Never answered a survey"),
	"complaints": _("Complaint in the last 180 days"),
	"complaints_many": _("{0} complaints in the last 180 days"),
	"points": _("Points balance {0}"),
	"no_points": _("No points balance"),
	"tier": _("Tier rank {0}"),
	"no_tier": _("No loyalty tier"),
}


@dataclass
class SideTables:
	"""Optional non-purchase signals, each one row per event or snapshot; see the module notes on dates."""

	surveys: pd.DataFrame | None = None  # customer, date, nps, csat (either may be NaN)
	complaints: pd.DataFrame | None = None  # customer, date
	points: pd.DataFrame | None = None  # customer, balance [, date] or customer, date, points
	tiers: pd.DataFrame | None = None  # customer, tier_rank [, date]


# ---------------------------------------------------------------------------------------------
# Labels and features
# ---------------------------------------------------------------------------------------------


def churn_labels(transactions: pd.DataFrame, cutoff: object, horizon_days: int) -> pd.Series:
	"""True for customers (with a purchase on or before ``cutoff``) who buy nothing in (cutoff, cutoff + horizon]."""
	_check_horizon(horizon_days)
	cutoff = _date(cutoff, "cutoff")
	frame, names = _encoded(normalize_transactions(transactions))
	return _labels(daily_purchases(frame), cutoff, horizon_days, names)


def _labels(days: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int, names: pd.Index) -> pd.Series:
	before = pd.Index(days.loc[days["date"] <= cutoff, "customer"].unique()).sort_values()
	window = (days["date"] > cutoff) & (days["date"] <= cutoff + pd.Timedelta(days=horizon_days))
	came_back = pd.Index(days.loc[window, "customer"].unique())
	labels = pd.Series(~before.isin(came_back), index=names.take(before), name="churned")
	labels.index.name = "customer"
	return labels


def _encoded(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
	"""Customers as integer codes (in sorted-name order) and the names they stand for.

	Every groupby, sort and join below is on the customer; on integers they cost a fraction of
	what they cost on a million strings, which is most of what scoring 100k customers takes.
	"""
	codes, names = pd.factorize(frame["customer"], sort=True)
	out = frame.assign(customer=codes.astype(np.int64))
	return out, pd.Index(names, dtype=object, name="customer")


def churn_features(
	transactions: pd.DataFrame,
	cutoff: object,
	*,
	horizon_days: int = 90,
	side: SideTables | None = None,
) -> pd.DataFrame:
	"""Every feature of ``FEATURES`` for each customer with a purchase on or before ``cutoff``.

	Only rows dated on or before ``cutoff`` are read. Missing values (a one-time buyer has no
	interval, a customer without surveys no NPS) stay NaN: the model handles them.
	"""
	_check_horizon(horizon_days)
	cutoff = _date(cutoff, "cutoff")
	frame, names = _encoded(normalize_transactions(transactions))
	last_data = frame["date"].max()
	frame = frame[frame["date"] <= cutoff]
	days = daily_purchases(frame)
	if days.empty:
		raise EngineError(_("There are no purchases (positive net amounts) on or before {0}"), cutoff.date())
	features, _models = _features_at(frame, days, cutoff, horizon_days, side, last_data, names)
	return features


def _features_at(
	frame: pd.DataFrame,
	days: pd.DataFrame,
	cutoff: pd.Timestamp,
	horizon_days: int,
	side: SideTables | None,
	last_data: pd.Timestamp,
	names: pd.Index,
) -> tuple[pd.DataFrame, tuple[BetaGeoModel | None, pd.DataFrame]]:
	"""Features at one cutoff from pre-normalised, encoded rows; also the BG/NBD fit and summary it used.

	``frame`` and ``days`` may run past the cutoff: everything here filters on the cutoff first.
	Customers are integer codes into ``names`` (see ``_encoded``); the result is indexed by name.
	"""
	frame = frame[frame["date"] <= cutoff]
	days = days[days["date"] <= cutoff]  # sorted by customer, then date (daily_purchases)
	grouped = days.groupby("customer", sort=True)
	first = grouped["date"].min()
	last = grouped["date"].max()
	count = grouped.size()
	total_bought = grouped["amount"].sum()
	index = first.index
	out = pd.DataFrame(index=index)
	out["recency_days"] = (cutoff - last).dt.days.astype(float)
	out["frequency"] = count.astype(float)
	out["monetary_mean"] = (total_bought / count).astype(float)
	net = frame.groupby("customer", sort=True)["amount"].sum().reindex(index, fill_value=0.0)
	out["monetary_total"] = net.astype(float)
	out["tenure_days"] = (cutoff - first).dt.days.astype(float)

	same = days["customer"].to_numpy()[1:] == days["customer"].to_numpy()[:-1]
	gaps = np.diff(days["date"].to_numpy().astype("datetime64[D]").astype(np.int64)).astype(float)
	gap_frame = pd.DataFrame({"customer": days["customer"].to_numpy()[1:][same], "gap": gaps[same]})
	by_gap = gap_frame.groupby("customer", sort=True)["gap"]
	median = by_gap.median().reindex(index)
	mean = by_gap.mean().reindex(index)
	std = by_gap.std(ddof=0).reindex(index)
	counts = by_gap.size().reindex(index, fill_value=0)
	out["interval_median_days"] = median
	out["interval_cv"] = (std / mean).where(counts >= 2)
	out["recency_ratio"] = out["recency_days"] / median.clip(lower=1.0)
	last_gap = by_gap.last().reindex(index)
	out["last_interval_ratio"] = (last_gap / median.clip(lower=1.0)).where(counts >= 2)
	out["last_spend_ratio"] = (
		grouped["amount"].last() / out["monetary_mean"].where(out["monetary_mean"] > 0)
	).where(count >= 2)

	recent_start = cutoff - pd.Timedelta(days=TREND_DAYS)
	before_start = recent_start - pd.Timedelta(days=TREND_DAYS)
	window = frame[frame["date"] > before_start]
	recent = window["date"] > recent_start
	spend_recent = window[recent].groupby("customer")["amount"].sum().reindex(index, fill_value=0.0)
	spend_before = window[~recent].groupby("customer")["amount"].sum().reindex(index, fill_value=0.0)
	trend = (spend_recent - spend_before) / spend_before.where(spend_before > 0)
	out["spend_trend"] = trend.clip(-1.0, 5.0)
	bought = frame["amount"].clip(lower=0).groupby(frame["customer"]).sum().reindex(index, fill_value=0.0)
	returned = (
		(-frame["amount"].clip(upper=0)).groupby(frame["customer"]).sum().reindex(index, fill_value=0.0)
	)
	out["return_share"] = (returned / bought.where(bought > 0)).fillna(0.0).clip(0.0, 1.0)

	summary = pd.DataFrame(
		{
			"frequency": (count - 1).astype("int64"),
			"recency": (last - first).dt.days.astype(float),
			"T": (cutoff - first).dt.days.astype(float),
			"monetary_value": ((total_bought - grouped["amount"].first()) / (count - 1).where(count > 1))
			.fillna(0.0)
			.astype(float),
			"historical_value": net.astype(float),
		}
	)
	bgnbd = _fit_bgnbd(summary)
	if bgnbd is None:
		out["expected_purchases"] = np.nan
		out["p_alive"] = np.nan
	else:
		x, t_x, age = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
		with np.errstate(all="ignore"):
			out["expected_purchases"] = bgnbd.conditional_expected_number_of_purchases_up_to_time(
				float(horizon_days), x, t_x, age
			)
			out["p_alive"] = bgnbd.conditional_probability_alive(x, t_x, age)
	out.index = names.take(out.index)
	summary.index = out.index
	_add_side_features(out, cutoff, side, last_data)
	out = out.reindex(columns=list(FEATURES))
	out.index.name = "customer"
	return out, (bgnbd, summary)


def _fit_bgnbd(summary: pd.DataFrame) -> BetaGeoModel | None:
	"""BG/NBD at one cutoff, or None when the data cannot support it (the features are then missing)."""
	try:
		return BetaGeoModel().fit(summary)
	except EngineError:
		return None


def _add_side_features(
	out: pd.DataFrame, cutoff: pd.Timestamp, side: SideTables | None, last_data: pd.Timestamp
) -> None:
	side = side or SideTables()
	index = out.index
	out["last_nps"] = np.nan
	out["last_csat"] = np.nan
	out["complaints_180d"] = np.nan
	out["points_balance"] = np.nan
	out["tier_rank"] = np.nan
	if side.surveys is not None:
		surveys = _dated(side.surveys, ("customer", "date"), "surveys")
		surveys = surveys[surveys["date"] <= cutoff].sort_values(["customer", "date"], kind="stable")
		for source, target in (("nps", "last_nps"), ("csat", "last_csat")):
			if source in surveys.columns:
				values = pd.to_numeric(surveys[source], errors="coerce")
				out[target] = values.groupby(surveys["customer"]).last().reindex(index)  # last() skips NaN
	if side.complaints is not None:
		complaints = _dated(side.complaints, ("customer", "date"), "complaints")
		recent = (complaints["date"] <= cutoff) & (
			complaints["date"] > cutoff - pd.Timedelta(days=COMPLAINT_DAYS)
		)
		out["complaints_180d"] = (
			complaints[recent].groupby("customer").size().reindex(index, fill_value=0).astype(float)
		)
	if side.points is not None:
		out["points_balance"] = _as_of_values(
			side.points, "points", ("balance", "points"), cutoff, last_data, index
		)
	if side.tiers is not None:
		out["tier_rank"] = _as_of_values(side.tiers, "tiers", ("tier_rank",), cutoff, last_data, index)


def _as_of_values(
	table: pd.DataFrame,
	name: str,
	value_columns: tuple[str, ...],
	cutoff: pd.Timestamp,
	last_data: pd.Timestamp,
	index: pd.Index,
) -> pd.Series:
	"""A snapshot or history table's value per customer as it stood at the cutoff (see module notes)."""
	column = next((c for c in value_columns if c in table.columns), None)
	if column is None or "customer" not in table.columns:
		raise EngineError(
			_("The {0} table needs the columns customer and {1}"), name, " or ".join(value_columns)
		)
	values = pd.to_numeric(table[column], errors="coerce")
	customers = table["customer"].astype(str).str.strip()
	if "date" not in table.columns:
		if cutoff < last_data:
			return pd.Series(np.nan, index=index)
		return values.groupby(customers).last().reindex(index)
	dated = _dated(table, ("customer", "date"), name).assign(value=values.to_numpy())
	dated = dated[dated["date"] <= cutoff].sort_values(["customer", "date"], kind="stable")
	if column == "points":  # ledger movements: the balance is their running sum
		return dated.groupby("customer")["value"].sum().reindex(index)
	return dated.groupby("customer")["value"].last().reindex(index)


def _dated(table: pd.DataFrame, columns: tuple[str, ...], name: str) -> pd.DataFrame:
	missing = [c for c in columns if c not in table.columns]
	if missing:
		raise EngineError(_("The {0} table is missing the column(s): {1}"), name, ", ".join(missing))
	out = table.copy()
	out["customer"] = out["customer"].astype(str).str.strip()
	dates = pd.to_datetime(out["date"], errors="coerce")
	if dates.isna().any():
		raise EngineError(_("The {0} table has unreadable dates"), name)
	if dates.dt.tz is not None:
		dates = dates.dt.tz_localize(None)
	out["date"] = dates.dt.normalize()
	return out


# ---------------------------------------------------------------------------------------------
# Bands and metrics
# ---------------------------------------------------------------------------------------------


def risk_band(scores: pd.Series, thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS) -> pd.Series:
	"""Low below the first threshold, Medium below the second, High below the third, else Critical."""
	limits = check_thresholds(thresholds)
	values = np.asarray(pd.to_numeric(scores, errors="coerce"), dtype=float)
	codes = np.searchsorted(np.asarray(limits), values, side="right")
	bands = np.asarray(BANDS, dtype=object)[codes]
	return pd.Series(bands, index=getattr(scores, "index", None), name="band")


def check_thresholds(thresholds) -> tuple[float, float, float]:
	try:
		limits = tuple(float(t) for t in thresholds)
	except (TypeError, ValueError) as error:
		raise EngineError(_("Risk band thresholds must be three numbers, got {0}"), thresholds) from error
	if len(limits) != 3:
		raise EngineError(
			_("Risk band thresholds must be three numbers (Medium, High, Critical), got {0}"), len(limits)
		)
	if not all(0 < t < 1 for t in limits) or not (limits[0] < limits[1] < limits[2]):
		raise EngineError(
			_("Risk band thresholds must be strictly increasing and between 0 and 1, got {0}"),
			", ".join(f"{t:g}" for t in limits),
		)
	return limits


def classification_metrics(churned: np.ndarray, probability: np.ndarray) -> dict[str, float]:
	"""ROC AUC, PR AUC (average precision), Brier score and the churn rate in the top decile ÷ overall."""
	from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

	y = np.asarray(churned, dtype=bool)
	p = np.asarray(probability, dtype=float)
	order = np.argsort(-p, kind="stable")
	top = order[: max(1, int(math.ceil(len(p) * 0.1)))]
	rate = y.mean()
	return {
		"roc_auc": float(roc_auc_score(y, p)),
		"pr_auc": float(average_precision_score(y, p)),
		"brier": float(brier_score_loss(y, np.clip(p, 0.0, 1.0))),
		"top_decile_lift": float(y[top].mean() / rate) if rate > 0 else float("nan"),
	}


def calibration_table(churned: np.ndarray, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
	"""Equal-width probability bins with the mean predicted and the observed churn rate (empty bins left out)."""
	p = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
	y = np.asarray(churned, dtype=float)
	code = np.minimum((p * bins).astype(int), bins - 1)
	frame = (
		pd.DataFrame({"code": code, "p": p, "y": y})
		.groupby("code")
		.agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), customers=("y", "size"))
	)
	labels = [f"{c / bins:.1f}–{(c + 1) / bins:.1f}" for c in frame.index]
	return pd.DataFrame(
		{
			"bin": labels,
			"mean_predicted": frame["mean_predicted"].to_numpy(),
			"observed_rate": frame["observed_rate"].to_numpy(),
			"customers": frame["customers"].to_numpy().astype(int),
		}
	)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


class ChurnModel:
	"""Backtested, calibrated churn classifier with scikit-learn's fit/learned-attribute shape."""

	def __init__(self, horizon_days: int = 90, n_cutoffs: int = 4, random_state: int = 0) -> None:
		self.horizon_days = horizon_days
		self.n_cutoffs = n_cutoffs
		self.random_state = random_state

	# --- fit ---------------------------------------------------------------------------------

	def fit(
		self, transactions: pd.DataFrame, side: SideTables | None = None, as_of: object = None
	) -> ChurnModel:
		"""Learn from cutoffs before ``as_of - horizon_days`` (default ``as_of``: the last data date)."""
		with _one_thread():
			return self._fit(transactions, side, as_of)

	def _fit(self, transactions: pd.DataFrame, side: SideTables | None, as_of: object) -> ChurnModel:
		from sklearn.base import clone
		from sklearn.inspection import permutation_importance

		horizon = _check_horizon(self.horizon_days)
		if int(self.n_cutoffs) < 1:
			raise EngineError(_("The number of cutoffs must be at least 1, got {0}"), self.n_cutoffs)
		frame, end, names = _prepared(transactions, as_of)
		days = daily_purchases(frame)
		if days.empty:
			raise EngineError(_("There are no purchases (positive net amounts) on or before {0}"), end.date())
		start = frame["date"].min()
		span = int((end - start).days) + 1
		if span < 2 * horizon:
			raise EngineError(
				_(
					"The history is {0} days long ({1} to {2}); a churn horizon of {3} days needs at least {4} "
					"days (two horizons: one to learn from, one to see who came back). Use a shorter horizon "
					"or more history"
				),
				span,
				start.date(),
				end.date(),
				horizon,
				2 * horizon,
			)
		latest = end - pd.Timedelta(days=horizon)
		step = max(7, horizon // max(int(self.n_cutoffs), 1))
		cutoffs = [latest - pd.Timedelta(days=step * k) for k in range(int(self.n_cutoffs))]
		cutoffs = [c for c in cutoffs if (c - start).days >= min(MIN_HISTORY_DAYS, horizon)] or [latest]
		cutoffs = sorted(cutoffs)

		stacked = []
		for cutoff in cutoffs:
			features, _models = _features_at(frame, days, cutoff, horizon, side, end, names)
			labels = _labels(days, cutoff, horizon, names).reindex(features.index)
			stacked.append(features.assign(_cutoff=cutoff, _churned=labels.to_numpy()))
		rows = pd.concat(stacked)
		at_latest = rows[rows["_cutoff"] == latest]
		if len(at_latest) < MIN_CUSTOMERS:
			raise EngineError(
				_("A churn model needs at least {0} customers who bought on or before {1}; there are {2}"),
				MIN_CUSTOMERS,
				latest.date(),
				len(at_latest),
			)
		churned_any = rows["_churned"].to_numpy(dtype=bool)
		if churned_any.all():
			raise EngineError(
				_(
					"Every customer churned at every cutoff (nobody bought again within {0} days), so there "
					"is nothing to tell churners from retained customers; use a longer horizon or more data"
				),
				horizon,
			)
		if not churned_any.any():
			raise EngineError(
				_(
					"No customer churned at any cutoff (everyone bought again within {0} days), so there is "
					"nothing to learn churn from; use a shorter horizon or more history"
				),
				horizon,
			)

		customers = rows.index.to_numpy()
		in_validation = _validation_customers(customers)
		is_latest = (rows["_cutoff"] == latest).to_numpy()
		validation = in_validation & is_latest
		training = ~in_validation & ~is_latest
		out_of_time = bool(training.any())
		if not out_of_time:  # one cutoff only: still out of customer
			training = ~in_validation
		# candidates learn on two thirds of the training customers; the other third calibrates.
		# A feature must vary among the learning rows themselves: one that is empty there (a side
		# table that only reaches calibration customers) would break gradient boosting's binning.
		calibrating = _calibration_customers(customers)
		learn, calibrate = training & ~calibrating, training & calibrating
		usable = [
			name
			for name in FEATURES
			if rows.loc[learn, name].notna().any() and rows.loc[learn, name].nunique(dropna=True) > 1
		]
		if not usable:
			raise EngineError(_("No feature varies between customers; the churn model cannot learn"))
		X = rows[usable].to_numpy(dtype=float)
		y = rows["_churned"].to_numpy(dtype=bool)
		for part, name in ((training, _("training")), (validation, _("validation"))):
			if len(np.unique(y[part])) < 2:
				raise EngineError(
					_(
						"The {0} rows ({1} customers) hold only churned or only retained customers, so the "
						"model cannot be trained or judged; more customers or history are needed"
					),
					name,
					int(part.sum()),
				)

		for part, name in ((learn, _("learning")), (calibrate, _("calibration"))):
			if len(np.unique(y[part])) < 2:
				raise EngineError(
					_(
						"The {0} rows ({1} customers) hold only churned or only retained customers, so the "
						"model cannot be trained or judged; more customers or history are needed"
					),
					name,
					int(part.sum()),
				)
		candidates = _candidates(self.random_state)
		scores = {}
		fitted = {}
		for name, estimator in candidates.items():
			model = clone(estimator).fit(X[learn], y[learn])
			fitted[name] = model
			scores[name] = float(_roc_auc(y[validation], model.predict_proba(X[validation])[:, 1]))
		chosen = max(scores, key=lambda key: (scores[key], key == "logistic_regression"))  # tie: simpler
		method = "isotonic" if calibrate.sum() >= ISOTONIC_MIN_ROWS else "sigmoid"
		judged = _calibrated(fitted[chosen], X[calibrate], y[calibrate], method)
		probability = judged.predict_proba(X[validation])[:, 1]

		metrics = {"model": classification_metrics(y[validation], probability)}
		for baseline, column, sign in (
			("recency", "recency_days", 1.0),
			("bgnbd_expected", "expected_purchases", -1.0),
		):
			metrics[baseline] = _baseline_metrics(
				rows[column].to_numpy(dtype=float), sign, y, training, validation
			)
		metrics["candidates"] = scores
		metrics["validation_rows"] = int(validation.sum())
		metrics["training_rows"] = int(training.sum())
		metrics["churn_rate"] = float(y[validation].mean())
		metrics["out_of_time"] = out_of_time

		sample = np.flatnonzero(validation)[:IMPORTANCE_MAX_ROWS]
		importance = permutation_importance(
			fitted[chosen],
			X[sample],
			y[sample],
			scoring="roc_auc",
			n_repeats=3,
			random_state=self.random_state,
		)
		# the model that scores the present: every customer and cutoff, the same split of roles
		learn_all = ~calibrating
		if len(np.unique(y[calibrating])) < 2 or len(np.unique(y[learn_all])) < 2:
			learn_all, calibrating = learn, calibrate
		final = clone(candidates[chosen]).fit(X[learn_all], y[learn_all])
		self.estimator_ = _calibrated(final, X[calibrating], y[calibrating], method)
		self.chosen_ = chosen
		self.metrics_ = metrics
		self.calibration_ = calibration_table(y[validation], probability)
		self.importances_ = pd.Series(
			importance.importances_mean, index=usable, name="importance"
		).sort_values(ascending=False)
		self.feature_names_ = usable
		self.medians_ = rows[usable].median()
		self.directions_ = _directions(rows[usable], self.estimator_.predict_proba(X)[:, 1])
		self.cutoffs_ = list(cutoffs)
		self.validation_cutoff_ = latest
		self.n_customers_ = int(pd.Index(customers).nunique())
		self.n_rows_ = int(len(frame))
		self.data_start_ = start
		self.data_end_ = end
		return self

	# --- score -------------------------------------------------------------------------------

	def score(
		self,
		transactions: pd.DataFrame,
		*,
		as_of: object = None,
		side: SideTables | None = None,
		thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
		clv: pd.Series | None = None,
	) -> pd.DataFrame:
		"""Score every customer with a purchase on or before ``as_of`` (default: last data date)."""
		with _one_thread():
			return self._score(transactions, as_of, side, thresholds, clv)

	def _score(
		self,
		transactions: pd.DataFrame,
		as_of: object,
		side: SideTables | None,
		thresholds: tuple[float, float, float],
		clv: pd.Series | None,
	) -> pd.DataFrame:
		if not hasattr(self, "estimator_"):
			raise EngineError(_("The churn model is not trained yet; train it before scoring"))
		check_thresholds(thresholds)
		horizon = _check_horizon(self.horizon_days)
		frame, end, names = _prepared(transactions, as_of)
		days = daily_purchases(frame)
		if days.empty:
			raise EngineError(_("There are no purchases (positive net amounts) on or before {0}"), end.date())
		features, (bgnbd, summary) = _features_at(frame, days, end, horizon, side, frame["date"].max(), names)
		X = features[self.feature_names_].to_numpy(dtype=float)
		score = self.estimator_.predict_proba(X)[:, 1]
		groups, effects = self._effects(X, score)
		value = _predicted_clv(bgnbd, summary, clv)
		out = pd.DataFrame(
			{
				"customer": features.index.to_numpy(),
				"score": score,
				"band": risk_band(pd.Series(score), thresholds).to_numpy(),
				"drivers": _driver_lists(
					features, self.medians_, groups, effects, getattr(self, "directions_", None)
				),
				"expected_purchases": features["expected_purchases"].to_numpy(),
				"p_alive": features["p_alive"].to_numpy(),
				"predicted_clv": value.to_numpy(),
				"value_at_risk": score * np.clip(value.to_numpy(), 0.0, None),
				"days_since_last_purchase": features["recency_days"].to_numpy().astype(int),
			}
		)
		return out

	def _effects(self, X: np.ndarray, score: np.ndarray) -> tuple[list[str], np.ndarray]:
		"""Per driver group: score minus the score with the group's features set to their medians."""
		names = self.feature_names_
		medians = self.medians_.to_numpy(dtype=float)
		groups = [g for g, members in DRIVER_GROUPS.items() if any(m in names for m in members)]
		effects = np.zeros((len(X), len(groups)))
		for k, group in enumerate(groups):  # a loop over groups, each step vectorised over customers
			columns = [j for j, name in enumerate(names) if name in DRIVER_GROUPS[group]]
			typical = np.broadcast_to(medians[columns], (len(X), len(columns)))
			if group in KEEP_MISSING:  # too few purchases for these: "rhythm" tells that story
				typical = np.where(np.isnan(X[:, columns]), X[:, columns], typical)
			# Only rows the substitution changes are predicted again; for the others (most
			# customers have no complaint or survey, and sit on the median there) the effect is 0.
			same = (X[:, columns] == typical) | (np.isnan(X[:, columns]) & np.isnan(typical))
			rows = np.flatnonzero(~same.all(axis=1))
			if not len(rows):
				continue
			changed = X[rows].copy()
			changed[:, columns] = typical[rows]
			effects[rows, k] = score[rows] - self.estimator_.predict_proba(changed)[:, 1]
		return groups, effects


def _one_thread():
	"""One OpenMP/BLAS thread: on a server that is busy with other work (web and background
	workers), gradient boosting's spinning OpenMP threads ran several times slower than one
	thread, and the matrices here are too small for BLAS threads to help. scikit-learn is
	imported first because threadpoolctl limits only the libraries already loaded."""
	try:
		import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime)
		from threadpoolctl import threadpool_limits  # a scikit-learn dependency
	except ImportError:
		return contextlib.nullcontext()
	return threadpool_limits(limits=1)


def _prepared(transactions: pd.DataFrame, as_of: object) -> tuple[pd.DataFrame, pd.Timestamp, pd.Index]:
	"""Validated rows on or before ``as_of``, customers encoded (see ``_encoded``), and the names."""
	frame = normalize_transactions(transactions)
	if frame.empty:
		raise EngineError(_("There are no transactions"))
	end = frame["date"].max() if as_of is None else _date(as_of, "as of date")
	frame = frame[frame["date"] <= end]
	if frame.empty:
		raise EngineError(_("There are no transactions on or before {0}"), end.date())
	frame, names = _encoded(frame)
	return frame, end, names


def _candidates(random_state: int) -> dict:
	from sklearn.ensemble import HistGradientBoostingClassifier
	from sklearn.impute import SimpleImputer
	from sklearn.linear_model import LogisticRegression
	from sklearn.pipeline import Pipeline
	from sklearn.preprocessing import FunctionTransformer, StandardScaler

	return {
		"logistic_regression": Pipeline(
			[
				("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
				("shape", FunctionTransformer(_signed_log)),
				("scale", StandardScaler()),
				("model", LogisticRegression(C=1.0, max_iter=1000, random_state=random_state)),
			]
		),
		"hist_gradient_boosting": HistGradientBoostingClassifier(
			max_iter=100,
			learning_rate=0.1,
			max_leaf_nodes=15,
			l2_regularization=1.0,
			random_state=random_state,
		),
	}


def _signed_log(values: np.ndarray) -> np.ndarray:
	"""log1p of magnitudes: days, counts and money are skewed; a linear model wants them compressed."""
	return np.sign(values) * np.log1p(np.abs(values))


def _calibrated(model, X: np.ndarray, y: np.ndarray, method: str):
	"""Calibrate an already fitted model on rows it never saw (customers held back from its training).

	One fit plus one calibration, rather than cross-validated calibration's k extra fits: on a
	hundred thousand customers the held-back third is plenty, and training stays affordable.
	"""
	from sklearn.calibration import CalibratedClassifierCV
	from sklearn.frozen import FrozenEstimator

	return CalibratedClassifierCV(FrozenEstimator(model), method=method, ensemble=False).fit(X, y)


def _calibration_customers(customers: np.ndarray) -> np.ndarray:
	"""A third of the customers, chosen by a different part of the hash than the validation group."""
	return (_customer_hash(customers) // 29) % 3 == 0


def _validation_customers(customers: np.ndarray) -> np.ndarray:
	return (_customer_hash(customers) // 7) % VALIDATION_SHARE == 0


def _customer_hash(customers: np.ndarray) -> np.ndarray:
	"""A stable hash of each customer id: the same customer always falls in the same group."""
	return pd.util.hash_array(np.asarray(customers, dtype=object).astype(str), categorize=True).astype(
		np.uint64
	)


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
	from sklearn.metrics import roc_auc_score

	return float(roc_auc_score(y, p))


def _baseline_metrics(
	values: np.ndarray, sign: float, y: np.ndarray, training: np.ndarray, validation: np.ndarray
) -> dict[str, float]:
	"""One feature turned into probabilities by a logistic fit on the training rows; missing = median."""
	from sklearn.linear_model import LogisticRegression

	known = np.isfinite(values)
	if not known[training].any():
		return {
			"roc_auc": float("nan"),
			"pr_auc": float("nan"),
			"brier": float("nan"),
			"top_decile_lift": float("nan"),
		}
	filled = np.where(known, values, np.nanmedian(values[training]))
	shaped = (sign * _signed_log(filled)).reshape(-1, 1)
	model = LogisticRegression(max_iter=1000).fit(shaped[training], y[training])
	probability = model.predict_proba(shaped[validation])[:, 1]
	metrics = classification_metrics(y[validation], probability)
	if model.coef_[0, 0] < 0:  # a baseline is a fixed ranking: more recency / fewer purchases = riskier
		metrics["roc_auc"] = float(_roc_auc(y[validation], shaped[validation, 0]))
	return metrics


def _predicted_clv(bgnbd: BetaGeoModel | None, summary: pd.DataFrame, clv: pd.Series | None) -> pd.Series:
	"""12-month CLV from BG/NBD + Gamma-Gamma; historical value where those cannot be fitted."""
	value = summary["historical_value"].astype(float).clip(lower=0.0)
	if bgnbd is not None:
		try:
			gamma_gamma = GammaGammaModel().fit(summary)
			if gamma_gamma.params_["q"] > 1:
				with np.errstate(all="ignore"):
					fitted = customer_lifetime_value(
						bgnbd, gamma_gamma, summary, CLV_MONTHS, CLV_MONTHLY_DISCOUNT
					)
				value = fitted.where(np.isfinite(fitted), value)
		except EngineError:
			pass
	if clv is not None:
		given = pd.to_numeric(pd.Series(clv), errors="coerce")
		given.index = given.index.astype(str)
		value = given.reindex(value.index).fillna(value)
	return value.astype(float)


def _directions(features: pd.DataFrame, probability: np.ndarray) -> pd.Series:
	"""+1 where a higher value goes with a higher churn score across customers, -1 where lower does.

	Rank correlation over (at most 20k) labelled rows: the direction a reader expects ("more
	days of silence, more risk"), learnt from the model rather than assumed.
	"""
	rows = min(len(features), IMPORTANCE_MAX_ROWS)
	ranked = features.iloc[:rows].rank()
	score = pd.Series(probability[:rows], index=ranked.index).rank()
	return np.sign(ranked.corrwith(score).fillna(0.0))


def _driver_lists(
	features: pd.DataFrame,
	medians: pd.Series,
	groups: list[str],
	effects: np.ndarray,
	directions: pd.Series | None = None,
) -> list[list[dict]]:
	"""Up to three drivers per customer, largest score increase first, each a sentence template and its numbers.

	A group only counts as a reason when its lead feature sits on the risky side of the median
	in the model's overall direction (or is missing): a model with correlated features can
	raise one customer's score through, say, high spend per visit while high spend lowers risk
	for customers in general, and "spends 180 per visit" would read as nonsense for a reason.
	"""
	effects = effects.copy()
	if directions is not None:
		for k, group in enumerate(groups):
			lead = DRIVER_LEADS[group]
			if lead not in directions.index or lead not in medians.index:
				continue
			values = features[lead].to_numpy(dtype=float)
			sided = (values - float(medians[lead])) * float(directions[lead]) > 0
			effects[~(sided | np.isnan(values)), k] = -np.inf
	order = np.argsort(-effects, axis=1, kind="stable")[:, :3]
	top = np.take_along_axis(effects, order, axis=1)
	# effects are sorted, so the kept ones are each row's leading run; nonzero() walks row by row
	rows, rank = np.nonzero(top >= DRIVER_MIN_EFFECT)
	chosen = order[rows, rank]
	effect = np.round(top[rows, rank], 4).tolist()
	columns = {name: features[name].to_numpy(dtype=float) for name in FEATURES}
	typical_spend = (
		round(float(medians.get("monetary_mean", np.nan)), 2),
		round(float(medians.get("monetary_total", np.nan)), 2),
	)
	feature = np.empty(len(rows), dtype=object)
	key = np.empty(len(rows), dtype=object)
	values: list = [None] * len(rows)
	for k, group in enumerate(groups):  # a loop over groups; each builds its sentences for all its rows
		picked = np.flatnonzero(chosen == k)
		if len(picked):
			group_features, group_keys, group_values = _sentences(group, columns, rows[picked], typical_spend)
			feature[picked] = group_features
			key[picked] = group_keys
			for position, shown in zip(picked.tolist(), group_values, strict=True):
				values[position] = shown
	drivers: list[list[dict]] = [[] for _ in range(len(features))]
	for j, row in enumerate(rows.tolist()):  # only assembling the output's dicts
		if key[j] in ("rhythm_once", "few_purchases") and any(
			d["message"] == DRIVER_MESSAGES[key[j]] for d in drivers[row]
		):
			continue  # e.g. "has bought only once" reached through two groups: say it once
		drivers[row].append(
			{
				"feature": feature[j],
				"message": DRIVER_MESSAGES[key[j]],
				"values": values[j],
				"effect": effect[j],
			}
		)
	return drivers


def _sentences(
	group: str, columns: dict[str, np.ndarray], rows: np.ndarray, typical_spend: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, list[list]]:
	"""For one driver group and the customers it explains: the feature named, the message key and
	the numbers rounded for display (ints where the sentence counts things)."""

	def column(name: str) -> np.ndarray:
		return columns[name][rows]

	def whole(values: np.ndarray) -> list[int]:
		return np.nan_to_num(np.round(values), nan=0.0).astype(np.int64).tolist()

	def number(values: np.ndarray) -> list:
		return [int(v) if v == int(v) else round(v, 1) for v in np.nan_to_num(values).tolist()]

	def pick(condition: np.ndarray, yes: str, no: str) -> np.ndarray:
		return np.where(condition, yes, no).astype(object)

	if group == "silence":
		ratio = column("recency_ratio")
		use_ratio = np.isfinite(ratio) & (ratio >= 1.5)
		shown = [
			[r] if u else [d]
			for u, r, d in zip(
				use_ratio.tolist(),
				np.round(np.nan_to_num(ratio), 1).tolist(),
				whole(column("recency_days")),
				strict=True,
			)
		]
		return (
			pick(use_ratio, "recency_ratio", "recency_days"),
			pick(use_ratio, "silence_ratio", "silence_days"),
			shown,
		)
	if group == "rhythm":
		once = column("frequency") <= 1
		shown = [
			[t] if o else [f, t]
			for o, f, t in zip(
				once.tolist(), whole(column("frequency")), whole(column("tenure_days")), strict=True
			)
		]
		return pick(once, "frequency", "frequency"), pick(once, "rhythm_once", "rhythm"), shown
	if group in ("slowdown", "last_spend"):
		name = "last_interval_ratio" if group == "slowdown" else "last_spend_ratio"
		ratio = column(name)
		missing = ~np.isfinite(ratio)  # too few purchases to compare the last one with
		once = column("frequency") <= 1
		few = np.where(once, "rhythm_once", "few_purchases")
		if group == "slowdown":
			keys = np.where(missing, few, "slowdown").astype(object)
			ratio_shown = np.round(np.nan_to_num(ratio), 1).tolist()
		else:
			keys = np.where(missing, few, np.where(ratio <= 1, "last_spend", "last_spend_up")).astype(object)
			ratio_shown = whole(np.abs(1 - np.nan_to_num(ratio, nan=1.0)) * 100)
		counted = [
			[t] if o else [f]
			for o, f, t in zip(
				once.tolist(), whole(column("frequency")), whole(column("tenure_days")), strict=True
			)
		]
		shown = [c if m else [r] for m, c, r in zip(missing.tolist(), counted, ratio_shown, strict=True)]
		return pick(missing, "frequency", name), keys, shown
	if group == "spend":
		# name whichever falls further short of typical: the spend per visit, or the total
		# (which returns bring down: a customer who returned everything has spent 0)
		mean, total = column("monetary_mean"), column("monetary_total")
		typical_mean, typical_total = typical_spend
		with np.errstate(divide="ignore", invalid="ignore"):
			by_total = (total / typical_total) < (mean / typical_mean)
		shown = [
			[t, typical_total] if b else [m, typical_mean]
			for b, m, t in zip(
				by_total.tolist(), np.round(mean, 2).tolist(), np.round(total, 2).tolist(), strict=True
			)
		]
		return (
			pick(by_total, "monetary_total", "monetary_mean"),
			pick(by_total, "spend_total", "spend"),
			shown,
		)
	if group == "trend":
		trend = column("spend_trend")
		keys = np.where(np.isnan(trend), "trend_none", np.where(trend < 0, "trend_down", "trend_up")).astype(
			object
		)
		shown = [
			[] if k == "trend_none" else [p]
			for k, p in zip(keys.tolist(), whole(np.abs(trend) * 100), strict=True)
		]
		return np.full(len(rows), "spend_trend", dtype=object), keys, shown
	if group == "returns":
		shown = [[p] for p in whole(column("return_share") * 100)]
		return (
			np.full(len(rows), "return_share", dtype=object),
			np.full(len(rows), "returns", dtype=object),
			shown,
		)
	if group in ("nps", "csat", "points", "tier"):
		name, key, empty = {
			"nps": ("last_nps", "nps", "no_survey"),
			"csat": ("last_csat", "csat", "no_survey"),
			"points": ("points_balance", "points", "no_points"),
			"tier": ("tier_rank", "tier", "no_tier"),
		}[group]
		value = column(name)
		known = np.isfinite(value)
		shown = [[v] if k else [] for k, v in zip(known.tolist(), number(value), strict=True)]
		return np.full(len(rows), name, dtype=object), pick(known, key, empty), shown
	count = column("complaints_180d")  # complaints
	single = count == 1
	shown = [[] if o else [c] for o, c in zip(single.tolist(), whole(count), strict=True)]
	return (
		np.full(len(rows), "complaints_180d", dtype=object),
		pick(single, "complaints", "complaints_many"),
		shown,
	)


def drivers_text(drivers: list[dict], translate=None) -> str:
	"""One line of drivers, e.g. for a CSV or a report: ``translate`` is ``frappe._`` on a site."""
	translate = translate or (lambda message: message)
	return "; ".join(translate(d["message"]).format(*d["values"]) for d in drivers)


# ---------------------------------------------------------------------------------------------
# Persistence
# ---------------------------------------------------------------------------------------------


def dumps(model: ChurnModel) -> bytes:
	"""The fitted model as joblib bytes, to be stored with their sha256."""
	import joblib

	if not hasattr(model, "estimator_"):
		raise EngineError(_("The churn model is not trained yet; train it before saving"))
	buffer = io.BytesIO()
	joblib.dump(model, buffer)
	return buffer.getvalue()


def loads(data: bytes, sha256: str) -> ChurnModel:
	"""Load a model saved by :func:`dumps`, refusing bytes whose sha256 is not the one recorded."""
	import joblib

	actual = hashlib.sha256(data).hexdigest()
	if actual != str(sha256 or "").strip().lower():
		raise EngineError(
			_("The saved churn model file is damaged or was replaced: its sha256 is {0}, expected {1}"),
			actual,
			sha256,
		)
	model = joblib.load(io.BytesIO(data))
	if not isinstance(model, ChurnModel) or not hasattr(model, "estimator_"):
		raise EngineError(_("The saved file is not a trained churn model"))
	return model


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _check_horizon(horizon_days: object) -> int:
	try:
		value = float(horizon_days)
	except (TypeError, ValueError) as error:
		raise EngineError(
			_("The churn horizon must be a whole number of days, got {0}"), horizon_days
		) from error
	if not math.isfinite(value) or value != int(value) or value <= 0:
		raise EngineError(
			_("The churn horizon must be a whole number of days above 0, got {0}"), horizon_days
		)
	return int(value)


def _date(value: object, name: str) -> pd.Timestamp:
	parsed = pd.to_datetime(value, errors="coerce")
	if pd.isna(parsed):
		raise EngineError(_("The {0} {1} is not a date (use YYYY-MM-DD)"), name, value)
	parsed = pd.Timestamp(parsed)
	if parsed.tzinfo is not None:
		parsed = parsed.tz_localize(None)
	return parsed.normalize()
