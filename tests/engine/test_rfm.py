import copy
import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.rfm import (
	DEFAULT_SEGMENT_TABLE,
	OTHERS,
	assign_segments,
	customer_metrics,
	quintile_scores,
	rfm_scores,
	score_metrics,
	validate_segment_table,
)


def _transactions(rows):
	return pd.DataFrame(rows, columns=["customer", "date", "amount"])


# --- customer_metrics -----------------------------------------------------------------------


def test_customer_metrics_nets_returns_and_flags_returns_only_customers():
	frame = _transactions(
		[
			("alice", "2024-01-01", 100.0),
			("alice", "2024-01-01", -30.0),  # same-day return: one purchase day worth 70
			("alice", "2024-03-01", 50.0),
			("alice", "2024-03-10", -20.0),  # return on its own day: not a purchase day
			("bob", "2024-02-15", 40.0),
			("carol", "2024-02-01", 25.0),
			("carol", "2024-02-20", -25.0),  # carol's returns cancel her purchase: net 0
			("dave", "2024-03-05", -10.0),  # only a return
			("erin", "2024-04-15", 99.0),  # after as_of: ignored
		]
	)
	before = frame.copy()
	metrics = customer_metrics(frame, "2024-03-31")
	pd.testing.assert_frame_equal(frame, before)  # input untouched
	assert list(metrics.index) == ["alice", "bob", "carol", "dave"]
	alice = metrics.loc["alice"]
	# last purchase day 2024-03-01 -> 30 days to 2024-03-31; first 2024-01-01 -> 90 days.
	assert alice["recency_days"] == 30
	assert alice["frequency"] == 2
	assert alice["monetary"] == pytest.approx(100 - 30 + 50 - 20)
	assert alice["tenure_days"] == 90
	assert alice["first_purchase"] == pd.Timestamp("2024-01-01")
	assert alice["last_purchase"] == pd.Timestamp("2024-03-01")
	assert list(metrics["returns_only"]) == [False, False, True, True]
	# carol did buy once: her purchase day is reported even though she is not scored.
	assert metrics.loc["carol", "frequency"] == 1
	assert metrics.loc["carol", "monetary"] == 0
	# dave never had a purchase day: no recency or tenure.
	assert np.isnan(metrics.loc["dave", "recency_days"]) and np.isnan(metrics.loc["dave", "tenure_days"])
	assert metrics.loc["dave", "monetary"] == -10

	scores = score_metrics(metrics)
	assert list(scores.index) == ["alice", "bob"]


def test_window_limits_frequency_and_monetary_but_not_tenure():
	frame = _transactions(
		[
			("alice", "2023-01-01", 500.0),  # outside a 90-day window ending 2024-03-31
			("alice", "2024-03-01", 50.0),
			("bob", "2023-06-01", 80.0),  # bob has nothing in the window: not listed
		]
	)
	metrics = customer_metrics(frame, "2024-03-31", window_days=90)
	assert list(metrics.index) == ["alice"]
	assert metrics.loc["alice", "frequency"] == 1
	assert metrics.loc["alice", "monetary"] == 50
	# tenure counts from the first purchase ever: 2023-01-01 -> 2024-03-31 = 365 + 90 days.
	assert metrics.loc["alice", "tenure_days"] == 455


@pytest.mark.parametrize("window", [0, -5, 2.5, True])
def test_bad_window_is_rejected(window):
	frame = _transactions([("a", "2024-01-01", 1.0)])
	with pytest.raises(EngineError, match="window must be a positive number of days"):
		customer_metrics(frame, "2024-03-31", window_days=window)


def test_bad_as_of_is_rejected():
	frame = _transactions([("a", "2024-01-01", 1.0)])
	with pytest.raises(EngineError, match="as-of date"):
		customer_metrics(frame, "not a date")


# --- quintiles and segments on a 20-customer table --------------------------------------------

# n = 20, so score = ceil(5 * rank / 20) = ceil(rank / 4): ranks 1-4 -> 1, 5-8 -> 2, 9-12 -> 3,
# 13-16 -> 4, 17-20 -> 5. Recency is ranked on -recency_days (oldest = rank 1).
# fm = (f + m + 1) // 2; segment from DEFAULT_SEGMENT_TABLE (first match wins).
TWENTY = pd.DataFrame(
	[
		# customer, recency_days, frequency, monetary, expected rfm, fm, expected segment
		("c01", 1, 10, 900, "555", 5, "Champions"),
		("c02", 3, 1, 20, "511", 1, "New Customers"),
		("c03", 2, 2, 60, "522", 2, "Potential Loyalist"),
		("c04", 5, 6, 120, "543", 4, "Champions"),  # fm = (4 + 3 + 1) // 2 = 4: half rounds up
		("c05", 10, 12, 300, "454", 5, "Champions"),
		("c06", 12, 1, 35, "411", 1, "Promising"),
		("c07", 8, 2, 100, "423", 3, "Loyal Customers"),
		("c08", 15, 7, 1000, "445", 5, "Champions"),
		("c09", 30, 2, 15, "321", 2, "Need Attention"),
		("c10", 40, 1, 40, "311", 1, "About To Sleep"),
		("c11", 25, 3, 800, "335", 4, "Loyal Customers"),
		("c12", 35, 15, 75, "352", 4, "Loyal Customers"),
		("c13", 90, 1, 50, "212", 2, "Hibernating"),
		("c14", 80, 4, 150, "233", 3, "At Risk"),
		("c15", 100, 8, 250, "244", 4, "At Risk"),
		("c16", 70, 4, 200, "234", 4, "At Risk"),
		("c17", 200, 20, 1500, "155", 5, "Can't Lose Them"),
		("c18", 365, 9, 400, "144", 4, "Can't Lose Them"),
		("c19", 250, 2, 80, "122", 2, "Lost"),
		("c20", 300, 5, 110, "133", 3, "At Risk"),
	],
	columns=["customer", "recency_days", "frequency", "monetary", "rfm", "fm", "segment"],
).set_index("customer")
# Worked quintiles:
#   recency_days descending (rank 1 = oldest): 365 300 250 200 | 100 90 80 70 | 40 35 30 25 |
#     15 12 10 8 | 5 3 2 1  -> c17-c20 r=1, c13-c16 r=2, c09-c12 r=3, c05-c08 r=4, c01-c04 r=5
#   frequency ascending: 1 1 1 1 (c02 c06 c10 c13, tie -> id order, all in ranks 1-4) | 2 2 2 2 |
#     3 4 4 5 | 6 7 8 9 | 10 12 15 20
#   monetary ascending: 15 20 35 40 | 50 60 75 80 | 100 110 120 150 | 200 250 300 400 |
#     800 900 1000 1500


def test_twenty_customer_table_scores_and_segments():
	metrics = TWENTY[["recency_days", "frequency", "monetary"]]
	scores = score_metrics(metrics)
	assert list(scores.columns) == [
		"recency_days",
		"frequency",
		"monetary",
		"r_score",
		"f_score",
		"m_score",
		"rfm_score",
		"segment",
	]
	assert scores["rfm_score"].to_dict() == TWENTY["rfm"].to_dict()
	assert scores["segment"].to_dict() == TWENTY["segment"].to_dict()
	# Each score holds exactly a fifth of the customers.
	for column in ("r_score", "f_score", "m_score"):
		assert scores[column].value_counts().to_dict() == {1: 4, 2: 4, 3: 4, 4: 4, 5: 4}


def test_twenty_customer_table_is_independent_of_row_order():
	metrics = TWENTY[["recency_days", "frequency", "monetary"]]
	shuffled = metrics.sample(frac=1, random_state=7)
	pd.testing.assert_frame_equal(score_metrics(shuffled).sort_index(), score_metrics(metrics))


def test_ties_are_split_by_customer_id_whatever_the_input_order():
	# Ten customers with identical behaviour: n = 10, score = ceil(rank / 2); ranks follow ids.
	ids = [f"k{i}" for i in range(10)]
	metrics = pd.DataFrame({"recency_days": 5.0, "frequency": 3, "monetary": 50.0}, index=ids)
	expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
	for seed in range(5):
		scores = score_metrics(metrics.sample(frac=1, random_state=seed)).loc[ids]
		assert list(scores["f_score"]) == expected
		assert list(scores["m_score"]) == expected
		# recency is ranked on -recency_days, equal values again split by id.
		assert list(scores["r_score"]) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5), min_size=5, max_size=60), st.randoms())
def test_quintiles_are_balanced_monotone_and_order_free(values, rnd):
	ids = [f"c{i:03d}" for i in range(len(values))]
	series = pd.Series(values, index=ids, dtype="float64")
	scores = quintile_scores(series)
	shuffled_ids = ids[:]
	rnd.shuffle(shuffled_ids)
	assert quintile_scores(series.loc[shuffled_ids]).loc[ids].tolist() == scores.tolist()
	assert scores.between(1, 5).all()
	# A higher value never gets a lower score.
	order = np.argsort(series.to_numpy(), kind="stable")
	assert (np.diff(scores.to_numpy()[order]) >= 0).all()
	if len(values) % 5 == 0:
		assert (scores.value_counts() == len(values) // 5).all()


def test_rfm_scores_end_to_end_from_transactions():
	frame = _transactions(
		[
			("a", "2024-03-30", 500.0),
			("a", "2024-03-01", 500.0),
			("b", "2024-01-01", 10.0),
			("c", "2024-03-15", 100.0),
			("d", "2024-02-01", 50.0),
			("e", "2024-03-20", 60.0),
			("f", "2024-03-25", -60.0),  # returns only: not scored
		]
	)
	scores = rfm_scores(frame, "2024-03-31")
	# n = 5: score = ceil(rank * 5 / 5) = rank.
	# recency_days: a 1, b 90, c 16, d 59, e 11 -> ranks on -days: b1 d2 c3 e4 a5
	# frequency: a 2, others 1 -> ties by id: b1 c2 d3 e4, a5
	# monetary: a 1000, b 10, c 100, d 50, e 60 -> b1 d2 e3 c4 a5
	assert scores["rfm_score"].to_dict() == {"a": "555", "b": "111", "c": "324", "d": "232", "e": "443"}
	# a: r5 fm5 Champions; b: r1 fm1 Lost; c: r3 fm (2+4+1)//2=3 Loyal; d: r2 fm (3+2+1)//2=3
	# At Risk; e: r4 fm (4+3+1)//2=4 Champions.
	assert scores["segment"].to_dict() == {
		"a": "Champions",
		"b": "Lost",
		"c": "Loyal Customers",
		"d": "At Risk",
		"e": "Champions",
	}


def test_administrator_table_with_f_and_m_ranges_and_others_fallback():
	metrics = TWENTY[["recency_days", "frequency", "monetary"]]
	table = [
		{"segment": "Big recent", "r": [4, 5], "m": [5, 5]},
		{"segment": "Frequent", "f": [5, 5]},
	]
	segments = score_metrics(metrics, table)["segment"]
	# m=5 & r>=4: c01 (555), c08 (445). f=5: c05, c12, c17 (c01 matched the first rule already).
	assert set(segments[segments == "Big recent"].index) == {"c01", "c08"}
	assert set(segments[segments == "Frequent"].index) == {"c05", "c12", "c17"}
	assert (segments.drop(["c01", "c08", "c05", "c12", "c17"]) == OTHERS).all()


def test_segment_table_accepts_json_text():
	assert validate_segment_table('[{"segment": "All", "r": [1, 5]}]') == [{"segment": "All", "r": (1, 5)}]


def test_default_table_is_valid_and_covers_the_whole_grid():
	table = validate_segment_table(DEFAULT_SEGMENT_TABLE)
	grid = pd.DataFrame(list(itertools.product(range(1, 6), repeat=3)), columns=["r", "f", "m"])
	segments = assign_segments(grid["r"], grid["f"], grid["m"], table)
	assert (segments != OTHERS).all()
	assert segments.nunique() == 11
	# Spot checks against the documented grid: r=1, f=5, m=3 -> fm 4 -> Can't Lose Them.
	assert segments[(grid["r"] == 1) & (grid["f"] == 5) & (grid["m"] == 3)].item() == "Can't Lose Them"
	assert segments[(grid["r"] == 3) & (grid["f"] == 1) & (grid["m"] == 2)].item() == "Need Attention"


@pytest.mark.parametrize(
	("table", "message"),
	[
		([], "non-empty list of rules"),
		("{not json", "not valid JSON"),
		([{"segment": "X", "q": [1, 2]}], "Segment rule 1 has unknown key"),
		([{"segment": "", "r": [1, 2]}], "Segment rule 1 has no segment name"),
		([{"r": [1, 2]}], "has no segment name"),
		(
			[{"segment": "A"}, {"segment": "B", "r": [0, 3]}],
			"Segment rule 2: r range 0-3 must lie within 1-5",
		),
		([{"segment": "A", "fm": [4, 2]}], "fm range 4-2 must lie within 1-5 with low <= high"),
		([{"segment": "A", "m": [1, 6]}], "m range 1-6"),
		([{"segment": "A", "f": [1.5, 3]}], "f must be a pair of whole numbers"),
		([{"segment": "A", "f": 3}], "f must be a pair of whole numbers"),
		(["Champions"], "must be an object"),
	],
)
def test_bad_segment_tables_are_rejected(table, message):
	before = copy.deepcopy(table)
	with pytest.raises(EngineError, match=message):
		validate_segment_table(table)
	assert table == before
	with pytest.raises(EngineError, match=message):
		score_metrics(TWENTY[["recency_days", "frequency", "monetary"]], table)


# --- CDNOW stability --------------------------------------------------------------------------


def _cdnow_path() -> Path | None:
	spec = importlib.util.find_spec("lifetimes")
	if spec is None or not spec.submodule_search_locations:
		return None
	path = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_sample.txt"
	return path if path.exists() else None


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
	path = _cdnow_path()
	if path is None:
		pytest.skip("lifetimes' CDNOW sample is not installed")
	raw = pd.read_csv(
		path,
		sep=r"\s+",
		header=None,
		names=["customer", "id", "date", "number", "amount"],
		dtype={"customer": str},
	)
	return pd.DataFrame(
		{
			"customer": raw["customer"],
			"date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
			"amount": raw["amount"],
		}
	)


def test_cdnow_segments_are_stable_across_runs_and_row_order(cdnow):
	as_of = "1998-07-01"
	first = rfm_scores(cdnow, as_of)
	again = rfm_scores(cdnow, as_of)
	shuffled = rfm_scores(cdnow.sample(frac=1, random_state=3).reset_index(drop=True), as_of)
	pd.testing.assert_frame_equal(first, again)
	pd.testing.assert_frame_equal(first, shuffled)
	assert first.index.is_unique and len(first) > 2000
	# Quintiles: every score level holds a fifth of the customers (+-1 for rounding).
	for column in ("r_score", "f_score", "m_score"):
		counts = first[column].value_counts()
		assert counts.max() - counts.min() <= 1
	assert set(first["segment"]) <= {rule["segment"] for rule in DEFAULT_SEGMENT_TABLE}
