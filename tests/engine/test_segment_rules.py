import copy

import numpy as np
import pandas as pd
import pytest

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.segment_rules import apply_rule, validate_rule


@pytest.fixture
def metrics() -> pd.DataFrame:
	return pd.DataFrame(
		{
			"customer_group": ["Retail", "Wholesale", "Retail", None, "Retail"],
			"territory": ["North", "North", "South", "South", "West"],
			"recency_days": [5.0, 40.0, 200.0, 10.0, np.nan],
			"frequency": [12, 3, 1, 7, 2],
			"monetary": [1500.0, 300.0, 50.0, 800.0, 120.0],
		},
		index=pd.Index(["a", "b", "c", "d", "e"], name="customer"),
	)


def _matched(metrics, rule):
	result = apply_rule(metrics, rule)
	assert result.dtype == bool
	assert list(result.index) == list(metrics.index)
	return sorted(result[result].index)


def test_conditions_are_combined_with_and(metrics):
	rule = [
		{"field": "customer_group", "operator": "=", "value": "Retail"},
		{"field": "monetary", "operator": ">=", "value": 100},
	]
	# Retail: a, c, e; monetary >= 100: a, b, d, e -> both: a, e
	assert _matched(metrics, rule) == ["a", "e"]


@pytest.mark.parametrize(
	("condition", "expected"),
	[
		({"field": "territory", "operator": "=", "value": "North"}, ["a", "b"]),
		({"field": "territory", "operator": "!=", "value": "North"}, ["c", "d", "e"]),
		({"field": "frequency", "operator": ">", "value": 3}, ["a", "d"]),
		({"field": "frequency", "operator": ">=", "value": 3}, ["a", "b", "d"]),
		({"field": "frequency", "operator": "<", "value": 3}, ["c", "e"]),
		({"field": "frequency", "operator": "<=", "value": 3}, ["b", "c", "e"]),
		({"field": "territory", "operator": "in", "value": ["South", "West"]}, ["c", "d", "e"]),
		({"field": "territory", "operator": "not in", "value": ["South", "West"]}, ["a", "b"]),
		# between is inclusive at both ends: 300 and 800 are in.
		({"field": "monetary", "operator": "between", "value": [300, 800]}, ["b", "d"]),
		({"field": "monetary", "operator": "=", "value": 50}, ["c"]),
	],
)
def test_each_operator(metrics, condition, expected):
	assert _matched(metrics, [condition]) == expected


def test_empty_values_match_no_condition_not_even_negations(metrics):
	# d has no customer_group, e has no recency: neither matches != / not in / comparisons.
	assert _matched(metrics, [{"field": "customer_group", "operator": "!=", "value": "Retail"}]) == ["b"]
	assert _matched(metrics, [{"field": "customer_group", "operator": "not in", "value": ["Retail"]}]) == [
		"b"
	]
	assert _matched(metrics, [{"field": "recency_days", "operator": "<", "value": 1000}]) == [
		"a",
		"b",
		"c",
		"d",
	]


def test_rule_as_json_text(metrics):
	rule = '[{"field": "territory", "operator": "in", "value": ["West"]}]'
	assert _matched(metrics, rule) == ["e"]


def test_validate_rule_returns_clean_copy_and_checks_types_from_mapping():
	rule = [{"field": "monetary", "operator": "between", "value": (1, 2)}]
	assert validate_rule(rule, {"monetary": "number"}) == [
		{"field": "monetary", "operator": "between", "value": [1, 2]}
	]
	with pytest.raises(EngineError, match="Condition on monetary needs a number, got 100"):
		validate_rule([{"field": "monetary", "operator": "=", "value": "100"}], {"monetary": "number"})
	with pytest.raises(EngineError, match="Condition on territory needs text, got 5"):
		validate_rule(
			[{"field": "territory", "operator": "in", "value": ["North", 5]}], {"territory": "text"}
		)


@pytest.mark.parametrize(
	("rule", "message"),
	[
		(
			[{"field": "email", "operator": "=", "value": "x"}],
			r"Unknown field email in rule; allowed: customer_group, ",
		),
		(
			[{"field": "monetary", "operator": "~=", "value": 1}],
			r"Unknown operator ~= in rule; use one of: =, !=",
		),
		([{"field": "monetary", "operator": ">", "value": "100"}], "monetary with > needs a number"),
		([{"field": "monetary", "operator": ">", "value": True}], "monetary with > needs a number"),
		([{"field": "monetary", "operator": ">", "value": float("nan")}], "monetary with > needs a number"),
		([{"field": "monetary", "operator": "between", "value": [5, 1]}], "between needs \\[low, high\\]"),
		([{"field": "monetary", "operator": "between", "value": 5}], "between needs \\[low, high\\]"),
		([{"field": "territory", "operator": "in", "value": []}], "needs a non-empty list"),
		([{"field": "territory", "operator": "in", "value": "North"}], "needs a non-empty list"),
		(
			[{"field": "territory", "operator": ">", "value": 3}],
			"territory is text and cannot be compared with >",
		),
		([{"field": "frequency", "operator": "=", "value": "12"}], "Condition on frequency needs a number"),
		([{"field": "territory", "operator": "=", "value": ["North"]}], "Condition on territory needs text"),
		(
			[{"field": "territory", "operator": "=", "value": "N", "note": 1}],
			"exactly the keys field, operator, value",
		),
		([{"field": "territory", "value": "N"}], "exactly the keys field, operator, value"),
		([], "non-empty list of conditions"),
		({"field": "territory"}, "non-empty list of conditions"),
		(["territory = North"], "Condition 1 of the rule must be an object"),
		("[{", "not valid JSON"),
		("__import__('os').system('echo unsafe')", "not valid JSON"),
	],
)
def test_bad_rules_are_rejected_without_touching_input(metrics, rule, message):
	before_rule = copy.deepcopy(rule)
	before_metrics = metrics.copy()
	with pytest.raises(EngineError, match=message):
		apply_rule(metrics, rule)
	assert rule == before_rule  # (the NaN case holds: deepcopy keeps the same float object)
	pd.testing.assert_frame_equal(metrics, before_metrics)


def test_field_list_without_types_still_checks_structure():
	fields = ["monetary", "territory"]
	assert validate_rule([{"field": "territory", "operator": "=", "value": "North"}], fields)
	with pytest.raises(EngineError, match="needs text or a number"):
		validate_rule([{"field": "territory", "operator": "=", "value": None}], fields)
	with pytest.raises(EngineError, match="Unknown field city in rule; allowed: monetary, territory"):
		validate_rule([{"field": "city", "operator": "=", "value": "x"}], fields)
