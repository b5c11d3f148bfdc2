import numpy as np
import pandas as pd
import pytest

from loyalty_crm.engine.clusters import WORDS, CustomerClusterer
from loyalty_crm.engine.errors import EngineError


def _group(rng, prefix, n, recency, frequency, monetary, tenure):
	"""n customers scattered +-10% around one profile."""

	def around(centre):
		return centre * rng.uniform(0.9, 1.1, n)

	return pd.DataFrame(
		{
			"recency_days": around(recency).round(),
			"frequency": np.maximum(around(frequency).round(), 1),
			"monetary": around(monetary),
			"tenure_days": around(tenure).round(),
		},
		index=[f"{prefix}{i:03d}" for i in range(n)],
	)


@pytest.fixture(scope="module")
def three_groups() -> pd.DataFrame:
	rng = np.random.default_rng(42)
	return pd.concat(
		[
			# champions: bought 2 days ago, 30 purchases, 5000 spent, customers for 2000 days
			_group(rng, "vip", 60, 2, 30, 5000, 2000),
			# lapsed one-off buyers
			_group(rng, "gone", 60, 300, 1, 40, 400),
			# newcomers: recent, few purchases, middling spend
			_group(rng, "new", 60, 30, 3, 300, 20),
		]
	)


def test_three_separated_groups_are_found(three_groups):
	model = CustomerClusterer(k_range=(2, 6), random_state=0).fit(three_groups)
	assert model.k_ == 3
	assert model.silhouette_ == model.silhouette_by_k_.max() > 0.8
	assert list(model.silhouette_by_k_.index) == [2, 3, 4, 5, 6]
	# Every group is one cluster; clusters are numbered by centroid spend, highest first.
	by_group = model.labels_.groupby(model.labels_.index.str[:3]).agg(["min", "max"])
	assert by_group.to_dict("index") == {
		"vip": {"min": 0, "max": 0},
		"new": {"min": 1, "max": 1},
		"gon": {"min": 2, "max": 2},
	}
	# Centres are back in original units: the vip centre is near its 5000 spend and 30 purchases.
	assert model.centers_.loc[0, "monetary"] == pytest.approx(5000, rel=0.1)
	assert model.centers_.loc[0, "frequency"] == pytest.approx(30, rel=0.1)
	assert model.centers_.loc[2, "recency_days"] == pytest.approx(300, rel=0.1)


def test_descriptions_use_the_fixed_vocabulary_and_make_sense(three_groups):
	described = CustomerClusterer(k_range=(2, 6)).fit(three_groups).describe()
	assert list(described.columns) == [
		"size",
		"share",
		"recency_days",
		"frequency",
		"monetary",
		"tenure_days",
		"words",
		"description",
	]
	assert described["size"].tolist() == [60, 60, 60]
	assert described["share"].tolist() == pytest.approx([1 / 3] * 3)
	vocabulary = {word for words in WORDS.values() for word in words}
	assert all(set(words) <= vocabulary for words in described["words"])
	# Words compare each centre with the overall median in the standardised log space (band
	# +-0.5 SD). The median customer is a newcomer on recency (30), frequency (3) and spend
	# (300), a lapsed one on tenure (400): so the newcomers read "regular, medium spend, fairly
	# recent" and only their tenure stands out.
	assert described.loc[0, "description"] == "frequent, high spend, recent, long-standing"
	assert described.loc[2, "description"] == "infrequent, low spend, long inactive, established"
	assert described.loc[1, "description"] == "regular, medium spend, fairly recent, new"


def test_same_seed_same_result_and_predict_matches_labels(three_groups):
	first = CustomerClusterer(k_range=(2, 6), random_state=3).fit(three_groups)
	second = CustomerClusterer(k_range=(2, 6), random_state=3).fit(
		three_groups.sample(frac=1, random_state=1)
	)
	pd.testing.assert_series_equal(first.labels_, second.labels_.loc[first.labels_.index])
	pd.testing.assert_frame_equal(first.centers_, second.centers_, rtol=1e-6)
	pd.testing.assert_series_equal(first.predict(three_groups), first.labels_)
	new = pd.DataFrame(
		{
			"recency_days": [1.0, 280.0],
			"frequency": [28, 1],
			"monetary": [5200.0, 35.0],
			"tenure_days": [1900, 380],
		},
		index=["p1", "p2"],
	)
	assert first.predict(new).tolist() == [0, 2]


def test_large_data_uses_minibatch_and_a_silhouette_sample(three_groups):
	model = CustomerClusterer(k_range=(2, 4), max_sample=90, minibatch_above=100).fit(three_groups)
	assert type(model.model_).__name__ == "MiniBatchKMeans"
	assert model.k_ == 3


def test_small_data_lowers_the_k_range():
	metrics = pd.DataFrame(
		{
			"recency_days": [1.0, 2.0, 300.0, 310.0],
			"frequency": [10, 11, 1, 1],
			"monetary": [900.0, 950.0, 20.0, 25.0],
			"tenure_days": [500.0, 520.0, 310.0, 320.0],
		},
		index=list("abcd"),
	)
	# 4 customers: silhouette needs k <= n - 1 = 3, so (5, 8) becomes (3, 3).
	model = CustomerClusterer(k_range=(5, 8)).fit(metrics)
	assert model.k_ == 3
	assert list(model.silhouette_by_k_.index) == [3]


@pytest.mark.parametrize(
	("k_range", "message"),
	[
		((1, 5), "2 <= min <= max <= 20; got 1-5"),
		((2, 21), "got 2-21"),
		((6, 4), "got 6-4"),
		((2.0, 4), "got 2.0-4"),
		(5, "two whole numbers"),
	],
)
def test_bad_k_range_is_rejected(three_groups, k_range, message):
	with pytest.raises(EngineError, match=message):
		CustomerClusterer(k_range=k_range).fit(three_groups)


def test_bad_metrics_are_rejected_without_mutation(three_groups):
	broken = three_groups.copy()
	broken.loc["gone000", "recency_days"] = np.nan
	before = broken.copy()
	with pytest.raises(EngineError, match="cannot be clustered.*gone000"):
		CustomerClusterer().fit(broken)
	pd.testing.assert_frame_equal(broken, before)
	with pytest.raises(EngineError, match="missing the column.*tenure_days"):
		CustomerClusterer().fit(three_groups.drop(columns="tenure_days"))
	with pytest.raises(EngineError, match="at least 3 customers"):
		CustomerClusterer().fit(three_groups.iloc[:2])
	with pytest.raises(EngineError, match="at least 3 customers with 2 different profiles"):
		CustomerClusterer().fit(three_groups.iloc[[0, 0, 0]])
	with pytest.raises(EngineError, match="not fitted"):
		CustomerClusterer().predict(three_groups)


def test_silhouettes_of_all_candidates_equal_scikit_learns_one_by_one():
	"""One pass over the distances for every k gives what silhouette_score gives for each:
	uneven clusters, a point alone in its cluster, cluster numbers with gaps, a sample."""
	from sklearn.metrics import silhouette_score

	from loyalty_crm.engine.clusters import SILHOUETTE_BLOCK, silhouettes

	rng = np.random.default_rng(7)
	points = rng.normal(size=(SILHOUETTE_BLOCK + 234, 4))  # more than one block of rows
	labels = {
		2: (points[:, 0] > 0.8).astype(int),
		3: rng.integers(0, 3, len(points)),
		5: np.where(np.arange(len(points)) == 17, 9, rng.integers(0, 4, len(points))),  # 9: alone
	}
	got = silhouettes(points, labels)
	for k, these in labels.items():
		assert got[k] == pytest.approx(silhouette_score(points, these), abs=1e-9), k
	sample = rng.choice(len(points), size=300, replace=False)
	got = silhouettes(points, labels, sample)
	for k, these in labels.items():
		assert got[k] == pytest.approx(silhouette_score(points[sample], these[sample]), abs=1e-9), k
	assert silhouettes(points, {2: np.zeros(len(points), dtype=int)}) == {2: -1.0}
