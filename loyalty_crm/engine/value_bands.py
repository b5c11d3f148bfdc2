"""High / medium / low value bands from customer lifetime value.

Predicted CLV is the better guide where a model produced one; customers it could not score
(too little history, model not fitted yet) still deserve a band, so their historical value is
used instead. Each row records which source it came from.

Methods:

* ``"quantile"`` -- ``cuts`` are fractions in (0, 1): with (0.5, 0.8), High is strictly above
  the 80th percentile of the values, Medium strictly above the median, Low the rest. "Strictly
  above" keeps a crowd of equal values (typically zeros) together in the lower band instead of
  promoting them all. Percentiles use linear interpolation (``numpy.quantile``'s default).
* ``"fixed"`` -- ``cuts`` are amounts in currency: High at or above ``cuts[1]``, Medium at or
  above ``cuts[0]``, Low below.

:func:`model_clv_bands` is what the segment refresh uses: it fits the CLV models (BG/NBD and
Gamma-Gamma, ``engine.clv``) on the transactions and bands by predicted CLV; when the models
cannot fit (everyone bought once, too few customers, no finite mean spend) every customer is
banded by historical value and the reason comes back with the bands, so the basis of a band is
never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _

HIGH = _("High")
MEDIUM = _("Medium")
LOW = _("Low")
PREDICTED = "predicted"
HISTORICAL = "historical"
METHODS = ("quantile", "fixed")


def clv_bands(
	historical: pd.Series,
	predicted: pd.Series | None = None,
	*,
	method: str = "quantile",
	cuts: Sequence[float] = (0.5, 0.8),
) -> pd.DataFrame:
	"""Band per customer (union of both indexes).

	Returns a frame indexed by customer with ``value`` (float), ``source``
	(``"predicted"``/``"historical"``) and ``band`` (``High``/``Medium``/``Low``).
	"""
	low_cut, high_cut = validate_cuts(method, cuts)
	history = _numeric(historical)
	forecast = _numeric(predicted) if predicted is not None else pd.Series(dtype="float64")
	customers = history.index.union(forecast.index)
	history = history.reindex(customers)
	forecast = forecast.reindex(customers)
	use_forecast = forecast.notna()
	values = forecast.where(use_forecast, history)
	if values.isna().any():
		bad = ", ".join(str(customer) for customer in values.index[values.isna()][:10])
		raise EngineError(_("No predicted or historical value for customer(s): {0}"), bad)
	if method == "quantile" and len(values):
		low_cut, high_cut = np.quantile(values.to_numpy(), [low_cut, high_cut])
		high, medium = values > high_cut, values > low_cut
	else:
		high, medium = values >= high_cut, values >= low_cut
	out = pd.DataFrame(index=customers)
	out.index.name = historical.index.name or "customer"
	out["value"] = values.astype("float64")
	out["source"] = np.where(use_forecast, PREDICTED, HISTORICAL)
	out["band"] = np.select([high, medium], [HIGH, MEDIUM], default=LOW)
	return out


def predicted_clv(
	transactions: pd.DataFrame,
	as_of: object,
	horizon_months: int = 12,
	monthly_discount_rate: float = 0.01,
) -> pd.Series:
	"""Predicted CLV per customer from transactions up to ``as_of``; raises EngineError with the
	reason when the models cannot fit or give a non-finite value (a degenerate fit on data too
	regular or too extreme), as the CLV report does: one basis for everybody, never a silent mix."""
	# Imported here: the models need scipy, 0.4 s to import, and the nightly run's chunk jobs load
	# this module (through services.segments) only to write what was computed elsewhere.
	from loyalty_crm.engine import clv

	summary = clv.customer_summary(transactions, observation_end=as_of)
	bgnbd = clv.BetaGeoModel().fit(summary)
	gamma_gamma = clv.GammaGammaModel().fit(summary)
	value = clv.customer_lifetime_value(bgnbd, gamma_gamma, summary, horizon_months, monthly_discount_rate)
	if not np.isfinite(value.to_numpy(dtype=float)).all():
		raise EngineError(
			_("The model gave no finite prediction for some customers; check the data for extreme values")
		)
	return value


def model_clv_bands(
	transactions: pd.DataFrame,
	as_of: object,
	historical: pd.Series,
	*,
	horizon_months: int = 12,
	monthly_discount_rate: float = 0.01,
	method: str = "quantile",
	cuts: Sequence[float] = (0.5, 0.8),
) -> tuple[pd.DataFrame, EngineError | None]:
	"""Bands for the customers of ``historical``: by predicted CLV when the models fit, else by
	historical value with the reason (the EngineError the fit raised; None when it fitted).

	Only the customers in ``historical`` are banded (the model still learns from everyone in
	``transactions``), so quantiles are taken over the customers being segmented.
	"""
	validate_cuts(method, cuts)
	try:
		predicted = predicted_clv(transactions, as_of, horizon_months, monthly_discount_rate)
	except EngineError as error:
		return clv_bands(historical, None, method=method, cuts=cuts), error
	except (ArithmeticError, np.linalg.LinAlgError) as error:
		# A numerical failure inside the optimiser is a reason to fall back, not to lose every
		# other segment of the refresh: bands by history, with what went wrong.
		reason = EngineError(
			_("The CLV models could not be fitted ({0})"), f"{type(error).__name__}: {error}"
		)
		return clv_bands(historical, None, method=method, cuts=cuts), reason
	return clv_bands(historical, predicted.reindex(historical.index), method=method, cuts=cuts), None


def validate_cuts(method: str, cuts: Sequence[float]) -> tuple[float, float]:
	"""A known method and two strictly increasing cuts (fractions in (0, 1) for quantiles)."""
	if method not in METHODS:
		raise EngineError(_("Unknown value band method {0}; use quantile or fixed"), method)
	try:
		low, high = (float(value) for value in cuts)
	except (TypeError, ValueError):
		raise EngineError(_("Value band cuts must be two numbers such as 0.5, 0.8; got {0}"), cuts) from None
	if not (np.isfinite(low) and np.isfinite(high) and low < high):
		raise EngineError(_("Value band cuts must increase strictly; got {0}, {1}"), low, high)
	if method == "quantile" and not (0 < low and high < 1):
		raise EngineError(_("Quantile cuts must lie between 0 and 1 (exclusive); got {0}, {1}"), low, high)
	return low, high


def _numeric(values: pd.Series) -> pd.Series:
	"""Numbers or NaN; text that is not a number is an error rather than silently missing."""
	if not values.index.is_unique:
		bad = ", ".join(str(customer) for customer in values.index[values.index.duplicated()][:10])
		raise EngineError(_("Customer values list customer(s) more than once: {0}"), bad)
	numbers = pd.to_numeric(values, errors="coerce").astype("float64")
	unreadable = numbers.isna() & values.notna()
	if unreadable.any():
		bad = ", ".join(str(customer) for customer in values.index[unreadable][:10])
		raise EngineError(_("Customer values are not numbers for customer(s): {0}"), bad)
	return numbers
