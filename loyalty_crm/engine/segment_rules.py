"""A small, safe evaluator for administrator-written segment rules (the "rule" segment method).

A rule is a list of conditions ``{"field": ..., "operator": ..., "value": ...}`` that must all
hold (AND). Fields are columns of a customer metrics frame (``customer_group``, ``territory``,
``recency_days``, ``monetary``, ``frequency``, ...). Rules come from the database, so they are
data, never code: each operator maps to a fixed vectorised comparison and nothing is passed
to ``eval``.

Value types: ``>``, ``>=``, ``<``, ``<=`` take a number; ``between`` takes ``[low, high]``
numbers (inclusive, low <= high); ``in``/``not in`` take a non-empty list of text or numbers;
``=``/``!=`` take one text, number or true/false. When the field types are known (a mapping
field -> ``"number"``/``"text"``, or inferred from the frame's dtypes in :func:`apply_rule`),
numeric fields need numbers and text fields need text and cannot be ordered.

A customer whose field is empty (NaN/None) matches no condition on that field, ``!=`` and
``not in`` included: "not in Retail" should not pick customers whose group is unknown.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _

NUMBER = "number"
TEXT = "text"
ORDERING_OPERATORS = (">", ">=", "<", "<=")
OPERATORS = ("=", "!=", *ORDERING_OPERATORS, "in", "not in", "between")
CONDITION_KEYS = ("field", "operator", "value")
_WRONG_TYPE = {
	NUMBER: _("Condition on {0} needs a number, got {1}"),
	TEXT: _("Condition on {0} needs text, got {1}"),
	None: _("Condition on {0} needs text or a number, got {1}"),
}


def validate_rule(rule: object, allowed_fields: Iterable[str] | Mapping[str, str]) -> list[dict[str, object]]:
	"""Check a rule (list of conditions, or its JSON text) and return a clean copy.

	``allowed_fields`` is a list of field names, or a mapping name -> ``"number"``/``"text"``
	that also lets the value types be checked against the field.
	"""
	if isinstance(rule, str):
		try:
			rule = json.loads(rule)
		except ValueError as error:
			raise EngineError(_("The segment rule is not valid JSON: {0}"), error) from None
	if not isinstance(rule, (list, tuple)) or not rule:
		raise EngineError(_("A segment rule must be a non-empty list of conditions"))
	field_types = _field_types(allowed_fields)
	return [
		_validate_condition(condition, number, field_types) for number, condition in enumerate(rule, start=1)
	]


def apply_rule(metrics: pd.DataFrame, rule: object) -> pd.Series:
	"""Boolean Series over ``metrics.index``: True where every condition holds."""
	field_types = {
		str(column): NUMBER
		if pd.api.types.is_numeric_dtype(metrics[column]) and not pd.api.types.is_bool_dtype(metrics[column])
		else TEXT
		for column in metrics.columns
	}
	conditions = validate_rule(rule, field_types)
	matched = np.ones(len(metrics), dtype=bool)
	for condition in conditions:
		matched &= _evaluate(metrics[condition["field"]], condition)
	return pd.Series(matched, index=metrics.index, name="matched")


def _field_types(allowed_fields: Iterable[str] | Mapping[str, str]) -> dict[str, str | None]:
	if isinstance(allowed_fields, Mapping):
		return {str(field): kind for field, kind in allowed_fields.items()}
	return {str(field): None for field in allowed_fields}


def _validate_condition(
	condition: object, number: int, field_types: Mapping[str, str | None]
) -> dict[str, object]:
	if not isinstance(condition, Mapping):
		raise EngineError(
			_("Condition {0} of the rule must be an object with field, operator and value"), number
		)
	unknown = sorted(str(key) for key in condition if key not in CONDITION_KEYS)
	missing = [key for key in CONDITION_KEYS if key not in condition]
	if unknown or missing:
		raise EngineError(
			_("Condition {0} of the rule needs exactly the keys field, operator, value; got {1}"),
			number,
			", ".join(str(key) for key in condition),
		)
	field, operator, value = condition["field"], condition["operator"], condition["value"]
	if not isinstance(field, str) or field not in field_types:
		raise EngineError(_("Unknown field {0} in rule; allowed: {1}"), field, ", ".join(sorted(field_types)))
	if not isinstance(operator, str) or operator not in OPERATORS:
		raise EngineError(_("Unknown operator {0} in rule; use one of: {1}"), operator, ", ".join(OPERATORS))
	kind = field_types[field]
	if kind == TEXT and (operator in ORDERING_OPERATORS or operator == "between"):
		raise EngineError(
			_("Field {0} is text and cannot be compared with {1}; use =, !=, in or not in"), field, operator
		)
	clean_value = _validate_value(value, operator, field, kind)
	return {"field": field, "operator": operator, "value": clean_value}


def _validate_value(value: object, operator: str, field: str, kind: str | None) -> object:
	if operator in ORDERING_OPERATORS:
		if not _is_number(value):
			raise EngineError(_("Condition on {0} with {1} needs a number, got {2}"), field, operator, value)
		return value
	if operator == "between":
		pair = isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value)
		if not pair or value[0] > value[1]:
			raise EngineError(
				_("Condition on {0} with between needs [low, high] numbers with low <= high"), field
			)
		return [value[0], value[1]]
	values = list(value) if operator in ("in", "not in") and isinstance(value, (list, tuple)) else None
	if operator in ("in", "not in") and not values:
		raise EngineError(_("Condition on {0} with {1} needs a non-empty list of values"), field, operator)
	for item in values if values is not None else [value]:
		if not _scalar_fits(item, kind):
			raise EngineError(_WRONG_TYPE[kind], field, item)
	return values if values is not None else value


def _scalar_fits(value: object, kind: str | None) -> bool:
	if kind == NUMBER:
		return _is_number(value)
	if kind == TEXT:
		return isinstance(value, (str, bool))
	return isinstance(value, (str, bool)) or _is_number(value)


def _is_number(value: object) -> bool:
	return (
		isinstance(value, numbers.Real)
		and not isinstance(value, (bool, np.bool_))
		and math.isfinite(float(value))
	)


def _evaluate(column: pd.Series, condition: Mapping[str, object]) -> np.ndarray:
	operator, value = condition["operator"], condition["value"]
	present = column.notna().to_numpy()
	if operator in ("in", "not in"):
		found = column.isin(value).to_numpy()
		return present & (found if operator == "in" else ~found)
	if operator == "between":
		low, high = value
		result = (column >= low) & (column <= high)
	elif operator == "=":
		result = column == value
	elif operator == "!=":
		result = column != value
	elif operator == ">":
		result = column > value
	elif operator == ">=":
		result = column >= value
	elif operator == "<":
		result = column < value
	else:
		result = column <= value
	return present & result.fillna(False).to_numpy(dtype=bool)
