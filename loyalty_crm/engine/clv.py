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
gradients, so its cost grows with the number of distinct purchase histories, not customers;
both models also have analytic Hessians, so on large data a few Newton steps from a subsample's
optimum replace dozens of quasi-Newton evaluations over every row. Predictions and CLV run
their hypergeometric function once per distinct (frequency, T), and the summary works on
integer customer codes and day numbers: ten million transaction rows of a million customers go
from rows to CLV in a few seconds (``benchmarks/clv_path.py``).

Threads: the optimisers run under one BLAS thread (``_single_blas_thread``: four-parameter
steps only lose time to thread hand-offs); the rest is numpy sorting, reductions and special
functions, which run on one thread anyway, so the engine leaves the second core to the
database or a second worker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, polygamma

from loyalty_crm.engine.errors import EngineError, _
from loyalty_crm.engine.transactions import EncodedTransactions, customer_days, encode_transactions

SUMMARY_COLUMNS = ("frequency", "recency", "T")
DAYS_PER_MONTH = 30.0  # lifetimes' customer_lifetime_value(freq="D") uses 30-day months too
LOG_PARAM_BOUND = 20.0
NEWTON_STEP_TOL = 1e-6  # log-parameter change at which Newton stops (error then ~1e-12)
SUBSAMPLE_CUSTOMERS = 20_000  # customers in the subsample whose fit starts Newton on large data
SUBSAMPLE_SEED = 0  # fixed, so the same data always give the same start and the same digits
GROUPED_PREDICTION_SIZE = 10_000  # above this many values, predictions run once per distinct row


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
	are never positive cannot be modelled and are left out. Rows come out sorted by customer.

	Works on integer codes and day numbers (``encode_transactions``, ``customer_days``): one
	stable sort of (customer, day) keys and sequential reductions, so ten million rows take
	seconds, where grouping strings and Timestamps with pandas took about twenty.
	"""
	if time_unit_days <= 0:
		raise EngineError(_("The time unit must be a positive number of days, got {0}"), time_unit_days)
	encoded = encode_transactions(transactions)
	end = _observation_end(encoded, observation_end)
	end_day = int(end.to_datetime64().astype("datetime64[D]").astype(np.int64))
	days = customer_days(encoded.until(end_day))
	bought = days.purchase
	customer, day, amount = days.customer[bought], days.day[bought], days.net[bought]
	if len(customer) == 0:
		raise EngineError(_("There are no purchases (positive net amounts) on or before {0}"), end.date())
	# days are sorted by customer, then day: each customer is one run
	heads = np.flatnonzero(np.concatenate(([True], customer[1:] != customer[:-1])))
	tails = np.append(heads[1:], len(customer)) - 1
	who = customer[heads]
	frequency = (tails - heads).astype(np.int64)  # purchase days after the first
	first, last = day[heads], day[tails]
	repeat_total = np.add.reduceat(amount, heads) - amount[heads]
	with np.errstate(invalid="ignore", divide="ignore"):
		monetary = np.where(frequency > 0, repeat_total / np.maximum(frequency, 1), 0.0)
	historical = np.bincount(days.customer, weights=days.net, minlength=len(encoded.names))[who]
	summary = pd.DataFrame(
		{
			"frequency": frequency,
			"recency": (last - first) / time_unit_days,
			"T": (end_day - first) / time_unit_days,
			"monetary_value": monetary.astype("float64"),
			"first_purchase": _timestamps(first),
			"last_purchase": _timestamps(last),
			"historical_value": historical.astype("float64"),
		},
		index=pd.Index(encoded.names[who], name="customer"),
	)
	return summary


def _timestamps(day_numbers: np.ndarray) -> np.ndarray:
	"""Day numbers back to datetime64[ns] dates, the dtype the pandas summary always had."""
	return day_numbers.astype("datetime64[D]").astype("datetime64[ns]")


def _observation_end(encoded: EncodedTransactions, observation_end: object) -> pd.Timestamp:
	if observation_end is None:
		if len(encoded.day) == 0:
			raise EngineError(_("There are no transactions to summarise"))
		return pd.Timestamp(np.datetime64(int(encoded.day.max()), "D"))
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


def _group_codes(*columns: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
	"""Distinct rows as codes into each column's distinct values, and how many customers share each."""
	codes, uniques, counts, _row = _group_codes_and_rows(*columns)
	return codes, uniques, counts


def _group_codes_and_rows(
	*columns: np.ndarray,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
	"""Distinct rows as codes into each column's distinct values, how many customers share each,
	and each customer's row.

	Hashing each column (``pd.factorize``) and then one integer key per customer finds the
	distinct rows in a few passes with no sort, several times faster than a pandas groupby or
	``np.unique(axis=0)`` on a million customers. The per-column codes come for free, so the
	likelihood can run its special functions on each column's distinct values and index them.
	"""
	factorized = [pd.factorize(column) for column in columns]
	key = np.zeros(len(columns[0]), dtype=np.int64)
	size = 1
	for codes, uniques in factorized:
		if size * len(uniques) >= 2**62:  # renumber compactly before the combined key could overflow
			key, kept = pd.factorize(key)
			size = len(kept)
		key = key * len(uniques) + codes
		size *= len(uniques)
	row, distinct = pd.factorize(key)
	member = np.empty(len(distinct), dtype=np.intp)
	member[row] = np.arange(len(row))  # any customer of a row stands for it: its columns are the row's
	counts = np.bincount(row, minlength=len(distinct)).astype(float)
	return [codes[member] for codes, _uniques in factorized], [u for _codes, u in factorized], counts, row


def _distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
	"""Each element's row among the distinct tuples, and the distinct tuples' columns.

	Predictions depend on a customer only through a few columns with few distinct combinations
	(a million customers have about 70,000 distinct (frequency, T) pairs), so the costly special
	functions run once per combination and are gathered back.
	"""
	codes, uniques, _counts, row = _group_codes_and_rows(*columns)
	return row, [u[c] for c, u in zip(codes, uniques, strict=True)]


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


def _newton(evaluate, start: np.ndarray, max_iterations: int = 30) -> np.ndarray | None:
	"""Newton's method with backtracking on log-parameters; None if it cannot finish cleanly.

	With an analytic Hessian and a start near the optimum (a fit on a subsample) it converges
	quadratically, so a million-customer fit needs three or four full-data evaluations where
	L-BFGS-B needs about sixty. It returns None (the caller then falls back to L-BFGS-B) when
	the Hessian is not positive definite, a step leaves the parameter bounds, or the line
	search stalls: all signs of data far from the model, where the bounded quasi-Newton run
	is the safer tool. It stops once a full step moves no log-parameter by more than
	NEWTON_STEP_TOL; that last step is taken, leaving an error of order its square.
	"""
	theta = np.asarray(start, dtype=float)
	value, gradient, hessian = evaluate(theta, True)
	if not np.isfinite(value):
		return None
	for _iteration in range(max_iterations):
		try:
			lower = np.linalg.cholesky(hessian)
		except np.linalg.LinAlgError:
			return None
		step = -np.linalg.solve(lower.T, np.linalg.solve(lower, gradient))
		if not np.all(np.isfinite(step)):
			return None
		if np.max(np.abs(step)) < NEWTON_STEP_TOL:
			theta = theta + step
			return theta if np.all(np.abs(theta) <= LOG_PARAM_BOUND) else None
		slope = float(gradient @ step)
		length = 1.0
		while True:
			trial = theta + length * step
			if np.any(np.abs(trial) > LOG_PARAM_BOUND):
				return None
			trial_value, trial_gradient, trial_hessian = evaluate(trial, True)
			if np.isfinite(trial_value) and trial_value <= value + 1e-4 * length * slope:
				break
			length /= 2
			if length < 1e-3:
				return None
		theta, value, gradient, hessian = trial, trial_value, trial_gradient, trial_hessian
	return None


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
		codes, values, weights = _group_codes(x, t_x, T)
		scale = 10.0 / max(float(np.max(T)), 1e-12)  # fit on a ~0..10 time axis, like lifetimes
		rows = _BGNBDRows(codes, [values[0], values[1] * scale, values[2] * scale], weights)
		log_params = _fit_bgnbd(rows, self.penalizer_coef, np.random.default_rng(SUBSAMPLE_SEED))
		r, alpha, a, b = np.exp(log_params)
		alpha /= scale
		self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
		unscaled = _BGNBDData(_BGNBDRows(codes, [v.astype(float) for v in values], weights))
		with _single_blas_thread():
			self.log_likelihood_ = float(_bgnbd_loglik(np.array([r, alpha, a, b]), unscaled)[0])
		self.n_customers_ = int(weights.sum())
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
		x_all, age_all, t_all = np.broadcast_arrays(x, age, t)
		if x_all.size > GROUPED_PREDICTION_SIZE:  # hyp2f1 once per distinct (x, T, t)
			row, (xu, age_u, t_u) = _distinct_rows(x_all.ravel(), age_all.ravel(), t_all.ravel())
			future = _future_purchases(t_u, xu, age_u, r, alpha, a, b)[row].reshape(x_all.shape)
		else:
			future = _future_purchases(t, x, age, r, alpha, a, b)
		return future * expit(-_log_odds_dead(x, t_x, age, r, alpha, a, b))

	def expected_number_of_purchases_up_to_time(self, t) -> np.ndarray:
		"""Expected purchases of a new customer in ``t`` time units (FHL 2005 eq. 7), for sanity plots."""
		r, alpha, a, b = self._params()
		t = np.asarray(t, dtype=float)
		hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
		return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def _future_purchases(t, x, T, r, alpha, a, b) -> np.ndarray:
	"""Expected purchases in the next ``t`` of a customer known to be alive (FHL 2005 eq. 10 without
	P(alive)): it depends on frequency and age only, not on recency, which is what lets
	predictions and CLV compute it once per distinct (frequency, T)."""
	log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + T + t))
	hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
	return (a + b + x - 1) / (a - 1) * (1 - np.exp(log_ratio) * hyp)


def _log_odds_dead(x, t_x, T, r, alpha, a, b) -> np.ndarray:
	"""log of (1/P(alive) - 1), kept in log space so long-silent heavy buyers do not overflow."""
	repeat = x > 0
	safe_x = np.where(repeat, x, 1.0)
	log_odds = np.log(a) - np.log(b + safe_x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
	return np.where(repeat, log_odds, -np.inf)


def _dot(left: np.ndarray, right: np.ndarray) -> float:
	"""Weighted sum without BLAS: for one vector pair, ``np.dot`` can stall on busy BLAS threads."""
	return float(np.sum(left * right))


@dataclass
class _BGNBDRows:
	"""Distinct (frequency, recency, T) rows as codes into each column's distinct values, with counts."""

	codes: list[np.ndarray]
	values: list[np.ndarray]
	weights: np.ndarray

	def thinned(self, share: float, rng: np.random.Generator) -> _BGNBDRows:
		"""A random subsample keeping each customer with probability ``share``, grouped like the full data."""
		kept = _thinned_weights(self.weights, share, rng)
		rows = kept > 0
		return _BGNBDRows([c[rows] for c in self.codes], self.values, kept[rows])


def _fit_bgnbd(rows: _BGNBDRows, penalizer: float, rng: np.random.Generator) -> np.ndarray:
	"""Log-parameters maximising the (penalised) likelihood: a cheap start, then Newton on all rows.

	Small data start from a loose L-BFGS-B run; large data start from this same fit on a random
	subsample of about SUBSAMPLE_CUSTOMERS customers, whose optimum is within sampling error of
	the full one, so Newton needs only a few passes over all rows. The subsample only chooses where Newton
	starts: the answer is the optimum of the full likelihood, to far more than 4 digits.
	"""
	data = _BGNBDData(rows)
	start = None
	if data.total > 4 * SUBSAMPLE_CUSTOMERS:
		sample = rows.thinned(SUBSAMPLE_CUSTOMERS / data.total, rng)
		if (sample.values[0][sample.codes[0]] > 0).any():
			start = _fit_bgnbd(sample, penalizer, rng)
	return _penalised_fit(_bgnbd_loglik, data, 4, penalizer, start)


def _penalised_fit(
	loglik: Callable, data, n_params: int, penalizer: float, start: np.ndarray | None
) -> np.ndarray:
	"""Newton with the exact Hessian on the penalised mean negative log-likelihood, in
	log-parameters, from ``start`` (a subsample's optimum) or, without one, from a loose
	bounded L-BFGS-B run; that quasi-Newton run takes over if Newton cannot finish cleanly.
	Shared by both models: ``loglik(params, data, hessian)`` is the model's likelihood."""
	total = data.total

	def evaluate(log_params: np.ndarray, hessian: bool) -> tuple[float, np.ndarray, np.ndarray | None]:
		params = np.exp(log_params)
		ll, grad, hess = loglik(params, data, hessian)
		value = -ll / total + penalizer * np.sum(params**2)
		gradient = -grad * params / total + 2 * penalizer * params**2
		if hess is not None:
			hess = -(hess * np.outer(params, params) + np.diag(grad * params)) / total
			hess += np.diag(4 * penalizer * params**2)
		return float(value), gradient, hess

	def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
		value, gradient, _hess = evaluate(log_params, False)
		return value, gradient

	with _single_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
		if start is None:  # only a start for Newton, so a loose tolerance will do
			bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * n_params
			options = {"maxiter": 2000, "ftol": 1e-10, "gtol": 1e-6}
			start = minimize(
				objective, np.zeros(n_params), jac=True, method="L-BFGS-B", bounds=bounds, options=options
			).x
		optimum = _newton(evaluate, start)
	if optimum is None:  # far from the model: keep the bounded quasi-Newton answer
		optimum = _minimise(objective, start)
	return optimum


class _BGNBDData:
	"""Grouped summaries arranged for the likelihood: one-time buyers by T, repeat buyers by row.

	Terms of one variable are computed on its distinct values and indexed, and sums of weights
	that do not depend on the parameters are taken once here, so an evaluation costs a handful
	of array passes over the repeat rows and nothing per customer.
	"""

	def __init__(self, rows: _BGNBDRows) -> None:
		(code_x, code_tx, code_T), (x_values, tx_values, T_values), weights = (
			rows.codes,
			rows.values,
			rows.weights,
		)
		x_values = np.asarray(x_values, dtype=float)
		self.T_values = np.asarray(T_values, dtype=float)
		self.tx_values = np.asarray(tx_values, dtype=float)
		self.total = float(weights.sum())
		once = x_values[code_x] == 0
		self.once_weights = np.bincount(code_T[once], weights=weights[once], minlength=len(self.T_values))
		self.weight_once = float(self.once_weights.sum())
		repeat = ~once
		w = weights[repeat]
		# renumber frequencies over repeat buyers only, so x = 0 never enters 1 / (b + x - 1)
		by_x = np.bincount(code_x[repeat], weights=w, minlength=len(x_values))
		used = by_x > 0
		renumber = np.cumsum(used) - 1
		self.x_values = x_values[used]
		self.weights_by_x = by_x[used]
		self.x_index = renumber[code_x[repeat]]
		self.T_index = code_T[repeat]
		self.tx_index = code_tx[repeat]
		self.weights = w
		self.weight_repeat = float(w.sum())
		wx = w * self.x_values[self.x_index]
		self.weights_by_T = np.bincount(self.T_index, weights=w, minlength=len(self.T_values))
		self.weights_x_by_T = np.bincount(self.T_index, weights=wx, minlength=len(self.T_values))


def _bgnbd_loglik(
	params: np.ndarray, data: _BGNBDData, hessian: bool = False
) -> tuple[float, np.ndarray, np.ndarray | None]:
	"""Weighted log-likelihood, gradient and (if asked) Hessian in (r, alpha, a, b); FHL 2005 eq. 6.

	For a repeat buyer eq. 6 is A + softplus(z) with A = log Γ(r+x) - log Γ(r) + r log(alpha)
	+ log B(a, b+x) - log B(a, b) - (r+x) log(alpha+T) and z = log(a/(b+x-1)) +
	(r+x) (log(alpha+T) - log(alpha+t_x)); a one-time buyer has only r log(alpha) - r log(alpha+T).
	A splits into sums over distinct x and distinct T; only softplus(z) needs a pass over rows.
	The Hessian of softplus(z) is s(1-s) dz dz' + s d2z with s = sigmoid(z): five per-row
	products on top of what the gradient already has, which is what lets Newton replace
	sixty L-BFGS-B evaluations by about four.
	"""
	r, alpha, a, b = params
	xu, W_x = data.x_values, data.weights_by_x
	log_alpha = np.log(alpha)
	log_T_u = np.log(alpha + data.T_values)
	inv_T_u = 1 / (alpha + data.T_values)
	log_tx_u = np.log(alpha + data.tx_values)
	inv_tx_u = 1 / (alpha + data.tx_values)
	n_alpha = data.weight_once + data.weight_repeat  # customers carrying r log(alpha)
	by_T = r * data.weights_by_T + data.weights_x_by_T + r * data.once_weights  # (r+x) weights on T
	# the A terms: per distinct x and per distinct T
	psi_ab = digamma(a + b) - digamma(a + b + xu)
	ll = (
		float(W_x @ (gammaln(r + xu) - gammaln(r) + betaln(a, b + xu) - betaln(a, b)))
		+ n_alpha * r * log_alpha
		- float(by_T @ log_T_u)
	)
	d_r = (
		float(W_x @ (digamma(r + xu) - digamma(r)))
		+ n_alpha * log_alpha
		- float((data.weights_by_T + data.once_weights) @ log_T_u)
	)
	d_alpha = n_alpha * r / alpha - float(by_T @ inv_T_u)
	d_a = float(W_x @ psi_ab)
	d_b = float(W_x @ (psi_ab + digamma(b + xu) - digamma(b)))
	# softplus(z): per row; np.take gathers faster than fancy indexing
	w, ix = data.weights, data.x_index
	inv_b_u = 1 / (b + xu - 1)
	gap = np.take(log_T_u, data.T_index) - np.take(log_tx_u, data.tx_index)
	inv_T = np.take(inv_T_u, data.T_index)
	inv_tx = np.take(inv_tx_u, data.tx_index)
	d_inv = inv_T - inv_tx
	r_x = np.take(r + xu, ix)
	z = np.take(np.log(a * inv_b_u), ix) + r_x * gap
	z_alpha = r_x * d_inv
	share = expit(z)
	w_share = w * share
	# softplus(z) = max(z, 0) + log1p(exp(-|z|)): no overflow, and cheaper than np.logaddexp
	ll += float(w @ np.log1p(np.exp(-np.abs(z)))) + float(w @ np.maximum(z, 0.0))
	sum_share = float(w_share.sum())
	share_by_x = np.bincount(ix, weights=w_share, minlength=len(xu))
	d_r += float(w_share @ gap)
	d_alpha += float(w_share @ z_alpha)
	d_a += sum_share / a
	d_b -= float(share_by_x @ inv_b_u)
	gradient = np.array([d_r, d_alpha, d_a, d_b])
	if not hessian:
		return float(ll), gradient, None
	# second derivatives of the A terms
	tri_ab = polygamma(1, a + b) - polygamma(1, a + b + xu)
	h_rr = float(W_x @ (polygamma(1, r + xu) - polygamma(1, r)))
	h_r_alpha = n_alpha / alpha - float((data.weights_by_T + data.once_weights) @ inv_T_u)
	h_alpha_alpha = -n_alpha * r / alpha**2 + float(by_T @ inv_T_u**2)
	h_aa = float(W_x @ tri_ab)
	h_bb = float(W_x @ (tri_ab + polygamma(1, b + xu) - polygamma(1, b)))
	h_ab = h_aa
	# softplus(z): s (1-s) dz dz' + s d2z, with dz = (gap, z_alpha, 1/a, -1/(b+x-1));
	# terms in 1/(b+x-1) are summed per distinct x first
	w_curv = w_share - w_share * share
	curv_gap = w_curv * gap
	curv_alpha = w_curv * z_alpha
	curv_by_x = np.bincount(ix, weights=w_curv, minlength=len(xu))
	h_rr += float(curv_gap @ gap)
	h_r_alpha += float(curv_gap @ z_alpha) + float(w_share @ d_inv)
	h_r_a = float(curv_gap.sum()) / a
	h_r_b = -float(np.bincount(ix, weights=curv_gap, minlength=len(xu)) @ inv_b_u)
	h_alpha_alpha += float(curv_alpha @ z_alpha) - float(w_share @ (z_alpha * (inv_T + inv_tx)))
	h_alpha_a = float(curv_alpha.sum()) / a
	h_alpha_b = -float(np.bincount(ix, weights=curv_alpha, minlength=len(xu)) @ inv_b_u)
	h_aa += (float(curv_by_x.sum()) - sum_share) / a**2
	h_ab -= float(curv_by_x @ inv_b_u) / a
	h_bb += float((curv_by_x + share_by_x) @ inv_b_u**2)
	hess = np.array(
		[
			[h_rr, h_r_alpha, h_r_a, h_r_b],
			[h_r_alpha, h_alpha_alpha, h_alpha_a, h_alpha_b],
			[h_r_a, h_alpha_a, h_aa, h_ab],
			[h_r_b, h_alpha_b, h_ab, h_bb],
		]
	)
	return float(ll), gradient, hess


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
		codes, values, weights = _group_codes(x, m)
		scale = 10.0 / float(np.max(m))  # fit spend on a ~0..10 axis; v scales with it, p and q do not
		x_codes, x_values = codes[0], np.asarray(values[0], dtype=float)
		spend = np.asarray(values[1], dtype=float)[codes[1]]
		data = _GammaGammaData(x_codes, x_values, spend * scale, weights)
		log_params = _fit_gamma_gamma(data, self.penalizer_coef, np.random.default_rng(SUBSAMPLE_SEED))
		p, q, v = np.exp(log_params)
		v /= scale
		self.params_ = {"p": float(p), "q": float(q), "v": float(v)}
		unscaled = _GammaGammaData(x_codes, x_values, spend, weights)
		self.log_likelihood_ = float(_gamma_gamma_loglik(np.array([p, q, v]), unscaled)[0])
		total = data.total
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


class _GammaGammaData:
	"""Repeat buyers' distinct (x, m) rows arranged for the likelihood: terms of x alone per distinct x.

	In FHL's eq. 1 only log(x m + v) mixes a row's spend with a parameter; the gamma functions
	depend on x alone (a few hundred distinct values) and the log m terms on no parameter. So an
	evaluation is one log and one reciprocal per row and a few weighted sums, where the per-row
	form ran four gamma-family functions per row and per evaluation.
	"""

	def __init__(
		self, x_codes: np.ndarray, x_values: np.ndarray, spend: np.ndarray, weights: np.ndarray
	) -> None:
		self.x_codes, self.x_values, self.spend, self.row_weights = x_codes, x_values, spend, weights
		self.weights_by_x = np.bincount(x_codes, weights=weights, minlength=len(x_values))
		self.total = float(weights.sum())
		x = x_values[x_codes]
		self.w = weights
		self.wx = weights * x
		self.xm = x * spend
		log_m = np.log(spend)
		used = self.weights_by_x > 0
		# coefficient of p (sum of w x log m plus sum of w x log x) and the parameter-free part
		self.p_coefficient = _dot(self.wx, log_m) + _dot(
			self.weights_by_x[used], x_values[used] * np.log(x_values[used])
		)
		self.constant = -_dot(weights, log_m)

	def thinned(self, share: float, rng: np.random.Generator) -> _GammaGammaData:
		"""A random subsample keeping each customer with probability ``share`` (see _BGNBDRows.thinned)."""
		kept = _thinned_weights(self.row_weights, share, rng)
		rows = kept > 0
		return _GammaGammaData(self.x_codes[rows], self.x_values, self.spend[rows], kept[rows])


def _thinned_weights(weights: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
	"""How many of each row's customers a subsample keeping each customer with probability ``share`` has."""
	kept = (rng.random(len(weights)) < share).astype(float)  # most rows are one customer
	many = weights > 1
	kept[many] = rng.binomial(weights[many].astype(np.int64), share)
	return kept


def _gamma_gamma_loglik(
	params: np.ndarray, data: _GammaGammaData, hessian: bool = False
) -> tuple[float, np.ndarray, np.ndarray | None]:
	"""Weighted log-density of each customer's mean spend (FHL 2005 "RFM and CLV", eq. 1), gradient, Hessian.

	Per row: log Γ(px+q) - log Γ(px) - log Γ(q) + q log v + (px-1) log m + px log x
	- (px+q) log(xm+v), differentiated in (p, q, v).
	"""
	p, q, v = params
	xu, W = data.x_values, data.weights_by_x
	n = data.total
	px = p * xu
	shifted = data.xm + v
	log_shifted = np.log(shifted)
	inv_shifted = 1 / shifted
	wx_log, w_log = _dot(data.wx, log_shifted), _dot(data.w, log_shifted)
	wx_inv, w_inv = _dot(data.wx, inv_shifted), _dot(data.w, inv_shifted)
	psi = digamma(px + q)
	ll = (
		_dot(W, gammaln(px + q) - gammaln(px))
		- n * gammaln(q)
		+ n * q * np.log(v)
		+ p * data.p_coefficient
		+ data.constant
		- p * wx_log
		- q * w_log
	)
	d_p = _dot(W, xu * (psi - digamma(px))) + data.p_coefficient - wx_log
	d_q = _dot(W, psi) - n * digamma(q) + n * np.log(v) - w_log
	d_v = n * q / v - p * wx_inv - q * w_inv
	gradient = np.array([d_p, d_q, d_v])
	if not hessian:
		return float(ll), gradient, None
	tri = polygamma(1, px + q)
	inv_squared = inv_shifted * inv_shifted
	h_pp = _dot(W, xu * xu * (tri - polygamma(1, px)))
	h_pq = _dot(W, xu * tri)
	h_pv = -wx_inv
	h_qq = _dot(W, tri) - n * float(polygamma(1, q))
	h_qv = n / v - w_inv
	h_vv = -n * q / v**2 + p * _dot(data.wx, inv_squared) + q * _dot(data.w, inv_squared)
	hess = np.array([[h_pp, h_pq, h_pv], [h_pq, h_qq, h_qv], [h_pv, h_qv, h_vv]])
	return float(ll), gradient, hess


def _fit_gamma_gamma(data: _GammaGammaData, penalizer: float, rng: np.random.Generator) -> np.ndarray:
	"""Log-parameters maximising the (penalised) likelihood, found as for BG/NBD (see _fit_bgnbd).

	A loose L-BFGS-B run (on a subsample of about SUBSAMPLE_CUSTOMERS customers when the data
	are large) only chooses the start; Newton's steps with the exact Hessian on all rows give the
	optimum, and the bounded quasi-Newton run takes over if Newton cannot finish cleanly.
	"""
	start = None
	if data.total > 4 * SUBSAMPLE_CUSTOMERS:
		sample = data.thinned(SUBSAMPLE_CUSTOMERS / data.total, rng)
		if sample.total >= 2:
			start = _fit_gamma_gamma(sample, penalizer, rng)
	return _penalised_fit(_gamma_gamma_loglik, data, 3, penalizer, start)


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
	r, alpha, a, b = bgnbd._params()
	month = days_per_month / time_unit_days
	# E[purchases up to t] = P(alive) * F(t; x, T): the discounted monthly increments of F are
	# summed once per distinct (frequency, T), then scaled by each customer's P(alive) and spend
	row, (xu, Tu) = _distinct_rows(x, T)
	discounted = np.zeros(len(xu))
	previous = np.zeros(len(xu))
	for k in range(1, int(horizon_months) + 1):  # a loop over months, each vectorised over rows
		cumulative = _future_purchases(k * month, xu, Tu, r, alpha, a, b)
		discounted += (cumulative - previous) / (1 + monthly_discount_rate) ** k
		previous = cumulative
	alive = expit(-_log_odds_dead(x, t_x, T, r, alpha, a, b))
	return pd.Series(spend * alive * discounted[row], index=summary.index, name="clv")
