"""Customer lifetime value: BG/NBD for how often, Gamma-Gamma for how much.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") says each customer
buys at a gamma-distributed Poisson rate (r, alpha) until they silently drop out, with a
beta-distributed drop-out chance after each purchase (a, b). Gamma-Gamma (Fader, Hardie & Lee
2005, "RFM and CLV") says the mean spend of a customer's repeat purchases is itself
gamma-distributed (p, q, gamma) around a gamma-distributed scale. Together they give the
expected discounted value of a customer's future purchases.

Names and meanings follow the ``lifetimes`` package, which analysts already know: ``frequency``
is the number of *repeat* purchase days, ``recency`` the customer's age at the last purchase,
``T`` the age at the end of observation, ``monetary_value`` the mean of the repeat purchases.
Unlike ``lifetimes`` the fit groups identical (frequency, recency, T) rows and uses analytic
gradients, so its cost grows with the number of distinct purchase histories, not customers.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import daily_purchases, normalize_transactions

SUMMARY_COLUMNS = ("frequency", "recency", "T")
DAYS_PER_MONTH = 30.0
LOG_PARAM_BOUND = 20.0  # lifetimes' customer_lifetime_value(freq="D") uses 30-day months too


# ---------------------------------------------------------------------------------------------
# Customer summary
# ---------------------------------------------------------------------------------------------


def customer_summary(
	transactions: pd.DataFrame,
	observation_end: object = None,
	time_unit_days: float = 1.0,
) -> pd.DataFrame:
	"""Reduce transactions to the RFM summary the models need, at daily grain.

	A purchase is a customer-day with positive net amount (see ``daily_purchases``), so
	two receipts on one day are one trip and a day that only returns goods is no trip.
	Transactions after ``observation_end`` (default: last transaction date) are ignored: that is
	how a calibration period is cut. ``time_unit_days=7`` expresses recency and T in weeks (the
	paper's unit) while keeping the daily grain of the events. Customers whose net purchases
	are never positive cannot be modelled and are left out.
	"""
	if time_unit_days <= 0:
		raise EngineError(_("The time unit must be a positive number of days, got {0}"), time_unit_days)
	frame = normalize_transactions(transactions)
	end = _observation_end(frame, observation_end)
	frame = frame[frame["date"] <= end]
	days = daily_purchases(frame)
	if days.empty:
		raise EngineError(_("There are no purchases (positive net amounts) on or before {0}"), end.date())
	by_customer = days.groupby("customer", sort=True)
	first = by_customer["date"].min()
	last = by_customer["date"].max()
	count = by_customer.size()
	total = by_customer["amount"].sum()
	first_amount = by_customer["amount"].first()  # days are sorted by date within customer
	frequency = count - 1
	repeat_total = total - first_amount
	monetary = (repeat_total / frequency.where(frequency > 0)).fillna(0.0)
	historical = frame.groupby("customer", sort=True)["amount"].sum().reindex(first.index)
	summary = pd.DataFrame(
		{
			"frequency": frequency.astype("int64"),
			"recency": (last - first).dt.days / time_unit_days,
			"T": (end - first).dt.days / time_unit_days,
			"monetary_value": monetary.astype("float64"),
			"first_purchase": first,
			"last_purchase": last,
			"historical_value": historical.astype("float64"),
		}
	)
	summary.index.name = "customer"
	return summary


def _observation_end(frame: pd.DataFrame, observation_end: object) -> pd.Timestamp:
	if observation_end is None:
		if frame.empty:
			raise EngineError(_("There are no transactions to summarise"))
		return pd.Timestamp(frame["date"].max())
	end = pd.to_datetime(observation_end, errors="coerce")
	if pd.isna(end):
		raise EngineError(_("The observation end {0} is not a date (use YYYY-MM-DD)"), observation_end)
	return pd.Timestamp(end).normalize()


# ---------------------------------------------------------------------------------------------
# Input validation and grouping (shared by both models)
# ---------------------------------------------------------------------------------------------


def _summary_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
	"""Validate the summary once at the boundary and hand back plain float arrays."""
	missing = [column for column in SUMMARY_COLUMNS if column not in summary.columns]
	if missing:
		raise EngineError(_("The customer summary is missing the column(s): {0}"), ", ".join(missing))
	x, t_x, T = (np.asarray(pd.to_numeric(summary[c], errors="coerce"), dtype=float) for c in SUMMARY_COLUMNS)
	if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
		raise EngineError(_("The customer summary has missing or non-numeric frequency, recency or T"))
	if (x < 0).any() or (x != np.round(x)).any():
		raise EngineError(_("Frequency must be a whole number of repeat purchases, 0 or more"))
	if (t_x < 0).any() or (t_x > T).any():
		raise EngineError(_("Recency must be between 0 and T (a customer's age) for every customer"))
	if ((x == 0) & (t_x != 0)).any():
		raise EngineError(_("Customers with frequency 0 must have recency 0"))
	return x, t_x, T


def _group_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
	"""Distinct rows and how many customers share each: the likelihood is evaluated once per row.

	pandas' hash-based grouping gives what ``np.unique(axis=0, return_counts=True)`` gives, in a
	fifth of the time on a million rows (np.unique sorts a structured view).
	"""
	frame = pd.DataFrame({str(i): column for i, column in enumerate(columns)})
	counts = frame.groupby(list(frame.columns), sort=False).size()
	distinct = np.column_stack(
		[counts.index.get_level_values(i).to_numpy(dtype=float) for i in range(len(columns))]
	)
	return distinct, counts.to_numpy(dtype=float)


class _Distinct:
	"""A column as its distinct values plus an index back: special functions run on few values.

	At daily grain frequency has a few dozen values and recency and T at most a few thousand,
	even for millions of customers, so gammaln/digamma/log cost nothing per customer.
	"""

	def __init__(self, values: np.ndarray) -> None:
		self.values, self.index = np.unique(values, return_inverse=True)
		self.index = self.index.reshape(-1)


def _single_blas_thread():
	"""One BLAS thread while optimising: 4-parameter L-BFGS-B steps only lose time to thread hand-offs."""
	try:
		from threadpoolctl import threadpool_limits  # a scikit-learn dependency
	except ImportError:
		return contextlib.nullcontext()
	return threadpool_limits(limits=1, user_api="blas")


def _minimise(objective, start: np.ndarray) -> np.ndarray:
	"""L-BFGS-B on log-parameters with analytic gradients, then one more run from the optimum.

	The restart ("polish") lets L-BFGS-B rebuild its curvature estimate at the optimum, which
	tightens the last digits the paper reports without a costlier second-order method. Bounds
	of e^-20..e^20 on the (time-scaled) parameters keep data the model does not fit from
	driving a parameter to overflow; a parameter at a bound is a sign of such data.
	"""
	options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10}
	bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * len(start)
	with _single_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
		result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
		result = minimize(objective, result.x, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
	if not np.all(np.isfinite(result.x)):
		raise EngineError(_("The model fit did not converge; check the data for extreme values"))
	return result.x


# ---------------------------------------------------------------------------------------------
# BG/NBD
# ---------------------------------------------------------------------------------------------


@dataclass
class BetaGeoModel:
	"""BG/NBD purchase-frequency model, fitted by maximum likelihood.

	``penalizer_coef`` adds ``penalizer_coef * sum(params**2)`` to the mean negative
	log-likelihood exactly as ``lifetimes`` does; leave it at 0 to reproduce the paper.
	"""

	penalizer_coef: float = 0.0

	def fit(self, summary: pd.DataFrame) -> BetaGeoModel:
		"""Fit on a summary with frequency, recency and T; returns self."""
		x, t_x, T = _summary_arrays(summary)
		if len(x) < 2:
			raise EngineError(_("Fitting BG/NBD needs at least 2 customers, got {0}"), len(x))
		if not (x > 0).any():
			raise EngineError(
				_(
					"BG/NBD needs repeat purchases: every customer bought only once, so how often "
					"customers come back cannot be estimated; historical value is still available"
				)
			)
		rows, weights = _group_rows(x, t_x, T)
		scale = 10.0 / max(float(np.max(T)), 1e-12)  # fit on a ~0..10 time axis, like lifetimes
		data = _BGNBDData(rows[:, 0], rows[:, 1] * scale, rows[:, 2] * scale, weights)
		total = weights.sum()

		def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
			ll, grad = _bgnbd_loglik(np.exp(log_params), data)
			value = -ll / total + self.penalizer_coef * np.sum(np.exp(2 * log_params))
			gradient = -grad * np.exp(log_params) / total + 2 * self.penalizer_coef * np.exp(2 * log_params)
			return float(value), gradient

		log_params = _minimise(objective, np.zeros(4))
		r, alpha, a, b = np.exp(log_params)
		alpha /= scale
		self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
		unscaled = _BGNBDData(rows[:, 0], rows[:, 1], rows[:, 2], weights)
		ll, _grad = _bgnbd_loglik(np.array([r, alpha, a, b]), unscaled)
		self.log_likelihood_ = float(ll)
		self.n_customers_ = int(total)
		self.n_distinct_ = len(weights)
		return self

	def _params(self) -> tuple[float, float, float, float]:
		if not hasattr(self, "params_"):
			raise EngineError(_("The model is not fitted yet; call fit() first"))
		p = self.params_
		return p["r"], p["alpha"], p["a"], p["b"]

	def conditional_probability_alive(self, frequency, recency, T) -> np.ndarray:
		"""P(still a customer | history): 1 for one-time buyers, as the model assumes no dropout before a repeat."""
		r, alpha, a, b = self._params()
		x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
		return expit(-_log_odds_dead(x, t_x, age, r, alpha, a, b))

	def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T) -> np.ndarray:
		"""Expected purchases in the next ``t`` time units given each customer's history (FHL 2005 eq. 10)."""
		r, alpha, a, b = self._params()
		x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
		t = np.asarray(t, dtype=float)
		log_ratio = (r + x) * (np.log(alpha + age) - np.log(alpha + age + t))
		hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
		future = (a + b + x - 1) / (a - 1) * (1 - np.exp(log_ratio) * hyp)
		return future * expit(-_log_odds_dead(x, t_x, age, r, alpha, a, b))

	def expected_number_of_purchases_up_to_time(self, t) -> np.ndarray:
		"""Expected purchases of a new customer in ``t`` time units (FHL 2005 eq. 7), for sanity plots."""
		r, alpha, a, b = self._params()
		t = np.asarray(t, dtype=float)
		hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
		return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def _log_odds_dead(x, t_x, T, r, alpha, a, b) -> np.ndarray:
	"""log of (1/P(alive) - 1), kept in log space so long-silent heavy buyers do not overflow."""
	repeat = x > 0
	safe_x = np.where(repeat, x, 1.0)
	log_odds = np.log(a) - np.log(b + safe_x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
	return np.where(repeat, log_odds, -np.inf)


def _dot(left: np.ndarray, right: np.ndarray) -> float:
	"""Weighted sum without BLAS: for one vector pair, ``np.dot`` can stall on busy BLAS threads."""
	return float(np.sum(left * right))


class _BGNBDData:
	"""Grouped summaries arranged for the likelihood: one-time buyers by T, repeat buyers by row.

	Terms of one variable are computed on its distinct values and indexed, and products with
	weights that do not depend on the parameters are taken once here, so an evaluation costs a
	handful of array passes over the repeat rows and nothing per customer.
	"""

	def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> None:
		once = x == 0
		self.total = float(weights.sum())
		self.once_T = _Distinct(T[once])
		self.once_weights = np.bincount(
			self.once_T.index, weights=weights[once], minlength=len(self.once_T.values)
		)
		self.x = _Distinct(x[~once])
		self.xs = x[~once]
		self.t_x = _Distinct(t_x[~once])
		self.T = _Distinct(T[~once])
		self.weights = weights[~once]
		self.weights_x = self.weights * self.xs
		self.weights_by_x = np.bincount(self.x.index, weights=self.weights, minlength=len(self.x.values))
		self.weight_once = float(weights[once].sum())


def _bgnbd_loglik(params: np.ndarray, data: _BGNBDData) -> tuple[float, np.ndarray]:
	"""Weighted log-likelihood and its gradient in (r, alpha, a, b), FHL 2005 eq. 6 in log space.

	For a repeat buyer eq. 6 is A1 + A2 + A3 + softplus(z) with z = log(a/(b+x-1)) +
	(r+x) (log(alpha+T) - log(alpha+t_x)); one-time buyers have only A1 + A2 + A3 with x = 0.
	"""
	r, alpha, a, b = params
	w, wx, ix = data.weights, data.weights_x, data.x.index
	# one-time buyers: r log(alpha) - r log(alpha + T)   (gammaln and betaln terms cancel at x = 0)
	log_once = np.log(alpha + data.once_T.values)
	ll = data.weight_once * r * np.log(alpha) - r * (_dot(data.once_weights, log_once))
	d_r = data.weight_once * np.log(alpha) - _dot(data.once_weights, log_once)
	d_alpha = data.weight_once * r / alpha - r * (_dot(data.once_weights, (1 / (alpha + data.once_T.values))))
	# repeat buyers, per distinct frequency
	xu = data.x.values
	ll += _dot(
		data.weights_by_x,
		(gammaln(r + xu) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xu) - betaln(a, b)),
	)
	d_a_u = digamma(a + b) - digamma(a + b + xu)
	d_r += _dot(data.weights_by_x, (digamma(r + xu) - digamma(r) + np.log(alpha)))
	d_alpha += data.weights_by_x.sum() * r / alpha
	d_a = _dot(data.weights_by_x, d_a_u)
	d_b = _dot(data.weights_by_x, (d_a_u + digamma(b + xu) - digamma(b)))
	inv_b_x1_u = 1 / (b + xu - 1)
	# per distinct age / recency, then per row
	log_T = np.log(alpha + data.T.values)[data.T.index]
	log_tx = np.log(alpha + data.t_x.values)[data.t_x.index]
	inv_T = (1 / (alpha + data.T.values))[data.T.index]
	inv_tx = (1 / (alpha + data.t_x.values))[data.t_x.index]
	gap = log_T - log_tx
	z = (np.log(a * inv_b_x1_u))[ix] + (r + data.xs) * gap
	share = expit(z)  # weight of the "still alive at T" branch's complement: P(dropped after t_x)
	ll += -(r * (_dot(w, log_T)) + _dot(wx, log_T)) + _dot(w, np.logaddexp(0.0, z))
	d_r += -(_dot(w, log_T)) + _dot(w, (share * gap))
	inv_mix = inv_T + share * (inv_tx - inv_T)
	d_alpha -= r * (_dot(w, inv_mix)) + _dot(wx, inv_mix)
	w_share = w * share
	d_a += w_share.sum() / a
	d_b -= _dot(w_share, inv_b_x1_u[ix])
	return float(ll), np.array([d_r, d_alpha, d_a, d_b])


# ---------------------------------------------------------------------------------------------
# Gamma-Gamma
# ---------------------------------------------------------------------------------------------


@dataclass
class GammaGammaModel:
	"""Gamma-Gamma spend model, fitted on repeat customers only.

	Parameters are ``p``, ``q`` and ``v``; ``v`` is the paper's gamma (the name ``lifetimes``
	uses, so a fitted model reads the same in both). ``monetary_value`` must be the mean of the
	*repeat* purchases, as in the paper; one-time buyers carry no spend information and are dropped.
	"""

	penalizer_coef: float = 0.0

	def fit(self, summary: pd.DataFrame) -> GammaGammaModel:
		"""Fit on a summary with frequency and monetary_value; returns self."""
		x, m = _monetary_arrays(summary)
		repeat = x > 0
		if repeat.sum() < 2:
			raise EngineError(
				_("Gamma-Gamma needs at least 2 customers with repeat purchases, got {0}"), int(repeat.sum())
			)
		x, m = x[repeat], m[repeat]
		if (m <= 0).any():
			raise EngineError(_("Monetary value must be positive for customers with repeat purchases"))
		rows, weights = _group_rows(x, m)
		gx, gm = rows.T
		scale = 10.0 / float(np.max(m))  # fit spend on a ~0..10 axis; v scales with it, p and q do not
		total = weights.sum()

		def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
			ll, grad = _gamma_gamma_loglik(np.exp(log_params), gx, gm * scale, weights)
			value = -ll / total + self.penalizer_coef * np.sum(np.exp(2 * log_params))
			gradient = -grad * np.exp(log_params) / total + 2 * self.penalizer_coef * np.exp(2 * log_params)
			return float(value), gradient

		p, q, v = np.exp(_minimise(objective, np.zeros(3)))
		v /= scale
		self.params_ = {"p": float(p), "q": float(q), "v": float(v)}
		self.log_likelihood_ = float(_gamma_gamma_loglik(np.array([p, q, v]), gx, gm, weights)[0])
		self.n_customers_ = int(total)
		return self

	def conditional_expected_average_profit(self, frequency, monetary_value) -> np.ndarray:
		"""Expected spend per future purchase: shrinks each customer's mean toward the population mean.

		One-time buyers get the population mean ``p * v / (q - 1)``; needs q > 1 to exist.
		"""
		if not hasattr(self, "params_"):
			raise EngineError(_("The model is not fitted yet; call fit() first"))
		p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
		if q <= 1:
			raise EngineError(
				_("Expected spend is undefined when Gamma-Gamma q <= 1 (got q = {0})"), round(q, 4)
			)
		x = np.asarray(frequency, dtype=float)
		m = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
		return p * (v + x * m) / (p * x + q - 1)


def _monetary_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
	missing = [column for column in ("frequency", "monetary_value") if column not in summary.columns]
	if missing:
		raise EngineError(_("The customer summary is missing the column(s): {0}"), ", ".join(missing))
	x = np.asarray(pd.to_numeric(summary["frequency"], errors="coerce"), dtype=float)
	m = np.asarray(pd.to_numeric(summary["monetary_value"], errors="coerce"), dtype=float)
	if not (np.isfinite(x).all() and np.isfinite(m).all()):
		raise EngineError(_("The customer summary has missing or non-numeric frequency or monetary value"))
	return x, m


def _gamma_gamma_loglik(params: np.ndarray, x, m, weights) -> tuple[float, np.ndarray]:
	"""Weighted log-density of each customer's mean spend (FHL 2005 "RFM and CLV", eq. 1) and gradient."""
	p, q, v = params
	px = p * x
	log_xm_v = np.log(x * m + v)
	ll = (
		gammaln(px + q)
		- gammaln(px)
		- gammaln(q)
		+ q * np.log(v)
		+ (px - 1) * np.log(m)
		+ px * np.log(x)
		- (px + q) * log_xm_v
	)
	psi = digamma(px + q)
	d_p = x * (psi - digamma(px) + np.log(m) + np.log(x) - log_xm_v)
	d_q = psi - digamma(q) + np.log(v) - log_xm_v
	d_v = q / v - (px + q) / (x * m + v)
	return float(_dot(weights, ll)), np.array([_dot(weights, d_p), _dot(weights, d_q), _dot(weights, d_v)])


# ---------------------------------------------------------------------------------------------
# CLV
# ---------------------------------------------------------------------------------------------


def customer_lifetime_value(
	bgnbd: BetaGeoModel,
	gg: GammaGammaModel,
	summary: pd.DataFrame,
	horizon_months: int = 12,
	monthly_discount_rate: float = 0.01,
	time_unit_days: float = 1.0,
	days_per_month: float = DAYS_PER_MONTH,
) -> pd.Series:
	"""Discounted expected revenue over the next ``horizon_months``, month by month like ``lifetimes``.

	Each month's expected purchases (difference of cumulative expectations) times the
	Gamma-Gamma expected spend, discounted by ``(1 + rate) ** month``. A horizon of 0 months is a
	valid question with answer 0 for everyone (no error), so callers need no special case.
	``time_unit_days`` must be the unit the summary's recency and T are in.
	"""
	if horizon_months < 0 or horizon_months != int(horizon_months):
		raise EngineError(
			_("The CLV horizon must be a whole number of months, 0 or more, got {0}"), horizon_months
		)
	if monthly_discount_rate <= -1:
		raise EngineError(
			_("The monthly discount rate must be greater than -1, got {0}"), monthly_discount_rate
		)
	x, t_x, T = _summary_arrays(summary)
	spend = gg.conditional_expected_average_profit(x, summary["monetary_value"].to_numpy(dtype=float))
	month = days_per_month / time_unit_days
	value = np.zeros(len(x))
	previous = np.zeros(len(x))
	for k in range(1, int(horizon_months) + 1):  # a loop over months, each step vectorised over customers
		cumulative = bgnbd.conditional_expected_number_of_purchases_up_to_time(k * month, x, t_x, T)
		value += spend * (cumulative - previous) / (1 + monthly_discount_rate) ** k
		previous = cumulative
	return pd.Series(value, index=summary.index, name="clv")
