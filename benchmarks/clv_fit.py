"""BG/NBD fit: loyalty_crm's BetaGeoModel against lifetimes' BetaGeoFitter on the same summaries.

    python benchmarks/clv_fit.py            # 100k and 1M customers
    python benchmarks/clv_fit.py --quick    # 10k and 100k customers

Summaries are simulated from BG/NBD at daily grain over two years (r=0.9, alpha=40 days,
a=1.2, b=6), so both fitters face a well-posed problem. lifetimes is called as users call it
(one row per customer) and, to show where the speed comes from, also with our grouping passed
as its ``weights``. lifetimes 0.11.3 gets numpy arrays, not Series (pandas 3 breaks the latter).
If lifetimes would take more than ~10 minutes at a size, its time is extrapolated linearly from
the largest size it ran and the script says so.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from loyalty_crm.engine.clv import BetaGeoModel

TRUE = {"r": 0.9, "alpha": 40.0, "a": 1.2, "b": 6.0}
LIFETIMES_BUDGET_SECONDS = 600.0


def simulate_summary(n: int, days: int = 730, seed: int = 0) -> pd.DataFrame:
	"""frequency/recency/T in days for n BG/NBD customers, one vectorised step per purchase number."""
	rng = np.random.default_rng(seed)
	first = rng.integers(0, days - 1, n).astype(float)
	rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
	dropout = rng.beta(TRUE["a"], TRUE["b"], n)
	clock, last = first.copy(), first.copy()
	count = np.zeros(n, dtype=np.int64)
	alive = np.ones(n, dtype=bool)
	while alive.any():
		clock = clock + rng.exponential(1.0, n) / rate
		alive &= clock < days
		count += alive
		last = np.where(alive, np.floor(clock), last)
		alive &= rng.random(n) >= dropout
	return pd.DataFrame({"frequency": count, "recency": last - first, "T": (days - 1) - first})


def time_ours(summary: pd.DataFrame) -> tuple[float, dict, int]:
	start = time.perf_counter()
	model = BetaGeoModel().fit(summary)
	return time.perf_counter() - start, model.params_, model.n_distinct_


def time_lifetimes(summary: pd.DataFrame, grouped: bool) -> tuple[float, dict]:
	from lifetimes import BetaGeoFitter

	x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
	weights = None
	if grouped:
		rows, weights = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
		x, t_x, T = rows.T
	start = time.perf_counter()
	with warnings.catch_warnings():
		warnings.simplefilter("ignore")
		fitter = BetaGeoFitter().fit(x, t_x, T, weights=weights)
	return time.perf_counter() - start, {k: float(v) for k, v in fitter.params_.items()}


def same_to_4_digits(ours: dict, theirs: dict) -> bool:
	return all(f"{ours[k]:.4g}" == f"{theirs[k]:.4g}" for k in ours)


def show(label: str, seconds: float, params: dict, note: str = "") -> None:
	values = "  ".join(f"{k}={v:.4g}" for k, v in params.items())
	print(f"  {label:<34} {seconds:9.2f} s   {values} {note}")


def main() -> None:
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--quick", action="store_true", help="10k and 100k customers instead of 100k and 1M")
	sizes = [10_000, 100_000] if parser.parse_args().quick else [100_000, 1_000_000]
	try:
		import lifetimes  # noqa: F401
	except ImportError:
		lifetimes = None
	seconds_per_customer = None
	for n in sizes:
		summary = simulate_summary(n)
		ours_s, ours_p, distinct = time_ours(summary)
		print(f"\n{n:,} customers ({distinct:,} distinct (frequency, recency, T) rows), true {TRUE}")
		show("loyalty_crm BetaGeoModel", ours_s, ours_p)
		if lifetimes is None:
			print("  lifetimes not installed: no baseline")
			continue
		estimate = None if seconds_per_customer is None else seconds_per_customer * n
		if estimate is not None and estimate > LIFETIMES_BUDGET_SECONDS:
			print(
				f"  lifetimes (one row per customer)   skipped: estimated {estimate:,.0f} s "
				f"(linear from the previous size); estimated speed ratio {estimate / ours_s:,.0f}x"
			)
		else:
			life_s, life_p = time_lifetimes(summary, grouped=False)
			seconds_per_customer = life_s / n
			agree = "same to 4 s.f." if same_to_4_digits(ours_p, life_p) else "DIFFER at 4 s.f."
			show("lifetimes (one row per customer)", life_s, life_p, f"[{agree}]")
			print(f"  speed ratio lifetimes / ours: {life_s / ours_s:,.1f}x")
		grouped_s, grouped_p = time_lifetimes(summary, grouped=True)
		agree = "same to 4 s.f." if same_to_4_digits(ours_p, grouped_p) else "DIFFER at 4 s.f."
		show("lifetimes (our grouping as weights)", grouped_s, grouped_p, f"[{agree}]")
		print(f"  speed ratio lifetimes-grouped / ours: {grouped_s / ours_s:,.1f}x")


if __name__ == "__main__":
	main()
