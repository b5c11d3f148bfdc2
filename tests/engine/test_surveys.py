"""NPS / CSAT / CES / complaint figures on small hand-computed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_crm.engine import surveys
from loyalty_crm.engine.errors import EngineError


def responses(**columns) -> pd.DataFrame:
	size = len(next(iter(columns.values())))
	columns.setdefault("submitted_on", ["2024-01-15"] * size)
	return pd.DataFrame(columns)


def only_row(summary: pd.DataFrame) -> pd.Series:
	assert len(summary) == 1
	return summary.iloc[0]


@pytest.mark.parametrize(
	("scores", "expected"),
	[
		([9, 10, 10, 9], 100.0),  # all promoters
		([0, 3, 6, 6], -100.0),  # all detractors
		([7, 8, 8], 0.0),  # passives only
		# 3 promoters, 2 passives, 5 detractors: 30% - 50% = -20
		([10, 9, 9, 7, 8, 6, 5, 0, 1, 2], -20.0),
		# 2 promoters, 1 passive, 1 detractor, 1 unanswered: (2 - 1) / 4 = 25
		([10, 9, 8, 0, None], 25.0),
	],
)
def test_nps(scores, expected):
	row = only_row(surveys.score_summary(responses(nps=scores)))
	assert row["nps"] == pytest.approx(expected)
	assert row["responses"] == len(scores)
	assert row["nps_responses"] == sum(score is not None for score in scores)


def test_nps_counts():
	row = only_row(surveys.score_summary(responses(nps=[10, 9, 9, 7, 8, 6, 5, 0, 1, 2])))
	assert (row["promoters"], row["passives"], row["detractors"]) == (3, 2, 5)


def test_csat_and_ces_arithmetic():
	frame = responses(csat=[5, 4, 3, 1, None, 4], ces=[7, 5, 4, None, 1, 2])
	row = only_row(surveys.score_summary(frame))
	# CSAT: 3 of 5 answers are 4-5 -> 60%
	assert row["csat"] == pytest.approx(60.0)
	assert row["csat_responses"] == 5
	# CES: (7 + 5 + 4 + 1 + 2) / 5 = 19 / 5 = 3.8; answers 5-7: 2 of 5 = 40%
	assert row["ces_mean"] == pytest.approx(3.8)
	assert row["ces_agree_pct"] == pytest.approx(40.0)
	assert row["ces_responses"] == 5


def test_metrics_nobody_answered_are_nan_not_zero():
	row = only_row(surveys.score_summary(responses(nps=[10, None], csat=[None, None])))
	assert row["nps"] == 100.0
	assert np.isnan(row["csat"]) and row["csat_responses"] == 0
	assert np.isnan(row["ces_mean"]) and np.isnan(row["ces_agree_pct"])  # no ces column at all
	assert np.isnan(row["complaints"]) and np.isnan(row["complaint_rate_per_survey"])


def test_complaint_rates_per_survey_and_per_invoice():
	frame = responses(
		complaint=[True, False, "yes", None, 0], segment=["A", "A", "A", "B", "B"], nps=[1, 2, 3, 4, 5]
	)
	invoices = pd.DataFrame({"segment": ["A", "B"], "invoices": [200, 0]})
	summary = surveys.score_summary(frame, by="segment", invoices=invoices).set_index("segment")
	# A: 2 complaints / 3 responses = 66.67%; per invoice: 2 / 200 = 1%
	assert summary.loc["A", "complaints"] == 2
	assert summary.loc["A", "complaint_rate_per_survey"] == pytest.approx(200 / 3)
	assert summary.loc["A", "complaint_rate_per_invoice"] == pytest.approx(1.0)
	# B: 0 complaints of 2; zero invoices gives no rate rather than a division by zero
	assert summary.loc["B", "complaint_rate_per_survey"] == 0.0
	assert np.isnan(summary.loc["B", "complaint_rate_per_invoice"])


def test_per_month_grouping():
	frame = responses(
		nps=[10, 0, 9, 8, 10, 10],
		csat=[5, 1, 4, 2, 5, 5],
		segment=["A", "A", "A", "B", "B", "A"],
		submitted_on=["2024-01-01", "2024-01-31", "2024-02-29", "2024-02-01", "2024-02-15", "2024-03-01"],
	)
	invoices = pd.Series(
		[10, 40],
		index=pd.MultiIndex.from_tuples(
			[("A", pd.Timestamp("2024-01-20")), ("B", pd.Timestamp("2024-02-01"))]
		),
	)
	invoices.index.names = ["segment", "period"]
	summary = surveys.score_summary(frame, by="segment", period="month", invoices=invoices)
	assert list(summary.columns) == ["segment", "period", *surveys.SUMMARY_COLUMNS]
	keys = list(zip(summary["segment"], summary["period"].dt.strftime("%Y-%m"), strict=True))
	assert keys == [("A", "2024-01"), ("A", "2024-02"), ("A", "2024-03"), ("B", "2024-02")]
	# A, January: one promoter, one detractor -> 0; CSAT 1 of 2 -> 50%
	# B, February: a passive (8) and a promoter (10) -> (1 - 0) / 2 = 50; CSAT 2 and 5 -> 50%
	assert list(summary["nps"]) == [0.0, 100.0, 100.0, 50.0]
	assert list(summary["csat"]) == [50.0, 100.0, 100.0, 50.0]
	assert list(summary["responses"]) == [2, 1, 1, 2]
	assert list(summary["invoices"].fillna(-1)) == [10.0, -1, -1, 40.0]


def test_per_week_grouping_starts_on_monday():
	frame = responses(
		nps=[10, 0, 9], submitted_on=["2024-03-03", "2024-03-04", "2024-03-10"]
	)  # Sun, Mon, Sun
	summary = surveys.score_summary(frame, period="week")
	assert list(summary["period"]) == [pd.Timestamp("2024-02-26"), pd.Timestamp("2024-03-04")]
	assert list(summary["nps"]) == [100.0, 0.0]  # second week: one promoter, one detractor


def test_missing_group_values_form_their_own_group():
	summary = surveys.score_summary(responses(nps=[10, 0], tier=["Gold", None]), by=["tier"])
	assert summary["tier"].isna().sum() == 1
	assert summary["responses"].sum() == 2


def test_small_sample_flag_threshold_is_a_parameter():
	frame = responses(nps=[10] * 5, segment=["A", "A", "A", "B", "B"])
	summary = surveys.score_summary(frame, by="segment", small_sample=3)
	assert list(summary["small_sample"]) == [False, True]
	assert list(surveys.score_summary(frame, by="segment")["small_sample"]) == [True, True]  # default 30


def test_validate_responses_cleans_types():
	frame = responses(nps=["9", 10.0, None, " "], complaint=["Yes", "no", 1.0, None])
	clean = surveys.validate_responses(frame)
	assert clean["nps"].tolist()[:2] == [9.0, 10.0] and clean["nps"].iloc[2:].isna().all()
	assert clean["complaint"].tolist() == [True, False, True, False]
	assert clean["csat"].isna().all()


@pytest.mark.parametrize(
	("columns", "message"),
	[
		({"nps": [10, 11]}, "Survey responses: nps must be between 0 and 10, got 11 on row(s) 3"),
		({"nps": [-1, 5]}, "nps must be between 0 and 10, got -1 on row(s) 2"),
		({"csat": [0, 5, 6]}, "csat must be between 1 and 5, got 0, 6 on row(s) 2, 4"),
		({"ces": [8]}, "ces must be between 1 and 7, got 8 on row(s) 2"),
		({"nps": [9.5]}, "Survey responses: nps must be a whole number, got 9.5 on row(s) 2"),
		({"csat": [4, "good"]}, "Survey responses: csat must be a number, got text 'good' on row(s) 3"),
		(
			{"complaint": [True, "maybe"]},
			"complaint must be yes/no (true/false, 1/0), got 'maybe' on row(s) 3",
		),
		({"nps": [1], "submitted_on": ["yesterday"]}, "missing or unreadable submitted_on date on row(s) 2"),
		({"segment": ["A"]}, "need at least one of the columns nps, csat, ces, complaint"),
	],
)
def test_bad_input_names_the_field_and_the_row(columns, message):
	frame = responses(**columns)
	before = frame.copy()
	with pytest.raises(EngineError) as caught:
		surveys.score_summary(frame)
	assert message in str(caught.value)
	pd.testing.assert_frame_equal(frame, before)


def test_bad_arguments():
	frame = responses(nps=[10])
	with pytest.raises(EngineError, match=r"no column\(s\) store to group by"):
		surveys.score_summary(frame, by="store")
	with pytest.raises(EngineError, match="Unknown survey period year"):
		surveys.score_summary(frame, period="year")
	with pytest.raises(EngineError, match="missing the column"):
		surveys.score_summary(frame.drop(columns="submitted_on"))
	with pytest.raises(EngineError, match=r"Invoice counts are missing the column\(s\): invoices"):
		surveys.score_summary(
			responses(nps=[1], segment=["A"]), by="segment", invoices=pd.DataFrame({"segment": ["A"]})
		)


def test_row_numbers_are_positions_whatever_the_index():
	frame = responses(nps=[1, 2, 99]).set_axis(["x", "y", "z"])
	with pytest.raises(EngineError, match=r"on row\(s\) 4"):
		surveys.validate_responses(frame)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=1, max_size=60))
def test_nps_matches_its_definition(scores):
	row = only_row(surveys.score_summary(responses(nps=scores)))
	answered = [score for score in scores if score is not None]
	if not answered:
		assert np.isnan(row["nps"])
		return
	promoters = sum(score >= 9 for score in answered)
	detractors = sum(score <= 6 for score in answered)
	assert row["nps"] == pytest.approx(100 * (promoters - detractors) / len(answered))
	assert -100 <= row["nps"] <= 100
	assert row["promoters"] + row["passives"] + row["detractors"] == len(answered)
