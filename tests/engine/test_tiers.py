"""Tier ladder, windows, qualification and grace-period downgrades, with hand-computed cases."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_crm.engine import tiers
from loyalty_crm.engine.errors import EngineError


def ladder_rows(
	metric: str = "spend", window_kind: str = "rolling", window_months: int | None = 12
) -> list[dict]:
	"""Bronze 0 / Silver 1000 / Gold 5000 / Platinum 20000; grace 0 / 1 / 2 / 3 months."""
	names = ["Bronze", "Silver", "Gold", "Platinum"]
	thresholds = [0, 1000, 5000, 20000]
	multipliers = ["1", "1.25", "1.5", "2"]
	return [
		{
			"tier": name,
			"rank": rank,
			"metric": metric,
			"threshold": threshold,
			"window_kind": window_kind,
			"window_months": window_months,
			"multiplier": Decimal(multiplier),
			"grace_months": rank - 1,
		}
		for rank, (name, threshold, multiplier) in enumerate(
			zip(names, thresholds, multipliers, strict=True), start=1
		)
	]


LADDER = ladder_rows()


def current_frame(rows: list[tuple]) -> pd.DataFrame:
	return pd.DataFrame(rows, columns=["customer", "tier", "tier_since", "below_since"])


def one(result: pd.DataFrame, customer: str) -> pd.Series:
	return result.set_index("customer").loc[customer]


# --------------------------------------------------------------------------------------------
# Ladder validation
# --------------------------------------------------------------------------------------------


def test_validate_ladder_sorts_by_rank_and_keeps_decimals():
	shuffled = list(reversed(LADDER))
	before = copy.deepcopy(shuffled)
	ladder = tiers.validate_ladder(shuffled)
	assert list(ladder["tier"]) == ["Bronze", "Silver", "Gold", "Platinum"]
	assert list(ladder["rank"]) == [1, 2, 3, 4]
	assert list(ladder["threshold"]) == [Decimal(0), Decimal(1000), Decimal(5000), Decimal(20000)]
	assert ladder["multiplier"].iloc[2] == Decimal("1.5")
	assert list(ladder["grace_months"]) == [0, 1, 2, 3]
	assert shuffled == before


def test_validate_ladder_accepts_a_dataframe_and_a_calendar_year_without_months():
	frame = pd.DataFrame(ladder_rows(window_kind="calendar_year", window_months=None))
	before = frame.copy()
	ladder = tiers.validate_ladder(frame)
	assert set(ladder["window_kind"]) == {"calendar_year"}
	assert ladder["window_months"].isna().all()
	pd.testing.assert_frame_equal(frame, before)


def _changed(index: int, **fields) -> list[dict]:
	rows = copy.deepcopy(LADDER)
	rows[index].update(fields)
	return rows


BAD_LADDERS = [
	([], "The tier ladder is empty"),
	("Gold", "must be a DataFrame or a list of dicts, got str"),
	(
		[{k: v for k, v in row.items() if k != "grace_months"} for row in LADDER],
		"missing the column(s): grace_months",
	),
	(_changed(1, tier=" "), "Every tier needs a name; ladder row(s) 2"),
	(_changed(1, tier="Gold"), "Tier names must be unique; repeated: Gold"),
	(_changed(1, rank=1.5), "Tier ranks must be whole numbers; check tier(s) Silver"),
	(_changed(1, rank=3), "Tier ranks must be unique; rank 3 is used by Silver, Gold"),
	(_changed(2, threshold=-1), "Tier thresholds must be numbers of 0 or more; check tier(s) Gold"),
	(_changed(2, threshold="lots"), "Tier thresholds must be numbers of 0 or more; check tier(s) Gold"),
	(
		_changed(2, threshold=1000),
		"increase strictly with rank: Gold (rank 3) has 1000, not more than Silver (rank 2) with 1000",
	),
	(_changed(1, threshold=0), "increase strictly with rank: Silver (rank 2) has 0, not more than Bronze"),
	(
		_changed(0, threshold=10),
		"The lowest-rank tier Bronze is the entry tier and must have threshold 0, got 10",
	),
	(_changed(3, metric="visits"), "Tier metric must be one of spend, points, invoices; Platinum has visits"),
	(_changed(3, metric="points"), "same metric (one axis to compare); found points, spend"),
	(
		_changed(0, window_kind="fiscal"),
		"Tier window must be one of rolling, calendar_year; Bronze has fiscal",
	),
	(_changed(0, window_months=6), "same qualification window; found rolling 12, rolling 6"),
	(_changed(0, window_kind="calendar_year"), "same qualification window; found calendar_year, rolling 12"),
	(
		[dict(row, window_months=0) for row in LADDER],
		"A rolling window needs window_months of 1 or more (a whole number); Bronze has 0",
	),
	(_changed(2, multiplier=0), "Tier multipliers must be numbers greater than 0; Gold has 0"),
	(
		_changed(2, multiplier=Decimal("-1.5")),
		"Tier multipliers must be numbers greater than 0; Gold has -1.5",
	),
	(_changed(1, grace_months=-1), "Grace months must be a whole number of 0 or more; Silver has -1"),
	(_changed(1, grace_months=None), "Grace months must be a whole number of 0 or more; Silver has -"),
]


@pytest.mark.parametrize(("ladder", "message"), BAD_LADDERS)
def test_validate_ladder_rejects_each_violation_with_its_own_message(ladder, message):
	before = copy.deepcopy(ladder)
	with pytest.raises(EngineError) as caught:
		tiers.validate_ladder(ladder)
	assert message in str(caught.value)
	assert ladder == before


def test_validate_ladder_does_not_mutate_a_bad_dataframe():
	frame = pd.DataFrame(_changed(2, threshold=1000))
	before = frame.copy()
	with pytest.raises(EngineError, match="increase strictly"):
		tiers.validate_ladder(frame)
	pd.testing.assert_frame_equal(frame, before)


def test_tier_multiplier_is_one_without_a_known_tier():
	assert tiers.tier_multiplier("Gold", LADDER) == Decimal("1.5")
	assert isinstance(tiers.tier_multiplier("Gold", LADDER), Decimal)
	assert tiers.tier_multiplier(None, LADDER) == Decimal(1)
	assert tiers.tier_multiplier("", LADDER) == Decimal(1)
	assert tiers.tier_multiplier("Diamond", LADDER) == Decimal(1)


# --------------------------------------------------------------------------------------------
# Calendar arithmetic and windows
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	("start", "months", "expected"),
	[
		(date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year: clamp to Feb 29
		(date(2023, 1, 31), 1, date(2023, 2, 28)),  # common year: clamp to Feb 28
		(date(2024, 3, 31), -1, date(2024, 2, 29)),
		(date(2024, 2, 29), 12, date(2025, 2, 28)),
		(date(2024, 2, 29), -12, date(2023, 2, 28)),
		(date(2024, 2, 29), 48, date(2028, 2, 29)),
		(date(2023, 12, 15), 2, date(2024, 2, 15)),  # across a year end
		(date(2024, 5, 31), 0, date(2024, 5, 31)),
	],
)
def test_add_months_clamps_to_the_month_end(start, months, expected):
	assert tiers.add_months(start, months) == expected


@settings(max_examples=200, deadline=None)
@given(
	st.lists(
		st.tuples(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)), st.integers(-240, 240)),
		min_size=1,
		max_size=30,
	)
)
def test_vectorised_add_months_matches_the_scalar_one(pairs):
	days = np.array([np.datetime64(day, "D") for day, _ in pairs])
	months = np.array([m for _, m in pairs])
	got = tiers._add_months_array(days, months)
	assert [d.astype(object) for d in got] == [tiers.add_months(day, m) for day, m in pairs]


@pytest.mark.parametrize(
	("as_of", "kind", "months", "expected"),
	[
		# 2024-03-31 - 1 month = 2024-02-29 (clamped), excluded: the window is all of March
		(date(2024, 3, 31), "rolling", 1, (date(2024, 3, 1), date(2024, 3, 31))),
		# 2024-02-29 - 12 months = 2023-02-28 (2023 has no Feb 29), excluded
		(date(2024, 2, 29), "rolling", 12, (date(2023, 3, 1), date(2024, 2, 29))),
		# 2025-02-28 - 12 months = 2024-02-28, excluded: the leap day 2024-02-29 is in
		(date(2025, 2, 28), "rolling", 12, (date(2024, 2, 29), date(2025, 2, 28))),
		# 2024-05-31 - 3 months = 2024-02-29
		("2024-05-31", "rolling", 3, (date(2024, 3, 1), date(2024, 5, 31))),
		(date(2024, 7, 15), "rolling", 6, (date(2024, 1, 16), date(2024, 7, 15))),
		(date(2024, 2, 29), "calendar_year", None, (date(2024, 1, 1), date(2024, 2, 29))),
		(pd.Timestamp("2023-12-31 18:30"), "calendar_year", None, (date(2023, 1, 1), date(2023, 12, 31))),
	],
)
def test_qualification_window(as_of, kind, months, expected):
	assert tiers.qualification_window(as_of, kind, months) == expected


@pytest.mark.parametrize(
	("kind", "months", "message"),
	[
		("fiscal", 12, "Unknown window kind fiscal; use one of rolling, calendar_year"),
		("rolling", 0, "window_months must be a whole number of 1 or more for a rolling window, got 0"),
		("rolling", None, "got None"),
	],
)
def test_qualification_window_rejects_bad_windows(kind, months, message):
	with pytest.raises(EngineError) as caught:
		tiers.qualification_window(date(2024, 1, 1), kind, months)
	assert message in str(caught.value)


def test_as_of_must_be_a_date():
	with pytest.raises(EngineError, match="as_of must be a date, got someday"):
		tiers.qualification_window("someday", "calendar_year")


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def test_spend_is_net_of_returns_inside_the_window_only():
	activity = pd.DataFrame(
		{
			"customer": ["a", "a", "a", "a", "b", "c"],
			"date": ["2023-02-28", "2023-03-01", "2024-02-29", "2024-02-29", "2024-01-10", "2022-06-01"],
			"amount": [700.0, 600.0, 500.0, -100.0, 20.0, 999.0],
		}
	)
	before = activity.copy()
	spend = tiers.qualifying_metric(activity, LADDER, date(2024, 2, 29))
	# window 2023-03-01 .. 2024-02-29: a = 600 + 500 - 100 = 1000 (the 2023-02-28 sale is out);
	# c bought only before the window and shows 0
	assert spend.to_dict() == {"a": 1000.0, "b": 20.0, "c": 0.0}
	assert spend.name == "spend"
	pd.testing.assert_frame_equal(activity, before)


def test_a_return_drops_a_customer_below_the_threshold_and_starts_the_grace():
	activity = pd.DataFrame(
		{"customer": ["a", "a"], "date": ["2024-01-10", "2024-02-01"], "amount": [1000.0, -0.01]},
	)
	only_sale = tiers.qualifying_metric(activity.iloc[:1], LADDER, "2024-02-29")
	assert tiers.qualifying_tier(only_sale, LADDER)["a"] == "Silver"  # exactly 1000: Silver
	with_return = tiers.qualifying_metric(activity, LADDER, "2024-02-29")
	assert with_return["a"] == pytest.approx(999.99)
	assert tiers.qualifying_tier(with_return, LADDER)["a"] == "Bronze"

	current = current_frame([("a", "Silver", "2024-01-10", None)])
	result = tiers.evaluate_tiers(current, with_return, LADDER, "2024-02-29")
	row = one(result, "a")
	# Silver grace is 1 month: below since 2024-02-29, grace ends 2024-03-29
	assert (row["change"], row["new_tier"]) == ("pending_downgrade", "Silver")
	assert row["below_since"] == pd.Timestamp("2024-02-29")
	assert row["grace_ends"] == pd.Timestamp("2024-03-29")
	assert row["reason"] == (
		"spend of 999.99 is below the Silver threshold of 1000.00; the grace period ends on 2024-03-29"
	)


def test_calendar_year_window_counts_the_leap_day():
	ladder = ladder_rows(window_kind="calendar_year", window_months=None)
	activity = pd.DataFrame(
		{
			"customer": ["a", "a", "a"],
			"date": ["2023-12-31", "2024-02-29", "2024-03-01"],
			"amount": [10.0, 20.0, 40.0],
		}
	)
	# 2024-01-01 .. 2024-02-29: only the leap-day sale
	assert tiers.qualifying_metric(activity, ladder, "2024-02-29")["a"] == 20.0
	# 2024-01-01 .. 2024-03-01: 20 + 40
	assert tiers.qualifying_metric(activity, ladder, "2024-03-01")["a"] == 60.0


def test_rolling_window_keeps_a_leap_day_sale_for_exactly_twelve_months():
	activity = pd.DataFrame(
		{"customer": ["a", "a"], "date": ["2024-02-28", "2024-02-29"], "amount": [1.0, 2.0]}
	)
	# as of 2025-02-28 the window starts 2024-02-29: only the leap-day sale
	assert tiers.qualifying_metric(activity, LADDER, "2025-02-28")["a"] == 2.0
	# as of 2025-03-01 the window starts 2024-03-02: nothing
	assert tiers.qualifying_metric(activity, LADDER, "2025-03-01")["a"] == 0.0


def test_points_metric_sums_points_and_needs_the_column():
	ladder = ladder_rows(metric="points")
	activity = pd.DataFrame(
		{
			"customer": ["a", "a", "b"],
			"date": ["2024-01-05", "2024-01-06", "2024-01-07"],
			"points": [120, -20, 5],
		}
	)
	assert tiers.qualifying_metric(activity, ladder, "2024-02-01").to_dict() == {"a": 100.0, "b": 5.0}
	with pytest.raises(EngineError, match="needs a points column to qualify on points"):
		tiers.qualifying_metric(activity.drop(columns="points"), ladder, "2024-02-01")


def test_invoice_count_subtracts_returns_and_never_goes_below_zero():
	ladder = ladder_rows(metric="invoices")
	activity = pd.DataFrame(
		{
			"customer": ["a", "a", "a", "a", "a", "b", "b", "c"],
			"date": ["2024-01-01"] * 8,
			"amount": [100.0, 50.0, 30.0, 20.0, -10.0, -40.0, -5.0, 0.0],
			# I2 has two lines: one document; R1 is a credit note
			"invoice": ["I1", "I2", "I2", "I3", "R1", "R2", "R3", "I4"],
		}
	)
	counts = tiers.qualifying_metric(activity, ladder, "2024-01-31")
	# a: 3 invoices (I1, I2, I3) - 1 return (R1) = 2; b: 0 - 2 -> 0; c: a zero document counts 0
	assert counts.to_dict() == {"a": 2.0, "b": 0.0, "c": 0.0}


def test_qualifying_tier_boundary_is_inclusive_and_vectorised():
	values = pd.Series(
		[0.0, 999.99, 1000.0, 4999.999999, 5000.0, 25000.0, -5.0, np.nan], index=list("abcdefgh")
	)
	got = tiers.qualifying_tier(values, LADDER)
	expected = ["Bronze", "Bronze", "Silver", "Silver", "Gold", "Platinum", "Bronze", "Bronze"]
	assert list(got) == expected
	assert list(got.index) == list("abcdefgh")


def test_float_noise_does_not_keep_a_customer_under_an_exact_threshold():
	ladder = copy.deepcopy(LADDER)
	ladder[1]["threshold"] = Decimal("0.3")
	# 0.1 + 0.2 == 0.30000000000000004 in binary floating point; 0.3 itself is 0.29999999999999998
	values = pd.Series([0.1 + 0.2, sum([0.1] * 3)])
	assert list(tiers.qualifying_tier(values, ladder)) == ["Silver", "Silver"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=-100, max_value=50_000, allow_nan=False), min_size=1, max_size=50))
def test_qualifying_tier_matches_a_plain_loop(values):
	got = tiers.qualifying_tier(pd.Series(values), LADDER)
	thresholds = [(0, "Bronze"), (1000, "Silver"), (5000, "Gold"), (20000, "Platinum")]
	expected = []
	for value in values:
		reached = [name for threshold, name in thresholds if round(value, 6) >= threshold]
		expected.append(reached[-1] if reached else "Bronze")
	assert list(got) == expected


def test_metric_values_must_be_numbers():
	with pytest.raises(EngineError, match=r"Metric values must be numbers; customer\(s\) b have lots"):
		tiers.qualifying_tier(pd.Series([1.0, "lots"], index=["a", "b"]), LADDER)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def test_upgrade_entry_and_keep():
	current = current_frame(
		[
			("up", "Silver", "2023-01-01", None),
			("keep", "Gold", "2023-01-01", "2024-01-15"),  # re-qualifies: below_since clears
			("none", None, None, None),
		]
	)
	values = pd.Series({"up": 20000.0, "keep": 5000.0, "none": 1200.0, "new": 0.0})
	result = tiers.evaluate_tiers(current, values, LADDER, date(2024, 3, 10))
	assert list(result["customer"]) == ["up", "keep", "none", "new"]
	assert list(result["change"]) == ["upgrade", "none", "entry", "entry"]
	assert list(result["new_tier"]) == ["Platinum", "Gold", "Silver", "Bronze"]
	assert list(result["old_tier"].astype(object).fillna("-")) == ["Silver", "Gold", "-", "-"]
	assert result["below_since"].isna().all()
	assert list(result["tier_since"]) == [
		pd.Timestamp(d) for d in ("2024-03-10", "2023-01-01", "2024-03-10", "2024-03-10")
	]
	assert one(result, "up")["reason"] == "spend of 20000.00 reaches the Platinum threshold of 20000.00"
	assert one(result, "keep")["reason"] == "spend of 5000.00 keeps Gold (threshold 5000.00)"
	assert one(result, "none")["reason"] == "No tier yet: spend of 1200.00 qualifies for Silver"
	assert set(result.columns) == set(tiers.RESULT_COLUMNS)


def test_grace_period_expiring_on_the_exact_day():
	# Gold has 2 grace months; below since 2023-12-31 -> grace ends 2024-02-29 (clamped, leap year)
	current = current_frame([("a", "Gold", "2023-06-01", "2023-12-31")])
	values = pd.Series({"a": 1200.0})  # qualifies for Silver only

	day_before = one(tiers.evaluate_tiers(current, values, LADDER, "2024-02-28"), "a")
	assert (day_before["change"], day_before["new_tier"]) == ("pending_downgrade", "Gold")
	assert day_before["grace_ends"] == pd.Timestamp("2024-02-29")
	assert day_before["below_since"] == pd.Timestamp("2023-12-31")
	assert day_before["tier_since"] == pd.Timestamp("2023-06-01")

	that_day = one(tiers.evaluate_tiers(current, values, LADDER, "2024-02-29"), "a")
	assert (that_day["change"], that_day["new_tier"]) == ("downgrade", "Silver")
	assert that_day["tier_since"] == pd.Timestamp("2024-02-29")
	assert pd.isna(that_day["below_since"])  # Silver is the qualifying tier: not below any more
	assert that_day["reason"] == (
		"spend of 1200.00 stayed below the Gold threshold of 5000.00 until the grace period ended on 2024-02-29"
	)


def test_first_time_below_starts_the_grace_today():
	current = current_frame([("a", "Platinum", "2023-01-01", pd.NaT)])
	row = one(tiers.evaluate_tiers(current, pd.Series({"a": 0.0}), LADDER, "2023-11-30"), "a")
	# Platinum grace 3 months: 2023-11-30 + 3 months = 2024-02-29
	assert row["change"] == "pending_downgrade"
	assert row["below_since"] == pd.Timestamp("2023-11-30")
	assert row["grace_ends"] == pd.Timestamp("2024-02-29")


def test_zero_grace_downgrades_on_the_first_day_below():
	ladder = [dict(row, grace_months=0) for row in LADDER]
	current = current_frame([("a", "Silver", "2023-01-01", None)])
	row = one(tiers.evaluate_tiers(current, pd.Series({"a": 10.0}), ladder, "2024-01-01"), "a")
	assert (row["change"], row["new_tier"]) == ("downgrade", "Bronze")


def test_one_rank_versus_to_qualifying():
	current = current_frame([("a", "Platinum", "2022-01-01", "2023-01-01")])
	values = pd.Series({"a": 0.0})  # qualifies for Bronze; Platinum grace (3 months) long over
	step = one(tiers.evaluate_tiers(current, values, LADDER, "2024-01-01", downgrade_mode="one_rank"), "a")
	assert (step["change"], step["new_tier"]) == ("downgrade", "Gold")
	# still below Gold: the Gold grace starts today
	assert step["below_since"] == pd.Timestamp("2024-01-01")

	straight = one(
		tiers.evaluate_tiers(current, values, LADDER, "2024-01-01", downgrade_mode="to_qualifying"), "a"
	)
	assert (straight["change"], straight["new_tier"]) == ("downgrade", "Bronze")
	assert pd.isna(straight["below_since"])


def test_one_rank_steps_down_again_after_the_lower_tier_grace():
	state = current_frame([("a", "Platinum", "2022-01-01", "2023-01-01")])
	values = pd.Series({"a": 0.0})
	first = tiers.evaluate_tiers(state, values, LADDER, "2024-01-01")
	# Gold grace: 2024-01-01 + 2 months = 2024-03-01
	pending = tiers.evaluate_tiers(tiers.next_state(first), values, LADDER, "2024-02-29")
	assert (one(pending, "a")["change"], one(pending, "a")["grace_ends"]) == (
		"pending_downgrade",
		pd.Timestamp("2024-03-01"),
	)
	second = tiers.evaluate_tiers(tiers.next_state(pending), values, LADDER, "2024-03-01")
	assert (one(second, "a")["change"], one(second, "a")["new_tier"]) == ("downgrade", "Silver")


def test_one_rank_with_zero_grace_takes_one_step_per_day():
	ladder = [dict(row, grace_months=0) for row in LADDER]
	values = pd.Series({"a": 0.0})
	first = tiers.evaluate_tiers(
		current_frame([("a", "Platinum", "2023-01-01", None)]), values, ladder, "2024-01-01"
	)
	assert one(first, "a")["new_tier"] == "Gold"
	again = tiers.evaluate_tiers(tiers.next_state(first), values, ladder, "2024-01-01")
	row = one(again, "a")
	assert (row["change"], row["reason_code"], row["new_tier"]) == (
		"pending_downgrade",
		"changed_today",
		"Gold",
	)
	assert row["grace_ends"] == pd.Timestamp("2024-01-02")
	next_day = tiers.evaluate_tiers(tiers.next_state(again), values, ladder, "2024-01-02")
	assert one(next_day, "a")["new_tier"] == "Silver"


def test_upgrades_can_be_left_to_the_invoice_path():
	current = current_frame([("a", "Silver", "2023-01-01", "2024-01-01")])
	row = one(
		tiers.evaluate_tiers(current, pd.Series({"a": 6000.0}), LADDER, "2024-03-01", upgrades=False), "a"
	)
	assert (row["change"], row["reason_code"], row["new_tier"]) == ("none", "upgrade_disabled", "Silver")
	assert pd.isna(row["below_since"])
	assert row["reason"] == "spend of 6000.00 qualifies for Gold, but upgrades are off in this run"


def test_customers_missing_from_the_metric_count_as_zero():
	current = current_frame([("a", "Silver", "2023-01-01", None)])
	row = one(tiers.evaluate_tiers(current, pd.Series(dtype="float64"), LADDER, "2024-03-01"), "a")
	assert (row["metric_value"], row["change"]) == (0.0, "pending_downgrade")


def test_evaluating_the_result_again_changes_nothing():
	current = current_frame(
		[
			("up", "Bronze", "2023-01-01", None),
			("due", "Gold", "2023-01-01", "2023-06-01"),
			("pending", "Silver", "2023-01-01", "2024-02-15"),
			("step", "Platinum", "2023-01-01", "2023-01-01"),
			("none", None, None, None),
		]
	)
	values = pd.Series({"up": 7000.0, "due": 1500.0, "pending": 3.0, "step": 0.0, "none": 50.0})
	for mode in tiers.DOWNGRADE_MODES:
		first = tiers.evaluate_tiers(current, values, LADDER, "2024-03-01", downgrade_mode=mode)
		second = tiers.evaluate_tiers(
			tiers.next_state(first), values, LADDER, "2024-03-01", downgrade_mode=mode
		)
		pd.testing.assert_frame_equal(tiers.next_state(first), tiers.next_state(second))
		assert set(second["change"]) <= {"none", "pending_downgrade"}


@settings(max_examples=60, deadline=None)
@given(
	st.lists(
		st.tuples(
			st.sampled_from([None, "Bronze", "Silver", "Gold", "Platinum"]),
			st.one_of(st.none(), st.dates(min_value=date(2022, 1, 1), max_value=date(2024, 6, 30))),
			st.floats(min_value=0, max_value=30_000, allow_nan=False),
		),
		min_size=1,
		max_size=25,
	),
	st.sampled_from(tiers.DOWNGRADE_MODES),
	st.integers(0, 3),
)
def test_idempotence_property(rows, mode, grace):
	ladder = [dict(row, grace_months=grace) for row in LADDER]
	as_of = date(2024, 6, 30)
	current = current_frame(
		[(f"c{i}", tier, "2021-01-01" if tier else None, below) for i, (tier, below, _) in enumerate(rows)]
	)
	values = pd.Series({f"c{i}": value for i, (_, _, value) in enumerate(rows)})
	first = tiers.evaluate_tiers(current, values, ladder, as_of, downgrade_mode=mode)
	second = tiers.evaluate_tiers(tiers.next_state(first), values, ladder, as_of, downgrade_mode=mode)
	pd.testing.assert_frame_equal(tiers.next_state(first), tiers.next_state(second))
	# nobody ends above their qualifying tier unless they are inside a grace period
	above = first["new_tier"].cat.codes > first["qualifying_tier"].cat.codes
	assert first.loc[above, "below_since"].notna().all()


def test_explain_translates_the_template_and_the_metric():
	current = current_frame([("a", "Gold", "2023-06-01", "2023-12-31")])
	row = tiers.evaluate_tiers(current, pd.Series({"a": 1200.0}), LADDER, "2024-02-28").iloc[0]
	fake = {
		tiers.REASON_TEMPLATES["pending_downgrade"]: "{0}={1} < {2}({3}) until {4}",
		"spend": "SPEND",
	}
	assert (
		tiers.explain(row, lambda text: fake.get(text, text))
		== "SPEND=1200.00 < Gold(5000.00) until 2024-02-29"
	)
	assert tiers.explain(row) == row["reason"]


@pytest.mark.parametrize(
	("current", "values", "kwargs", "message"),
	[
		(
			current_frame([("a", "Diamond", None, None)]),
			{},
			{},
			"Customer(s) a have a tier that is not in the ladder: Diamond",
		),
		(current_frame([("a", "Gold", None, None), ("a", "Gold", None, None)]), {}, {}, "more than once: a"),
		(current_frame([(None, "Gold", None, None)]), {}, {}, "Current tiers have no customer on row(s): 2"),
		(
			pd.DataFrame({"customer": ["a"], "tier": ["Gold"]}),
			{},
			{},
			"missing the column(s): tier_since, below_since",
		),
		(
			current_frame([("a", "Gold", "2023-01-01", "soon")]),
			{},
			{},
			"Unreadable date in below_since for customer(s) a",
		),
		(current_frame([("a", "Gold", None, None)]), {"a": "x"}, {}, "Metric values must be numbers"),
		(
			current_frame([("a", "Gold", None, None)]),
			{},
			{"downgrade_mode": "all"},
			"Unknown downgrade mode all",
		),
	],
)
def test_evaluate_tiers_rejects_bad_input_without_mutating_it(current, values, kwargs, message):
	before = current.copy()
	series = pd.Series(values, dtype=object)
	with pytest.raises(EngineError) as caught:
		tiers.evaluate_tiers(current, series, LADDER, "2024-01-01", **kwargs)
	assert message in str(caught.value)
	pd.testing.assert_frame_equal(current, before)


def test_evaluate_tiers_rejects_repeated_metric_customers():
	with pytest.raises(EngineError, match=r"Metric values list customer\(s\) more than once: a"):
		tiers.evaluate_tiers(current_frame([]), pd.Series([1.0, 2.0], index=["a", "a"]), LADDER, "2024-01-01")


def test_evaluate_tiers_does_not_mutate_valid_input():
	current = current_frame([("a", "Gold", "2023-06-01", "2023-12-31"), ("b", None, None, None)])
	values = pd.Series({"a": 10.0, "b": 20000.0})
	before_current, before_values = current.copy(), values.copy()
	tiers.evaluate_tiers(current, values, LADDER, "2024-03-01")
	pd.testing.assert_frame_equal(current, before_current)
	pd.testing.assert_series_equal(values, before_values)


def test_many_customers_in_one_pass():
	size = 20_000
	rng = np.random.default_rng(7)
	names = np.array([None, "Bronze", "Silver", "Gold", "Platinum"], dtype=object)
	below = np.where(rng.random(size) < 0.5, np.datetime64("2023-10-01"), np.datetime64("NaT"))
	current = pd.DataFrame(
		{
			"customer": [f"C{i}" for i in range(size)],
			"tier": names[rng.integers(0, 5, size)],
			"tier_since": pd.Timestamp("2023-01-01"),
			"below_since": below,
		}
	)
	values = pd.Series(rng.uniform(0, 30_000, size), index=current["customer"])
	result = tiers.evaluate_tiers(current, values, LADDER, "2023-12-15", downgrade_mode="to_qualifying")
	# below since 2023-10-01: Silver grace ends 2023-11-01, Gold 2023-12-01 (both over by
	# 2023-12-15), Platinum 2024-01-01 (not yet)
	was_below = (result["old_tier"].cat.codes > result["qualifying_tier"].cat.codes) & current[
		"below_since"
	].notna()
	due = was_below & result["old_tier"].isin(["Silver", "Gold"])
	waiting = was_below & (result["old_tier"] == "Platinum")
	assert (result.loc[due, "new_tier"] == result.loc[due, "qualifying_tier"]).all()
	assert (result.loc[due, "change"] == "downgrade").all()
	assert (result.loc[waiting, "change"] == "pending_downgrade").all()
	assert (result.loc[waiting, "grace_ends"] == pd.Timestamp("2024-01-01")).all()
	assert due.sum() > 100 and waiting.sum() > 100


# --------------------------------------------------------------------------------------------
# Invoice path
# --------------------------------------------------------------------------------------------


def test_upgrade_on_invoice():
	assert tiers.upgrade_on_invoice("Silver", 5000, LADDER) == tiers.TierDecision(
		"Gold", "upgrade", "upgrade", "spend of 5000.00 reaches the Gold threshold of 5000.00"
	)
	assert tiers.upgrade_on_invoice(None, 999.99, LADDER).tier == "Bronze"
	assert tiers.upgrade_on_invoice(None, 999.99, LADDER).change == "entry"
	kept = tiers.upgrade_on_invoice("Gold", 10, LADDER)  # e.g. after a return: no downgrade here
	assert (kept.tier, kept.change, kept.reason_code) == ("Gold", "none", "kept_until_review")
	assert tiers.upgrade_on_invoice("Gold", Decimal("5000.00"), LADDER).reason_code == "qualifies"
	with pytest.raises(EngineError, match="Tier Diamond is not in the ladder"):
		tiers.upgrade_on_invoice("Diamond", 10, LADDER)
