"""The engine's transactions -> CLV path at 1M, 3M and 10M rows, step by step, against the previous code.

    python benchmarks/clv_path.py                 # 1M, 3M, 10M rows (100k, 300k, 1M customers)
    python benchmarks/clv_path.py --quick         # 100k, 300k, 1M rows
    python benchmarks/clv_path.py --order date    # rows in date order (an invoice export) instead

The steps are the ones ``services.clv.customer_values`` (the CLV report) and
``engine.value_bands.predicted_clv`` (the segment refresh) run, in their order:
``customer_summary`` (daily purchases and the RFM summary), ``BetaGeoModel.fit``,
``GammaGammaModel.fit``, the report's predictions (P(alive), expected purchases in 12 months,
expected spend) and ``customer_lifetime_value`` (12 months, 1 % a month).

Data: 10 transaction rows per customer on average over two years: purchase days drawn from
BG/NBD (r=0.9, alpha=30 days, a=1.2, b=6; customers join throughout), extra receipts on a
purchase day, and 7 % returns (negative amounts; 40 % return the whole receipt, half of them on
the purchase day, so some days net to zero or below). Customer ids are strings
(``CUST-0000001``) in pandas' string dtype, as ``frappe.db.sql`` rows give them, and by default
the rows come in the site's order: sorted by customer and date, Sales Invoices then POS
Invoices (two sorted blocks, as the report's ``union all`` of two GROUP BYs returns them).

Baseline, measured in the same run on the same rows: the path as it was before this benchmark
(commit 5029254), copied below where it changed (same formulas, same optimiser settings; the
unused options left out): pandas ``normalize_transactions`` and a groupby on (customer, date) for the daily purchases and the summary, the per-row Gamma-Gamma
likelihood under L-BFGS-B, and CLV calling the expected-purchases formula for every customer
in each of the 12 months. BG/NBD's fit did not change and runs in both. Results are compared:
the summaries must agree exactly in frequency, recency and T, and to 1e-9 in money; the
parameters and CLV to 1e-6.

Each path runs in a fresh child process (spawn). Its peak memory is the peak RSS from the moment
the rows are ready to the end of the path (Linux: VmHWM, reset through /proc/self/clear_refs;
elsewhere the process's max RSS), printed beside the RSS of the rows alone. Seconds are wall
time; CPU seconds are printed beside them because the machine may be shared.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = 10.0
HORIZON_MONTHS = 12
MONTHLY_DISCOUNT = 0.01
STEPS = ("summary", "bgnbd_fit", "gamma_gamma_fit", "predictions", "clv")


def synthetic_transactions(n_rows: int, seed: int = 0, order: str = "site") -> pd.DataFrame:
	"""About ``n_rows`` rows for ``n_rows / 10`` customers over two years ending 2026-06-30 (see module doc)."""
	rng = np.random.default_rng(seed)
	n_customers, days = n_rows // 10, 730
	r, alpha, a, b = 0.9, 30.0, 1.2, 6.0
	first = rng.integers(0, days, n_customers)
	rate = rng.gamma(r, 1 / alpha, n_customers)
	dropout = rng.beta(a, b, n_customers)
	who, clock = np.arange(n_customers), first.astype(float)
	customers, purchase_days = [who], [first]
	keep = rng.random(n_customers) >= dropout
	who, clock, rate, dropout = who[keep], clock[keep], rate[keep], dropout[keep]
	while who.size:  # one vectorised step per purchase number
		clock = clock + rng.exponential(1.0, who.size) / rate
		alive = clock < days
		who, clock, rate, dropout = who[alive], clock[alive], rate[alive], dropout[alive]
		customers.append(who)
		purchase_days.append(np.floor(clock).astype(np.int64))
		keep = rng.random(who.size) >= dropout
		who, clock, rate, dropout = who[keep], clock[keep], rate[keep], dropout[keep]
	customer, day = np.concatenate(customers), np.concatenate(purchase_days)
	spend = rng.gamma(6.0, 1 / 0.15, n_customers)  # each customer's typical receipt, about 40
	amount = np.round(spend[customer] * rng.gamma(4.0, 0.25, customer.size), 2)
	n_returns = int(0.07 * n_rows)
	n_extra = max(0, n_rows - customer.size - n_returns)
	extra = rng.integers(0, customer.size, n_extra)  # a second receipt on a purchase day
	extra_amount = np.round(spend[customer[extra]] * rng.gamma(2.0, 0.25, n_extra), 2)
	returned = rng.integers(0, customer.size, n_returns)
	later = np.where(rng.random(n_returns) < 0.5, rng.integers(1, 30, n_returns), 0)
	share = np.where(rng.random(n_returns) < 0.4, 1.0, rng.uniform(0.1, 0.9, n_returns))
	customer = np.concatenate([customer, customer[extra], customer[returned]])
	day = np.concatenate([day, day[extra], np.minimum(day[returned] + later, days - 1)])
	amount = np.concatenate([amount, extra_amount, -np.round(amount[returned] * share, 2)])
	if order == "site":  # Sales Invoices then POS Invoices, each sorted by customer and date
		block = rng.random(customer.size) < 0.3
		rows = np.lexsort((day, customer, block))
	else:
		rows = np.argsort(day, kind="stable")
	names = np.array([f"CUST-{i:07d}" for i in range(n_customers)], dtype=object)
	start = np.datetime64("2026-06-30") - np.timedelta64(days - 1, "D")
	return pd.DataFrame(
		{
			"customer": pd.array(names[customer[rows]], dtype="str"),
			"date": (start + day[rows].astype("timedelta64[D]")).astype("datetime64[us]"),
			"amount": amount[rows],
		}
	)


# ---------------------------------------------------------------------------------------------
# The two paths, step by step
# ---------------------------------------------------------------------------------------------


def run_path(frame: pd.DataFrame, baseline: bool) -> tuple[dict[str, float], dict[str, float], dict]:
	"""Seconds and CPU seconds per step, and the results to compare."""
	from loyalty_crm.engine import clv

	summarise = _baseline_summary if baseline else clv.customer_summary
	fit_gamma_gamma = _baseline_gamma_gamma if baseline else (lambda s: clv.GammaGammaModel().fit(s))
	value = _baseline_clv if baseline else clv.customer_lifetime_value
	wall: dict[str, float] = {}
	cpu: dict[str, float] = {}

	def timed(step: str, call):
		start, start_cpu = time.perf_counter(), time.process_time()
		result = call()
		wall[step], cpu[step] = time.perf_counter() - start, time.process_time() - start_cpu
		return result

	summary = timed("summary", lambda: summarise(frame, observation_end="2026-06-30"))
	bgnbd = timed("bgnbd_fit", lambda: clv.BetaGeoModel().fit(summary))
	gamma_gamma = timed("gamma_gamma_fit", lambda: fit_gamma_gamma(summary))
	x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))

	def predictions():
		horizon = HORIZON_MONTHS * 30.0
		if baseline:
			expected = _baseline_expected(bgnbd, horizon, x, t_x, T)
		else:
			expected = bgnbd.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T)
		monetary = summary["monetary_value"].to_numpy(dtype=float)
		spend = gamma_gamma.conditional_expected_average_profit(x, monetary)
		return bgnbd.conditional_probability_alive(x, t_x, T), expected, spend

	p_alive, expected, spend = timed("predictions", predictions)
	values = timed("clv", lambda: value(bgnbd, gamma_gamma, summary, HORIZON_MONTHS, MONTHLY_DISCOUNT))
	results = {
		"customers": summary.index.to_numpy(dtype=object),
		**{
			c: summary[c].to_numpy(dtype=float)
			for c in ("frequency", "recency", "T", "monetary_value", "historical_value")
		},
		"bgnbd": np.array([bgnbd.params_[k] for k in ("r", "alpha", "a", "b")]),
		"gamma_gamma": np.array([gamma_gamma.params_[k] for k in ("p", "q", "v")]),
		"p_alive": p_alive,
		"expected": expected,
		"spend": spend,
		"clv": values.to_numpy(dtype=float),
	}
	return wall, cpu, results


def _status_mb(field: str) -> float | None:
	"""VmRSS / VmHWM of this process from /proc (Linux), in MB."""
	try:
		for line in Path("/proc/self/status").read_text().splitlines():
			if line.startswith(field + ":"):
				return int(line.split()[1]) / 1024
	except OSError:
		pass
	return None


def _reset_peak() -> bool:
	"""Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
	try:
		Path("/proc/self/clear_refs").write_text("5")
	except OSError:
		return False
	return True


def _child(n_rows: int, order: str, baseline: bool, out: str, queue) -> None:
	frame = synthetic_transactions(n_rows, order=order)
	data_mb = _status_mb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
	reset = _reset_peak()
	wall, cpu, results = run_path(frame, baseline)
	peak_mb = (_status_mb("VmHWM") if reset else None) or resource.getrusage(
		resource.RUSAGE_SELF
	).ru_maxrss / 1024
	np.savez(out, **results)
	queue.put({"rows": len(frame), "wall": wall, "cpu": cpu, "data_mb": data_mb, "peak_mb": peak_mb})


def measure(n_rows: int, order: str, baseline: bool, out: str) -> dict:
	context = multiprocessing.get_context("spawn")
	queue = context.Queue()
	process = context.Process(target=_child, args=(n_rows, order, baseline, out, queue))
	process.start()
	result = queue.get()
	process.join()
	return result


def compare(fast: str, base: str) -> str:
	ours, theirs = np.load(fast, allow_pickle=True), np.load(base, allow_pickle=True)
	if not np.array_equal(ours["customers"], theirs["customers"]):
		return "DIFFERENT customers"
	for column in ("frequency", "recency", "T"):
		if not np.array_equal(ours[column], theirs[column]):
			return f"DIFFERENT {column}"
	for column in ("monetary_value", "historical_value"):
		if not np.allclose(ours[column], theirs[column], rtol=1e-9, atol=1e-9):
			return f"DIFFERENT {column}"
	for column in ("bgnbd", "gamma_gamma", "p_alive", "expected", "spend", "clv"):
		if not np.allclose(ours[column], theirs[column], rtol=1e-6, atol=1e-9):
			worst = np.max(np.abs(ours[column] - theirs[column]) / np.maximum(np.abs(theirs[column]), 1e-9))
			return f"DIFFERENT {column} (relative {worst:.1e})"
	return "same results"


def main() -> None:
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--quick", action="store_true", help="100k, 300k and 1M rows")
	parser.add_argument(
		"--order", choices=("site", "date"), default="site", help="row order (default: the site's)"
	)
	parser.add_argument("--sizes", help="comma-separated row counts instead of the defaults")
	args = parser.parse_args()
	sizes = [100_000, 300_000, 1_000_000] if args.quick else [1_000_000, 3_000_000, 10_000_000]
	if args.sizes:
		sizes = [int(size) for size in args.sizes.split(",")]
	print(f"rows in {args.order} order; seconds wall (cpu)")
	with tempfile.TemporaryDirectory() as folder:
		for n_rows in sizes:
			fast_file, base_file = str(Path(folder) / "fast.npz"), str(Path(folder) / "base.npz")
			fast = measure(n_rows, args.order, False, fast_file)
			base = measure(n_rows, args.order, True, base_file)
			print(f"\n{fast['rows']:,} rows, {n_rows // 10:,} customers: {compare(fast_file, base_file)}")
			print(f"  {'step':<16} {'this code':>18} {'baseline':>18} {'ratio':>8}")
			for step in STEPS:
				print(
					f"  {step:<16} {fast['wall'][step]:8.2f} ({fast['cpu'][step]:6.2f}) "
					f"{base['wall'][step]:8.2f} ({base['cpu'][step]:6.2f}) "
					f"{base['wall'][step] / max(fast['wall'][step], 1e-9):7.1f}x"
				)
			total, base_total = sum(fast["wall"].values()), sum(base["wall"].values())
			total_cpu, base_cpu = sum(fast["cpu"].values()), sum(base["cpu"].values())
			print(
				f"  {'total':<16} {total:8.2f} ({total_cpu:6.2f}) {base_total:8.2f} ({base_cpu:6.2f}) "
				f"{base_total / total:7.1f}x   target <= {TARGET_SECONDS:.0f} s: "
				f"{'met' if total <= TARGET_SECONDS else 'NOT met'}"
			)
			print(
				f"  peak RSS during the path: {fast['peak_mb']:,.0f} MB (this code), {base['peak_mb']:,.0f} MB "
				f"(baseline); with the rows loaded {fast['data_mb']:,.0f} MB, so the path adds "
				f"{fast['peak_mb'] - fast['data_mb']:,.0f} MB against {base['peak_mb'] - base['data_mb']:,.0f} MB"
			)


# ---------------------------------------------------------------------------------------------
# Baseline: the path before this benchmark (commit 5029254), copied where it changed
# ---------------------------------------------------------------------------------------------


def _baseline_daily_purchases(transactions: pd.DataFrame) -> pd.DataFrame:
	daily = transactions.groupby(["customer", "date"], as_index=False, sort=True).agg(
		amount=("amount", "sum"), smallest=("amount", "min")
	)
	bought = (daily["amount"] > 0) | ((daily["amount"] == 0) & (daily["smallest"] >= 0))
	return daily.loc[bought, ["customer", "date", "amount"]].reset_index(drop=True)


def _baseline_summary(transactions: pd.DataFrame, observation_end: object = None) -> pd.DataFrame:
	from loyalty_crm.engine.transactions import normalize_transactions

	frame = normalize_transactions(transactions)
	end = pd.Timestamp(observation_end).normalize()
	frame = frame[frame["date"] <= end]
	days = _baseline_daily_purchases(frame)
	by_customer = days.groupby("customer", sort=True)
	first = by_customer["date"].min()
	last = by_customer["date"].max()
	count = by_customer.size()
	total = by_customer["amount"].sum()
	first_amount = by_customer["amount"].first()
	frequency = count - 1
	repeat_total = total - first_amount
	monetary = (repeat_total / frequency.where(frequency > 0)).fillna(0.0)
	historical = frame.groupby("customer", sort=True)["amount"].sum().reindex(first.index)
	summary = pd.DataFrame(
		{
			"frequency": frequency.astype("int64"),
			"recency": (last - first).dt.days / 1.0,
			"T": (end - first).dt.days / 1.0,
			"monetary_value": monetary.astype("float64"),
			"first_purchase": first,
			"last_purchase": last,
			"historical_value": historical.astype("float64"),
		}
	)
	summary.index.name = "customer"
	return summary


def _baseline_gamma_gamma(summary: pd.DataFrame):
	from scipy.special import digamma, gammaln

	from loyalty_crm.engine import clv

	def loglik(params, x, m, weights):
		p, q, v = params
		px = p * x
		log_xm_v = np.log(x * m + v)
		ll = (
			gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
		)
		ll = ll - (px + q) * log_xm_v
		psi = digamma(px + q)
		d_p = x * (psi - digamma(px) + np.log(m) + np.log(x) - log_xm_v)
		d_q = psi - digamma(q) + np.log(v) - log_xm_v
		d_v = q / v - (px + q) / (x * m + v)
		dot = clv._dot
		return float(dot(weights, ll)), np.array([dot(weights, d_p), dot(weights, d_q), dot(weights, d_v)])

	x = summary["frequency"].to_numpy(dtype=float)
	m = summary["monetary_value"].to_numpy(dtype=float)
	repeat = x > 0
	x, m = x[repeat], m[repeat]
	codes, uniques, weights = clv._group_codes(x, m)
	gx, gm = (u[c].astype(float) for c, u in zip(codes, uniques, strict=True))
	scale = 10.0 / float(np.max(m))
	total = weights.sum()

	def objective(log_params):
		ll, grad = loglik(np.exp(log_params), gx, gm * scale, weights)
		return float(-ll / total), -grad * np.exp(log_params) / total

	p, q, v = np.exp(clv._minimise(objective, np.zeros(3)))
	model = clv.GammaGammaModel()
	model.params_ = {"p": float(p), "q": float(q), "v": float(v / scale)}
	return model


def _baseline_expected(model, t, frequency, recency, T) -> np.ndarray:
	from scipy.special import expit, hyp2f1

	from loyalty_crm.engine import clv

	r, alpha, a, b = model._params()
	x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
	t = np.asarray(t, dtype=float)
	log_ratio = (r + x) * (np.log(alpha + age) - np.log(alpha + age + t))
	hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
	future = (a + b + x - 1) / (a - 1) * (1 - np.exp(log_ratio) * hyp)
	return future * expit(-clv._log_odds_dead(x, t_x, age, r, alpha, a, b))


def _baseline_clv(bgnbd, gg, summary, horizon_months, monthly_discount_rate) -> pd.Series:
	x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
	spend = gg.conditional_expected_average_profit(x, summary["monetary_value"].to_numpy(dtype=float))
	value = np.zeros(len(x))
	previous = np.zeros(len(x))
	for k in range(1, int(horizon_months) + 1):
		cumulative = _baseline_expected(bgnbd, k * 30.0, x, t_x, T)
		value += spend * (cumulative - previous) / (1 + monthly_discount_rate) ** k
		previous = cumulative
	return pd.Series(value, index=summary.index, name="clv")


if __name__ == "__main__":
	main()
