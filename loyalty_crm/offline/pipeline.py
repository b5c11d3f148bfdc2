"""The whole offline analysis in one call: summary, models, CLV, RFM, cohorts, KPIs.

Model failures are expected on real data (a new shop where nobody has come back yet) and
must not cost the user the rest of the analysis: they become notes in the result, the CLV
columns stay empty, and historical value, RFM and cohorts are still reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from loyalty_crm.engine.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value, customer_summary
from loyalty_crm.engine.cohorts import (
	cohort_matrix,
	new_vs_repeat_by_month,
	repeat_purchase_rate,
	retention_curve,
	retention_rates,
)
from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import daily_purchases, normalize_transactions

# below these, BG/NBD parameters are reported with a warning (see _trust_note)
TRUST_CUSTOMERS = 30
TRUST_REPEAT_BUYERS = 10
TRUST_LOG_PARAM = 12.0  # |log(parameter)| above this: the optimiser ran towards a bound

CUSTOMER_COLUMNS = (
	"first_purchase",
	"last_purchase",
	"frequency",
	"recency",
	"T",
	"monetary_value",
	"historical_value",
	"recency_days",
	"r_score",
	"f_score",
	"m_score",
	"rfm_score",
	"segment",
	"p_alive",
	"expected_purchases",
	"expected_average_spend",
	"clv",
)


@dataclass
class AnalysisResult:
	"""Everything the report and the files need; plain tables and dicts, nothing to recompute."""

	customers: pd.DataFrame
	cohorts: pd.DataFrame
	retention: pd.DataFrame
	retention_curve: pd.Series
	monthly: pd.DataFrame
	kpis: dict
	settings: dict
	bgnbd: dict | None = None
	gamma_gamma: dict | None = None
	notes: list[str] = field(default_factory=list)
	holdout: dict | None = None


def analyze(
	transactions: pd.DataFrame,
	until: object = None,
	horizon_months: int = 12,
	discount_rate: float = 0.01,
	today: object = None,
) -> AnalysisResult:
	"""Fit on transactions up to ``until`` (default: all) and predict ``horizon_months`` ahead.

	Rows after ``until`` are held out; if there are any, the result compares the purchases the
	model predicted for that period with those that happened, the honest test of a CLV model.
	Rows dated after ``today`` (default: the machine's date) are typing errors or scheduled
	invoices, not history: they are left out and reported in the notes.
	"""
	if horizon_months < 0 or horizon_months != int(horizon_months):
		raise EngineError(
			_("The CLV horizon must be a whole number of months, 0 or more, got {0}"), horizon_months
		)
	notes: list[str] = []
	frame = drop_future_rows(normalize_transactions(transactions), today, notes)
	end = _until(frame, until)
	calibration, held_out = frame[frame["date"] <= end], frame[frame["date"] > end]
	if calibration.empty:
		raise EngineError(_("There are no transactions on or before {0}"), end.date())
	summary = customer_summary(calibration, observation_end=end)
	customers = summary.copy()
	bgnbd, gamma_gamma = _fit_models(summary, notes)
	_add_predictions(customers, summary, bgnbd, gamma_gamma, horizon_months, discount_rate)
	customers = customers.join(_rfm(calibration, end), how="left")
	cohorts = cohort_matrix(calibration, period="month")
	result = AnalysisResult(
		customers=customers.reindex(columns=list(CUSTOMER_COLUMNS)),
		cohorts=cohorts,
		retention=retention_rates(cohorts),
		retention_curve=retention_curve(cohorts),
		monthly=new_vs_repeat_by_month(calibration),
		kpis={},
		settings={
			"observation_start": str(calibration["date"].min().date()),
			"observation_end": str(end.date()),
			"horizon_months": int(horizon_months),
			"monthly_discount_rate": float(discount_rate),
			"held_out_rows": int(len(held_out)),
		},
		bgnbd=_model_dict(bgnbd),
		gamma_gamma=_model_dict(gamma_gamma),
		notes=notes,
	)
	result.kpis = _kpis(calibration, customers, result)
	if bgnbd is not None and not held_out.empty:
		result.holdout = _holdout(bgnbd, summary, held_out, end)
	return result


def drop_future_rows(frame: pd.DataFrame, today: object, notes: list[str]) -> pd.DataFrame:
	"""Leave out rows dated after today, with a note naming how many and which dates.

	One mistyped year (2099) would otherwise stretch every customer's observation window to
	that date and make everyone look long gone. Also refuses data with no rows at all, which
	would otherwise surface as "no transactions on or before NaT".
	"""
	if frame.empty:
		raise EngineError(_("There are no transactions: the data has a header but no rows"))
	limit = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today).normalize()
	future = frame["date"] > limit
	if not future.any():
		return frame
	dates = sorted(frame.loc[future, "date"].dt.strftime("%Y-%m-%d").unique())
	shown = ", ".join(dates[:5]) + (f" (+{len(dates) - 5})" if len(dates) > 5 else "")
	notes.append(
		str(
			EngineError(
				_("{0} row(s) dated after today ({1}) were left out: {2}. Check those dates"),
				int(future.sum()),
				limit.date(),
				shown,
			)
		)
	)
	kept = frame[~future].reset_index(drop=True)
	if kept.empty:
		raise EngineError(_("Every transaction is dated after today ({0}); check the dates"), limit.date())
	return kept


def _until(frame: pd.DataFrame, until: object) -> pd.Timestamp:
	if until is None:
		return pd.Timestamp(frame["date"].max())
	parsed = pd.to_datetime(until, errors="coerce")
	if pd.isna(parsed):
		raise EngineError(_("--until {0} is not a date (use YYYY-MM-DD)"), until)
	return pd.Timestamp(parsed).normalize()


def _fit_models(
	summary: pd.DataFrame, notes: list[str]
) -> tuple[BetaGeoModel | None, GammaGammaModel | None]:
	"""Fit what the data allow; each failure becomes a note saying what is missing."""
	bgnbd = gamma_gamma = None
	try:
		bgnbd = BetaGeoModel().fit(summary)
		_trust_note(bgnbd, summary, notes)
	except EngineError as error:
		notes.append(str(error))
	try:
		gamma_gamma = GammaGammaModel().fit(summary)
		if gamma_gamma.params_["q"] <= 1:
			notes.append(
				str(
					EngineError(
						_("Gamma-Gamma q <= 1: average spend has no finite mean; CLV is not computed")
					)
				)
			)
			gamma_gamma = None
	except EngineError as error:
		if bgnbd is not None:  # without BG/NBD the first note already explains the missing CLV
			notes.append(str(error))
	return bgnbd, gamma_gamma


def _trust_note(bgnbd: BetaGeoModel, summary: pd.DataFrame, notes: list[str]) -> None:
	"""Say so when the data are too few for BG/NBD's parameters to mean anything.

	On a handful of customers the likelihood is nearly flat along some direction and the
	optimiser wanders to absurd values (3 customers gave r = 228,812); the CLV numbers that
	follow from such a fit are noise. The fit is kept, because the user asked for it, but the
	note says why it should not be used.
	"""
	customers = len(summary)
	repeat = int((summary["frequency"] > 0).sum())
	params = bgnbd.params_
	at_bound = any(abs(np.log(value)) > TRUST_LOG_PARAM for value in params.values())
	if customers >= TRUST_CUSTOMERS and repeat >= TRUST_REPEAT_BUYERS and not at_bound:
		return
	shown = ", ".join(f"{name} = {value:,.4g}" for name, value in params.items())
	notes.append(
		str(
			EngineError(
				_(
					"BG/NBD was fitted on {0} customer(s), {1} with repeat purchases; its parameters ({2}) "
					"can't be trusted: a stable fit needs at least {3} customers, {4} of them with repeat "
					"purchases. Treat P(alive) and CLV as unknown"
				),
				customers,
				repeat,
				shown,
				TRUST_CUSTOMERS,
				TRUST_REPEAT_BUYERS,
			)
		)
	)


def _add_predictions(customers, summary, bgnbd, gamma_gamma, horizon_months, discount_rate) -> None:
	x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
	customers["p_alive"] = np.nan
	customers["expected_purchases"] = np.nan
	customers["expected_average_spend"] = np.nan
	customers["clv"] = np.nan
	if bgnbd is not None:
		horizon_days = horizon_months * 30.0
		customers["p_alive"] = bgnbd.conditional_probability_alive(x, t_x, T)
		customers["expected_purchases"] = bgnbd.conditional_expected_number_of_purchases_up_to_time(
			horizon_days, x, t_x, T
		)
	if gamma_gamma is not None:
		customers["expected_average_spend"] = gamma_gamma.conditional_expected_average_profit(
			x, summary["monetary_value"].to_numpy(dtype=float)
		)
	if bgnbd is not None and gamma_gamma is not None:
		customers["clv"] = customer_lifetime_value(bgnbd, gamma_gamma, summary, horizon_months, discount_rate)


def _rfm(calibration: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
	"""RFM scores from the rfm engine module (written in parallel; absent -> no RFM columns)."""
	try:
		from loyalty_crm.engine.rfm import rfm_scores
	except ImportError:  # single call site: remove this guard once engine/rfm.py is always present
		return pd.DataFrame()
	scores = rfm_scores(calibration, as_of=end)
	scores.index = scores.index.astype(str)
	return scores[["recency_days", "r_score", "f_score", "m_score", "rfm_score", "segment"]]


def _model_dict(model: BetaGeoModel | GammaGammaModel | None) -> dict | None:
	if model is None:
		return None
	return {"params": model.params_, "log_likelihood": model.log_likelihood_, "customers": model.n_customers_}


def _kpis(calibration: pd.DataFrame, customers: pd.DataFrame, result: AnalysisResult) -> dict:
	trips = daily_purchases(calibration)
	value = customers["historical_value"].sort_values(ascending=False)
	top = max(1, int(round(len(value) * 0.2)))
	total = float(value.sum())
	clv = customers["clv"]
	return {
		"customers": int(len(customers)),
		"purchases": int(len(trips)),
		"net_revenue": float(calibration["amount"].sum()),
		"average_purchase": float(trips["amount"].mean()) if len(trips) else 0.0,
		"repeat_purchase_rate": repeat_purchase_rate(calibration),
		"top20_revenue_share": float(value.iloc[:top].sum() / total) if total > 0 else float("nan"),
		"expected_active": float(customers["p_alive"].sum()) if customers["p_alive"].notna().any() else None,
		"predicted_clv_total": float(clv.sum()) if clv.notna().any() else None,
		"predicted_clv_mean": float(clv.mean()) if clv.notna().any() else None,
		"retention_month_1": float(result.retention_curve.get(1, np.nan)),
	}


def _holdout(bgnbd: BetaGeoModel, summary: pd.DataFrame, held_out: pd.DataFrame, end: pd.Timestamp) -> dict:
	"""Predicted vs actual purchases of calibration customers in the held-out period, overall and by frequency."""
	days = float((held_out["date"].max() - end).days)
	trips = daily_purchases(held_out)
	actual = trips[trips["customer"].isin(summary.index)].groupby("customer").size()
	actual = actual.reindex(summary.index, fill_value=0).astype(float)
	x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
	predicted = bgnbd.conditional_expected_number_of_purchases_up_to_time(days, x, t_x, T)
	by_frequency = (
		pd.DataFrame(
			{"frequency": np.minimum(x, 7).astype(int), "actual": actual.to_numpy(), "predicted": predicted}
		)
		.groupby("frequency")
		.mean()
	)
	return {
		"days": days,
		"rows": int(len(held_out)),
		"actual_purchases": float(actual.sum()),
		"predicted_purchases": float(predicted.sum()),
		"by_frequency": by_frequency,
	}


def write_outputs(result: AnalysisResult, out_dir: str | Path, churn=None) -> dict[str, Path]:
	"""Write customers.csv, cohorts.csv, model.json and report.html; return their paths.

	With ``churn`` (a :class:`~loyalty_crm.offline.churn.ChurnResult`) also churn_scores.csv and
	churn_model.json, and the report gets its churn section.
	"""
	from loyalty_crm.offline.report import render_report  # matplotlib is imported only when writing

	out = Path(out_dir)
	out.mkdir(parents=True, exist_ok=True)
	paths = {name: out / name for name in ("customers.csv", "cohorts.csv", "model.json", "report.html")}
	customers = result.customers.copy()
	for column in ("first_purchase", "last_purchase"):
		customers[column] = customers[column].dt.strftime("%Y-%m-%d")
	customers.round(6).to_csv(paths["customers.csv"], index_label="customer")
	cohorts = result.cohorts.copy()
	cohorts.index = cohorts.index.astype(str)
	cohorts.to_csv(paths["cohorts.csv"], index_label="cohort")
	paths["model.json"].write_text(json.dumps(model_summary(result), indent=2), encoding="utf-8")
	if churn is not None:
		from loyalty_crm.offline.churn import write_churn_outputs

		paths.update(write_churn_outputs(churn, out))
	paths["report.html"].write_text(render_report(result, churn), encoding="utf-8")
	return paths


def model_summary(result: AnalysisResult) -> dict:
	"""The JSON-able part of the result: settings, model parameters, KPIs, notes, holdout totals."""
	holdout = None
	if result.holdout is not None:
		holdout = {key: value for key, value in result.holdout.items() if key != "by_frequency"}
	return {
		"settings": result.settings,
		"bgnbd": result.bgnbd,
		"gamma_gamma": result.gamma_gamma,
		"kpis": {
			key: (None if isinstance(v, float) and np.isnan(v) else v) for key, v in result.kpis.items()
		},
		"notes": result.notes,
		"holdout": holdout,
	}
