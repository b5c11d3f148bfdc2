"""The churn part of the offline analysis: train the backtested model, score everyone, keep the evidence.

``loyalty-crm churn`` and ``loyalty-crm demo`` call :func:`churn_analysis`; its result feeds
``churn_scores.csv``, ``churn_model.json`` and the churn section of ``report.html``. Unlike the
CLV models, a churn model that cannot be trained is an error here, not a note: the user asked
for churn scores, and a file of constant scores would be a silent lie.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from loyalty_crm.engine.churn import (
	BANDS,
	DEFAULT_THRESHOLDS,
	ChurnModel,
	check_thresholds,
	classification_metrics,
	drivers_text,
)
from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import daily_purchases, normalize_transactions
from loyalty_crm.offline.pipeline import drop_future_rows

SCORE_COLUMNS = (
	"customer",
	"score",
	"band",
	"drivers",
	"expected_purchases",
	"p_alive",
	"predicted_clv",
	"value_at_risk",
	"days_since_last_purchase",
)
METRIC_NAMES = {
	"roc_auc": "ROC AUC",
	"pr_auc": "PR AUC",
	"brier": "Brier score",
	"top_decile_lift": "Top-decile lift",
}
MODEL_NAMES = {
	"model": "Churn model",
	"recency": "Baseline: recency alone",
	"bgnbd_expected": "Baseline: BG/NBD expected purchases",
}


@dataclass
class ChurnResult:
	"""The trained model, every customer's score and the checks a reader needs to trust them."""

	model: ChurnModel
	scores: pd.DataFrame
	settings: dict
	bands: pd.DataFrame
	holdout: dict | None = None
	notes: list[str] = field(default_factory=list)


def churn_analysis(
	transactions: pd.DataFrame,
	until: object = None,
	horizon_days: int = 90,
	thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
	today: object = None,
) -> ChurnResult:
	"""Train on data up to ``until`` (default: all), score as of ``until``; later rows check the scores.

	If the rows after ``until`` cover a whole horizon, the scores are compared with who really
	came back: a second, fully out-of-sample test beside the backtest. Rows dated after
	``today`` are left out with a note, as in ``analyze``.
	"""
	limits = check_thresholds(thresholds)
	notes: list[str] = []
	frame = drop_future_rows(normalize_transactions(transactions), today, notes)
	end = frame["date"].max() if until is None else _until(until)
	known = frame[frame["date"] <= end]
	if known.empty:
		raise EngineError(_("There are no transactions on or before {0}"), end.date())
	model = ChurnModel(horizon_days=horizon_days).fit(known, as_of=end)
	scores = model.score(known, as_of=end, thresholds=limits)
	result = ChurnResult(
		model=model,
		scores=scores,
		settings={
			"as_of": str(end.date()),
			"horizon_days": int(model.horizon_days),
			"thresholds": list(limits),
			"held_out_rows": int((frame["date"] > end).sum()),
		},
		bands=band_summary(scores),
		notes=notes,
	)
	later = frame[frame["date"] > end]
	if not later.empty:
		result.holdout = _holdout(scores, later, end, int(model.horizon_days))
	return result


def band_summary(scores: pd.DataFrame) -> pd.DataFrame:
	"""Customers, mean score and value at risk per band, in band order."""
	grouped = scores.groupby("band")
	table = pd.DataFrame(
		{
			"customers": grouped.size(),
			"mean_score": grouped["score"].mean(),
			"value_at_risk": grouped["value_at_risk"].sum(),
		}
	).reindex(list(BANDS))
	table["customers"] = table["customers"].fillna(0).astype(int)
	table["value_at_risk"] = table["value_at_risk"].fillna(0.0)
	table.index.name = "band"
	return table


def _until(until: object) -> pd.Timestamp:
	parsed = pd.to_datetime(until, errors="coerce")
	if pd.isna(parsed):
		raise EngineError(_("--until {0} is not a date (use YYYY-MM-DD)"), until)
	return pd.Timestamp(parsed).normalize()


def _holdout(scores: pd.DataFrame, later: pd.DataFrame, end: pd.Timestamp, horizon: int) -> dict:
	"""How the scores fared against what happened after ``end``, when a full horizon was observed."""
	last = later["date"].max()
	if last < end + pd.Timedelta(days=horizon):
		return {"complete": False, "days": int((last - end).days), "horizon_days": horizon}
	came_back = daily_purchases(later[later["date"] <= end + pd.Timedelta(days=horizon)])["customer"].unique()
	churned = ~scores["customer"].isin(came_back).to_numpy()
	metrics = {"customers": int(len(scores)), "churn_rate": float(churned.mean())}
	if 0 < churned.sum() < len(churned):
		metrics.update(classification_metrics(churned, scores["score"].to_numpy()))
	return {"complete": True, "days": horizon, "horizon_days": horizon, **metrics}


def metrics_table(model: ChurnModel) -> pd.DataFrame:
	"""Model and both baselines side by side, every metric, as the command prints and the report shows."""
	rows = {
		MODEL_NAMES[name]: {label: model.metrics_[name][key] for key, label in METRIC_NAMES.items()}
		for name in MODEL_NAMES
	}
	table = pd.DataFrame(rows).T
	table.index.name = "ranking"
	return table


def write_churn_outputs(result: ChurnResult, out_dir: str | Path) -> dict[str, Path]:
	"""churn_scores.csv (one row per customer, drivers in words) and churn_model.json."""
	out = Path(out_dir)
	out.mkdir(parents=True, exist_ok=True)
	paths = {name: out / name for name in ("churn_scores.csv", "churn_model.json")}
	scores = result.scores.copy()
	scores["drivers"] = [drivers_text(drivers) for drivers in scores["drivers"]]
	scores = scores.sort_values(["score", "customer"], ascending=[False, True], kind="stable")
	scores.round(6).to_csv(paths["churn_scores.csv"], index=False, columns=list(SCORE_COLUMNS))
	paths["churn_model.json"].write_text(json.dumps(churn_summary(result), indent=2), encoding="utf-8")
	return paths


def churn_summary(result: ChurnResult) -> dict:
	"""The JSON-able description of the trained model and its checks."""
	model = result.model
	return _plain(
		{
			"settings": result.settings,
			"chosen": model.chosen_,
			"data_start": str(model.data_start_.date()),
			"data_end": str(model.data_end_.date()),
			"cutoffs": [str(c.date()) for c in model.cutoffs_],
			"validation_cutoff": str(model.validation_cutoff_.date()),
			"customers": model.n_customers_,
			"metrics": model.metrics_,
			"calibration": model.calibration_.to_dict(orient="records"),
			"importances": model.importances_.to_dict(),
			"bands": result.bands.reset_index().to_dict(orient="records"),
			"holdout": result.holdout,
			"notes": result.notes,
		}
	)


def _plain(value):
	"""JSON has no NaN and no numpy scalars."""
	if isinstance(value, dict):
		return {str(k): _plain(v) for k, v in value.items()}
	if isinstance(value, list | tuple):
		return [_plain(v) for v in value]
	if isinstance(value, np.generic):
		value = value.item()
	if isinstance(value, float) and not np.isfinite(value):
		return None
	return value
