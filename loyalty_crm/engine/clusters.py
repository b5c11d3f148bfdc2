"""K-means clusters of customers on recency, frequency, monetary value and tenure.

Follows scikit-learn's estimator contract: ``__init__`` only stores parameters, ``fit``
validates and returns ``self``, learned values end in ``_``.

Features are ``log1p`` of ``recency_days``, ``frequency``, ``monetary`` (negative clipped to 0)
and ``tenure_days``, then standardised: the raw values are heavy-tailed, and without the log a
handful of big spenders would each get a cluster of their own.

The number of clusters ``k`` is the one in ``k_range`` with the best silhouette score (the
smallest such k on a tie). Silhouette costs O(n^2), so above ``max_sample`` customers it is
computed on a seeded random sample of that size. Above ``minibatch_above`` customers
MiniBatchKMeans replaces KMeans.

Small data: silhouette needs 2 <= k <= n - 1, and k cannot exceed the number of distinct
customers' feature rows; the upper end of ``k_range`` is lowered to fit (and the lower end
with it if needed). Fewer than three customers, or fewer than two distinct ones, is an error.

Clusters are numbered by centroid monetary value, highest first, so cluster 0 is the
top-spending group whatever order k-means found them in and re-runs label alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import euclidean_distances
from sklearn.preprocessing import StandardScaler

from loyalty_crm.engine.errors import EngineError, _

FEATURES = ("recency_days", "frequency", "monetary", "tenure_days")
K_LIMITS = (2, 20)
SILHOUETTE_BLOCK = 1000  # rows of the distance matrix held at once (1000 x 5000 floats: 40 MB)

# Fixed vocabulary, one (high, middle, low) triple per feature, so every description can be
# translated word by word. A centroid is "high" when it lies more than DESCRIBE_BAND standard
# deviations (in the standardised log space) above the overall median, "low" when as far below.
# Recency is reversed in meaning: few days since the last purchase is "recent".
WORDS = {
	"frequency": (_("frequent"), _("regular"), _("infrequent")),
	"monetary": (_("high spend"), _("medium spend"), _("low spend")),
	"recency_days": (_("long inactive"), _("fairly recent"), _("recent")),
	"tenure_days": (_("long-standing"), _("established"), _("new")),
}
DESCRIBE_ORDER = ("frequency", "monetary", "recency_days", "tenure_days")
DESCRIBE_BAND = 0.5


class CustomerClusterer:
	"""Choose k by silhouette, fit k-means, describe the clusters in words."""

	def __init__(
		self,
		k_range: tuple[int, int] = (2, 8),
		random_state: int = 0,
		max_sample: int = 5000,
		minibatch_above: int = 50_000,
	) -> None:
		self.k_range = k_range
		self.random_state = random_state
		self.max_sample = max_sample
		self.minibatch_above = minibatch_above

	def fit(self, metrics: pd.DataFrame) -> CustomerClusterer:
		"""Learn ``k_``, ``labels_``, ``silhouette_``, ``silhouette_by_k_``, ``centers_``."""
		low, high = _validate_k_range(self.k_range)
		raw = _features(metrics)
		n = len(raw)
		distinct = len(np.unique(raw, axis=0))
		if n < 3 or distinct < 2:
			raise EngineError(
				_("Clustering needs at least 3 customers with 2 different profiles; got {0} customers"), n
			)
		high = min(high, n - 1, distinct)
		low = min(low, high)

		self.scaler_ = StandardScaler().fit(raw)
		scaled = self.scaler_.transform(raw)
		self.median_ = np.median(scaled, axis=0)
		sample = self._silhouette_sample(n)
		models = {k: self._model(k, n).fit(scaled) for k in range(low, high + 1)}
		scores = silhouettes(scaled, {k: model.labels_ for k, model in models.items()}, sample)
		self.silhouette_by_k_ = pd.Series(scores, name="silhouette").rename_axis("k")
		self.k_ = max(scores, key=lambda k: (scores[k], -k))
		self.silhouette_ = scores[self.k_]
		self.model_ = models[self.k_]

		centers_scaled = self.model_.cluster_centers_
		order = np.argsort(-centers_scaled[:, FEATURES.index("monetary")], kind="stable")
		self.relabel_ = np.empty(self.k_, dtype="int64")
		self.relabel_[order] = np.arange(self.k_)
		self.centers_scaled_ = centers_scaled[order]
		self.centers_ = pd.DataFrame(
			np.expm1(self.scaler_.inverse_transform(self.centers_scaled_)),
			columns=list(FEATURES),
			index=pd.RangeIndex(self.k_, name="cluster"),
		)
		self.labels_ = pd.Series(self.relabel_[self.model_.labels_], index=metrics.index, name="cluster")
		return self

	def fit_predict(self, metrics: pd.DataFrame) -> pd.Series:
		return self.fit(metrics).labels_

	def predict(self, metrics: pd.DataFrame) -> pd.Series:
		"""Nearest learned cluster for (possibly new) customers."""
		self._check_fitted()
		scaled = self.scaler_.transform(_features(metrics))
		labels = self.relabel_[self.model_.predict(scaled)] if len(scaled) else np.array([], dtype="int64")
		return pd.Series(labels, index=metrics.index, name="cluster", dtype="int64")

	def describe(self) -> pd.DataFrame:
		"""One row per cluster: size, share, centroid in original units and words.

		``words`` is a list of English vocabulary entries from :data:`WORDS` (translate each),
		``description`` joins them with ", ", e.g. "frequent, low spend, recent, new".
		"""
		self._check_fitted()
		out = self.centers_.copy()
		sizes = self.labels_.value_counts().reindex(out.index, fill_value=0)
		out.insert(0, "size", sizes.astype("int64"))
		out.insert(1, "share", sizes / sizes.sum())
		relative = self.centers_scaled_ - self.median_
		words = []
		for row in relative:
			words.append([_word(feature, row[FEATURES.index(feature)]) for feature in DESCRIBE_ORDER])
		out["words"] = words
		out["description"] = [", ".join(row) for row in words]
		return out

	def _model(self, k: int, n: int) -> KMeans | MiniBatchKMeans:
		if n > self.minibatch_above:
			return MiniBatchKMeans(n_clusters=k, random_state=self.random_state, n_init=3, batch_size=4096)
		return KMeans(n_clusters=k, random_state=self.random_state, n_init=10)

	def _silhouette_sample(self, n: int) -> np.ndarray | None:
		if n <= self.max_sample:
			return None
		return np.random.default_rng(self.random_state).choice(n, size=self.max_sample, replace=False)

	def _check_fitted(self) -> None:
		if not hasattr(self, "model_"):
			raise EngineError(_("The customer clusterer is not fitted yet: call fit first"))


def _validate_k_range(k_range: object) -> tuple[int, int]:
	try:
		low, high = k_range  # type: ignore[misc]
	except (TypeError, ValueError):
		raise EngineError(
			_("The cluster range must be two whole numbers (min, max); got {0}"), k_range
		) from None
	whole = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high))
	if not whole or not K_LIMITS[0] <= low <= high <= K_LIMITS[1]:
		raise EngineError(_("The cluster range must satisfy 2 <= min <= max <= 20; got {0}-{1}"), low, high)
	return int(low), int(high)


def _features(metrics: pd.DataFrame) -> np.ndarray:
	missing = [column for column in FEATURES if column not in metrics.columns]
	if missing:
		raise EngineError(_("Customer metrics are missing the column(s): {0}"), ", ".join(missing))
	values = metrics[list(FEATURES)].apply(pd.to_numeric, errors="coerce").astype("float64")
	empty = values.isna().any(axis=1) | (values[["recency_days", "frequency", "tenure_days"]] < 0).any(axis=1)
	if empty.any():
		bad = ", ".join(str(customer) for customer in values.index[empty][:10])
		raise EngineError(
			_(
				"Customers without purchases or with negative values cannot be clustered (drop returns-only customers): {0}"
			),
			bad,
		)
	values["monetary"] = values["monetary"].clip(lower=0)
	return np.log1p(values.to_numpy())


def silhouettes(
	scaled: np.ndarray, labels_by_k: dict[int, np.ndarray], sample: np.ndarray | None = None
) -> dict[int, float]:
	"""Mean silhouette of each candidate clustering (-1 for one with a single cluster).

	Every candidate is scored on the same points, so their pairwise distances are computed once,
	a block of rows at a time, and summed per cluster with one matrix product per candidate:
	scikit-learn's ``silhouette_score`` computes them again for every k, which was most of the
	time spent choosing k for 100k customers. The definition is scikit-learn's:
	s = (b - a) / max(a, b), and 0 for a point alone in its cluster.
	"""
	points = scaled if sample is None else scaled[sample]
	n = len(points)
	encoded = {}
	for k, labels in labels_by_k.items():
		_present, codes = np.unique(labels if sample is None else labels[sample], return_inverse=True)
		encoded[k] = codes.ravel()
	one_hot = {k: np.eye(codes.max() + 1)[codes] for k, codes in encoded.items()}
	sums = {k: np.empty(matrix.shape) for k, matrix in one_hot.items()}
	for start in range(0, n, SILHOUETTE_BLOCK):
		stop = min(start + SILHOUETTE_BLOCK, n)
		block = euclidean_distances(points[start:stop], points)
		block[np.arange(stop - start), np.arange(start, stop)] = 0.0
		for k, matrix in one_hot.items():
			sums[k][start:stop] = block @ matrix
	rows = np.arange(n)
	scores = {}
	for k, codes in encoded.items():
		sizes = np.bincount(codes)
		if len(sizes) < 2:
			scores[k] = -1.0
			continue
		own = sizes[codes]
		a = sums[k][rows, codes] / np.maximum(own - 1, 1)
		mean_to = sums[k] / sizes
		mean_to[rows, codes] = np.inf
		b = mean_to.min(axis=1)
		with np.errstate(divide="ignore", invalid="ignore"):
			s = np.nan_to_num((b - a) / np.maximum(a, b))
		scores[k] = float(np.where(own > 1, s, 0.0).mean())
	return scores


def _word(feature: str, offset: float) -> str:
	high, middle, low = WORDS[feature]
	if offset > DESCRIBE_BAND:
		return high
	if offset < -DESCRIBE_BAND:
		return low
	return middle
