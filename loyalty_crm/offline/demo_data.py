"""A deterministic, realistic retailer to demo the analysis on, drawn from the models' own story.

Each customer arrives on some day of the first 18 months, buys at a personal Poisson rate
(gamma across customers), may silently leave after each purchase (beta-distributed chance),
and spends around a personal mean (Gamma-Gamma). A few purchases are split over two receipts
on one day and a few are partly returned later, so the demo exercises the netting rules too.
Because the data follow BG/NBD and Gamma-Gamma, a fit recovers parameters close to the ones
below, which makes the demo a sanity check as well as a showcase.

One departure from BG/NBD gives the churn model something real to find: most customers who
decide to leave do not vanish at once but *fade* first, coming back a few more times, ever
more slowly and spending less each visit (``FADING``). That is what shop owners describe
("they came less and less, then not at all"), and it is exactly what BG/NBD cannot see: it
assumes a constant purchase rate until a silent, sudden drop-out. So the churn model's
features (days since the last purchase against the customer's own interval, spend against
the previous quarter) beat BG/NBD's expected purchases on this shop, for a reason a reader
of the report can check in the drivers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEMO_PARAMS = {
	"bgnbd": {"r": 0.9, "alpha": 40.0, "a": 1.2, "b": 6.0},  # alpha in days: ~1 purchase per 44 days
	"gamma_gamma": {"p": 6.0, "q": 4.0, "v": 30.0},  # mean spend p*v/(q-1) = 60
}
# share of leavers who fade first, their extra purchases (1..max), rate and spend multipliers
FADING = {"share": 0.7, "max_purchases": 3, "rate": 0.5, "spend": 0.5}


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

	owners, times, spend_factor = _purchase_times(rng, arrival, rate, dropout, days)
	amounts = np.round(rng.gamma(gg["p"], 1.0 / spend_scale[owners]) * spend_factor, 2)
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
	"""Step all customers forward one purchase at a time: a loop over purchase numbers, not customers.

	Returns each purchase's customer, time and spend factor (1, or less while fading out).
	"""
	n = len(arrival)
	owners = [np.arange(n)]
	times = [arrival]
	factors = [np.ones(n)]
	clock = arrival.copy()
	alive = np.ones(n, dtype=bool)
	fading_left = np.zeros(n, dtype=int)  # purchases left before a fading customer is gone
	slowdown = np.ones(n)  # rate multiplier, shrinking with each fading purchase
	spend = np.ones(n)
	while alive.any():
		clock = clock + rng.exponential(1.0, n) / (rate * slowdown)
		alive &= clock < days
		owners.append(np.flatnonzero(alive))
		times.append(clock[alive])
		factors.append(spend[alive])
		fading = fading_left > 0
		fading_left[fading] -= 1
		alive &= ~(fading & (fading_left == 0))  # the last fading purchase was their last
		slowdown[fading] *= FADING["rate"]
		spend[fading] *= FADING["spend"]
		leaving = alive & ~fading & (rng.random(n) < dropout)  # BG/NBD: may leave after a repeat purchase
		fades = leaving & (rng.random(n) < FADING["share"])
		fading_left[fades] = rng.integers(1, FADING["max_purchases"] + 1, size=n)[fades]
		slowdown[fades] = FADING["rate"]
		spend[fades] = FADING["spend"]
		alive &= ~(leaving & ~fades)
	return np.concatenate(owners), np.concatenate(times), np.concatenate(factors)


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
