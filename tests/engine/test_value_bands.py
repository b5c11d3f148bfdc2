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


# ---------------------------------------------------------------- the basis: predicted or historical


AS_OF = pd.Timestamp("2024-06-30")


def _shop() -> pd.DataFrame:
	"""40 regulars buying at their own pace this past year (around 100), 10 one-time buyers (120),
	and a big spender who bought three times two years ago (5,000 each) and never again."""
	rng = np.random.default_rng(7)
	rows = []
	for i in range(40):  # each with their own pace (a week to four months between visits)
		pace, day = rng.uniform(7, 120), int(rng.integers(300, 365))
		while day > 0:
			rows.append((f"regular{i:02d}", AS_OF - pd.Timedelta(days=day), float(rng.normal(100, 20))))
			day -= 1 + int(rng.exponential(pace))
	for i in range(10):
		rows.append((f"once{i:02d}", AS_OF - pd.Timedelta(days=20 + 30 * i), 120.0))
	for days in (730, 720, 710):
		rows.append(("gone_whale", AS_OF - pd.Timedelta(days=days), 5000.0))
	return pd.DataFrame(rows, columns=["customer", "date", "amount"])


def test_bands_follow_predicted_clv_when_the_model_fits():
	from loyalty_crm.engine.value_bands import model_clv_bands, predicted_clv

	shop = _shop()
	historical = shop.groupby("customer")["amount"].sum()
	out, reason = model_clv_bands(shop, AS_OF, historical)
	assert reason is None
	assert (out["source"] == "predicted").all()
	assert out.index.tolist() == historical.index.tolist()
	predicted = predicted_clv(shop, AS_OF)
	np.testing.assert_allclose(out["value"], predicted.reindex(out.index))
	# by history the gone big spender is the top customer; silent for two years, the model expects
	# little more from them, so by prediction they are no longer High: the High band is regulars
	assert clv_bands(historical).loc["gone_whale", "band"] == "High"
	assert out.loc["gone_whale", "value"] < historical["gone_whale"] / 10
	assert out.loc["gone_whale", "band"] != "High"
	assert out.index[out["band"] == "High"].str.startswith("regular").all()


def test_bands_fall_back_to_historical_value_with_the_reason():
	from loyalty_crm.engine.value_bands import model_clv_bands

	once = pd.DataFrame(
		[(f"c{i}", AS_OF - pd.Timedelta(days=i), 10.0 * i) for i in range(1, 11)],
		columns=["customer", "date", "amount"],
	)
	historical = once.groupby("customer")["amount"].sum()
	out, reason = model_clv_bands(once, AS_OF, historical)
	assert isinstance(reason, EngineError)
	assert "every customer bought only once" in str(reason)
	assert (out["source"] == "historical").all()
	pd.testing.assert_frame_equal(out, clv_bands(historical))


def test_a_degenerate_fit_falls_back_for_everybody_with_the_reason():
	from loyalty_crm.engine.value_bands import model_clv_bands

	# everyone buys exactly every 30 days: the purchase-rate model degenerates (no finite value)
	rows = [
		(f"c{i:02d}", AS_OF - pd.Timedelta(days=360 - i - 30 * k), 100.0 + i)
		for i in range(20)
		for k in range(12)
	]
	clockwork = pd.DataFrame(rows, columns=["customer", "date", "amount"])
	historical = clockwork.groupby("customer")["amount"].sum()
	out, reason = model_clv_bands(clockwork, AS_OF, historical)
	assert isinstance(reason, EngineError) and "no finite prediction" in str(reason)
	assert (out["source"] == "historical").all()


def test_only_the_given_customers_are_banded_and_bad_cuts_are_refused_before_fitting():
	from loyalty_crm.engine.value_bands import model_clv_bands

	shop = _shop()
	some = shop[shop["customer"].str.startswith("regular")].groupby("customer")["amount"].sum()
	out, reason = model_clv_bands(shop, AS_OF, some)
	assert reason is None and out.index.tolist() == some.index.tolist()
	with pytest.raises(EngineError, match="Quantile cuts must lie between 0 and 1"):
		model_clv_bands(shop, AS_OF, some, cuts=(0.5, 1.5))


def test_a_numerical_failure_of_the_fit_falls_back_instead_of_failing(monkeypatch):
	from loyalty_crm.engine import clv
	from loyalty_crm.engine.value_bands import model_clv_bands

	def singular(self, summary):
		raise np.linalg.LinAlgError("Singular matrix")

	monkeypatch.setattr(clv.BetaGeoModel, "fit", singular)
	shop = _shop()
	historical = shop.groupby("customer")["amount"].sum()
	out, reason = model_clv_bands(shop, AS_OF, historical)
	assert "The CLV models could not be fitted (LinAlgError: Singular matrix)" == str(reason)
	pd.testing.assert_frame_equal(out, clv_bands(historical))
