import numpy as np
import pandas as pd
import pytest

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.value_bands import clv_bands


def _ids(n):
	return [f"c{i:02d}" for i in range(1, n + 1)]


def test_quantile_bands_hand_computed():
	historical = pd.Series(np.arange(1.0, 11.0), index=_ids(10))
	out = clv_bands(historical)
	# values 1..10: numpy's linear quantile at 0.5 = 5.5, at 0.8 = 1 + 0.8 * 9 = 8.2
	# High > 8.2: 9, 10; Medium > 5.5: 6, 7, 8; Low: 1..5
	assert out["band"].tolist() == ["Low"] * 5 + ["Medium"] * 3 + ["High"] * 2
	assert (out["source"] == "historical").all()
	assert list(out.columns) == ["value", "source", "band"]


def test_predicted_value_wins_where_present():
	historical = pd.Series({"a": 100.0, "b": 200.0, "c": 300.0, "d": np.nan})
	predicted = pd.Series({"a": 900.0, "b": np.nan, "d": 50.0, "e": 400.0})
	out = clv_bands(historical, predicted, method="fixed", cuts=(150, 500))
	# a: predicted 900 (>= 500 High); b: historical 200 (>= 150 Medium); c: historical 300
	# (Medium); d: predicted 50 (< 150 Low); e: predicted only, 400 (Medium).
	assert out["value"].to_dict() == {"a": 900.0, "b": 200.0, "c": 300.0, "d": 50.0, "e": 400.0}
	assert out["source"].to_dict() == {
		"a": "predicted",
		"b": "historical",
		"c": "historical",
		"d": "predicted",
		"e": "predicted",
	}
	assert out["band"].to_dict() == {"a": "High", "b": "Medium", "c": "Medium", "d": "Low", "e": "Medium"}


def test_fixed_cut_values_are_inclusive():
	out = clv_bands(pd.Series({"a": 149.99, "b": 150.0, "c": 500.0}), method="fixed", cuts=(150, 500))
	assert out["band"].tolist() == ["Low", "Medium", "High"]


def test_crowd_of_zeros_stays_low():
	# 7 zeros, then 10, 20, 30. Median: position 0.5 * 9 = 4.5 -> 0. 0.8 quantile: position
	# 0.8 * 9 = 7.2 between sorted[7] = 10 and sorted[8] = 20 -> 10 + 0.2 * 10 = 12.
	# High > 12: 20, 30; Medium > 0: 10; Low: the zeros (not promoted for equalling the median).
	values = pd.Series([0.0] * 7 + [10.0, 20.0, 30.0], index=_ids(10))
	bands = clv_bands(values)["band"]
	assert bands.value_counts().to_dict() == {"Low": 7, "High": 2, "Medium": 1}
	assert bands["c08"] == "Medium"


@pytest.mark.parametrize(
	("kwargs", "message"),
	[
		({"method": "kmeans"}, "Unknown value band method kmeans"),
		({"cuts": (0.8, 0.5)}, "increase strictly"),
		({"cuts": (0.5, 1.0)}, "between 0 and 1"),
		({"cuts": (0.5,)}, "two numbers"),
		({"method": "fixed", "cuts": (500, 100)}, "increase strictly"),
	],
)
def test_bad_settings_are_rejected(kwargs, message):
	with pytest.raises(EngineError, match=message):
		clv_bands(pd.Series({"a": 1.0}), **kwargs)


def test_bad_values_are_rejected_without_mutating_input():
	historical = pd.Series({"a": 1.0, "b": np.nan})
	predicted = pd.Series({"a": "lots"})
	before = historical.copy(), predicted.copy()
	with pytest.raises(EngineError, match="not numbers for customer.*a"):
		clv_bands(historical, predicted)
	with pytest.raises(EngineError, match="No predicted or historical value for customer.*b"):
		clv_bands(historical)
	with pytest.raises(EngineError, match="more than once: a"):
		clv_bands(pd.Series([1.0, 2.0], index=["a", "a"]))
	pd.testing.assert_series_equal(historical, before[0])
	pd.testing.assert_series_equal(predicted, before[1])
