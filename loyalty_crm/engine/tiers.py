"""Loyalty tiers: a VIP ladder (Bronze 0 / Silver / Gold / Platinum), qualification and grace.

A ladder is a DataFrame or a list of dicts, one row per tier:

``tier`` (name), ``rank`` (int, higher = better), ``metric`` ("spend" | "points" | "invoices"),
``threshold`` (>= 0), ``window_kind`` ("rolling" | "calendar_year"), ``window_months``
(int >= 1, rolling only), ``multiplier`` (> 0, points multiplier) and ``grace_months`` (>= 0).

Qualification is compared on one axis: every tier of a ladder uses the same metric and the same
window, so "higher tier" always means "more of the same thing". A ladder mixing spend for Gold
and invoices for Platinum could rank a customer Gold and Platinum at once.

Rules, in the order :func:`evaluate_tiers` applies them:

* a customer qualifies for the highest tier whose threshold is <= their metric value (a value
  exactly at the threshold qualifies);
* upgrades are immediate (on invoice submit through :func:`upgrade_on_invoice`, or in the
  periodic run);
* a customer whose qualifying tier is lower than their tier keeps the tier for ``grace_months``
  of that tier, counted in calendar months from ``below_since`` (the first day they were seen
  below); the downgrade happens ON the day the grace ends (``as_of >= grace_ends``);
* a downgrade goes one rank down (``downgrade_mode="one_rank"``, each further step needs the
  lower tier's grace again, and at most one step per day) or straight to the qualifying tier
  (``"to_qualifying"``);
* a customer who qualifies again clears ``below_since``.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import normalize_transactions

LadderLike = pd.DataFrame | Sequence[Mapping[str, Any]]
DateLike = date | str | pd.Timestamp | np.datetime64

LADDER_COLUMNS = (
	"tier",
	"rank",
	"metric",
	"threshold",
	"window_kind",
	"window_months",
	"multiplier",
	"grace_months",
)
METRICS = ("spend", "points", "invoices")
WINDOW_KINDS = ("rolling", "calendar_year")
DOWNGRADE_MODES = ("one_rank", "to_qualifying")
CURRENT_COLUMNS = ("customer", "tier", "tier_since", "below_since")
RESULT_COLUMNS = (
	"customer",
	"old_tier",
	"new_tier",
	"change",
	"reason_code",
	"reason",
	"metric",
	"metric_value",
	"qualifying_tier",
	"threshold",
	"grace_ends",
	"tier_since",
	"below_since",
)

# Metric names as shown in reasons; marked so the Frappe layer can translate them too.
METRIC_LABELS = {"spend": _("spend"), "points": _("points"), "invoices": _("invoices")}

# reason_code -> English template; REASON_ARGS names the result columns that fill {0}, {1}, ...
REASON_TEMPLATES = {
	"entry": _("No tier yet: {0} of {1} qualifies for {2}"),
	"upgrade": _("{0} of {1} reaches the {2} threshold of {3}"),
	"upgrade_disabled": _("{0} of {1} qualifies for {2}, but upgrades are off in this run"),
	"qualifies": _("{0} of {1} keeps {2} (threshold {3})"),
	"pending_downgrade": _("{0} of {1} is below the {2} threshold of {3}; the grace period ends on {4}"),
	"changed_today": _(
		"{0} of {1} is below the {2} threshold of {3}, but the tier already changed today; next step on {4}"
	),
	"downgrade": _("{0} of {1} stayed below the {2} threshold of {3} until the grace period ended on {4}"),
	"kept_until_review": _(
		"{0} of {1} is below the {2} threshold of {3}; downgrades wait for the periodic review"
	),
}
REASON_ARGS = {
	"entry": ("metric", "metric_value", "new_tier"),
	"upgrade": ("metric", "metric_value", "new_tier", "threshold"),
	"upgrade_disabled": ("metric", "metric_value", "qualifying_tier"),
	"qualifies": ("metric", "metric_value", "new_tier", "threshold"),
	"pending_downgrade": ("metric", "metric_value", "old_tier", "threshold", "grace_ends"),
	"changed_today": ("metric", "metric_value", "old_tier", "threshold", "grace_ends"),
	"downgrade": ("metric", "metric_value", "old_tier", "threshold", "grace_ends"),
	"kept_until_review": ("metric", "metric_value", "old_tier", "threshold"),
}

# Float sums of money pick up noise (0.1 + 0.2 != 0.3); rounding before the comparison keeps a
# value that is exactly at the threshold on paper at the threshold in the computer.
_COMPARE_DECIMALS = 6


@dataclass(frozen=True)
class _Ladder:
	"""A validated ladder as arrays, lowest rank first: what the vectorised code needs."""

	names: np.ndarray  # object array of tier names
	ranks: np.ndarray  # int64, strictly increasing
	thresholds: np.ndarray  # float64, strictly increasing, thresholds[0] == 0
	threshold_decimals: tuple[Decimal, ...]
	multipliers: tuple[Decimal, ...]
	grace_months: np.ndarray  # int64
	metric: str
	window_kind: str
	window_months: int | None

	def position(self) -> dict[str, int]:
		return {name: i for i, name in enumerate(self.names)}


class TierDecision(NamedTuple):
	"""Outcome of :func:`upgrade_on_invoice` for one customer."""

	tier: str
	change: str  # "entry" | "upgrade" | "none"
	reason_code: str
	reason: str


# --------------------------------------------------------------------------------------------
# Ladder
# --------------------------------------------------------------------------------------------


def validate_ladder(ladder: LadderLike) -> pd.DataFrame:
	"""Check a ladder once at the boundary; return a clean copy sorted by rank (lowest first).

	The copy has ``threshold`` and ``multiplier`` as Decimal (they are shown to people and
	multiply points), ``rank``/``grace_months`` as int and ``window_months`` as nullable Int64
	(empty for calendar-year windows). The input is never modified.
	"""
	spec = _compile(ladder)
	count = len(spec.names)
	return pd.DataFrame(
		{
			"tier": pd.Series(list(spec.names), dtype=object),
			"rank": spec.ranks,
			"metric": [spec.metric] * count,
			"threshold": pd.Series(list(spec.threshold_decimals), dtype=object),
			"window_kind": [spec.window_kind] * count,
			"window_months": pd.array([spec.window_months] * count, dtype="Int64"),
			"multiplier": pd.Series(list(spec.multipliers), dtype=object),
			"grace_months": spec.grace_months.astype("int64"),
		}
	)


def _compile(ladder: LadderLike) -> _Ladder:
	"""Validate and convert; each rule has its own message so the user knows what to fix."""
	if isinstance(ladder, _Ladder):
		return ladder
	frame = _ladder_frame(ladder)
	names = _tier_names(frame)
	ranks = _ranks(frame, names)
	order = np.argsort(ranks, kind="stable")
	frame = frame.iloc[order].reset_index(drop=True)
	names = [names[i] for i in order]
	ranks = ranks[order]
	thresholds = _thresholds(frame, names, ranks)
	metric = _single_metric(frame, names)
	window_kind, window_months = _single_window(frame, names)
	multipliers = tuple(
		_multiplier(value, name) for value, name in zip(frame["multiplier"], names, strict=True)
	)
	grace = np.array(
		[_grace(value, name) for value, name in zip(frame["grace_months"], names, strict=True)], dtype="int64"
	)
	return _Ladder(
		names=np.array(names, dtype=object),
		ranks=ranks,
		thresholds=np.array([float(t) for t in thresholds], dtype="float64"),
		threshold_decimals=tuple(thresholds),
		multipliers=multipliers,
		grace_months=grace,
		metric=metric,
		window_kind=window_kind,
		window_months=window_months,
	)


def _ladder_frame(ladder: LadderLike) -> pd.DataFrame:
	if isinstance(ladder, pd.DataFrame):
		frame = ladder.copy()
	elif isinstance(ladder, Sequence) and not isinstance(ladder, (str, bytes)):
		if not all(isinstance(row, Mapping) for row in ladder):
			raise EngineError(
				_("A tier ladder must be a DataFrame or a list of dicts, got {0}"), type(ladder).__name__
			)
		frame = pd.DataFrame([dict(row) for row in ladder])
	else:
		raise EngineError(
			_("A tier ladder must be a DataFrame or a list of dicts, got {0}"), type(ladder).__name__
		)
	if frame.empty:
		raise EngineError(_("The tier ladder is empty: add at least the entry tier with threshold 0"))
	missing = [column for column in LADDER_COLUMNS if column not in frame.columns]
	if missing:
		raise EngineError(_("The tier ladder is missing the column(s): {0}"), ", ".join(missing))
	return frame.reset_index(drop=True)


def _tier_names(frame: pd.DataFrame) -> list[str]:
	names = [None if _is_blank(value) else str(value).strip() for value in frame["tier"]]
	blank = [str(i + 1) for i, name in enumerate(names) if not name]
	if blank:
		raise EngineError(_("Every tier needs a name; ladder row(s) {0} have none"), ", ".join(blank))
	repeated = sorted({name for name in names if names.count(name) > 1})
	if repeated:
		raise EngineError(_("Tier names must be unique; repeated: {0}"), ", ".join(repeated))
	return names  # type: ignore[return-value]


def _ranks(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
	ranks = [_whole_number(value) for value in frame["rank"]]
	bad = [name for name, rank in zip(names, ranks, strict=True) if rank is None]
	if bad:
		raise EngineError(_("Tier ranks must be whole numbers; check tier(s) {0}"), ", ".join(bad))
	for rank in sorted(set(ranks)):
		holders = [name for name, r in zip(names, ranks, strict=True) if r == rank]
		if len(holders) > 1:
			raise EngineError(
				_("Tier ranks must be unique; rank {0} is used by {1}"), rank, ", ".join(holders)
			)
	return np.array(ranks, dtype="int64")


def _thresholds(frame: pd.DataFrame, names: list[str], ranks: np.ndarray) -> list[Decimal]:
	values = [_decimal(value) for value in frame["threshold"]]
	bad = [name for name, value in zip(names, values, strict=True) if value is None or value < 0]
	if bad:
		raise EngineError(
			_("Tier thresholds must be numbers of 0 or more; check tier(s) {0}"), ", ".join(bad)
		)
	if values[0] != 0:
		raise EngineError(
			_("The lowest-rank tier {0} is the entry tier and must have threshold 0, got {1}"),
			names[0],
			values[0],
		)
	for i in range(1, len(values)):
		if values[i] <= values[i - 1]:
			raise EngineError(
				_(
					"Tier thresholds must increase strictly with rank: {0} (rank {1}) has {2}, not more than {3} (rank {4}) with {5}"
				),
				names[i],
				int(ranks[i]),
				values[i],
				names[i - 1],
				int(ranks[i - 1]),
				values[i - 1],
			)
	return values  # type: ignore[return-value]


def _single_metric(frame: pd.DataFrame, names: list[str]) -> str:
	metrics = [str(value).strip().lower() if not _is_blank(value) else "" for value in frame["metric"]]
	for name, metric in zip(names, metrics, strict=True):
		if metric not in METRICS:
			raise EngineError(
				_("Tier metric must be one of {0}; {1} has {2}"), ", ".join(METRICS), name, metric or "-"
			)
	if len(set(metrics)) > 1:
		raise EngineError(
			_("All tiers must qualify on the same metric (one axis to compare); found {0}"),
			", ".join(sorted(set(metrics))),
		)
	return metrics[0]


def _single_window(frame: pd.DataFrame, names: list[str]) -> tuple[str, int | None]:
	windows = set()
	for name, kind_value, months_value in zip(
		names, frame["window_kind"], frame["window_months"], strict=True
	):
		kind = str(kind_value).strip().lower() if not _is_blank(kind_value) else ""
		if kind not in WINDOW_KINDS:
			raise EngineError(
				_("Tier window must be one of {0}; {1} has {2}"), ", ".join(WINDOW_KINDS), name, kind or "-"
			)
		months = None
		if kind == "rolling":
			months = _whole_number(months_value)
			if months is None or months < 1:
				raise EngineError(
					_("A rolling window needs window_months of 1 or more (a whole number); {0} has {1}"),
					name,
					"-" if _is_blank(months_value) else months_value,
				)
		windows.add((kind, months))
	if len(windows) > 1:
		found = ", ".join(sorted(kind if months is None else f"{kind} {months}" for kind, months in windows))
		raise EngineError(_("All tiers must use the same qualification window; found {0}"), found)
	return windows.pop()


def _multiplier(value: Any, name: str) -> Decimal:
	multiplier = _decimal(value)
	if multiplier is None or multiplier <= 0:
		raise EngineError(
			_("Tier multipliers must be numbers greater than 0; {0} has {1}"),
			name,
			"-" if _is_blank(value) else value,
		)
	return multiplier


def _grace(value: Any, name: str) -> int:
	months = _whole_number(value)
	if months is None or months < 0:
		raise EngineError(
			_("Grace months must be a whole number of 0 or more; {0} has {1}"),
			name,
			"-" if _is_blank(value) else value,
		)
	return months


def _is_blank(value: Any) -> bool:
	if value is None:
		return True
	if isinstance(value, str):
		return not value.strip()
	try:
		return bool(pd.isna(value))
	except (TypeError, ValueError):
		return False


def _decimal(value: Any) -> Decimal | None:
	"""Floats go through str so 0.1 becomes Decimal('0.1'), not its binary expansion."""
	if _is_blank(value) or isinstance(value, bool):
		return None
	try:
		number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
	except (InvalidOperation, ValueError):
		return None
	return number if number.is_finite() else None


def _whole_number(value: Any) -> int | None:
	number = _decimal(value)
	if number is None or number != number.to_integral_value():
		return None
	return int(number)


def tier_multiplier(tier: str | None, ladder: LadderLike) -> Decimal:
	"""Points multiplier of a tier; 1 for no tier or a tier the ladder does not know.

	Unknown gives 1 rather than an error because this runs on invoice submit: a tier renamed in
	the ladder must not block a sale, it just earns base points until the next evaluation.
	"""
	spec = _compile(ladder)
	if _is_blank(tier):
		return Decimal(1)
	position = spec.position().get(str(tier).strip())
	return Decimal(1) if position is None else spec.multipliers[position]


# --------------------------------------------------------------------------------------------
# Windows and metrics
# --------------------------------------------------------------------------------------------


def add_months(day: DateLike, months: int) -> date:
	"""Calendar-month arithmetic with the day clamped to the month's end (Jan 31 + 1 = Feb 29/28)."""
	start = _to_date(day)
	total = start.year * 12 + start.month - 1 + int(months)
	year, month = divmod(total, 12)
	month += 1
	return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def qualification_window(
	as_of: DateLike, window_kind: str, window_months: int | None = None
) -> tuple[date, date]:
	"""First and last day (both inclusive) of the activity that counts on ``as_of``.

	Rolling N months is (as_of - N calendar months, as_of]: the day N months back is excluded so
	the window holds exactly N months and a month-end ``as_of`` gives whole calendar months
	(2024-03-31, 1 month: 2024-03-31 - 1 month = 2024-02-29, so the window is 2024-03-01 ..
	2024-03-31). Calendar year is January 1 of as_of's year .. as_of.
	"""
	end = _to_date(as_of)
	kind = str(window_kind).strip().lower()
	if kind == "calendar_year":
		return date(end.year, 1, 1), end
	if kind != "rolling":
		raise EngineError(_("Unknown window kind {0}; use one of {1}"), window_kind, ", ".join(WINDOW_KINDS))
	months = _whole_number(window_months)
	if months is None or months < 1:
		raise EngineError(
			_("window_months must be a whole number of 1 or more for a rolling window, got {0}"),
			window_months,
		)
	return add_months(end, -months) + timedelta(days=1), end


def qualifying_metric(activity: pd.DataFrame, ladder: LadderLike, as_of: DateLike) -> pd.Series:
	"""Each customer's ladder metric over the ladder's window ending ``as_of``.

	``activity`` is the transactions shape (customer, date, amount; returns negative, cancelled
	documents already left out by the query) plus ``points`` (earned, negative for reversals)
	when the ladder qualifies on points. Metrics:

	* spend: sum of amount, so a return in the window lowers it (it may go below 0 when the
	  purchase was before the window; such a customer simply qualifies for the entry tier);
	* points: sum of points;
	* invoices: documents with a positive net amount minus documents with a negative one
	  (credit notes), never below 0. A partial return cancels a visit too: conservative, and
	  it stops buy-and-return from counting. Rows sharing an ``invoice`` value are one document.

	Returns a float Series indexed by customer (every customer in ``activity``, 0 when nothing
	falls in the window), named after the metric.
	"""
	spec = _compile(ladder)
	if spec.metric == "points" and "points" not in activity.columns:
		raise EngineError(_("Tier activity needs a points column to qualify on points"))
	frame = activity if "amount" in activity.columns else activity.assign(amount=0.0)
	rows = normalize_transactions(frame)
	start, end = qualification_window(as_of, spec.window_kind, spec.window_months)
	# Factorize the customer names once and sum with bincount: grouping by strings is the
	# slow part at a million rows.
	codes, customers = pd.factorize(rows["customer"].to_numpy(dtype=object), sort=True)
	in_window = ((rows["date"] >= pd.Timestamp(start)) & (rows["date"] <= pd.Timestamp(end))).to_numpy()
	if spec.metric == "spend":
		codes, weights = codes[in_window], rows["amount"].to_numpy(dtype="float64")[in_window]
	elif spec.metric == "points":
		codes, weights = codes[in_window], _points(rows)[in_window]
	else:
		codes, weights = _document_signs(rows[in_window], codes[in_window])
	values = np.bincount(codes, weights=weights, minlength=len(customers))
	if spec.metric == "invoices":
		values = np.maximum(values, 0.0)
	return pd.Series(values, index=pd.Index(customers, name="customer"), name=spec.metric, dtype="float64")


def _points(rows: pd.DataFrame) -> np.ndarray:
	points = pd.to_numeric(rows["points"], errors="coerce")
	bad = points.isna() & rows["points"].notna()
	if bad.any():
		raise EngineError(
			_("Tier activity has non-numeric points for customer(s): {0}"),
			", ".join(rows.loc[bad, "customer"].astype(str).unique()[:10]),
		)
	return points.fillna(0.0).to_numpy(dtype="float64")


def _document_signs(rows: pd.DataFrame, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
	"""Per document: +1 when its net amount is positive, -1 for a credit note, 0 when zero.

	Rows sharing an ``invoice`` value (invoice lines) are one document.
	"""
	amounts = rows["amount"].to_numpy(dtype="float64")
	if "invoice" not in rows.columns:
		return codes, np.sign(amounts)
	invoice = rows["invoice"].astype("string").to_numpy(dtype=object)
	missing = pd.isna(invoice)
	invoice[missing] = [f"row-{i}" for i in np.flatnonzero(missing)]
	documents = pd.DataFrame({"code": codes, "invoice": invoice, "amount": amounts})
	documents = documents.groupby(["code", "invoice"], as_index=False, sort=False)["amount"].sum()
	return documents["code"].to_numpy(), np.sign(documents["amount"].to_numpy(dtype="float64"))


def qualifying_tier(values: pd.Series, ladder: LadderLike) -> pd.Series:
	"""Highest tier whose threshold is <= value (a value exactly at the threshold qualifies).

	Missing values count as no activity (entry tier), as do negative ones.
	"""
	spec = _compile(ladder)
	numbers = _metric_array(values)
	return pd.Series(
		spec.names[_qualifying_positions(numbers, spec)], index=values.index, name="tier", dtype=object
	)


def _qualifying_positions(values: np.ndarray, spec: _Ladder) -> np.ndarray:
	rounded = np.round(np.nan_to_num(values, nan=0.0), _COMPARE_DECIMALS)
	return np.maximum(np.searchsorted(spec.thresholds, rounded, side="right") - 1, 0)


def _metric_array(values: pd.Series) -> np.ndarray:
	numbers = pd.to_numeric(values, errors="coerce")
	bad = numbers.isna() & values.notna()
	if bad.any():
		raise EngineError(
			_("Metric values must be numbers; customer(s) {0} have {1}"),
			", ".join(map(str, values.index[bad][:10])),
			", ".join(map(str, values[bad].iloc[:10])),
		)
	return numbers.to_numpy(dtype="float64", na_value=np.nan)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def upgrade_on_invoice(
	current_tier: str | None, metric_value_after_invoice: float, ladder: LadderLike
) -> TierDecision:
	"""The immediate path on invoice submit: upgrade now, never downgrade.

	Downgrades need the grace period and ``below_since`` bookkeeping, which belong to the
	periodic :func:`evaluate_tiers` run; an invoice (or a return) only ever lifts a customer.
	"""
	spec = _compile(ladder)
	value = float(_metric_array(pd.Series([metric_value_after_invoice]))[0])
	qualifying = int(_qualifying_positions(np.array([value]), spec)[0])
	current = _current_position(current_tier, spec)
	if current < 0:
		code, change, tier = "entry", "entry", qualifying
	elif qualifying > current:
		code, change, tier = "upgrade", "upgrade", qualifying
	else:
		code, change, tier = ("qualifies" if qualifying == current else "kept_until_review"), "none", current
	threshold_position = qualifying if code in ("entry", "upgrade") else current
	row = {
		"metric": spec.metric,
		"metric_value": value,
		"old_tier": None if current < 0 else spec.names[current],
		"new_tier": spec.names[tier],
		"qualifying_tier": spec.names[qualifying],
		"threshold": spec.thresholds[threshold_position],
		"reason_code": code,
	}
	return TierDecision(tier=str(spec.names[tier]), change=change, reason_code=code, reason=explain(row))


def _current_position(tier: str | None, spec: _Ladder) -> int:
	if _is_blank(tier):
		return -1
	position = spec.position().get(str(tier).strip())
	if position is None:
		raise EngineError(
			_("Tier {0} is not in the ladder; fix the customer's tier or the ladder"), str(tier).strip()
		)
	return position


CHANGES = ("none", "entry", "upgrade", "downgrade", "pending_downgrade")
REASON_CODES = tuple(REASON_TEMPLATES)


def evaluate_tiers(
	current: pd.DataFrame,
	metric_values: pd.Series,
	ladder: LadderLike,
	as_of: DateLike,
	downgrade_mode: str = "one_rank",
	upgrades: bool = True,
) -> pd.DataFrame:
	"""Decide every customer's tier on ``as_of`` in one vectorised pass.

	``current``: customer, tier (empty = no tier yet), tier_since, below_since (NaT when not
	below). ``metric_values``: the ladder metric per customer (index = customer), e.g. from
	:func:`qualifying_metric`; a customer missing from it has 0. Customers in ``metric_values``
	but not in ``current`` are new and get their qualifying tier (change "entry").
	``upgrades=False`` leaves upgrades to :func:`upgrade_on_invoice` (reason "upgrade_disabled").

	Returns one row per customer (current customers in their order, then new ones) with the
	columns of ``RESULT_COLUMNS``: old_tier, new_tier, change ("entry" | "upgrade" | "downgrade"
	| "pending_downgrade" | "none"), reason_code and reason (English; :func:`explain` formats it
	translated), metric, metric_value, qualifying_tier, threshold (of the tier the reason talks
	about), grace_ends (NaT unless below), and the state to persist: tier_since and below_since
	(see :func:`next_state`). Tier, change and reason-code columns are categoricals. Evaluating
	that state again on the same day with the same values changes nothing.
	"""
	if downgrade_mode not in DOWNGRADE_MODES:
		raise EngineError(
			_("Unknown downgrade mode {0}; use one of {1}"), downgrade_mode, ", ".join(DOWNGRADE_MODES)
		)
	spec = _compile(ladder)
	today = np.datetime64(_to_date(as_of), "D")
	state = _align(_current_state(current, spec), _metric_series(metric_values))
	old = state["position"].to_numpy()
	values = state["metric_value"].to_numpy()
	decision = _decide(
		old,
		_qualifying_positions(values, spec),
		state["tier_since"].to_numpy().astype("datetime64[D]"),
		state["below_since"].to_numpy().astype("datetime64[D]"),
		spec,
		today,
		downgrade_mode,
		upgrades,
	)
	result = pd.DataFrame(
		{
			"customer": state.index,
			"old_tier": _tier_categorical(old, spec),
			"new_tier": _tier_categorical(decision["new"], spec),
			"change": pd.Categorical.from_codes(decision["change"], categories=list(CHANGES)),
			"reason_code": pd.Categorical.from_codes(decision["reason"], categories=list(REASON_CODES)),
			"reason": "",
			"metric": spec.metric,
			"metric_value": values,
			"qualifying_tier": _tier_categorical(decision["qualifying"], spec),
			"threshold": spec.thresholds[decision["threshold_of"]],
			"grace_ends": decision["grace_ends"].astype("datetime64[ns]"),
			"tier_since": decision["tier_since"].astype("datetime64[ns]"),
			"below_since": decision["below_since"].astype("datetime64[ns]"),
		}
	)
	result["reason"] = _reasons(result, spec.metric)
	return result


def _decide(
	old: np.ndarray,
	qualifying: np.ndarray,
	since: np.ndarray,
	below_since: np.ndarray,
	spec: _Ladder,
	today: np.datetime64,
	downgrade_mode: str,
	upgrades: bool,
) -> dict[str, np.ndarray]:
	"""The tier rules on whole arrays; positions index the ladder (-1 = no tier)."""
	nat = np.datetime64("NaT", "D")
	has_tier = old >= 0
	rises = has_tier & (qualifying > old)
	holds = has_tier & (qualifying == old)
	below = has_tier & (qualifying < old)
	upgrade = rises & upgrades

	grace = spec.grace_months[np.maximum(old, 0)]
	first_below = np.where(below & np.isnat(below_since), today, below_since)
	grace_ends = np.where(below, _add_months_array(first_below, grace), nat)
	grace_over = below & (grace_ends <= today)
	# One step per day: without this, one_rank with zero grace would fall all the way in
	# repeated runs of the same day and re-running a day would not be idempotent.
	changed_today = since == today
	due = grace_over & ~changed_today
	waits_a_day = grace_over & changed_today
	pending = below & ~grace_over

	step_down = old - 1 if downgrade_mode == "one_rank" else qualifying
	new = np.select([~has_tier, upgrade, due], [qualifying, qualifying, step_down], default=old)
	moved = ~has_tier | upgrade | due
	still_below = due & (new > qualifying)
	code = REASON_CODES.index
	return {
		"new": new,
		"qualifying": qualifying,
		"tier_since": np.where(moved, today, since),
		"below_since": np.select(
			[pending | waits_a_day, still_below], [first_below, np.full_like(first_below, today)], nat
		),
		"grace_ends": np.where(
			waits_a_day, np.maximum(grace_ends, today + np.timedelta64(1, "D")), grace_ends
		),
		"change": np.select(
			[~has_tier, upgrade, due, pending | waits_a_day],
			[CHANGES.index(name) for name in ("entry", "upgrade", "downgrade", "pending_downgrade")],
			CHANGES.index("none"),
		).astype("int8"),
		"reason": np.select(
			[~has_tier, upgrade, rises, holds, due, waits_a_day, pending],
			[
				code(name)
				for name in (
					"entry",
					"upgrade",
					"upgrade_disabled",
					"qualifies",
					"downgrade",
					"changed_today",
					"pending_downgrade",
				)
			],
			code("qualifies"),
		).astype("int8"),
		"threshold_of": np.select([~has_tier | rises, holds], [qualifying, new], default=old),
	}


def next_state(result: pd.DataFrame) -> pd.DataFrame:
	"""The columns to persist, shaped as ``current`` for the next :func:`evaluate_tiers` call."""
	state = result[["customer", "new_tier", "tier_since", "below_since"]].rename(columns={"new_tier": "tier"})
	state["tier"] = state["tier"].astype(object)
	return state.reset_index(drop=True)


def explain(row: Mapping[str, Any], translate: Any = None) -> str:
	"""One result row's reason, translated: ``explain(row, frappe._)``.

	The template comes from ``REASON_TEMPLATES[row["reason_code"]]`` and its arguments from the
	row's columns listed in ``REASON_ARGS``, so the Frappe layer needs to keep only the row.
	"""
	translate = translate or (lambda text: text)
	code = str(row["reason_code"])
	metric = str(row["metric"])
	args = []
	for column in REASON_ARGS[code]:
		if column == "metric":
			args.append(translate(METRIC_LABELS[metric]))
		else:
			args.append(_display(column, pd.Series([row[column]]), metric)[0])
	return translate(REASON_TEMPLATES[code]).format(*args)


def explain_all(result: pd.DataFrame, translate: Any = None) -> np.ndarray:
	"""Every row's reason, translated: :func:`explain` on a whole result, one template per code.

	Arguments are rendered once per column, so translating 100k reasons costs about as much as
	the English ``reason`` column :func:`evaluate_tiers` builds.
	"""
	translate = translate or (lambda text: text)
	reasons = np.empty(len(result), dtype=object)
	if not len(result):
		return reasons
	metric = str(result["metric"].iloc[0])
	codes = result["reason_code"].to_numpy(dtype=object)
	needed = {column for code in REASON_CODES for column in REASON_ARGS[code]} - {"metric"}
	shown = {column: _display(column, result[column], metric) for column in needed}
	shown["metric"] = np.full(len(result), translate(METRIC_LABELS[metric]), dtype=object)
	for code in REASON_CODES:
		rows = np.flatnonzero(codes == code)
		if rows.size:
			template = translate(REASON_TEMPLATES[code])
			args = [shown[column][rows].tolist() for column in REASON_ARGS[code]]
			reasons[rows] = [template.format(*values) for values in zip(*args, strict=True)]
	return reasons


def _current_state(current: pd.DataFrame, spec: _Ladder) -> pd.DataFrame:
	missing = [column for column in CURRENT_COLUMNS if column not in current.columns]
	if missing:
		raise EngineError(_("Current tiers are missing the column(s): {0}"), ", ".join(missing))
	customers = current["customer"].astype("string")
	blank = (customers.isna() | (customers.str.strip() == "")).to_numpy(dtype=bool)
	if blank.any():
		rows = ", ".join(str(i + 2) for i in np.flatnonzero(blank)[:10])
		raise EngineError(_("Current tiers have no customer on row(s): {0}"), rows)
	repeated = customers[customers.duplicated(keep=False)].unique()
	if len(repeated):
		raise EngineError(
			_("Current tiers list customer(s) more than once: {0}"), ", ".join(map(str, repeated[:10]))
		)
	positions = _tier_positions(current["tier"], customers, spec)
	return pd.DataFrame(
		{
			"position": positions,
			"tier_since": _day_array(current["tier_since"], customers, "tier_since"),
			"below_since": _day_array(current["below_since"], customers, "below_since"),
		},
		index=pd.Index(customers.to_numpy(dtype=object), name="customer"),
	)


def _tier_positions(tiers: pd.Series, customers: pd.Series, spec: _Ladder) -> np.ndarray:
	"""Factorize first so the string work (strip, lookup) runs once per distinct tier name."""
	codes, uniques = pd.factorize(tiers.to_numpy(dtype=object), use_na_sentinel=True)
	lookup = spec.position()
	mapped = np.array(
		[-1 if _is_blank(name) else lookup.get(str(name).strip(), -2) for name in uniques] + [-1],
		dtype="int64",
	)
	positions = mapped[codes]  # code -1 (missing) picks the trailing -1
	unknown = positions == -2
	if unknown.any():
		raise EngineError(
			_("Customer(s) {0} have a tier that is not in the ladder: {1}"),
			", ".join(map(str, customers[unknown].iloc[:10])),
			", ".join(sorted({str(name).strip() for name in tiers[unknown]})),
		)
	return positions


def _metric_series(metric_values: pd.Series) -> pd.Series:
	if metric_values.index.has_duplicates:
		repeated = metric_values.index[metric_values.index.duplicated()].unique()
		raise EngineError(
			_("Metric values list customer(s) more than once: {0}"), ", ".join(map(str, repeated[:10]))
		)
	numbers = _metric_array(metric_values)
	return pd.Series(numbers, index=pd.Index(metric_values.index.to_numpy(dtype=object), name="customer"))


def _align(state: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
	"""Current customers first in their order, then new customers; missing metric = 0."""
	new_customers = values.index.difference(state.index)
	if len(new_customers):
		nat = np.full(len(new_customers), np.datetime64("NaT", "D"))
		newcomers = pd.DataFrame(
			{
				"position": np.full(len(new_customers), -1, dtype="int64"),
				"tier_since": nat,
				"below_since": nat,
			},
			index=new_customers,
		)
		state = pd.concat([state, newcomers])
	state = state.copy()
	state["metric_value"] = values.reindex(state.index).fillna(0.0).to_numpy()
	return state


def _day_array(column: pd.Series, customers: pd.Series, name: str) -> np.ndarray:
	parsed = pd.to_datetime(column, errors="coerce")
	if getattr(parsed.dt, "tz", None) is not None:
		parsed = parsed.dt.tz_localize(None)
	suspect = (parsed.isna() & column.notna()).to_numpy(dtype=bool)
	if suspect.any():  # blank strings are "no date"; anything else unreadable is an error
		bad = suspect & ~column.astype("string").str.strip().isin(["", "NaT", "None", "nan"]).to_numpy(
			dtype=bool
		)
		if bad.any():
			raise EngineError(
				_("Unreadable date in {0} for customer(s) {1}"),
				name,
				", ".join(map(str, customers[bad].iloc[:10])),
			)
	return parsed.to_numpy().astype("datetime64[D]")


def _add_months_array(days: np.ndarray, months: np.ndarray) -> np.ndarray:
	"""Vectorised :func:`add_months` on datetime64[D] (NaT stays NaT)."""
	days = days.astype("datetime64[D]")
	out = np.full(days.shape, np.datetime64("NaT", "D"))
	known = ~np.isnat(days)
	if not known.any():
		return out
	day = days[known]
	month_start = day.astype("datetime64[M]")
	day_of_month = (day - month_start.astype("datetime64[D]")).astype("int64")
	target = month_start + months[known].astype("int64").astype("timedelta64[M]")
	first_day = target.astype("datetime64[D]")
	days_in_month = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first_day).astype("int64")
	out[known] = first_day + np.minimum(day_of_month, days_in_month - 1).astype("timedelta64[D]")
	return out


def _tier_categorical(positions: np.ndarray, spec: _Ladder) -> pd.Categorical:
	return pd.Categorical.from_codes(positions, categories=list(spec.names))


def _to_date(value: DateLike) -> date:
	try:
		stamp = pd.Timestamp(value)
	except (TypeError, ValueError):
		stamp = pd.NaT
	if pd.isna(stamp):
		raise EngineError(_("as_of must be a date, got {0}"), value)
	return stamp.date()


# --------------------------------------------------------------------------------------------
# Reasons
# --------------------------------------------------------------------------------------------


def _reasons(result: pd.DataFrame, metric: str) -> np.ndarray:
	"""English reasons: arguments rendered once per column, then one template per reason code."""
	reasons = np.empty(len(result), dtype=object)
	codes = result["reason_code"].to_numpy(dtype=object)
	needed = {column for code in REASON_CODES for column in REASON_ARGS[code]} - {"metric"}
	shown = {column: _display(column, result[column], metric) for column in needed}
	shown["metric"] = np.full(len(result), METRIC_LABELS[metric], dtype=object)
	for code in REASON_CODES:
		rows = np.flatnonzero(codes == code)
		if rows.size:
			args = [shown[column][rows].tolist() for column in REASON_ARGS[code]]
			reasons[rows] = [REASON_TEMPLATES[code].format(*values) for values in zip(*args, strict=True)]
	return reasons


def _display(column: str, values: pd.Series, metric: str) -> np.ndarray:
	"""Text for a reason argument: money/points to 2 decimals, invoices whole, dates ISO.

	Metric values are floored, not rounded, so 999.999 never reads "1000.00 ... qualifies".
	"""
	if column in ("metric_value", "threshold"):
		numbers = np.round(values.to_numpy(dtype="float64"), _COMPARE_DECIMALS)
		if metric == "invoices":
			return np.array([f"{x:.0f}" for x in np.floor(numbers).tolist()], dtype=object)
		return np.array([f"{x:.2f}" for x in (np.floor(numbers * 100) / 100).tolist()], dtype=object)
	if column == "grace_ends":
		days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
		text = np.datetime_as_string(days, unit="D").astype(object)
		text[np.isnat(days)] = "-"
		return text
	text = values.to_numpy(dtype=object).copy()
	text[pd.isna(text)] = "-"
	return text.astype(str).astype(object)
