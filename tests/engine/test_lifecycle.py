import numpy as np
import pandas as pd
import pytest

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.lifecycle import (
	ACTIVE,
	AT_RISK,
	LAPSED,
	NEW,
	STAGE_COLUMNS,
	WON_BACK,
	LifecycleSettings,
	lifecycle_settings,
	lifecycle_stages,
)

AS_OF = "2024-06-30"
# The rhythm rules on their own, without the floors (tested separately below): floors of 1 and 2
# days are below every rhythm threshold in these data.
NO_FLOORS = {"at_risk_floor_days": 1, "lapsed_floor_days": 2}


def _rows(customer, dates, amount=10.0):
	return [(customer, date, amount) for date in dates]


def _transactions() -> pd.DataFrame:
	monthly = [d.strftime("%Y-%m-%d") for d in pd.date_range("2023-07-01", "2024-06-01", freq="MS")]
	rows = (
		_rows("new", ["2024-06-15"])
		+ _rows("single_active", ["2024-04-01"])
		+ _rows("single_at_risk", ["2024-03-01"])
		+ _rows("single_lapsed", ["2023-12-01"])
		+ _rows("weekly_lapsed", ["2024-05-01", "2024-05-08", "2024-05-15", "2024-05-22"])
		+ _rows("weekly_at_risk", ["2024-05-20", "2024-05-27", "2024-06-03", "2024-06-10"])
		+ _rows("monthly", ["2024-03-30", "2024-04-29", "2024-05-29", "2024-06-28"])
		+ _rows("won_back", ["2023-01-10", "2023-01-20", "2023-01-30", "2024-06-20"])
		+ _rows("two_purchases", ["2023-06-01", "2024-06-25"])
		+ _rows("old_return", ["2022-01-01", "2022-01-11", "2022-01-21", "2023-06-01", *monthly])
		+ [
			("returns_only", "2024-06-01", -20.0),
			("net_zero", "2024-05-01", 30.0),
			("net_zero", "2024-05-01", -30.0),
		]
		+ _rows("monthly", ["2024-07-05"])  # after as_of: ignored
	)
	return pd.DataFrame(rows, columns=["customer", "date", "amount"])


def test_hand_computed_stages():
	frame = _transactions()
	before = frame.copy()
	out = lifecycle_stages(frame, AS_OF, NO_FLOORS)
	pd.testing.assert_frame_equal(frame, before)
	assert list(out.columns) == list(STAGE_COLUMNS)
	# Customers without a positive purchase day have no stage.
	assert "returns_only" not in out.index and "net_zero" not in out.index
	expected = {
		# first purchase 15 days ago <= new_days 30
		"new": NEW,
		# one purchase: global thresholds. 2024-04-01 -> 90 days; 90 > 90 is false -> active
		"single_active": ACTIVE,
		# 2024-03-01 -> 121 days > 90 (at risk) and <= 180
		"single_at_risk": AT_RISK,
		# 2023-12-01 -> 212 days > 180
		"single_lapsed": LAPSED,
		# median interval 7: at risk > 14, lapsed > 28; last 2024-05-22 -> 39 days
		"weekly_lapsed": LAPSED,
		# median 7, last 2024-06-10 -> 20 days: > 14, <= 28
		"weekly_at_risk": AT_RISK,
		# intervals 30, 30, 30: at risk > 60; last 2024-06-28 -> 2 days (2024-07-05 ignored)
		"monthly": ACTIVE,
		# gaps 10, 10, 507. The 507-day gap vs 4 x median of the earlier gaps (10) = 40 -> a lapse,
		# ended 2024-06-20, 10 days ago; own median 10 -> active window 20 days: 10 <= 20
		"won_back": WON_BACK,
		# one gap of 390 days, no earlier interval -> global lapsed_days 180: a lapse. Own median
		# 390 -> active window 780; return 5 days ago
		"two_purchases": WON_BACK,
		# lapse (496-day gap after 10, 10) ended 2023-06-01, then monthly buying: median of the 15
		# gaps = 31 -> active window 62 days; the return was 395 days ago -> just active now
		"old_return": ACTIVE,
	}
	assert out["stage"].to_dict() == expected

	weekly = out.loc["weekly_lapsed"]
	assert (weekly["purchases"], weekly["days_since_last"]) == (4, 39)
	assert (weekly["median_interval"], weekly["at_risk_after"], weekly["lapsed_after"]) == (7, 14, 28)
	single = out.loc["single_at_risk"]
	assert np.isnan(single["median_interval"])
	assert (single["at_risk_after"], single["lapsed_after"]) == (90, 180)
	assert out.loc["won_back", "won_back_on"] == pd.Timestamp("2024-06-20")
	assert out.loc["old_return", "won_back_on"] == pd.Timestamp("2023-06-01")
	assert out.loc["old_return", "median_interval"] == 31
	assert pd.isna(out.loc["monthly", "won_back_on"])
	assert out.loc["monthly", "last_purchase"] == pd.Timestamp("2024-06-28")


def test_lapse_and_return_that_are_both_old_leave_the_customer_lapsed_not_won_back():
	# gaps 10, 10, 300 (lapse, returned 2023-12-01), then nothing: 212 days since last; own median
	# 10 -> lapsed after 40 days.
	frame = pd.DataFrame(
		_rows("x", ["2023-01-15", "2023-01-25", "2023-02-04", "2023-12-01"]),
		columns=["customer", "date", "amount"],
	)
	out = lifecycle_stages(frame, AS_OF, NO_FLOORS)
	assert out.loc["x", "stage"] == LAPSED
	assert out.loc["x", "won_back_on"] == pd.Timestamp("2023-12-01")


def test_settings_change_the_thresholds():
	frame = _transactions()
	out = lifecycle_stages(frame, AS_OF, {"new_days": 100, "at_risk_days": 60, **NO_FLOORS})
	# single_active: first purchase 90 days ago <= 100 -> New
	assert out.loc["single_active", "stage"] == NEW
	# single_at_risk: 121 days > 100 -> not new; 121 > 60 (at risk) and <= 180 -> At Risk
	assert out.loc["single_at_risk", "stage"] == AT_RISK
	out = lifecycle_stages(frame, AS_OF, {"lapsed_factor": 6, **NO_FLOORS})
	# weekly_lapsed: median 7, lapsed after 6 x 7 = 42 days; 39 days since last > 14 -> At Risk
	assert out.loc["weekly_lapsed", "stage"] == AT_RISK
	assert out.loc["weekly_lapsed", "lapsed_after"] == 42


def test_settings_object_and_defaults():
	# the floors default to a third of the global thresholds, and follow them
	assert lifecycle_settings() == LifecycleSettings(30, 90, 180, 2.0, 4.0, 30.0, 60.0)
	moved = lifecycle_settings({"at_risk_days": 120, "lapsed_days": 300})
	assert (moved.at_risk_floor_days, moved.lapsed_floor_days) == (40, 100)
	custom = LifecycleSettings(new_days=10)
	assert lifecycle_settings(custom).new_days == 10


@pytest.mark.parametrize(
	("settings", "message"),
	[
		({"new_dayz": 5}, "Unknown lifecycle setting.*new_dayz; allowed: new_days, at_risk_days"),
		({"new_days": 0}, "Lifecycle setting new_days must be a positive number, got 0"),
		({"lapsed_factor": "4"}, "lapsed_factor must be a positive number"),
		({"at_risk_days": True}, "at_risk_days must be a positive number"),
		({"at_risk_days": 200}, r"At-risk days \(200\) must be fewer than lapsed days \(180\)"),
		({"at_risk_factor": 4.0}, r"At-risk factor \(4.0\) must be smaller than lapsed factor \(4.0\)"),
		({"at_risk_floor_days": 0}, "at_risk_floor_days must be a positive number, got 0"),
		({"lapsed_floor_days": -3}, "lapsed_floor_days must be a positive number, got -3"),
		(
			{"at_risk_floor_days": 91},
			r"Never At Risk Before \(91 days\) cannot be more than At Risk After \(90 days\)",
		),
		(
			{"lapsed_floor_days": 181},
			r"Never Lapsed Before \(181 days\) cannot be more than Lapsed After \(180 days\)",
		),
		(
			{"at_risk_floor_days": 60, "lapsed_floor_days": 60},
			r"Never At Risk Before \(60 days\) must be fewer days than Never Lapsed Before \(60 days\)",
		),
	],
)
def test_bad_settings_are_rejected(settings, message):
	before = dict(settings)
	with pytest.raises(EngineError, match=message):
		lifecycle_stages(_transactions(), AS_OF, settings)
	assert settings == before


def test_no_purchases_gives_an_empty_frame():
	frame = pd.DataFrame([("a", "2024-01-01", -5.0)], columns=["customer", "date", "amount"])
	out = lifecycle_stages(frame, AS_OF)
	assert out.empty and list(out.columns) == list(STAGE_COLUMNS)


def test_row_order_does_not_matter():
	frame = _transactions()
	pd.testing.assert_frame_equal(
		lifecycle_stages(frame.sample(frac=1, random_state=5), AS_OF), lifecycle_stages(frame, AS_OF)
	)


# ---------------------------------------------------------------- floors


def _days_before(as_of: str, *offsets: int) -> list[str]:
	stamp = pd.Timestamp(as_of)
	return [(stamp - pd.Timedelta(days=offset)).strftime("%Y-%m-%d") for offset in offsets]


def test_default_floors_on_the_hand_computed_data():
	out = lifecycle_stages(_transactions(), AS_OF)
	# weekly shoppers (median 7): rhythm says at risk > 14, lapsed > 28; the floors say 30 and 60
	weekly = out.loc["weekly_lapsed"]
	assert (weekly["at_risk_after"], weekly["lapsed_after"]) == (30, 60)
	assert weekly["stage"] == AT_RISK  # 39 days: > 30, <= 60 (Lapsed without floors)
	assert out.loc["weekly_at_risk", "stage"] == ACTIVE  # 20 days <= 30 (At Risk without floors)
	# above the floors the rhythm still rules: monthly (median 30) is at risk after 60, not 30
	assert (out.loc["monthly", "at_risk_after"], out.loc["monthly", "lapsed_after"]) == (60, 120)
	# one-purchase customers keep the global thresholds
	assert (out.loc["single_at_risk", "at_risk_after"], out.loc["single_at_risk", "lapsed_after"]) == (
		90,
		180,
	)
	# won_back: its 507-day gap is a lapse against max(4 x 10, 60); active window max(2 x 10, 30) = 30
	assert out.loc["won_back", "stage"] == WON_BACK
	assert out.loc["won_back", "at_risk_after"] == 30
	unchanged = [
		"new",
		"single_active",
		"single_at_risk",
		"single_lapsed",
		"monthly",
		"two_purchases",
		"old_return",
	]
	assert (
		out.loc[unchanged, "stage"]
		== lifecycle_stages(_transactions(), AS_OF, NO_FLOORS).loc[unchanged, "stage"]
	).all()


@pytest.mark.parametrize(
	("days_since_last", "stage"),
	[(5, ACTIVE), (30, ACTIVE), (31, AT_RISK), (60, AT_RISK), (61, LAPSED)],
)
def test_two_purchases_a_day_apart_at_the_default_floors(days_since_last, stage):
	# the case: median interval 1 day, so the rhythm alone says At Risk after 2 days and
	# Lapsed after 4. New is kept out of the way with new_days = 1 (first purchase >= 6 days ago).
	dates = _days_before(AS_OF, days_since_last + 1, days_since_last)
	frame = pd.DataFrame(_rows("c", dates), columns=["customer", "date", "amount"])
	out = lifecycle_stages(frame, AS_OF, {"new_days": 1})
	assert out.loc["c", "median_interval"] == 1
	assert (out.loc["c", "at_risk_after"], out.loc["c", "lapsed_after"]) == (30, 60)
	assert out.loc["c", "stage"] == stage
	# without floors the same customer is Lapsed from the fifth day
	bare = lifecycle_stages(frame, AS_OF, {"new_days": 1, **NO_FLOORS})
	assert bare.loc["c", "stage"] == LAPSED


@pytest.mark.parametrize(
	("days_since_last", "stage"),
	[(10, ACTIVE), (11, AT_RISK), (20, AT_RISK), (21, LAPSED)],
)
def test_floors_set_by_the_administrator(days_since_last, stage):
	# purchases every 2 days: rhythm 4 / 8 days, floors 10 / 20
	dates = _days_before(AS_OF, days_since_last + 4, days_since_last + 2, days_since_last)
	frame = pd.DataFrame(_rows("c", dates), columns=["customer", "date", "amount"])
	out = lifecycle_stages(frame, AS_OF, {"new_days": 1, "at_risk_floor_days": 10, "lapsed_floor_days": 20})
	assert out.loc["c", "stage"] == stage


@pytest.mark.parametrize(("gap", "stage"), [(60, ACTIVE), (61, WON_BACK)])
def test_a_return_is_a_win_back_only_after_a_gap_beyond_the_lapsed_floor(gap, stage):
	# gaps 1, 1, then `gap`; the lapse threshold when that gap began is max(4 x 1, 60) = 60 days
	last = 3
	dates = _days_before(AS_OF, last + gap + 2, last + gap + 1, last + gap, last)
	frame = pd.DataFrame(_rows("c", dates), columns=["customer", "date", "amount"])
	out = lifecycle_stages(frame, AS_OF, {"new_days": 1})
	assert out.loc["c", "stage"] == stage
