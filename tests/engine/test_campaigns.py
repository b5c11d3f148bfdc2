"""Retention campaign engine: control-group assignment, lift and its interval, the daily curve."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from loyalty_crm.engine import campaigns
from loyalty_crm.engine.errors import EngineError


def _customers(n: int, strata: int = 3) -> tuple[list[str], list[str]]:
	names = [f"CUST-{i:05d}" for i in range(n)]
	return names, [f"S{i % strata}" for i in range(n)]


def test_assignment_is_reproducible_from_the_seed_and_independent_of_order():
	names, strata = _customers(600)
	first = campaigns.assign_groups(names, strata, 10, seed=42)
	shuffled = np.random.default_rng(7).permutation(len(names))
	again = campaigns.assign_groups([names[i] for i in shuffled], [strata[i] for i in shuffled], 10, seed=42)
	pd.testing.assert_frame_equal(first.reset_index(drop=True), again.reset_index(drop=True))
	other_seed = campaigns.assign_groups(names, strata, 10, seed=43)
	assert set(first.loc[first.group == "Control", "customer"]) != set(
		other_seed.loc[other_seed.group == "Control", "customer"]
	)


@pytest.mark.parametrize("share", [0, 5, 10, 33, 50])
def test_assignment_is_balanced_within_every_stratum(share):
	# Uneven strata: 7, 50 and 943 customers.
	names = [f"C{i}" for i in range(1000)]
	strata = ["tiny"] * 7 + ["small"] * 50 + ["big"] * 943
	frame = campaigns.assign_groups(names, strata, share, seed=2026)
	assert len(frame) == 1000 and frame["customer"].is_unique
	for stratum, size in {"tiny": 7, "small": 50, "big": 943}.items():
		control = int(((frame.stratum == stratum) & (frame.group == "Control")).sum())
		assert abs(control - size * share / 100) <= 0.5, (stratum, control)


def test_control_members_are_random_not_the_first_names():
	names, strata = _customers(1000, strata=1)
	frame = campaigns.assign_groups(names, strata, 10, seed=1)
	control_index = np.flatnonzero(frame.set_index("customer").loc[names, "group"].to_numpy() == "Control")
	# 100 controls spread over the range: not bunched at either end.
	assert 300 < control_index.mean() < 700


@pytest.mark.parametrize("share", [-1, 50.5, 90, "ten", float("nan")])
def test_control_share_outside_0_to_50_is_refused(share):
	with pytest.raises(EngineError, match="Control group share"):
		campaigns.assign_groups(["A", "B"], None, share, seed=1)


def test_bad_targets_are_refused():
	with pytest.raises(EngineError, match="no customers"):
		campaigns.assign_groups([], None, 10, seed=1)
	with pytest.raises(EngineError, match="repeated: A"):
		campaigns.assign_groups(["A", "B", "A"], None, 10, seed=1)
	with pytest.raises(EngineError, match="seed"):
		campaigns.assign_groups(["A"], None, 10, seed=-3)


def test_lift_worked_example():
	"""Four treated and four control customers, worked by hand.

	Treated revenue 0, 10, 20, 30: mean 15, sample variance 500/3, variance of the mean 125/3.
	Control revenue 0, 0, 10, 10: mean 5, sample variance 100/3, variance of the mean 25/3.
	Difference 10; standard error sqrt(125/3 + 25/3) = sqrt(50) = 7.0711.
	Welch-Satterthwaite df = 50^2 / ((125/3)^2/3 + (25/3)^2/3) = 2500 / (16250/27) = 4.1538.
	t(0.975, 4.1538) = 2.7364 (between the table's 2.776 at 4 df and 2.571 at 5), so the
	interval is 10 +- 19.349 = [-9.349, 29.349], and incremental revenue (x 4 treated
	customers) is 40 in [-37.40, 117.40].
	Bought: 3/4 vs 2/4, difference 0.25, se = sqrt(.75*.25/4 + .5*.5/4) = 0.33072,
	interval 0.25 +- 1.95996 * 0.33072 = [-0.3982, 0.8982].
	"""
	outcomes = pd.DataFrame(
		{
			"group": ["Treated"] * 4 + ["Control"] * 4,
			"revenue": [0, 10, 20, 30, 0, 0, 10, 10],
			"bought": [False, True, True, True, False, False, True, True],
		}
	)
	result = campaigns.lift(outcomes)
	assert (result.treated_customers, result.control_customers) == (4, 4)
	assert result.treated_revenue_per_customer == 15 and result.control_revenue_per_customer == 5
	df = 2500 / (16250 / 27)
	assert df == pytest.approx(4.1538, abs=1e-4)
	assert stats.t.ppf(0.975, df) == pytest.approx(2.7364, abs=1e-3)
	diff = result.revenue_per_customer_difference
	assert diff.estimate == pytest.approx(10)
	assert (diff.low, diff.high) == (pytest.approx(-9.349, abs=2e-2), pytest.approx(29.349, abs=2e-2))
	incremental = result.incremental_revenue
	assert incremental.estimate == pytest.approx(40)
	assert (incremental.low, incremental.high) == (
		pytest.approx(-37.40, abs=0.1),
		pytest.approx(117.40, abs=0.1),
	)
	# Same as scipy's own Welch test interval.
	scipy_ci = stats.ttest_ind([0, 10, 20, 30], [0, 0, 10, 10], equal_var=False).confidence_interval(0.95)
	assert (diff.low, diff.high) == (pytest.approx(scipy_ci.low), pytest.approx(scipy_ci.high))
	rate = result.buy_rate_difference
	assert (result.treated_buy_rate, result.control_buy_rate) == (0.75, 0.5)
	assert (rate.estimate, rate.low, rate.high) == (
		pytest.approx(0.25),
		pytest.approx(-0.3982, abs=1e-4),
		pytest.approx(0.8982, abs=1e-4),
	)


def test_a_clear_effect_has_an_interval_above_zero():
	rng = np.random.default_rng(5)
	treated = rng.gamma(2.0, 30.0, 400) * (rng.random(400) < 0.6)
	control = rng.gamma(2.0, 30.0, 100) * (rng.random(100) < 0.2)
	outcomes = pd.DataFrame(
		{
			"group": ["Treated"] * 400 + ["Control"] * 100,
			"revenue": np.concatenate([treated, control]),
			"bought": np.concatenate([treated, control]) > 0,
		}
	)
	result = campaigns.lift(outcomes)
	assert result.incremental_revenue.low > 0
	assert result.buy_rate_difference.low > 0


def test_with_no_true_effect_the_interval_covers_zero_about_95_percent_of_the_time():
	"""2,000 simulated campaigns where the offer does nothing: both groups buy alike.

	Skewed spend (60 % buy nothing, the rest gamma), 800 customers, 20 % held back. The Welch
	interval for incremental revenue and the Wald interval for the share who bought should each
	miss 0 about 5 % of the time; with 2,000 runs the binomial spread is about 0.5 %.
	"""
	rng = np.random.default_rng(20261129)
	runs, n = 2000, 800
	groups = campaigns.assign_groups([f"C{i}" for i in range(n)], None, 20, seed=3)["group"].to_numpy()
	covered_revenue = covered_rate = 0
	for _run in range(runs):
		bought = rng.random(n) < 0.4
		revenue = np.where(bought, rng.gamma(1.5, 40.0, n), 0.0)
		result = campaigns.lift(pd.DataFrame({"group": groups, "revenue": revenue, "bought": bought}))
		covered_revenue += result.incremental_revenue.covers(0.0)
		covered_rate += result.buy_rate_difference.covers(0.0)
	assert 0.93 <= covered_revenue / runs <= 0.97
	assert 0.93 <= covered_rate / runs <= 0.97


def test_small_groups_give_no_interval_rather_than_a_wrong_one():
	result = campaigns.lift(
		pd.DataFrame({"group": ["Treated", "Control"], "revenue": [5, 1], "bought": [1, 1]})
	)
	assert result.revenue_per_customer_difference.estimate == 4
	assert math.isnan(result.revenue_per_customer_difference.low)


def test_lift_refuses_unknown_groups():
	with pytest.raises(EngineError, match="Unknown campaign group"):
		campaigns.lift(pd.DataFrame({"group": ["Test"], "revenue": [1], "bought": [True]}))


def test_return_on_cost():
	assert campaigns.return_on_cost(300, 100) == 2.0
	assert campaigns.return_on_cost(50, 100) == -0.5
	assert math.isnan(campaigns.return_on_cost(50, 0))


def test_cumulative_revenue_per_customer_by_day():
	daily = pd.DataFrame(
		{
			"group": ["Treated", "Treated", "Control", "Treated", "Control"],
			"day": [0, 2, 1, 2, 9],  # day 9 is outside a 4-day window
			"revenue": [10.0, 20.0, 6.0, 10.0, 99.0],
		}
	)
	curve = campaigns.cumulative_revenue(daily, treated_customers=10, control_customers=3, days=4)
	assert curve["treated"].tolist() == [1.0, 1.0, 4.0, 4.0]
	assert curve["control"].tolist() == [0.0, 2.0, 2.0, 2.0]
	with pytest.raises(EngineError):
		campaigns.cumulative_revenue(daily, 1, 1, 0)
