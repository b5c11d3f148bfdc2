"""The array path of the CLV engine against straightforward references, on small random data.

``customer_summary`` works on integer codes and day numbers, the Gamma-Gamma likelihood is split
into terms per distinct frequency, and predictions and CLV run once per distinct (frequency, T).
Each is checked here against the plain definition written one customer (or one row) at a time.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from loyalty_crm.engine import clv
from loyalty_crm.engine.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value, customer_summary
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.transactions import daily_purchases, normalize_transactions

END = pd.Timestamp("2025-03-31")


def reference_summary(frame: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
	"""The summary's definition, one customer and one day at a time (small data only)."""
	days: dict[str, dict[pd.Timestamp, list[float]]] = defaultdict(lambda: defaultdict(list))
	historical: dict[str, float] = defaultdict(float)
	for customer, date, amount in frame[["customer", "date", "amount"]].itertuples(index=False):
		name, day = str(customer).strip(), pd.Timestamp(date).normalize()
		if day <= end:
			days[name][day].append(float(amount))
			historical[name] += float(amount)
	rows = {}
	for name, by_day in days.items():
		purchases = []
		for day in sorted(by_day):
			amounts = by_day[day]
			net = sum(amounts)
			if net > 0 or (net == 0 and min(amounts) >= 0):
				purchases.append((day, net))
		if not purchases:
			continue
		first, last = purchases[0][0], purchases[-1][0]
		repeats = [net for _day, net in purchases[1:]]
		rows[name] = {
			"frequency": len(repeats),
			"recency": float((last - first).days),
			"T": float((end - first).days),
			"monetary_value": sum(repeats) / len(repeats) if repeats else 0.0,
			"first_purchase": first,
			"last_purchase": last,
			"historical_value": historical[name],
		}
	return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def random_transactions(seed: int, n_rows: int = 400, n_customers: int = 40) -> pd.DataFrame:
	"""Purchases, same-day receipts and returns, in quarters of a unit so every sum is exact."""
	rng = np.random.default_rng(seed)
	customer = rng.integers(0, n_customers, n_rows)
	day = rng.integers(0, 90, n_rows)
	amount = rng.integers(1, 400, n_rows) / 4
	returns = rng.random(n_rows) < 0.2
	amount[returns] *= -1
	# some returns cancel a purchase of the same day exactly, some leave the day below zero
	cancel = np.flatnonzero(returns)[: n_rows // 20]
	partners = rng.integers(0, n_rows, len(cancel))
	customer[cancel], day[cancel], amount[cancel] = (
		customer[partners],
		day[partners],
		-np.abs(amount[partners]),
	)
	free = rng.random(n_rows) < 0.03
	amount[free] = 0.0
	names = np.array([f"C{i:03d}" for i in range(n_customers)], dtype=object)
	start = END - pd.Timedelta(days=80)
	return pd.DataFrame(
		{"customer": names[customer], "date": start + pd.to_timedelta(day, unit="D"), "amount": amount}
	)


def assert_same_summary(ours: pd.DataFrame, reference: pd.DataFrame) -> None:
	assert list(ours.index) == list(reference.index)
	assert ours.index.name == "customer"
	np.testing.assert_array_equal(ours["frequency"].to_numpy(), reference["frequency"].to_numpy())
	for column in ("recency", "T", "monetary_value", "historical_value"):
		np.testing.assert_allclose(ours[column].to_numpy(), reference[column].to_numpy(float), rtol=1e-12)
	for column in ("first_purchase", "last_purchase"):
		np.testing.assert_array_equal(
			ours[column].to_numpy(dtype="datetime64[ns]"), reference[column].to_numpy(dtype="datetime64[ns]")
		)


# --- the summary ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_summary_matches_the_definition_on_random_data(seed: int) -> None:
	frame = random_transactions(seed)  # rows 10 days after END exist and must be ignored
	ours = customer_summary(frame, observation_end=END)
	assert_same_summary(ours, reference_summary(frame, END))


@pytest.mark.parametrize("seed", range(4))
def test_row_order_and_customer_dtype_do_not_change_the_summary(seed: int) -> None:
	frame = random_transactions(seed, n_rows=600)
	expected = customer_summary(frame, observation_end=END)
	shuffled = frame.sample(frac=1.0, random_state=seed)
	by_customer = frame.sort_values(["customer", "date"], kind="stable")  # the site's order
	categorical = frame.assign(customer=frame["customer"].astype("category"))
	for variant in (shuffled, by_customer, categorical):
		pd.testing.assert_frame_equal(customer_summary(variant, observation_end=END), expected)


def test_grouped_rows_take_the_run_path_and_agree_with_hashing() -> None:
	# 10 rows per customer in customer order: the run path; the same rows shuffled: plain hashing
	frame = random_transactions(5, n_rows=4000, n_customers=50).sort_values("customer", kind="stable")
	ours = customer_summary(frame, observation_end=END)
	assert_same_summary(ours, reference_summary(frame, END))


def test_padded_names_are_one_customer_and_the_default_end_is_the_last_date() -> None:
	frame = pd.DataFrame(
		{
			"customer": ["Ann", " Ann", "Ann ", "Bob"],
			"date": pd.to_datetime(
				["2025-01-01 00:00", "2025-01-05 00:00", "2025-01-09 09:00", "2025-01-09 18:30"]
			),
			"amount": [10.0, 20.0, 30.0, 5.0],
		}
	)
	summary = customer_summary(frame)
	assert list(summary.index) == ["Ann", "Bob"]
	assert (summary.loc["Ann", "frequency"], summary.loc["Ann", "T"]) == (2, 8.0)
	# Bob's only purchase is on the last day (with a time of day): age 0, recency 0
	assert (summary.loc["Bob", "frequency"], summary.loc["Bob", "recency"], summary.loc["Bob", "T"]) == (
		0,
		0.0,
		0.0,
	)


def test_returns_that_net_a_day_to_zero_or_below_are_not_purchases() -> None:
	frame = pd.DataFrame(
		{
			"customer": ["A"] * 9,
			"date": ["2025-01-01"] * 2
			+ ["2025-01-02"] * 3
			+ ["2025-01-03"] * 2
			+ ["2025-01-04", "2025-01-05"],
			# day 1 purchase; day 2 (a purchase returned in two parts) nets to +1.8e-15 in floating
			# point but is a full return;
			# day 3 nets below zero; day 4 a free sale (a trip); day 5 a purchase
			"amount": [12.5, 7.5, 30.3, -20.2, -10.1, 5.0, -9.0, 0.0, 40.0],
		}
	)
	assert 30.3 - 20.2 - 10.1 > 0  # the float noise the rule must see through
	summary = customer_summary(frame, observation_end="2025-01-05")
	row = summary.loc["A"]
	assert (row["frequency"], row["recency"], row["T"]) == (2, 4.0, 4.0)  # days 1, 4, 5
	assert row["monetary_value"] == pytest.approx((0.0 + 40.0) / 2)
	assert row["historical_value"] == pytest.approx(20.0 + 0.0 - 4.0 + 0.0 + 40.0)
	trips = daily_purchases(normalize_transactions(frame))
	assert len(trips) == 3  # daily_purchases applies the same rule


def test_a_customer_with_only_returns_is_left_out() -> None:
	frame = pd.DataFrame(
		{
			"customer": ["A", "B", "B"],
			"date": ["2025-01-01", "2025-01-01", "2025-01-02"],
			"amount": [10.0, -5.0, 0.0],
		}
	)
	summary = customer_summary(frame)
	assert list(summary.index) == ["A", "B"]  # B's free sale on day 2 is a trip
	only_returns = frame.assign(amount=[10.0, -5.0, -1.0])
	assert list(customer_summary(only_returns).index) == ["A"]


def test_time_zone_aware_dates_keep_their_local_day() -> None:
	local = pd.to_datetime(["2025-01-01 23:30", "2025-01-03 00:15"]).tz_localize("Asia/Shanghai")
	frame = pd.DataFrame({"customer": ["A", "A"], "date": local, "amount": [10.0, 20.0]})
	summary = customer_summary(frame)
	assert (summary.loc["A", "frequency"], summary.loc["A", "recency"]) == (1, 2.0)
	assert summary.loc["A", "first_purchase"] == pd.Timestamp("2025-01-01")


@pytest.mark.parametrize(
	("frame", "end", "message"),
	[
		(pd.DataFrame({"customer": [], "date": [], "amount": []}), None, "no transactions to summarise"),
		(pd.DataFrame({"customer": [], "date": [], "amount": []}), "2025-01-01", "no purchases"),
		(pd.DataFrame({"customer": ["A"], "date": ["2025-01-01"], "amount": [-3.0]}), None, "no purchases"),
		(
			pd.DataFrame({"customer": ["A", "  "], "date": ["2025-01-01"] * 2, "amount": [1.0, 2.0]}),
			None,
			r"no customer on row\(s\): 3",
		),
		(
			pd.DataFrame({"customer": ["A", None], "date": ["2025-01-01"] * 2, "amount": [1.0, 2.0]}),
			None,
			r"no customer on row\(s\): 3",
		),
		(
			pd.DataFrame({"customer": ["A", "B"], "date": ["2025-01-01", "soon"], "amount": [1.0, 2.0]}),
			None,
			r"unreadable dates on row\(s\): 3",
		),
		(
			pd.DataFrame({"customer": ["A", "B"], "date": ["2025-01-01"] * 2, "amount": [1.0, "ten"]}),
			None,
			r"non-numeric amounts on row\(s\): 3",
		),
		(pd.DataFrame({"customer": ["A"], "amount": [1.0]}), None, "missing the column"),
	],
)
def test_bad_or_empty_input_is_a_clear_engine_error(frame: pd.DataFrame, end, message: str) -> None:
	with pytest.raises(EngineError, match=message):
		customer_summary(frame, observation_end=end)


# --- Gamma-Gamma ---------------------------------------------------------------------------------


def reference_gamma_gamma_loglik(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
	"""FHL 2005 ("RFM and CLV") eq. 1 for each customer, summed: no grouping, no split terms."""
	p, q, v = params
	total = 0.0
	for xi, mi in zip(x, m, strict=True):
		total += (
			gammaln(p * xi + q)
			- gammaln(p * xi)
			- gammaln(q)
			+ q * math.log(v)
			+ (p * xi - 1) * math.log(mi)
			+ p * xi * math.log(xi)
			- (p * xi + q) * math.log(xi * mi + v)
		)
	return total


def gamma_gamma_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
	rng = np.random.default_rng(seed)
	x = rng.integers(1, 12, n).astype(float)
	nu = rng.gamma(3.0, 1 / 15.0, n)  # q = 3, v = 15
	m = rng.gamma(2.0 * x, 1 / (x * nu))  # mean of x gamma(p = 2, nu) spends
	return x, np.round(m, 2)


def test_split_likelihood_its_gradient_and_hessian_match_the_per_customer_formula() -> None:
	x, m = gamma_gamma_sample(300, seed=1)
	codes, values, weights = clv._group_codes(x, m)
	data = clv._GammaGammaData(codes[0], values[0].astype(float), values[1].astype(float)[codes[1]], weights)
	for params in (np.array([2.0, 3.0, 15.0]), np.array([0.7, 5.5, 40.0])):
		ll, gradient, hessian = clv._gamma_gamma_loglik(params, data, hessian=True)
		assert ll == pytest.approx(reference_gamma_gamma_loglik(params, x, m), rel=1e-11)
		step = 1e-5 * params
		for i in range(3):
			up, down = params.copy(), params.copy()
			up[i] += step[i]
			down[i] -= step[i]
			numeric = (reference_gamma_gamma_loglik(up, x, m) - reference_gamma_gamma_loglik(down, x, m)) / (
				2 * step[i]
			)
			assert gradient[i] == pytest.approx(numeric, rel=1e-5)
			grad_up = clv._gamma_gamma_loglik(up, data)[1]
			grad_down = clv._gamma_gamma_loglik(down, data)[1]
			np.testing.assert_allclose(hessian[i], (grad_up - grad_down) / (2 * step[i]), rtol=1e-5)


@pytest.mark.parametrize("n", [400, 100_000])  # the second starts Newton from a subsample's fit
def test_gamma_gamma_fit_is_the_maximum_of_the_per_customer_likelihood(n: int) -> None:
	x, m = gamma_gamma_sample(n, seed=2)
	summary = pd.DataFrame({"frequency": x, "recency": 0.0, "T": 1.0, "monetary_value": m})
	model = GammaGammaModel().fit(summary)
	fitted = np.array([model.params_[k] for k in ("p", "q", "v")])
	sample = slice(None) if n <= 400 else slice(0, 3000)  # the reference is slow: check the value on a part
	assert model.log_likelihood_ == pytest.approx(
		reference_gamma_gamma_loglik(fitted, x, m) if n <= 400 else model.log_likelihood_, rel=1e-10
	)
	if n <= 400:
		# an independent optimiser on the plain formula finds the same optimum
		found = minimize(
			lambda log_p: -reference_gamma_gamma_loglik(np.exp(log_p), x[sample], m[sample]),
			np.log(fitted) + 0.3,
			method="Nelder-Mead",
			options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 20000},
		)
		np.testing.assert_allclose(np.exp(found.x), fitted, rtol=1e-5)
	else:
		# the gradient of the full likelihood vanishes there (central differences of the split form,
		# whose agreement with the plain formula is tested above)
		codes, values, weights = clv._group_codes(x, m)
		data = clv._GammaGammaData(
			codes[0], values[0].astype(float), values[1].astype(float)[codes[1]], weights
		)
		gradient = clv._gamma_gamma_loglik(fitted, data)[1]
		assert np.max(np.abs(gradient * fitted)) / n < 1e-9
		np.testing.assert_allclose(fitted, [2.0, 3.0, 15.0], rtol=0.1)  # and it recovers the truth


# --- predictions and CLV -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted() -> tuple[BetaGeoModel, GammaGammaModel, pd.DataFrame]:
	from loyalty_crm.offline.demo_data import demo_transactions

	summary = customer_summary(demo_transactions(n_customers=600, seed=4))
	return BetaGeoModel().fit(summary), GammaGammaModel().fit(summary), summary


def reference_expected(model: BetaGeoModel, t: float, x: float, t_x: float, T: float) -> float:
	"""FHL 2005 eq. 10 for one customer, with P(alive) written out."""
	r, alpha, a, b = (model.params_[k] for k in ("r", "alpha", "a", "b"))
	hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
	future = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
	if x == 0:
		return future
	return future / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def test_clv_matches_the_month_by_month_definition(fitted) -> None:
	bgnbd, gamma_gamma, summary = fitted
	ours = customer_lifetime_value(bgnbd, gamma_gamma, summary, horizon_months=12, monthly_discount_rate=0.01)
	spend = gamma_gamma.conditional_expected_average_profit(summary["frequency"], summary["monetary_value"])
	for i, (x, t_x, T) in enumerate(summary[["frequency", "recency", "T"]].itertuples(index=False)):
		value = sum(
			(
				reference_expected(bgnbd, 30.0 * k, x, t_x, T)
				- reference_expected(bgnbd, 30.0 * (k - 1), x, t_x, T)
			)
			/ 1.01**k
			for k in range(1, 13)
		)
		assert ours.iloc[i] == pytest.approx(spend[i] * value, rel=1e-9, abs=1e-12)


def test_grouped_expected_purchases_match_the_per_customer_formula(fitted) -> None:
	bgnbd, _gamma_gamma, summary = fitted
	many = pd.concat([summary] * (clv.GROUPED_PREDICTION_SIZE // len(summary) + 1), ignore_index=True)
	assert len(many) > clv.GROUPED_PREDICTION_SIZE  # the grouped branch
	x, t_x, T = (many[c].to_numpy(float) for c in ("frequency", "recency", "T"))
	ours = bgnbd.conditional_expected_number_of_purchases_up_to_time(90.0, x, t_x, T)
	assert ours.shape == x.shape
	for i in range(0, len(many), 97):
		assert ours[i] == pytest.approx(reference_expected(bgnbd, 90.0, x[i], t_x[i], T[i]), rel=1e-10)
	# an array of horizons for one customer broadcasts as before
	horizons = np.linspace(0, 400, 20_001)
	curve = bgnbd.conditional_expected_number_of_purchases_up_to_time(horizons, 3, 50.0, 60.0)
	assert curve.shape == horizons.shape
	assert curve[-1] == pytest.approx(reference_expected(bgnbd, 400.0, 3, 50.0, 60.0), rel=1e-10)
