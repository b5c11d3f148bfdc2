# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Bad Customer Segments and rules, table-driven: the exact message, and no segment written."""

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import segments
from loyalty_crm.services.input_checks import BadValue
from loyalty_crm.testing import set_settings
from loyalty_crm.testing_tables import assert_refused

TABLES = ("Customer Segment", "Customer Segment Membership")
V = frappe.ValidationError
FIELDS = ", ".join(sorted(segments.RULE_FIELDS))


class TestCustomerSegmentBadInput(FrappeTestCase):
	def setUp(self):
		set_settings()

	def tearDown(self):
		frappe.db.rollback()

	def test_bad_segments_are_refused_and_nothing_saved(self):
		base = {
			"doctype": "Customer Segment",
			"segment_name": f"Bad {frappe.generate_hash(length=6)}",
			"method": "Rule",
			"rule": '[{"field": "recency_days", "operator": ">", "value": 90}]',
		}
		rule = '[{{"field": "{0}", "operator": "{1}", "value": {2}}}]'.format
		cases = [
			(
				{"rule": "not json"},
				"The segment rule is not valid JSON: Expecting value: line 1 column 1 (char 0)",
			),
			({"rule": "[]"}, "A segment rule must be a non-empty list of conditions"),
			({"rule": "{}"}, "A segment rule must be a non-empty list of conditions"),
			({"rule": " "}, "Write the rule: a list of conditions on customer fields and metrics"),
			({"rule": rule("password", "=", '"x"')}, f"Unknown field password in rule; allowed: {FIELDS}"),
			(
				{"rule": rule("recency_days; DROP TABLE x", ">", 1)},
				f"Unknown field recency_days; DROP TABLE x in rule; allowed: {FIELDS}",
			),
			(
				{"rule": rule("territory", ">", '"India"')},
				"Field territory is text and cannot be compared with >; use =, !=, in or not in",
			),
			(
				{"rule": rule("monetary", ">", "1e999")},
				"Condition on monetary with > needs a number, got inf",
			),
			({"rule": rule("monetary", ">", "NaN")}, "Condition on monetary with > needs a number, got nan"),
			({"rule": rule("monetary", ">", '"😀"')}, "Condition on monetary with > needs a number, got 😀"),
			(
				{"rule": rule("monetary", "LIKE", 1)},
				"Unknown operator LIKE in rule; use one of: =, !=, >, >=, <, <=, in, not in, between",
			),
			(
				{"method": "RFM Segment", "rfm_segment": "Nope 😀"},
				"RFM Segment Nope 😀 is not in the RFM score table of Loyalty Settings; choose one of: "
				+ ", ".join(segments.segment_settings().rfm_segment_names),
			),
			(
				{"method": "Cluster", "cluster": 99},
				"Cluster Number must be between 0 and 7 (Most Clusters - 1)",
			),
			({"method": "ABC Class", "abc_class": ""}, "Choose the ABC Class this segment holds"),
			(
				{"action": "Add to Email Group", "email_group": None},
				"Choose the Email Group that members are added to",
			),
		]
		for values, message in cases:
			with self.subTest(values=str(values)[:60]):
				assert_refused(self, frappe.get_doc({**base, **values}).insert, V, message, TABLES)
		typed = [
			({"priority": "abc"}, "Priority: 'abc' is not a number; enter digits only, e.g. 12.5"),
			({"priority": "inf"}, "Priority: 'inf' is not a finite number; enter an ordinary number"),
			({"cluster": "1.5"}, "Cluster Number must be a whole number, got '1.5'"),
		]
		for values, message in typed:
			with self.subTest(values=str(values)):
				assert_refused(self, frappe.get_doc({**base, **values}).insert, BadValue, message, TABLES)
