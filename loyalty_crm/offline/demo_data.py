"""A deterministic, realistic retailer to demo the analysis on, drawn from the models' own story.

Each customer arrives on some day of the first 18 months, buys at a personal Poisson rate
(gamma across customers), may silently leave after each purchase (beta-distributed chance),
and spends around a personal mean (Gamma-Gamma). A few purchases are split over two receipts
on one day and a few are partly returned later, so the demo exercises the netting rules too.
Because the data follow BG/NBD and Gamma-Gamma, a fit recovers parameters close to the ones
below, which makes the demo a sanity check as well as a showcase.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEMO_PARAMS = {
	"bgnbd": {"r": 0.9, "alpha": 40.0, "a": 1.2, "b": 6.0},  # alpha in days: ~1 purchase per 44 days
	"gamma_gamma": {"p": 6.0, "q": 4.0, "v": 30.0},  # mean spend p*v/(q-1) = 60
}


def demo_transactions(
	n_customers: int = 2000,
	start: str = "2023-01-01",
	days: int = 730,
	seed: int = 7,
	return_share: float = 0.03,
) -> pd.DataFrame:
	"""Transactions (customer, date, amount) of ``n_customers`` over ``days`` days, same for same seed."""
	rng = np.random.default_rng(seed)
	bg, gg = DEMO_PARAMS["bgnbd"], DEMO_PARAMS["gamma_gamma"]
	arrival = rng.integers(0, int(days * 0.75), size=n_customers).astype(float)
	rate = rng.gamma(bg["r"], 1.0 / bg["alpha"], size=n_customers)
	dropout = rng.beta(bg["a"], bg["b"], size=n_customers)
	spend_scale = rng.gamma(gg["q"], 1.0 / gg["v"], size=n_customers)  # the paper's nu, a rate

	owners, times = _purchase_times(rng, arrival, rate, dropout, days)
	amounts = np.round(rng.gamma(gg["p"], 1.0 / spend_scale[owners]), 2)
	frame = pd.DataFrame({"customer_no": owners, "day": np.floor(times).astype(int), "amount": amounts})
	frame = pd.concat(
		[_split_receipts(rng, frame), _returns(rng, frame, return_share, days)], ignore_index=True
	)
	frame["customer"] = "CUST-" + (frame["customer_no"] + 1).astype(str).str.zfill(5)
	frame["date"] = pd.Timestamp(start) + pd.to_timedelta(frame["day"], unit="D")
	return frame.sort_values(["date", "customer"], kind="stable")[["customer", "date", "amount"]].reset_index(
		drop=True
	)


def _purchase_times(
	rng: np.random.Generator, arrival: np.ndarray, rate: np.ndarray, dropout: np.ndarray, days: int
):
	"""Step all customers forward one purchase at a time: a loop over purchase numbers, not customers."""
	owners = [np.arange(len(arrival))]
	times = [arrival]
	clock = arrival.copy()
	alive = np.ones(len(arrival), dtype=bool)
	while alive.any():
		clock = clock + rng.exponential(1.0, len(arrival)) / rate
		alive &= clock < days
		owners.append(np.flatnonzero(alive))
		times.append(clock[alive])
		alive &= rng.random(len(arrival)) >= dropout  # BG/NBD: may leave right after a repeat purchase
	return np.concatenate(owners), np.concatenate(times)


def _split_receipts(rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
	"""Split ~5% of purchases into two same-day receipts (one trip, two tickets)."""
	split = rng.random(len(frame)) < 0.05
	share = np.round(rng.uniform(0.2, 0.8, size=len(frame)), 2)
	first = frame.copy()
	first.loc[split, "amount"] = np.round(frame["amount"][split] * share[split], 2)
	second = frame[split].copy()
	second["amount"] = np.round(frame["amount"][split] - first["amount"][split], 2)
	return pd.concat([first, second], ignore_index=True)


def _returns(rng: np.random.Generator, frame: pd.DataFrame, share: float, days: int) -> pd.DataFrame:
	"""Return part or all of a few purchases 1-14 days later (negative amounts), within the window."""
	chosen = frame[rng.random(len(frame)) < share].copy()
	chosen["day"] = chosen["day"] + rng.integers(1, 15, size=len(chosen))
	chosen["amount"] = -np.round(chosen["amount"] * rng.choice([0.3, 0.5, 1.0], size=len(chosen)), 2)
	return chosen[chosen["day"] < days]
