"""Churn engine: hand-checked features, known drivers, no leakage, determinism, clear errors, baselines."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from loyalty_crm.engine.churn import (
	FEATURES,
	ChurnModel,
	SideTables,
	churn_features,
	churn_labels,
	drivers_text,
	dumps,
	loads,
	risk_band,
)
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.offline.demo_data import demo_transactions

from .test_clv import CALIBRATION_END, DATASETS, needs_cdnow


def _frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
	return pd.DataFrame(rows, columns=["customer", "date", "amount"])


# --- labels and features, by hand ---------------------------------------------------------------


@pytest.fixture
def tiny() -> pd.DataFrame:
	return _frame(
		[
			("A", "2024-01-01", 100.0),
			("A", "2024-01-11", 50.0),
			("A", "2024-01-31", 30.0),
			("A", "2024-02-05", -10.0),  # a return: not a purchase day
			("A", "2024-03-01", 40.0),
			("B", "2024-02-20", 20.0),
			("C", "2024-01-15", 10.0),
			("C", "2024-01-15", 5.0),  # two receipts, one trip
			("C", "2024-04-20", 60.0),  # after the cutoff below
		]
	)


def test_features_by_hand(tiny: pd.DataFrame) -> None:
	features = churn_features(tiny, "2024-03-10", horizon_days=30)
	assert list(features.columns) == list(FEATURES)
	a, b, c = features.loc["A"], features.loc["B"], features.loc["C"]
	assert a["recency_days"] == 9 and a["frequency"] == 4 and a["tenure_days"] == 69
	assert a["monetary_total"] == pytest.approx(210.0)  # 100 + 50 + 30 - 10 + 40
	assert a["monetary_mean"] == pytest.approx(55.0)  # purchase days only: 220 / 4
	# gaps 10, 20, 30 days: median 20, population CV = std/mean = 8.165/20
	assert a["interval_median_days"] == 20 and a["interval_cv"] == pytest.approx(np.std([10, 20, 30]) / 20)
	assert a["recency_ratio"] == pytest.approx(9 / 20)
	assert a["last_interval_ratio"] == pytest.approx(30 / 20)
	assert a["last_spend_ratio"] == pytest.approx(40 / 55)
	assert a["return_share"] == pytest.approx(10 / 220)
	# last 90 days (2023-12-11 .. 2024-03-10) hold everything; nothing in the 90 before
	assert np.isnan(a["spend_trend"])
	assert b["frequency"] == 1 and np.isnan(b["interval_median_days"]) and np.isnan(b["recency_ratio"])
	assert c["frequency"] == 1 and c["monetary_total"] == pytest.approx(15.0)  # the April row is unseen
	assert features["last_nps"].isna().all() and features["complaints_180d"].isna().all()


def test_spend_trend_compares_quarters() -> None:
	frame = _frame([("A", "2024-01-10", 100.0), ("A", "2024-05-01", 40.0), ("B", "2024-05-02", 5.0)])
	features = churn_features(frame, "2024-06-30")
	assert features.loc["A", "spend_trend"] == pytest.approx(40 / 100 - 1)  # down 60 %


def test_features_never_read_rows_after_the_cutoff(tiny: pd.DataFrame) -> None:
	later = _frame([("A", "2024-03-11", 999.0), ("B", "2024-06-01", 5.0), ("D", "2024-05-01", 7.0)])
	before = churn_features(tiny, "2024-03-10")
	after = churn_features(pd.concat([tiny, later]), "2024-03-10")
	pd.testing.assert_frame_equal(before, after)


def test_labels(tiny: pd.DataFrame) -> None:
	labels = churn_labels(tiny, "2024-03-10", 30)
	assert labels.to_dict() == {"A": True, "B": True, "C": True}
	assert churn_labels(tiny, "2024-03-10", 41).to_dict() == {"A": True, "B": True, "C": False}  # C on 04-20
	assert churn_labels(tiny, "2024-01-20", 30).to_dict() == {"A": False, "C": True}  # B not yet a customer


def test_dated_histories_give_each_cutoff_the_state_it_had_then(tiny: pd.DataFrame) -> None:
	side = SideTables(
		points=pd.DataFrame(
			{"customer": ["A", "A"], "date": ["2024-01-01", "2024-03-05"], "balance": [120.0, 0.0]}
		),
		tiers=pd.DataFrame(
			{"customer": ["A", "A"], "date": ["2024-01-01", "2024-02-15"], "tier_rank": [1, 2]}
		),
	)
	early = churn_features(tiny, "2024-02-01", side=side).loc["A"]
	late = churn_features(tiny, "2024-03-10", side=side).loc["A"]
	assert (early["points_balance"], early["tier_rank"]) == (120.0, 1)
	assert (late["points_balance"], late["tier_rank"]) == (0.0, 2)


def test_side_tables_at_the_cutoff(tiny: pd.DataFrame) -> None:
	side = SideTables(
		surveys=pd.DataFrame(
			{
				"customer": ["A", "A", "A", "B"],
				"date": ["2024-01-05", "2024-02-01", "2024-04-01", "2024-02-21"],
				"nps": [9, np.nan, 0, 3],
				"csat": [5, 2, 1, np.nan],
			}
		),
		complaints=pd.DataFrame(
			{"customer": ["A", "A", "A"], "date": ["2023-06-01", "2024-02-01", "2024-04-01"]}
		),
		points=pd.DataFrame(
			{
				"customer": ["A", "A", "B"],
				"date": ["2024-01-01", "2024-03-01", "2024-02-20"],
				"points": [10, 5, 2],
			}
		),
		tiers=pd.DataFrame({"customer": ["A", "B"], "tier_rank": [3, 1]}),  # no dates: today only
	)
	features = churn_features(tiny, "2024-03-10", side=side)
	assert features.loc["A", "last_nps"] == 9  # last answered NPS on or before the cutoff
	assert features.loc["A", "last_csat"] == 2
	assert features.loc["B", "last_nps"] == 3
	assert features.loc["A", "complaints_180d"] == 1 and features.loc["C", "complaints_180d"] == 0
	assert features.loc["A", "points_balance"] == 15  # movements summed up to the cutoff
	# a dateless tier table describes today: never used at a cutoff before the last transaction
	assert features["tier_rank"].isna().all()
	assert churn_features(tiny, "2024-05-01", side=side).loc["A", "tier_rank"] == 3


# --- a shop where the reasons are known ----------------------------------------------------------


def _complaint_shop(seed: int = 0, customers: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
	"""Regular buyers; a third complain at a random day, and most of those never come back.

	Nobody else stops buying, except a few at random, so a complaint is the reason for churn here.
	"""
	rng = np.random.default_rng(seed)
	start = pd.Timestamp("2024-01-01")
	rows, complaints = [], []
	for i in range(customers):  # a test-sized simulation; clarity over speed
		name = f"C{i:04d}"
		interval = rng.uniform(7, 21)
		day = rng.uniform(0, 30)
		complaint_day = rng.uniform(60, 480) if rng.random() < 0.33 else None
		leaves_after_complaint = rng.random() < 0.85
		stop_day = rng.uniform(60, 480) if rng.random() < 0.05 else None
		complained = False
		while day < 480:
			if complaint_day is not None and not complained and day > complaint_day:
				complaints.append((name, start + pd.Timedelta(days=int(complaint_day))))
				complained = True
				if leaves_after_complaint:
					break
			if stop_day is not None and day > stop_day:
				break
			rows.append((name, start + pd.Timedelta(days=int(day)), round(rng.gamma(4, 10), 2)))
			day += rng.exponential(interval)
	return (
		pd.DataFrame(rows, columns=["customer", "date", "amount"]),
		pd.DataFrame(complaints, columns=["customer", "date"]),
	)


@pytest.fixture(scope="module")
def complaint_shop():
	transactions, complaints = _complaint_shop()
	side = SideTables(complaints=complaints)
	model = ChurnModel(horizon_days=60).fit(transactions, side=side)
	return transactions, complaints, model


def test_a_customer_who_stops_after_a_complaint_gets_it_as_a_driver(complaint_shop) -> None:
	transactions, complaints, model = complaint_shop
	as_of = transactions["date"].max()
	assert "complaints_180d" in model.feature_names_
	# two twins with the same purchases every 10 days up to 30 days ago; only one complained
	days = pd.date_range(as_of - pd.Timedelta(days=300), as_of - pd.Timedelta(days=30), freq="10D")
	twins = pd.DataFrame(
		{"customer": ["TWIN-C"] * len(days) + ["TWIN-N"] * len(days), "date": list(days) * 2, "amount": 40.0}
	)
	extra = pd.DataFrame({"customer": ["TWIN-C"], "date": [as_of - pd.Timedelta(days=25)]})
	side = SideTables(complaints=pd.concat([complaints, extra], ignore_index=True))
	scores = model.score(pd.concat([transactions, twins], ignore_index=True), as_of=as_of, side=side)
	scores = scores.set_index("customer")
	complained, quiet = scores.loc["TWIN-C"], scores.loc["TWIN-N"]
	assert complained["score"] > quiet["score"] + 0.1
	features = [d["feature"] for d in complained["drivers"]]
	assert features[0] == "complaints_180d", complained["drivers"]
	assert "Complaint in the last 180 days" in drivers_text(complained["drivers"])
	assert "complaints_180d" not in [d["feature"] for d in quiet["drivers"]]
	# silence is the twins' other shared reason: 30 days against their usual 10
	assert "No purchase for 3.0× their usual interval" in drivers_text(complained["drivers"])


def test_the_model_learns_from_complaints(complaint_shop) -> None:
	"""Complaints are this shop's reason to leave: knowing them ranks churners better than not."""
	transactions, _complaints, model = complaint_shop
	blind = ChurnModel(horizon_days=60).fit(transactions)
	assert model.validation_cutoff_ == blind.validation_cutoff_
	assert model.metrics_["model"]["roc_auc"] > blind.metrics_["model"]["roc_auc"]
	assert model.importances_.index[0] == "complaints_180d"
	assert "complaints_180d" not in blind.feature_names_  # no table given: the feature is left out


# --- no leakage ----------------------------------------------------------------------------------


def test_shuffling_the_future_leaves_nothing_to_predict() -> None:
	"""Give every customer's purchases after the validation cutoff to a random other customer.

	Features read only the past, so the validation labels are now unrelated to them and the
	validation ROC AUC falls to chance; a feature that peeked at the future would keep it high.
	"""
	transactions = demo_transactions(n_customers=3000, seed=5)
	honest = ChurnModel().fit(transactions)
	cutoff = honest.validation_cutoff_
	future = transactions["date"] > cutoff
	names = transactions["customer"].unique()
	shuffled_names = dict(zip(names, np.random.default_rng(1).permutation(names), strict=True))
	shuffled = transactions.copy()
	shuffled.loc[future, "customer"] = shuffled.loc[future, "customer"].map(shuffled_names)
	blind = ChurnModel().fit(shuffled)
	assert blind.validation_cutoff_ == cutoff
	assert honest.metrics_["model"]["roc_auc"] > 0.7
	assert abs(blind.metrics_["model"]["roc_auc"] - 0.5) < 0.07
	assert abs(blind.metrics_["recency"]["roc_auc"] - 0.5) < 0.07


# --- determinism and persistence -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_fit():
	transactions = demo_transactions(n_customers=1500, seed=7)
	return transactions, ChurnModel().fit(transactions)


def test_same_data_same_model_same_scores(demo_fit) -> None:
	transactions, model = demo_fit
	again = ChurnModel().fit(transactions)
	assert again.chosen_ == model.chosen_
	assert again.metrics_ == model.metrics_
	pd.testing.assert_frame_equal(again.score(transactions), model.score(transactions))


def test_dumps_and_loads_round_trip_and_check_the_hash(demo_fit) -> None:
	import hashlib

	transactions, model = demo_fit
	data = dumps(model)
	digest = hashlib.sha256(data).hexdigest()
	pd.testing.assert_frame_equal(loads(data, digest).score(transactions), model.score(transactions))
	with pytest.raises(EngineError, match="damaged or was replaced"):
		loads(data[:-1] + b"x", digest)
	with pytest.raises(EngineError, match="not trained"):
		dumps(ChurnModel())


def test_scores_are_probabilities_with_bands_and_value_at_risk(demo_fit) -> None:
	transactions, model = demo_fit
	scores = model.score(transactions, thresholds=(0.2, 0.6, 0.9))
	assert list(scores.columns) == [
		"customer",
		"score",
		"band",
		"drivers",
		"expected_purchases",
		"p_alive",
		"predicted_clv",
		"value_at_risk",
		"days_since_last_purchase",
	]
	assert scores["customer"].is_unique and len(scores) == transactions["customer"].nunique()
	assert scores["score"].between(0, 1).all()
	np.testing.assert_array_equal(scores["band"], risk_band(scores["score"], (0.2, 0.6, 0.9)))
	np.testing.assert_allclose(
		scores["value_at_risk"], scores["score"] * scores["predicted_clv"].clip(lower=0)
	)
	for drivers in scores["drivers"].head(200):
		assert len(drivers) <= 3
		assert [d["effect"] for d in drivers] == sorted((d["effect"] for d in drivers), reverse=True)
		for driver in drivers:
			driver["message"].format(*driver["values"])  # every template has its numbers
	# calibration: over the validation rows, the mean score is close to the churn rate
	table = model.calibration_
	mean_predicted = (table["mean_predicted"] * table["customers"]).sum() / table["customers"].sum()
	observed = (table["observed_rate"] * table["customers"]).sum() / table["customers"].sum()
	assert abs(mean_predicted - observed) < 0.05
	assert table["customers"].sum() == model.metrics_["validation_rows"]


def test_given_clv_replaces_the_engines_and_sets_value_at_risk(demo_fit) -> None:
	transactions, model = demo_fit
	own = model.score(transactions).set_index("customer")
	first, second = own.index[:2]
	given = pd.Series({first: 1000.0, "NOT-A-CUSTOMER": 5.0})
	scores = model.score(transactions, clv=given).set_index("customer")
	assert scores.loc[first, "predicted_clv"] == 1000.0
	assert scores.loc[first, "value_at_risk"] == pytest.approx(scores.loc[first, "score"] * 1000.0)
	assert scores.loc[second, "predicted_clv"] == pytest.approx(own.loc[second, "predicted_clv"])
	assert "NOT-A-CUSTOMER" not in scores.index
	pd.testing.assert_series_equal(scores["score"], own["score"])  # CLV never changes the risk


def test_loads_refuses_bytes_that_are_not_a_model() -> None:
	import hashlib

	import joblib

	buffer = io.BytesIO()
	joblib.dump({"not": "a model"}, buffer)
	data = buffer.getvalue()
	with pytest.raises(EngineError, match="not a trained churn model"):
		loads(data, hashlib.sha256(data).hexdigest())


# --- bands -------------------------------------------------------------------------------------


def test_risk_bands_and_their_edges() -> None:
	scores = pd.Series([0.0, 0.29, 0.3, 0.5, 0.69, 0.7, 1.0])
	assert risk_band(scores, (0.3, 0.5, 0.7)).tolist() == [
		"Low",
		"Low",
		"Medium",
		"High",
		"High",
		"Critical",
		"Critical",
	]
	for bad in ((0.5, 0.3, 0.7), (0.3, 0.3, 0.7), (0.0, 0.5, 0.7), (0.3, 0.5, 1.0), (0.3, 0.5)):
		with pytest.raises(EngineError, match="Risk band thresholds"):
			risk_band(scores, bad)


# --- data that cannot support a model --------------------------------------------------------------


def test_horizon_must_be_positive(tiny: pd.DataFrame) -> None:
	for bad in (0, -30, 2.5):
		with pytest.raises(EngineError, match="churn horizon must be a whole number of days"):
			ChurnModel(horizon_days=bad).fit(tiny)


def test_history_shorter_than_two_horizons(tiny: pd.DataFrame) -> None:
	with pytest.raises(EngineError, match=r"history is 111 days long .* needs at least 180 days"):
		ChurnModel(horizon_days=90).fit(tiny)


def test_too_few_customers() -> None:
	frame = demo_transactions(n_customers=30, seed=2)
	with pytest.raises(EngineError, match="needs at least 50 customers"):
		ChurnModel().fit(frame)


def test_no_churned_or_no_retained_examples() -> None:
	days = pd.date_range("2024-01-01", "2024-12-31", freq="7D")
	everyone_stays = pd.DataFrame(
		{
			"customer": np.repeat([f"C{i}" for i in range(60)], len(days)),
			"date": np.tile(days, 60),
			"amount": 10.0,
		}
	)
	with pytest.raises(EngineError, match="No customer churned at any cutoff"):
		ChurnModel(horizon_days=60).fit(everyone_stays)
	one_visit = pd.DataFrame(
		{
			"customer": [f"C{i}" for i in range(80)],
			"date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(80), "D"),
			"amount": 5.0,
		}
	)
	tail = pd.DataFrame({"customer": ["LAST"], "date": [pd.Timestamp("2024-12-31")], "amount": [5.0]})
	with pytest.raises(EngineError, match="Every customer churned at every cutoff"):
		ChurnModel(horizon_days=60).fit(pd.concat([one_visit, tail]))


def test_no_transactions_and_scoring_before_training(tiny: pd.DataFrame) -> None:
	with pytest.raises(EngineError, match="There are no transactions"):
		ChurnModel().fit(tiny.iloc[0:0])
	with pytest.raises(EngineError, match="not trained yet"):
		ChurnModel().score(tiny)


# --- against the baselines ---------------------------------------------------------------------


def _side_by_side(title: str, model: ChurnModel) -> str:
	metrics = model.metrics_
	lines = [
		f"{title}: validation cutoff {model.validation_cutoff_.date()}, {metrics['validation_rows']} customers"
	]
	for name in ("model", "recency", "bgnbd_expected"):
		m = metrics[name]
		lines.append(
			f"  {name:<15} ROC AUC {m['roc_auc']:.3f}  PR AUC {m['pr_auc']:.3f}  Brier {m['brier']:.3f}  "
			f"top-decile lift {m['top_decile_lift']:.2f}"
		)
	return "\n".join(lines)


@needs_cdnow
def test_cdnow_model_is_at_least_as_good_as_the_better_baseline(capsys) -> None:
	raw = pd.read_csv(
		DATASETS / "CDNOW_sample.txt",
		sep=r"\s+",
		header=None,
		names=["id", "customer", "date", "cds", "amount"],
		dtype={"id": str, "customer": str, "date": str},
	)
	transactions = pd.DataFrame(
		{"customer": raw["customer"], "date": pd.to_datetime(raw["date"]), "amount": raw["amount"]}
	)
	# the 39-week holdout of Fader, Hardie & Lee: labels from 1997-10-01 to 1998-06-30
	model = ChurnModel(horizon_days=273).fit(transactions)
	assert model.validation_cutoff_ == pd.Timestamp(CALIBRATION_END)
	with capsys.disabled():
		print("\n" + _side_by_side("CDNOW", model))
	metrics = model.metrics_
	assert metrics["model"]["roc_auc"] >= max(
		metrics["recency"]["roc_auc"], metrics["bgnbd_expected"]["roc_auc"]
	)


def test_demo_model_beats_both_baselines(capsys) -> None:
	model = ChurnModel().fit(demo_transactions())  # the data `loyalty-crm demo` analyses
	with capsys.disabled():
		print("\n" + _side_by_side("demo", model))
	metrics = model.metrics_
	assert metrics["model"]["roc_auc"] > max(
		metrics["recency"]["roc_auc"], metrics["bgnbd_expected"]["roc_auc"]
	)
	assert metrics["model"]["brier"] < min(metrics["recency"]["brier"], metrics["bgnbd_expected"]["brier"])


def test_a_side_table_that_reaches_only_calibration_customers_is_left_out(complaint_shop) -> None:
	"""Found on a real site: NPS answers from a few customers, all in the held-back calibration
	third, left the learning rows an all-empty column, and gradient boosting failed to bin it."""
	from loyalty_crm.engine.churn import _calibration_customers

	transactions, _complaints, _model = complaint_shop
	customers = transactions["customer"].drop_duplicates().to_numpy()
	held_back = customers[_calibration_customers(customers)][:40]
	surveys = pd.DataFrame(
		{
			"customer": held_back,
			"date": transactions["date"].min() + pd.Timedelta(days=10),
			"nps": np.arange(len(held_back)) % 11,
			"csat": np.nan,
		}
	)
	model = ChurnModel(horizon_days=60).fit(transactions, side=SideTables(surveys=surveys))
	assert "last_nps" not in model.feature_names_
	assert model.score(transactions)["score"].between(0, 1).all()
