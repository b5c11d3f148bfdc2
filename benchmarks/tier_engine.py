"""Tier evaluation: pandas groupby + evaluate_tiers against plain Python loops, same run.

    python benchmarks/tier_engine.py            # 100k customers, 1M invoices
    python benchmarks/tier_engine.py --quick    # 10k customers, 100k invoices

Data are synthetic and seeded. Three ways to get every customer's tier on one day:

* engine: ``qualifying_metric`` (one groupby over the invoices) + ``evaluate_tiers``;
* loop, one pass: a Python loop over the invoice rows summing spend into a dict, then a Python
  loop over customers applying the same rules: what one writes without pandas;
* loop, per customer: for each customer, select that customer's invoices, sum, decide: the
  shape of "one query per customer". Far too slow for every customer, so it runs on a sample
  and the time is scaled up linearly (printed as such).

The loops' decisions are checked against the engine's, so the ratio compares equal work.
(The Frappe/SQL part of this benchmark is added separately.)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from loyalty_crm.engine import tiers

AS_OF = date(2024, 6, 30)
LADDER = [
	{"tier": name, "rank": rank, "metric": "spend", "threshold": threshold, "window_kind": "rolling"}
	| {"window_months": 12, "multiplier": multiplier, "grace_months": grace}
	for rank, (name, threshold, multiplier, grace) in enumerate(
		[
			("Bronze", 0, "1", 0),
			("Silver", 500, "1.25", 1),
			("Gold", 2000, "1.5", 2),
			("Platinum", 6000, "2", 3),
		],
		start=1,
	)
]


def synthetic(customers: int, invoices: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
	"""Invoices over two years (4% credit notes) and a current tier state per customer."""
	rng = np.random.default_rng(seed)
	names = np.array([f"C{i:07d}" for i in range(customers)], dtype=object)
	who = rng.integers(0, customers, invoices)
	days = rng.integers(0, 730, invoices)
	amount = np.round(rng.lognormal(3.5, 1.0, invoices), 2)
	returns = rng.random(invoices) < 0.04
	amount[returns] = -np.round(amount[returns] * rng.uniform(0.1, 1.0, returns.sum()), 2)
	activity = pd.DataFrame(
		{
			"customer": names[who],
			"date": np.datetime64(AS_OF, "D") - days.astype("timedelta64[D]"),
			"amount": amount,
		}
	)
	ladder_names = np.array([None, "Bronze", "Silver", "Gold", "Platinum"], dtype=object)
	below = rng.random(customers) < 0.3
	current = pd.DataFrame(
		{
			"customer": names,
			"tier": ladder_names[rng.integers(0, 5, customers)],
			"tier_since": np.datetime64("2022-01-01", "D")
			+ rng.integers(0, 800, customers).astype("timedelta64[D]"),
			"below_since": np.where(
				below,
				np.datetime64("2023-09-01", "D") + rng.integers(0, 300, customers).astype("timedelta64[D]"),
				np.datetime64("NaT", "D"),
			),
		}
	)
	return activity, current


def engine(activity: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
	spend = tiers.qualifying_metric(activity, LADDER, AS_OF)
	return tiers.evaluate_tiers(current, spend, LADDER, AS_OF)


class NaiveRules:
	"""The tier rules again, one customer at a time with Python dates: the baseline."""

	def __init__(self) -> None:
		rows = sorted(LADDER, key=lambda row: row["rank"])
		self.names = [row["tier"] for row in rows]
		self.thresholds = [float(row["threshold"]) for row in rows]
		self.grace = [row["grace_months"] for row in rows]
		self.start, self.end = tiers.qualification_window(AS_OF, "rolling", 12)

	def qualifying(self, value: float) -> int:
		position = 0
		for i, threshold in enumerate(self.thresholds):
			if round(value, 6) >= threshold:
				position = i
		return position

	def decide(self, tier: str | None, since: date | None, below: date | None, value: float) -> str:
		qualifying = self.qualifying(value)
		if tier is None:
			return self.names[qualifying]
		old = self.names.index(tier)
		if qualifying >= old:
			return self.names[qualifying]
		grace_ends = tiers.add_months(below or AS_OF, self.grace[old])
		if grace_ends <= AS_OF and since != AS_OF:
			return self.names[old - 1]
		return tier


def _state_rows(current: pd.DataFrame) -> list[tuple]:
	def day(value: object) -> date | None:
		return None if pd.isna(value) else pd.Timestamp(value).date()

	return [
		(customer, None if pd.isna(tier) else tier, day(since), day(below))
		for customer, tier, since, below in current[
			["customer", "tier", "tier_since", "below_since"]
		].itertuples(index=False)
	]


def loop_one_pass(activity: pd.DataFrame, current: pd.DataFrame) -> dict[str, str]:
	rules = NaiveRules()
	start, end = pd.Timestamp(rules.start), pd.Timestamp(rules.end)
	spend: dict[str, float] = {}
	for customer, day, amount in activity[["customer", "date", "amount"]].itertuples(index=False):
		spend.setdefault(customer, 0.0)
		if start <= day <= end:
			spend[customer] += amount
	return {
		customer: rules.decide(tier, since, below, spend.get(customer, 0.0))
		for customer, tier, since, below in _state_rows(current)
	}


def loop_per_customer(activity: pd.DataFrame, current: pd.DataFrame) -> dict[str, str]:
	rules = NaiveRules()
	customers = activity["customer"].to_numpy()
	dates = activity["date"].to_numpy()
	amounts = activity["amount"].to_numpy()
	start, end = np.datetime64(rules.start), np.datetime64(rules.end)
	decisions = {}
	for customer, tier, since, below in _state_rows(current):
		mine = customers == customer  # "SELECT ... WHERE customer = %s"
		spend = 0.0
		for day, amount in zip(dates[mine], amounts[mine], strict=True):
			if start <= day <= end:
				spend += float(amount)
		decisions[customer] = rules.decide(tier, since, below, spend)
	return decisions


def timed(function: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
	"""Best of ``repeat`` runs: the least disturbed by whatever else the machine is doing."""
	best, result = float("inf"), None
	for _ in range(repeat):
		started = time.perf_counter()
		result = function()
		best = min(best, time.perf_counter() - started)
	return best, result


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--quick", action="store_true", help="10k customers / 100k invoices")
	parser.add_argument("--seed", type=int, default=20240630)
	parser.add_argument("--sample", type=int, default=None, help="customers for the per-customer loop")
	parser.add_argument("--repeat", type=int, default=3, help="engine runs; the best is reported")
	args = parser.parse_args()
	customers, invoices = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
	sample = args.sample or (200 if args.quick else 300)

	activity, current = synthetic(customers, invoices, args.seed)
	print(f"{customers:,} customers, {invoices:,} invoices, as of {AS_OF}, seed {args.seed}")

	seconds_metric, spend = timed(lambda: tiers.qualifying_metric(activity, LADDER, AS_OF), args.repeat)
	seconds_eval, _ = timed(lambda: tiers.evaluate_tiers(current, spend, LADDER, AS_OF), args.repeat)
	seconds_engine, result = timed(lambda: engine(activity, current), args.repeat)
	engine_tiers = dict(zip(result["customer"], result["new_tier"].astype(object), strict=True))

	seconds_one_pass, one_pass = timed(lambda: loop_one_pass(activity, current))
	assert one_pass == engine_tiers, "one-pass loop and engine disagree"

	sampled = current.sample(n=min(sample, customers), random_state=args.seed)
	seconds_sample, per_customer = timed(lambda: loop_per_customer(activity, sampled))
	assert all(engine_tiers[c] == t for c, t in per_customer.items()), "per-customer loop and engine disagree"
	seconds_per_customer = seconds_sample * customers / len(sampled)

	rows = [
		("engine: qualifying_metric (groupby)", seconds_metric, invoices),
		("engine: evaluate_tiers", seconds_eval, customers),
		("engine: both", seconds_engine, invoices),
		("loop, one pass over rows", seconds_one_pass, invoices),
		(f"loop, per customer (sample {len(sampled)}, scaled)", seconds_per_customer, invoices),
	]
	print(f"{'':45} {'seconds':>10} {'rows/s':>14} {'x engine':>10}")
	for label, seconds, count in rows:
		print(f"{label:45} {seconds:10.3f} {count / seconds:14,.0f} {seconds / seconds_engine:10.1f}")
	print(f"changes: {result['change'].value_counts().to_dict()}")
	print("engine: best of --repeat runs; loops: one run each")
	print("per-customer time is measured on the sample and multiplied by customers / sample")


if __name__ == "__main__":
	main()
