"""Satisfaction scores from survey responses: NPS, CSAT, CES and complaints.

One row per response: ``nps`` (0-10), ``csat`` (1-5), ``ces`` (1-7), ``complaint`` (yes/no),
``submitted_on`` (date), plus any grouping columns (pos_profile, segment, tier, company...).
Every score is optional per response (a survey may ask only some questions), so each metric is
computed over the responses that answered it and is NaN, not 0, where nobody did: a report
must show "no data", never a score of zero nobody gave.

Definitions (the usual industry ones, so figures compare with other tools):

* NPS = % promoters (9-10) - % detractors (0-6), in points from -100 to 100;
* CSAT = % of answers that are 4 or 5;
* CES = mean of the 1-7 answers, and ``ces_agree_pct`` = % of answers 5-7 ("agree it was easy");
* complaint rates are percentages: complaints per 100 responses, and per 100 invoices when an
  invoice count is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _

SCORES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
METRIC_COLUMNS = (*SCORES, "complaint")
PERIODS = ("month", "week")
SMALL_SAMPLE = 30
SUMMARY_COLUMNS = (
	"responses",
	"nps",
	"promoters",
	"passives",
	"detractors",
	"nps_responses",
	"csat",
	"csat_responses",
	"ces_mean",
	"ces_agree_pct",
	"ces_responses",
	"complaints",
	"complaint_rate_per_survey",
	"invoices",
	"complaint_rate_per_invoice",
	"small_sample",
)

_YES = {"1", "true", "yes", "y"}
_NO = {"0", "false", "no", "n"}
_BLANK = {"", "nan", "none", "nat", "<na>"}


def validate_responses(responses: pd.DataFrame) -> pd.DataFrame:
	"""Check survey responses once at the boundary; return a clean copy.

	Scores become float64 (NaN = not answered), ``complaint`` a bool (blank = no complaint;
	all <NA> when the column is absent),
	``submitted_on`` a day-grain datetime64. Metric columns that are absent are added as
	unanswered so every later step sees one shape. Errors name the field and the spreadsheet
	row (header = row 1). The input is never modified.
	"""
	if "submitted_on" not in responses.columns:
		raise EngineError(_("Survey responses are missing the column(s): {0}"), "submitted_on")
	if not any(column in responses.columns for column in METRIC_COLUMNS):
		raise EngineError(_("Survey responses need at least one of the columns nps, csat, ces, complaint"))
	out = responses.copy().reset_index(drop=True)
	for field, (low, high) in SCORES.items():
		out[field] = _score(out[field], field, low, high) if field in out.columns else np.nan
	out["complaint"] = (
		_flag(out["complaint"])
		if "complaint" in out.columns
		else pd.Series(pd.NA, index=out.index, dtype="boolean")
	)
	out["submitted_on"] = _dates(out["submitted_on"])
	return out


def _score(column: pd.Series, field: str, low: int, high: int) -> pd.Series:
	text = column.astype("string").str.strip()
	blank = column.isna() | text.str.lower().isin(_BLANK).fillna(True)
	numbers = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
	is_text = (numbers.isna() & ~blank).to_numpy(dtype=bool)
	if is_text.any():
		raise EngineError(
			_("Survey responses: {0} must be a number, got text {1} on row(s) {2}"),
			field,
			_examples(column, is_text),
			_rows(is_text),
		)
	fraction = (numbers.notna() & (numbers != np.floor(numbers))).to_numpy(dtype=bool)
	if fraction.any():
		raise EngineError(
			_("Survey responses: {0} must be a whole number, got {1} on row(s) {2}"),
			field,
			_examples(column, fraction),
			_rows(fraction),
		)
	outside = (numbers.notna() & ((numbers < low) | (numbers > high))).to_numpy(dtype=bool)
	if outside.any():
		raise EngineError(
			_("Survey responses: {0} must be between {1} and {2}, got {3} on row(s) {4}"),
			field,
			low,
			high,
			_examples(column, outside),
			_rows(outside),
		)
	return numbers


def _flag(column: pd.Series) -> pd.Series:
	if pd.api.types.is_bool_dtype(column.dtype):
		return column.fillna(False).astype(bool)
	text = column.astype("string").str.strip().str.lower()
	text = text.str.replace(r"\.0$", "", regex=True)  # 1.0 / 0.0 from a float column
	yes = text.isin(_YES).fillna(False).to_numpy(dtype=bool)
	no = (column.isna() | text.isin(_NO | _BLANK).fillna(True)).to_numpy(dtype=bool)
	bad = ~yes & ~no
	if bad.any():
		raise EngineError(
			_("Survey responses: complaint must be yes/no (true/false, 1/0), got {0} on row(s) {1}"),
			_examples(column, bad),
			_rows(bad),
		)
	return pd.Series(yes, index=column.index)


def _dates(column: pd.Series) -> pd.Series:
	dates = pd.to_datetime(column, errors="coerce")
	bad = dates.isna().to_numpy(dtype=bool)
	if bad.any():
		raise EngineError(
			_("Survey responses have a missing or unreadable submitted_on date on row(s) {0}"), _rows(bad)
		)
	if getattr(dates.dt, "tz", None) is not None:
		dates = dates.dt.tz_localize(None)
	return dates.dt.normalize()


def _rows(mask: np.ndarray, limit: int = 10) -> str:
	"""1-based spreadsheet rows (the header is row 1), by position, so any index works."""
	positions = np.flatnonzero(mask)
	rows = ", ".join(str(i + 2) for i in positions[:limit])
	more = len(positions) - limit
	return rows + (f" (+{more})" if more > 0 else "")


def _examples(column: pd.Series, mask: np.ndarray, limit: int = 3) -> str:
	return ", ".join(
		repr(value) if isinstance(value, str) else str(value) for value in column[mask].iloc[:limit]
	)


def score_summary(
	responses: pd.DataFrame,
	by: str | Sequence[str] | None = None,
	period: str | None = None,
	invoices: pd.DataFrame | pd.Series | None = None,
	small_sample: int = SMALL_SAMPLE,
) -> pd.DataFrame:
	"""NPS, CSAT, CES and complaint figures per group and/or period, one groupby pass.

	``by``: grouping column(s); ``period``: "month" or "week" (weeks start on Monday) adds a
	``period`` column holding the period's first day. ``invoices``: invoice counts for the
	complaint rate per invoice, either a DataFrame with the same key columns plus ``invoices``
	or a Series indexed by those keys (any date within a period is accepted as its key).
	``small_sample`` flags groups with fewer responses than this, where scores swing widely.

	Returns the key columns followed by ``SUMMARY_COLUMNS``, sorted by the keys. Without keys,
	one row for all responses. Columns about a metric nobody answered in a group are NaN.
	"""
	frame = validate_responses(responses)
	keys = _keys(frame, by)
	if period is not None:
		frame["period"] = _period_start(frame["submitted_on"], period)
		keys = [*keys, "period"]
	counts = _indicator_frame(frame)
	if keys:
		totals = counts.groupby([frame[key] for key in keys], dropna=False, sort=True, observed=True).sum()
		totals = totals.reset_index()
	else:
		totals = counts.sum().to_frame().T.astype("float64")
	summary = _ratios(totals, frame["complaint"].isna().all())
	summary["invoices"] = _invoice_counts(summary, keys, invoices, period)
	summary["complaint_rate_per_invoice"] = _percent(summary["complaints"], summary["invoices"])
	summary["small_sample"] = summary["responses"] < small_sample
	return summary[[*keys, *SUMMARY_COLUMNS]].reset_index(drop=True)


def _keys(frame: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
	keys = [by] if isinstance(by, str) else list(by or [])
	missing = [key for key in keys if key not in frame.columns]
	if missing:
		raise EngineError(_("Survey responses have no column(s) {0} to group by"), ", ".join(missing))
	reserved = [key for key in keys if key in (*METRIC_COLUMNS, "period")]
	if reserved:
		raise EngineError(
			_("Cannot group survey responses by {0}: it is a score column"), ", ".join(reserved)
		)
	return keys


def _period_start(dates: pd.Series, period: str) -> pd.Series:
	if period == "month":
		return dates.dt.to_period("M").dt.start_time
	if period == "week":
		return dates.dt.to_period("W-SUN").dt.start_time
	raise EngineError(_("Unknown survey period {0}; use month, week or none"), period)


def _indicator_frame(frame: pd.DataFrame) -> pd.DataFrame:
	"""0/1 columns (and CES sums) whose group sums give every figure: one groupby for all."""
	nps, csat, ces = frame["nps"], frame["csat"], frame["ces"]
	return pd.DataFrame(
		{
			"responses": 1,
			"promoters": (nps >= 9).astype("int64"),
			"passives": nps.between(7, 8).astype("int64"),
			"detractors": (nps <= 6).astype("int64"),
			"nps_responses": nps.notna().astype("int64"),
			"csat_satisfied": (csat >= 4).astype("int64"),
			"csat_responses": csat.notna().astype("int64"),
			"ces_sum": ces.fillna(0.0),
			"ces_agree": (ces >= 5).astype("int64"),
			"ces_responses": ces.notna().astype("int64"),
			"complaints": frame["complaint"].fillna(False).astype("int64"),
		},
		index=frame.index,
	)


def _ratios(totals: pd.DataFrame, no_complaint_column: bool) -> pd.DataFrame:
	out = totals.copy()
	out["nps"] = _percent(out["promoters"] - out["detractors"], out["nps_responses"])
	out["csat"] = _percent(out["csat_satisfied"], out["csat_responses"])
	out["ces_mean"] = out["ces_sum"] / out["ces_responses"].where(out["ces_responses"] > 0)
	out["ces_agree_pct"] = _percent(out["ces_agree"], out["ces_responses"])
	# float, so a group with no complaint question can hold NaN next to groups with counts
	out["complaints"] = np.nan if no_complaint_column else out["complaints"].astype("float64")
	out["complaint_rate_per_survey"] = _percent(out["complaints"], out["responses"])
	count_columns = ["responses", "promoters", "passives", "detractors", "nps_responses", "csat_responses"]
	out[[*count_columns, "ces_responses"]] = out[[*count_columns, "ces_responses"]].astype("int64")
	return out.drop(columns=["csat_satisfied", "ces_sum", "ces_agree"])


def _percent(part: pd.Series, whole: pd.Series) -> pd.Series:
	"""part / whole * 100, NaN where whole is 0 or missing (no answers is not a score of 0)."""
	whole = pd.to_numeric(whole, errors="coerce").astype("float64")
	return part.astype("float64") * 100.0 / whole.where(whole > 0)


def _invoice_counts(
	summary: pd.DataFrame,
	keys: list[str],
	invoices: pd.DataFrame | pd.Series | None,
	period: str | None,
) -> pd.Series:
	if invoices is None:
		return pd.Series(np.nan, index=summary.index, dtype="float64")
	table = invoices.rename("invoices").reset_index() if isinstance(invoices, pd.Series) else invoices.copy()
	if not keys:
		if len(table) != 1 or "invoices" not in table.columns:
			raise EngineError(
				_("Without groups, give the invoice count as a single value in an invoices column")
			)
		return pd.Series(float(table["invoices"].iloc[0]), index=summary.index)
	missing = [column for column in (*keys, "invoices") if column not in table.columns]
	if missing:
		raise EngineError(_("Invoice counts are missing the column(s): {0}"), ", ".join(missing))
	if period is not None:
		table["period"] = _period_start(pd.to_datetime(table["period"], errors="coerce"), period)
	numbers = pd.to_numeric(table["invoices"], errors="coerce")
	if numbers.isna().any() or (numbers < 0).any():
		raise EngineError(
			_("Invoice counts must be numbers of 0 or more; check row(s) {0}"), _rows(~(numbers >= 0))
		)
	table["invoices"] = numbers.astype("float64")
	table = table.groupby(keys, dropna=False, observed=True, as_index=False)["invoices"].sum()
	merged = summary[keys].merge(table, on=keys, how="left")
	return pd.Series(merged["invoices"].to_numpy(dtype="float64"), index=summary.index)
