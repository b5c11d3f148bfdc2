"""Cohorts and retention on a table small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_crm.engine.cohorts import (
	churn_rate_per_period,
	cohort_matrix,
	new_vs_repeat_by_month,
	repeat_purchase_rate,
	retention_curve,
	retention_rates,
)
from loyalty_crm.engine.errors import EngineError

NAN = np.nan


@pytest.fixture()
def shop() -> pd.DataFrame:
	rows = [
		("A", "2024-01-05", 100.0),
		("A", "2024-02-10", 50.0),
		("A", "2024-03-03", 30.0),
		("B", "2024-01-20", 80.0),
		("B", "2024-03-15", 20.0),
		("B", "2024-03-16", -20.0),  # March nets to 0 for B: not active
		("C", "2024-02-02", 60.0),
		("C", "2024-02-25", -10.0),  # February nets to 50: active
		("C", "2024-03-10", 40.0),
		("D", "2024-03-05", -15.0),  # only a return: never a customer of any cohort
		("E", "2024-03-20", 25.0),
	]
	return pd.DataFrame(rows, columns=["customer", "date", "amount"])


def test_cohort_matrix_by_hand(shop: pd.DataFrame) -> None:
	before = shop.copy()
	counts = cohort_matrix(shop, period="month")
	pd.testing.assert_frame_equal(shop, before)
	# Jan cohort {A, B}: Feb A; Mar A (B nets 0).  Feb cohort {C}: Mar C.  Mar cohort {E}.
	# Data end in March, so Feb's age 2 and Mar's ages 1-2 are not reached yet (NaN, not 0).
	expected = np.array([[2, 1, 1], [1, 1, NAN], [1, NAN, NAN]])
	np.testing.assert_array_equal(counts.to_numpy(), expected)
	assert [str(p) for p in counts.index] == ["2024-01", "2024-02", "2024-03"]
	assert list(counts.columns) == [0, 1, 2]


def test_retention_rates_curve_and_churn(shop: pd.DataFrame) -> None:
	counts = cohort_matrix(shop)
	rates = retention_rates(counts)
	np.testing.assert_array_equal(rates.to_numpy(), [[1, 0.5, 0.5], [1, 1, NAN], [1, NAN, NAN]])
	curve = retention_curve(counts)
	# age 1: cohorts Jan+Feb reached it: (1 + 1) / (2 + 1); age 2: only Jan: 1 / 2
	np.testing.assert_allclose(curve.to_numpy(), [1.0, 2 / 3, 0.5])
	churn = churn_rate_per_period(counts)
	# age 1: 1 - (1 + 1) / (2 + 1) = 1/3; age 2 over Jan only: 1 - 1/1 = 0
	np.testing.assert_allclose(churn.to_numpy(), [1 / 3, 0.0])
	assert list(churn.index) == [1, 2]


def test_window_cuts_history(shop: pd.DataFrame) -> None:
	counts = cohort_matrix(shop, start="2024-02-01", end="2024-02-29")
	# only February: A, C active and both new inside the window
	np.testing.assert_array_equal(counts.to_numpy(), [[2]])


def test_weekly_cohorts_start_on_monday() -> None:
	frame = pd.DataFrame(
		{
			"customer": ["X", "X", "X", "Y"],
			"date": ["2024-01-01", "2024-01-07", "2024-01-08", "2024-01-09"],  # Mon, Sun, Mon, Tue
			"amount": [10.0, 10.0, 10.0, 10.0],
		}
	)
	counts = cohort_matrix(frame, period="week")
	np.testing.assert_array_equal(counts.to_numpy(), [[1, 1], [1, NAN]])
	assert str(counts.index[0]) == "2024-01-01/2024-01-07"


def test_repeat_purchase_rate(shop: pd.DataFrame) -> None:
	# purchase days: A 3, B 2 (03-16 is a return day), C 2 (02-25 is a return day), E 1; D none
	assert repeat_purchase_rate(shop) == pytest.approx(3 / 4)
	assert repeat_purchase_rate(shop, end="2024-01-31") == pytest.approx(0.0)  # A and B, one day each


def test_new_vs_repeat_by_month(shop: pd.DataFrame) -> None:
	table = new_vs_repeat_by_month(shop)
	assert [str(p) for p in table.index] == ["2024-01", "2024-02", "2024-03"]
	# Jan: A, B new (100 + 80).  Feb: C new (60 - 10), A repeat (50).
	# Mar: E new (25); A (30) and C (40) repeat; B nets 0 (not counted, revenue 0); D's -15 is repeat revenue.
	assert table["new_customers"].tolist() == [2, 1, 1]
	assert table["repeat_customers"].tolist() == [0, 1, 2]
	assert table["total"].tolist() == [2, 2, 3]
	np.testing.assert_allclose(table["new_customer_revenue"], [180.0, 50.0, 25.0])
	np.testing.assert_allclose(table["repeat_customer_revenue"], [0.0, 50.0, 30.0 + 40.0 - 15.0])
	np.testing.assert_allclose(table["total_revenue"], [180.0, 100.0, 80.0])


def test_months_without_sales_are_rows_of_zeros() -> None:
	frame = pd.DataFrame({"customer": ["A", "A"], "date": ["2024-01-10", "2024-03-10"], "amount": [5.0, 7.0]})
	table = new_vs_repeat_by_month(frame)
	assert table.loc[pd.Period("2024-02", freq="M"), "total"] == 0
	assert table["repeat_customers"].tolist() == [0, 0, 1]


def test_bad_period_is_rejected(shop: pd.DataFrame) -> None:
	with pytest.raises(EngineError, match="'month' or 'week', got day"):
		cohort_matrix(shop, period="day")


def test_only_returns_is_a_clear_error() -> None:
	frame = pd.DataFrame({"customer": ["A"], "date": ["2024-01-10"], "amount": [-5.0]})
	with pytest.raises(EngineError, match="no purchases"):
		cohort_matrix(frame)
