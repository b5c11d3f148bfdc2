"""BG/NBD and Gamma-Gamma: the published CDNOW numbers, hand-checked summaries and model properties."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_crm.engine.clv import (
	BetaGeoModel,
	GammaGammaModel,
	customer_lifetime_value,
	customer_summary,
)
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.offline.demo_data import demo_transactions

# Fader, Hardie & Lee (2005): calibration = the 39 weeks from 1997-01-01, i.e. up to 1997-09-30
# inclusive (1997-01-01 + 272 days); that end date reproduces lifetimes' cdnow_customers_summary.csv
# exactly (T = 272 / 7 = 38.86 weeks for the 1 January buyers), 1997-09-29 and 1997-10-01 do not.
CALIBRATION_END = "1997-09-30"


def _lifetimes_datasets() -> Path | None:
	"""lifetimes ships the CDNOW sample; find it without importing lifetimes (slow, pandas-3 warnings)."""
	spec = importlib.util.find_spec("lifetimes")
	if spec is None or not spec.submodule_search_locations:
		return None
	folder = Path(spec.submodule_search_locations[0]) / "datasets"
	return folder if (folder / "CDNOW_sample.txt").exists() else None


DATASETS = _lifetimes_datasets()
needs_cdnow = pytest.mark.skipif(
	DATASETS is None, reason="lifetimes (which ships the CDNOW sample) is not installed"
)


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
	raw = pd.read_csv(
		DATASETS / "CDNOW_sample.txt",
		sep=r"\s+",
		header=None,
		names=["id", "customer", "date", "cds", "amount"],
		dtype={"id": str, "customer": str, "date": str},
	)
	# 8 CDNOW rows record CDs bought for $0.00; the paper counts them as purchases, and so does
	# daily_purchases (a free sale with nothing returned that day is still a shopping trip).
	return pd.DataFrame(
		{"customer": raw["customer"], "date": pd.to_datetime(raw["date"]), "amount": raw["amount"]}
	)


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
	return customer_summary(cdnow_transactions, observation_end=CALIBRATION_END, time_unit_days=7)


# --- the published CDNOW results ---------------------------------------------------------------


@needs_cdnow
def test_daily_grain_weekly_unit_summary_matches_published_cdnow_summary(cdnow_summary: pd.DataFrame) -> None:
	published = pd.read_csv(DATASETS / "cdnow_customers_summary_with_transactions.csv")
	ours = cdnow_summary.sort_index()
	assert len(ours) == len(published) == 2357
	np.testing.assert_array_equal(ours["frequency"].to_numpy(), published["x"].to_numpy())
	np.testing.assert_allclose(ours["recency"].round(2).to_numpy(), published["t_x"].to_numpy(), atol=1e-9)
	np.testing.assert_allclose(ours["T"].round(2).to_numpy(), published["T"].to_numpy(), atol=1e-9)
	# zbar is the mean of the repeat purchases (first purchase excluded), published to the cent
	np.testing.assert_allclose(ours["monetary_value"].to_numpy(), published["zbar"].to_numpy(), atol=0.0051)


@needs_cdnow
def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow_summary: pd.DataFrame) -> None:
	model = BetaGeoModel().fit(cdnow_summary)
	assert model is not None and isinstance(model, BetaGeoModel)
	params = model.params_
	assert round(params["r"], 3) == 0.243
	assert round(params["alpha"], 3) == 4.414
	assert round(params["a"], 3) == 0.793
	assert round(params["b"], 3) == 2.426
	assert round(model.log_likelihood_, 1) == -9582.4
	assert model.n_customers_ == 2357
	assert model.n_distinct_ < 2357  # identical histories were grouped


@needs_cdnow
def test_gamma_gamma_reproduces_rfm_and_clv_paper(cdnow_summary: pd.DataFrame) -> None:
	# The paper fits the mean repeat-purchase value of the 946 calibration repeat buyers.
	model = GammaGammaModel().fit(cdnow_summary)
	assert model.n_customers_ == 946
	assert round(model.params_["p"], 2) == 6.25
	assert round(model.params_["q"], 2) == 3.74
	assert round(model.params_["v"], 2) == 15.44


@needs_cdnow
def test_weekly_bucketing_gives_different_parameters(cdnow_transactions: pd.DataFrame) -> None:
	# Integer weeks (every date moved to the start of its week since 1997-01-01) lose the day-level
	# recency the paper used, so the fit moves off the published values.
	start = pd.Timestamp("1997-01-01")
	weeks = (cdnow_transactions["date"] - start).dt.days // 7
	bucketed = cdnow_transactions.assign(date=start + pd.to_timedelta(weeks * 7, unit="D"))
	summary = customer_summary(bucketed, observation_end=start + pd.Timedelta(days=38 * 7), time_unit_days=7)
	assert (summary["recency"] == summary["recency"].round()).all()
	params = BetaGeoModel().fit(summary).params_
	published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
	assert any(round(params[name], 3) != value for name, value in published.items())


@needs_cdnow
def test_paper_predictions_for_customer_1(cdnow_summary: pd.DataFrame) -> None:
	model = BetaGeoModel().fit(cdnow_summary)
	r, alpha, a, b = (model.params_[k] for k in ("r", "alpha", "a", "b"))
	x, t_x, T = 2, 30.43, 38.86
	# P(alive) = 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))
	expected = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
	assert model.conditional_probability_alive(x, t_x, T) == pytest.approx(expected, rel=1e-12)
	assert model.conditional_probability_alive(x, t_x, T) == pytest.approx(0.726, abs=1e-3)


# --- customer_summary by hand ------------------------------------------------------------------


def _three_customers() -> pd.DataFrame:
	return pd.DataFrame(
		{
			"customer": ["A", "A", "A", "A", "B", "B", "C", "C"],
			"date": [
				"2024-01-01",
				"2024-01-01",  # same day as the first: one trip of 30 + 20 = 50
				"2024-01-11",
				"2024-01-21",
				"2024-01-05",
				"2024-01-15",  # a return only: not a purchase, but netted in historical value
				"2024-01-10",
				"2024-01-31",  # after observation end: ignored
			],
			"amount": [30.0, 20.0, 40.0, 60.0, 80.0, -30.0, 25.0, 99.0],
		}
	)


def test_customer_summary_by_hand() -> None:
	frame = _three_customers()
	before = frame.copy()
	summary = customer_summary(frame, observation_end="2024-01-30")
	pd.testing.assert_frame_equal(frame, before)  # input not mutated
	a, b, c = (summary.loc[name] for name in ("A", "B", "C"))
	# A: purchase days 01-01 (50), 01-11 (40), 01-21 (60) -> 2 repeats, age at last 20 days, T = 29 days
	assert (a["frequency"], a["recency"], a["T"]) == (2, 20.0, 29.0)
	assert a["monetary_value"] == pytest.approx((40 + 60) / 2)  # repeats only
	assert a["historical_value"] == pytest.approx(150.0)
	# B: one purchase day (the return day nets negative), historical value 80 - 30
	assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0.0, 25.0, 0.0)
	assert b["historical_value"] == pytest.approx(50.0)
	# C: the 01-31 purchase is after the observation end
	assert (c["frequency"], c["T"], c["historical_value"]) == (0, 20.0, 25.0)
	assert c["last_purchase"] == pd.Timestamp("2024-01-10")


def test_customer_summary_in_weeks() -> None:
	summary = customer_summary(_three_customers(), observation_end="2024-01-30", time_unit_days=7)
	assert summary.loc["A", "recency"] == pytest.approx(20 / 7)
	assert summary.loc["A", "T"] == pytest.approx(29 / 7)


def test_customer_summary_rejects_bad_end_date() -> None:
	with pytest.raises(EngineError, match="not a date"):
		customer_summary(_three_customers(), observation_end="someday")


# --- degenerate fits ---------------------------------------------------------------------------


def _summary(rows: list[tuple[int, float, float, float]]) -> pd.DataFrame:
	return pd.DataFrame(rows, columns=["frequency", "recency", "T", "monetary_value"])


def test_all_one_time_buyers_is_a_clear_error() -> None:
	summary = _summary([(0, 0.0, 10.0, 0.0), (0, 0.0, 20.0, 0.0), (0, 0.0, 5.0, 0.0)])
	before = summary.copy()
	with pytest.raises(
		EngineError, match="BG/NBD needs repeat purchases.*historical value is still available"
	):
		BetaGeoModel().fit(summary)
	pd.testing.assert_frame_equal(summary, before)


def test_single_customer_cannot_be_fitted() -> None:
	with pytest.raises(EngineError, match="at least 2 customers, got 1"):
		BetaGeoModel().fit(_summary([(3, 10.0, 20.0, 5.0)]))


def test_gamma_gamma_needs_two_repeat_customers() -> None:
	summary = _summary([(3, 10.0, 20.0, 5.0), (0, 0.0, 20.0, 0.0), (0, 0.0, 8.0, 0.0)])
	with pytest.raises(EngineError, match="at least 2 customers with repeat purchases, got 1"):
		GammaGammaModel().fit(summary)


def test_recency_beyond_age_is_rejected() -> None:
	with pytest.raises(EngineError, match="Recency must be between 0 and T"):
		BetaGeoModel().fit(_summary([(1, 30.0, 20.0, 5.0), (0, 0.0, 20.0, 0.0)]))


def test_unfitted_model_says_so() -> None:
	with pytest.raises(EngineError, match="not fitted"):
		BetaGeoModel().conditional_probability_alive(1, 1, 2)


# --- grouping and properties -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_fit() -> tuple[BetaGeoModel, GammaGammaModel, pd.DataFrame]:
	# data that follow the models (the demo shop's simulator), so the fit is well-posed
	summary = customer_summary(demo_transactions(n_customers=400, seed=3))
	return BetaGeoModel().fit(summary), GammaGammaModel().fit(summary), summary


def test_grouping_duplicates_doubles_likelihood_not_parameters(small_fit) -> None:
	model, _gg, summary = small_fit
	doubled = BetaGeoModel().fit(pd.concat([summary, summary], ignore_index=True))
	assert doubled.n_distinct_ == model.n_distinct_
	assert doubled.log_likelihood_ == pytest.approx(2 * model.log_likelihood_, rel=1e-9)
	for name, value in model.params_.items():
		assert doubled.params_[name] == pytest.approx(value, rel=1e-5)


def test_one_time_buyers_are_alive_and_p_alive_falls_with_silence(small_fit) -> None:
	model, _gg, _summary_ = small_fit
	assert model.conditional_probability_alive(0, 0, 100) == 1.0
	ages = np.array([20.0, 40.0, 80.0, 160.0])
	alive = model.conditional_probability_alive(3, 20.0, ages)
	assert np.all(np.diff(alive) < 0)


def test_expected_purchases_grow_with_time_and_frequency(small_fit) -> None:
	model, _gg, _summary_ = small_fit
	horizon = model.conditional_expected_number_of_purchases_up_to_time(
		np.array([0.0, 30, 90, 365]), 2, 50.0, 60.0
	)
	assert horizon[0] == pytest.approx(0.0, abs=1e-12)
	assert np.all(np.diff(horizon) > 0)
	by_frequency = model.conditional_expected_number_of_purchases_up_to_time(
		90, np.array([0, 1, 3, 8]), 60.0, 60.0
	)
	assert np.all(np.diff(by_frequency) > 0)


def test_expected_spend_shrinks_towards_population_mean(small_fit) -> None:
	_model, gg, _summary_ = small_fit
	p, q, v = gg.params_["p"], gg.params_["q"], gg.params_["v"]
	population = p * v / (q - 1)
	assert gg.conditional_expected_average_profit(0, 0.0) == pytest.approx(population)
	# E[Z | x, m] = p (v + x m) / (p x + q - 1): a weighted mean of the population mean and m
	spend = gg.conditional_expected_average_profit(4, 100.0)
	assert spend == pytest.approx(p * (v + 400.0) / (4 * p + q - 1))
	assert min(population, 100.0) < spend < max(population, 100.0)


def test_clv_horizon_zero_is_zero(small_fit) -> None:
	model, gg, summary = small_fit
	clv = customer_lifetime_value(model, gg, summary, horizon_months=0)
	assert (clv == 0).all() and clv.index.equals(summary.index)


def test_clv_without_discount_is_spend_times_expected_purchases(small_fit) -> None:
	model, gg, summary = small_fit
	head = summary.head(5)
	clv = customer_lifetime_value(model, gg, head, horizon_months=12, monthly_discount_rate=0.0)
	# monthly increments telescope: sum_k (E[Y(30k)] - E[Y(30(k-1))]) = E[Y(360)]
	x, t_x, T = (head[c].to_numpy(float) for c in ("frequency", "recency", "T"))
	expected = gg.conditional_expected_average_profit(x, head["monetary_value"]) * (
		model.conditional_expected_number_of_purchases_up_to_time(360.0, x, t_x, T)
	)
	np.testing.assert_allclose(clv.to_numpy(), expected, rtol=1e-10)


def test_clv_one_month_is_discounted_once(small_fit) -> None:
	model, gg, summary = small_fit
	head = summary.head(3)
	plain = customer_lifetime_value(model, gg, head, horizon_months=1, monthly_discount_rate=0.0)
	discounted = customer_lifetime_value(model, gg, head, horizon_months=1, monthly_discount_rate=0.25)
	np.testing.assert_allclose(discounted.to_numpy(), plain.to_numpy() / 1.25, rtol=1e-12)


def test_clv_rejects_negative_horizon(small_fit) -> None:
	model, gg, summary = small_fit
	with pytest.raises(EngineError, match="whole number of months"):
		customer_lifetime_value(model, gg, summary, horizon_months=-1)


@settings(max_examples=60, deadline=None)
@given(
	x=st.integers(0, 60),
	recency_share=st.floats(0.0, 1.0),
	T=st.floats(1.0, 2000.0),
	t=st.floats(0.0, 3000.0),
)
def test_predictions_are_finite_probabilities_and_counts(
	x: int, recency_share: float, T: float, t: float
) -> None:
	model = BetaGeoModel()
	model.params_ = {"r": 0.5, "alpha": 20.0, "a": 1.5, "b": 4.0}
	t_x = recency_share * T if x > 0 else 0.0
	alive = float(model.conditional_probability_alive(x, t_x, T))
	expected = float(model.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T))
	assert 0.0 <= alive <= 1.0 and math.isfinite(alive)
	assert expected >= -1e-9 and math.isfinite(expected)
