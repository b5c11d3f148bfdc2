import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_crm.engine.abc import abc_classes
from loyalty_crm.engine.errors import EngineError


def test_hand_computed_classes_with_crossing_customer_in_the_lower_class():
	revenue = pd.Series(
		{"a": 500.0, "b": 250.0, "c": 100.0, "d": 80.0, "e": 50.0, "f": 20.0, "g": 0.0, "h": -30.0}
	)
	out = abc_classes(revenue)
	# total positive revenue = 500 + 250 + 100 + 80 + 50 + 20 = 1000
	# share %:       a 50, b 25, c 10, d 8, e 5, f 2, g 0, h 0
	# cumulative %:  a 50, b 75, c 85, d 93, e 98, f 100, g 100, h 100
	# before each:   a 0,  b 50, c 75, d 85, e 93, f 98
	# A while before < 80: a, b, c (c crosses 80 and is A); B while before < 95: d, e (e crosses 95);
	# C: f, and g, h (no positive revenue).
	assert list(out.index) == ["a", "b", "c", "d", "e", "f", "g", "h"]
	assert out["share"].round(9).tolist() == [50, 25, 10, 8, 5, 2, 0, 0]
	assert out["cumulative_share"].round(9).tolist() == [50, 75, 85, 93, 98, 100, 100, 100]
	assert out["abc_class"].tolist() == ["A", "A", "A", "B", "B", "C", "C", "C"]
	assert out.loc["h", "revenue"] == -30


def test_customer_ending_exactly_on_a_cutoff_closes_the_class():
	# Amounts as money typically has them; the cut-off test rounds away float noise.
	revenue = pd.Series({"a": 0.7, "b": 0.1, "c": 0.1, "d": 0.05, "e": 0.05})
	out = abc_classes(revenue)
	# cumulative %: a 70, b 80 (ends exactly on the cut-off: A), c 90, d 95 (exactly: B), e 100.
	# before each:  a 0,  b 70, c 80 (not below 80: B), d 90, e 95 (not below 95: C).
	assert out["abc_class"].to_dict() == {"a": "A", "b": "A", "c": "B", "d": "B", "e": "C"}


def test_custom_cutoffs_and_metrics_frame_input():
	metrics = pd.DataFrame({"monetary": [10.0, 30.0, 60.0], "frequency": [1, 2, 3]}, index=["x", "y", "z"])
	out = abc_classes(metrics, cutoffs=(50, 90))
	# sorted: z 60 (before 0 -> A), y 30 (before 60 -> B), x 10 (before 90 -> C)
	assert out["abc_class"].to_dict() == {"z": "A", "y": "B", "x": "C"}


def test_equal_revenue_is_ordered_by_customer_id_whatever_the_input_order():
	revenue = pd.Series({"d": 25.0, "b": 25.0, "c": 25.0, "a": 25.0})
	# Ranked by id: a, b, c, d, each 25%. With cut-offs (30, 60), revenue before each:
	# a 0 -> A, b 25 -> A (crosses 30), c 50 -> B (crosses 60), d 75 -> C.
	out = abc_classes(revenue, cutoffs=(30, 60))
	assert out["abc_class"].to_dict() == {"a": "A", "b": "A", "c": "B", "d": "C"}
	shuffled = abc_classes(revenue.loc[["c", "a", "d", "b"]], cutoffs=(30, 60))
	pd.testing.assert_frame_equal(out, shuffled)


def test_all_zero_revenue_is_all_c():
	out = abc_classes(pd.Series({"a": 0.0, "b": -5.0}))
	assert out["abc_class"].tolist() == ["C", "C"]
	assert out["share"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
	("cutoffs", "message"),
	[
		((95, 80), "increase strictly"),
		((80, 80), "increase strictly"),
		((0, 50), "between 0 and 100"),
		((50, 100), "between 0 and 100"),
		((80,), "two percentages"),
		(("x", 90), "two percentages"),
	],
)
def test_bad_cutoffs_are_rejected(cutoffs, message):
	revenue = pd.Series({"a": 1.0})
	with pytest.raises(EngineError, match=message):
		abc_classes(revenue, cutoffs=cutoffs)


def test_bad_revenue_is_rejected_without_mutating_input():
	revenue = pd.Series({"a": 1.0, "b": None, "c": "x"})
	before = revenue.copy()
	with pytest.raises(EngineError, match="not a number for customer.*b, c"):
		abc_classes(revenue)
	pd.testing.assert_series_equal(revenue, before)
	with pytest.raises(EngineError, match="more than once: a"):
		abc_classes(pd.Series([1.0, 2.0], index=["a", "a"]))
	with pytest.raises(EngineError, match="monetary column"):
		abc_classes(pd.DataFrame({"revenue": [1.0]}))


@settings(max_examples=60, deadline=None)
@given(
	st.lists(
		st.integers(min_value=-10_000, max_value=10**8).map(lambda cents: cents / 100),
		min_size=1,
		max_size=40,
	)
)
def test_class_a_is_the_smallest_top_set_reaching_the_cutoff(values):
	revenue = pd.Series(values, index=[f"c{i:02d}" for i in range(len(values))])
	out = abc_classes(revenue)
	order = out["abc_class"].tolist()
	assert order == sorted(order)  # A's, then B's, then C's in rank order
	positive = revenue.clip(lower=0)
	if positive.sum() > 0:
		a_revenue = out.loc[out["abc_class"] == "A", "revenue"].sum()
		assert a_revenue >= 0.8 * positive.sum() * (1 - 1e-9)
		# Dropping the last A customer falls short of 80%.
		last_a = out[out["abc_class"] == "A"]["revenue"].iloc[-1]
		assert a_revenue - last_a < 0.8 * positive.sum() * (1 + 1e-9)
	assert (out.loc[revenue[revenue <= 0].index, "abc_class"] == "C").all()
