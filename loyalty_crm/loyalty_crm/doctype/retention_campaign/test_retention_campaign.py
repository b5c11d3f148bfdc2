# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt

"""Retention campaigns on a real site: target, control group, offers, messages, measurement."""

from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, nowdate

from loyalty_crm.engine import campaigns as engine
from loyalty_crm.services import campaigns, ledger
from loyalty_crm.testing import (
	COMPANY,
	ensure_outgoing_email_account,
	make_customer,
	sales_invoice,
	set_settings,
)

test_dependencies = ["Sales Invoice", "Customer", "Item", "POS Profile"]


def make_segment(customers: list[str], company: str = COMPANY, **method) -> str:
	"""A segment holding exactly these customers (rows as the segment refresh writes them)."""
	name = f"LCRM Campaign Target {frappe.generate_hash(length=6)}"
	frappe.get_doc(
		{
			"doctype": "Customer Segment",
			"segment_name": name,
			"company": company,
			**(method or {"method": "ABC Class", "abc_class": "A"}),
		}
	).insert(ignore_permissions=True)
	for customer in customers:
		frappe.get_doc(
			{
				"doctype": "Customer Segment Membership",
				"customer": customer,
				"segment": name,
				"company": company,
			}
		).db_insert()
	return name


def make_campaign(segment: str | None, **values):
	doc = {
		"doctype": "Retention Campaign",
		"campaign_name": f"LCRM Campaign {frappe.generate_hash(length=8)}",
		"company": COMPANY,
		"target_type": "Customer Segment",
		"customer_segment": segment,
		"launch_date": nowdate(),
		"end_date": add_days(nowdate(), 13),
		"measurement_days": 14,
		"control_share": 25,
		"offer_type": "Bonus Points",
		"bonus_points": 50,
		"points_expiry_days": 30,
	}
	doc.update(values)
	return frappe.get_doc(doc).insert(ignore_permissions=True)


def members(campaign: str) -> dict[str, frappe._dict]:
	rows = frappe.get_all(
		"Retention Campaign Member",
		filters={"campaign": campaign},
		fields=[
			"customer",
			"campaign_group",
			"stratum",
			"coupon_code",
			"bonus_entry",
			"email_status",
			"sms_status",
		],
	)
	return {row.customer: row for row in rows}


def campaign_rows(campaign: str) -> list[frappe._dict]:
	return frappe.get_all(
		ledger.LEDGER,
		filters={"voucher_type": "Retention Campaign", "voucher_no": campaign},
		fields=["customer", "entry_type", "points", "expiry_date", "lot", "name"],
	)


class TestRetentionCampaign(FrappeTestCase):
	def setUp(self):
		set_settings()
		self.customers = [make_customer("LCRM Camp") for _index in range(20)]
		# two strata: the customer's primary segment
		for index, customer in enumerate(self.customers):
			frappe.db.set_value(
				"Customer", customer, "loyalty_crm_segment", "Gold" if index % 2 else "Silver"
			)
		self.segment = make_segment(self.customers)

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	# ----------------------------------------------------------------- bad input

	def assertRefused(self, pattern: str, **values):
		before = frappe.db.count("Retention Campaign")
		with self.assertRaisesRegex(frappe.ValidationError, pattern):
			make_campaign(self.segment, **values)
		self.assertEqual(frappe.db.count("Retention Campaign"), before)

	def test_bad_input_is_refused_with_a_clear_message_and_nothing_saved(self):
		self.assertRefused("between 0 and 50 %, got 60", control_share=60)
		self.assertRefused("between 0 and 50 %, got -5", control_share=-5)
		self.assertRefused("the target is empty", customer_segment=None)
		self.assertRefused("Write the target rule", target_type="Rule", customer_segment=None, rule="")
		self.assertRefused("is before Launch Date", end_date=add_days(nowdate(), -1))
		self.assertRefused("Bonus Points must be more than 0, got 0", bonus_points=0)
		self.assertRefused("Coupon Discount .* got 0", offer_type="Coupon", discount_percentage=0)
		self.assertRefused("Coupon Discount .* got 120", offer_type="Coupon", discount_percentage=120)
		self.assertRefused(
			"Points Multiplier must be more than 1", offer_type="Points Multiplier", points_multiplier=1
		)
		self.assertRefused("Write the SMS Text", send_sms=1, sms_message="")

	def test_refusals_are_translated(self):
		frappe.local.lang = "zh"
		try:
			self.assertRefused("对照组比例必须在 0 到 50% 之间，收到的是 60.0%", control_share=60)
			self.assertRefused("结束日期 .* 早于启动日期", end_date=add_days(nowdate(), -1))
			self.assertRefused("奖励积分必须大于 0", bonus_points=0)
		finally:
			frappe.local.lang = "en"

	def test_launched_campaign_target_and_control_share_are_frozen_and_closed_is_final(self):
		doc = make_campaign(self.segment)
		doc.control_share = 30
		doc.save()  # a draft may change
		campaigns.launch(doc.name)
		doc = frappe.get_doc("Retention Campaign", doc.name)
		other_segment = make_segment(self.customers[:3])
		for field, value in (("control_share", 20), ("customer_segment", other_segment), ("bonus_points", 5)):
			doc = frappe.get_doc("Retention Campaign", doc.name)
			doc.set(field, value)
			with self.assertRaisesRegex(frappe.ValidationError, "cannot be changed after launch"):
				doc.save()
		campaigns.close(doc.name)
		doc = frappe.get_doc("Retention Campaign", doc.name)
		self.assertEqual(doc.status, "Closed")
		doc.measurement_days = 20
		with self.assertRaisesRegex(frappe.ValidationError, "is closed"):
			doc.save()
		with self.assertRaisesRegex(frappe.ValidationError, "already closed"):
			campaigns.close(doc.name)

	# ----------------------------------------------------------------- assignment and bonus points

	def test_launch_draws_a_reproducible_control_group_and_pays_bonus_points_once(self):
		doc = make_campaign(self.segment, control_share=20)
		result = campaigns.launch(doc.name)
		doc.reload()
		self.assertEqual(doc.status, "Launched")
		self.assertTrue(doc.seed)
		drawn = members(doc.name)
		self.assertEqual(set(drawn), set(self.customers))
		control = {c for c, row in drawn.items() if row.campaign_group == "Control"}
		# 10 per stratum, 20 % -> 2 per stratum
		self.assertEqual(len(control), 4)
		for stratum in ("Gold", "Silver"):
			self.assertEqual(sum(drawn[c].stratum == stratum for c in control), 2)
		# the stored seed re-draws the same groups
		again = engine.assign_groups(
			list(drawn), [drawn[c].stratum for c in drawn], doc.control_share, int(doc.seed)
		)
		self.assertEqual(set(again.loc[again.group == "Control", "customer"]), control)

		rows = campaign_rows(doc.name)
		self.assertEqual(result.points_rows, 16)
		self.assertEqual({row.customer for row in rows}, set(self.customers) - control)
		for row in rows:
			self.assertEqual(row.entry_type, "Campaign")
			self.assertEqual(Decimal(str(row.points)), Decimal("50"))
			self.assertEqual(str(row.expiry_date), add_days(nowdate(), 30))
			self.assertEqual(row.lot, row.name)
			self.assertEqual(drawn[row.customer].bonus_entry, row.name)
		treated = next(iter(set(self.customers) - control))
		self.assertEqual(ledger.balance(treated, COMPANY), Decimal("50"))
		# the lot has its own expiry: spendable through day 30, gone after
		self.assertEqual(ledger.available_points(treated, COMPANY, add_days(nowdate(), 30)), Decimal("50"))
		self.assertEqual(ledger.available_points(treated, COMPANY, add_days(nowdate(), 31)), Decimal(0))
		self.assertEqual(flt(frappe.db.get_value("Customer", treated, "loyalty_crm_points_balance")), 50.0)
		for customer in control:
			self.assertEqual(ledger.balance(customer, COMPANY), Decimal(0))

		# launching again sends nothing twice
		second = campaigns.launch(doc.name)
		self.assertTrue(second.already_launched)
		self.assertEqual(len(campaign_rows(doc.name)), 16)
		self.assertEqual(frappe.db.count("Retention Campaign Member", {"campaign": doc.name}), 20)

	def test_bonus_points_can_be_spent(self):
		"""A Campaign lot is an ordinary lot: a till payment draws from it."""
		doc = make_campaign(self.segment, control_share=0, bonus_points=200)
		campaigns.launch(doc.name)
		customer = self.customers[0]
		from loyalty_crm.testing import pos_sales_invoice

		invoice = pos_sales_invoice(customer, rate=100, payments={"Loyalty Points": 1, "Cash": 99})
		redeemed = frappe.get_all(
			ledger.LEDGER,
			filters={"voucher_no": invoice.name, "entry_type": "Redeem"},
			fields=["points", "lot"],
		)
		self.assertEqual([flt(row.points) for row in redeemed], [-100.0])
		self.assertEqual(redeemed[0].lot, members(doc.name)[customer].bonus_entry)
		self.assertEqual(campaigns.offer_cost(frappe.get_doc("Retention Campaign", doc.name), {})[0], 1)

	# ----------------------------------------------------------------- messages

	def test_opted_out_customers_and_the_control_group_get_nothing(self):
		ensure_outgoing_email_account()
		template = frappe.get_doc(
			{
				"doctype": "Email Template",
				"name": f"LCRM Campaign Mail {frappe.generate_hash(length=6)}",
				"subject": "We miss you, {{ customer_name }}",
				"response": "Here are {{ bonus_points }} points until {{ end_date }}.",
			}
		).insert(ignore_permissions=True)
		for index, customer in enumerate(self.customers):
			frappe.db.set_value(
				"Customer",
				customer,
				{"email_id": f"camp{index}-{customer[-8:].lower()}@example.com", "mobile_no": "+15550100"},
			)
		opted_out = self.customers[:3]
		no_email = self.customers[3]
		for customer in opted_out:
			frappe.db.set_value("Customer", customer, "loyalty_crm_no_marketing", 1)
		frappe.db.set_value("Customer", no_email, "email_id", "")
		frappe.db.set_single_value("SMS Settings", "sms_gateway_url", "")
		doc = make_campaign(
			self.segment,
			control_share=30,
			email_template=template.name,
			send_sms=1,
			sms_message="Hi {customer_name}: {bonus_points} points for you",
		)
		result = campaigns.launch(doc.name)
		drawn = members(doc.name)
		self.assertEqual(result.opted_out, 3)
		self.assertFalse(set(opted_out) & set(drawn))
		treated = {c for c, row in drawn.items() if row.campaign_group == "Treated"}
		control = set(drawn) - treated
		self.assertEqual(len(drawn), 17)
		self.assertTrue(control)

		queued = frappe.db.sql(
			"""select r.recipient from `tabEmail Queue` q
			join `tabEmail Queue Recipient` r on r.parent = q.name
			where q.reference_doctype = 'Retention Campaign' and q.reference_name = %s""",
			doc.name,
			pluck=True,
		)
		address = {c: frappe.db.get_value("Customer", c, "email_id") for c in self.customers}
		expected = {address[c] for c in treated if address[c]}
		self.assertEqual(set(queued), expected)
		self.assertEqual(len(queued), len(expected))
		self.assertFalse({address[c] for c in control} & set(queued))
		self.assertFalse({address[c] for c in opted_out} & set(queued))
		self.assertEqual(result.emails_queued, len(expected))
		self.assertEqual(result.emails_skipped, int(no_email in treated))
		for customer in control:
			self.assertEqual((drawn[customer].email_status, drawn[customer].sms_status), ("", ""))
		# no SMS gateway: nothing sent, counted, and the launch still succeeds
		self.assertEqual(result.sms_sent, 0)
		self.assertEqual(result.sms_skipped, len(treated))
		self.assertEqual({drawn[c].sms_status for c in treated}, {"No SMS Gateway"})
		# no offer either for opted-out or control customers
		paid = {row.customer for row in campaign_rows(doc.name)}
		self.assertEqual(paid, treated)

	def test_launch_before_the_launch_date_is_refused(self):
		doc = make_campaign(self.segment, launch_date=add_days(nowdate(), 2), end_date=add_days(nowdate(), 9))
		with self.assertRaisesRegex(frappe.ValidationError, "launch it on or after that day"):
			campaigns.launch(doc.name)
		self.assertEqual(frappe.db.get_value("Retention Campaign", doc.name, "status"), "Draft")
		self.assertEqual(campaign_rows(doc.name), [])

	def test_without_an_outgoing_email_account_nothing_is_sent_and_it_is_logged(self):
		from frappe.email.doctype.email_account.email_account import EmailAccount

		frappe.db.sql("update `tabEmail Account` set default_outgoing = 0, enable_outgoing = 0")
		frappe.local.outgoing_email_account = {}
		frappe.clear_cache(doctype="Email Account")
		self.assertFalse(EmailAccount.find_outgoing())
		template = frappe.get_doc(
			{
				"doctype": "Email Template",
				"name": f"LCRM Campaign Mail {frappe.generate_hash(length=6)}",
				"subject": "Hello",
				"response": "Hello {{ customer_name }}",
			}
		).insert(ignore_permissions=True)
		for customer in self.customers:
			frappe.db.set_value("Customer", customer, "email_id", f"{customer[-8:].lower()}@example.com")
		logged = frappe.db.count("Error Log")
		doc = make_campaign(self.segment, control_share=50, email_template=template.name)
		result = campaigns.launch(doc.name)
		self.assertEqual((result.emails_queued, result.emails_skipped), (0, 10))
		self.assertEqual(frappe.db.count("Email Queue", {"reference_name": doc.name}), 0)
		self.assertEqual(frappe.db.count("Error Log"), logged + 1)
		self.assertEqual(len(campaign_rows(doc.name)), 10)  # the offer still goes out

	def test_rule_target_is_evaluated_on_real_invoices(self):
		group = frappe.get_doc(
			{
				"doctype": "Customer Group",
				"customer_group_name": f"LCRM Campaign Rule {frappe.generate_hash(length=6)}",
				"parent_customer_group": "All Customer Groups",
			}
		).insert(ignore_permissions=True)
		buyers = self.customers[:4]
		for customer in buyers:
			frappe.db.set_value("Customer", customer, "customer_group", group.name)
			sales_invoice(customer, rate=100, posting_date=add_days(nowdate(), -40), set_posting_time=1)
		frappe.db.set_value("Customer", self.customers[5], "customer_group", group.name)  # never bought
		rule = f'[{{"field": "customer_group", "operator": "=", "value": "{group.name}"}}, '
		rule += '{"field": "recency_days", "operator": ">", "value": 30}]'
		doc = make_campaign(None, target_type="Rule", rule=rule, control_share=0)
		result = campaigns.launch(doc.name)
		self.assertEqual(result.target, 4)
		self.assertEqual(set(members(doc.name)), set(buyers))

	def test_segment_email_group_action_leaves_out_no_marketing_customers(self):
		from loyalty_crm.services import segments

		for customer in self.customers[:3]:
			frappe.db.set_value("Customer", customer, "email_id", f"{customer[-8:].lower()}@example.com")
		frappe.db.set_value("Customer", self.customers[0], "loyalty_crm_no_marketing", 1)
		group = frappe.get_doc(
			{"doctype": "Email Group", "title": f"LCRM Camp {frappe.generate_hash(length=6)}"}
		).insert(ignore_permissions=True)
		result = segments.add_members_to_email_group(self.segment, group.name)
		emails = set(frappe.get_all("Email Group Member", filters={"email_group": group.name}, pluck="email"))
		self.assertEqual(result.added, 2)
		self.assertNotIn(frappe.db.get_value("Customer", self.customers[0], "email_id"), emails)

	def test_daily_job_moves_running_campaigns_to_measuring_and_closes_them_after_the_window(self):
		start = add_days(nowdate(), -20)
		ended = make_campaign(
			make_segment(self.customers[:6]),
			launch_date=start,
			end_date=add_days(start, 5),
			measurement_days=10,
		)
		running = make_campaign(
			make_segment(self.customers[6:12]),
			launch_date=start,
			end_date=add_days(start, 25),
			measurement_days=30,
		)
		over = make_campaign(
			make_segment(self.customers[12:]),
			launch_date=start,
			end_date=add_days(start, 10),
			measurement_days=30,
			offer_type="Coupon",
			discount_percentage=5,
		)
		for doc in (ended, running, over):
			campaigns.launch(doc.name)
		sales_invoice(self.customers[0], rate=100, posting_date=add_days(start, 2), set_posting_time=1)
		done = campaigns.measure_running(commit=False)
		self.assertTrue({ended.name, running.name, over.name} <= set(done))
		status = {
			doc.name: frappe.db.get_value("Retention Campaign", doc.name, "status")
			for doc in (ended, running, over)
		}
		self.assertEqual(status, {ended.name: "Closed", running.name: "Launched", over.name: "Measuring"})
		for doc in (ended, running, over):
			self.assertTrue(frappe.db.get_value("Retention Campaign", doc.name, "last_measured"))
		# closing ends the coupon offer: its Pricing Rule is disabled
		campaigns.close(over.name)
		self.assertEqual(
			frappe.db.get_value(
				"Pricing Rule",
				frappe.db.get_value("Retention Campaign", over.name, "pricing_rule"),
				"disable",
			),
			1,
		)

	def test_sms_goes_through_the_sms_settings_gateway_to_treated_customers_only(self):
		"""A real HTTP gateway on loopback records what SMS Settings sends it."""
		import threading
		from http.server import BaseHTTPRequestHandler, HTTPServer
		from urllib.parse import parse_qs, urlparse

		received = []

		class Gateway(BaseHTTPRequestHandler):
			def do_GET(self):
				received.append({k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()})
				self.send_response(200)
				self.end_headers()
				self.wfile.write(b"OK")

			def log_message(self, *args):
				pass

		server = HTTPServer(("127.0.0.1", 0), Gateway)
		threading.Thread(target=server.serve_forever, daemon=True).start()
		self.addCleanup(server.shutdown)
		for field, value in {
			"sms_gateway_url": f"http://127.0.0.1:{server.server_port}/send",
			"message_parameter": "text",
			"receiver_parameter": "to",
			"use_post": 0,
		}.items():
			frappe.db.set_single_value("SMS Settings", field, value)
		frappe.clear_document_cache("SMS Settings", "SMS Settings")
		for index, customer in enumerate(self.customers):
			frappe.db.set_value("Customer", customer, "mobile_no", f"+1555{index:04d}" if index != 5 else "")
		frappe.db.set_value("Customer", self.customers[1], "loyalty_crm_no_marketing", 1)
		doc = make_campaign(
			self.segment,
			control_share=25,
			offer_type="Coupon",
			discount_percentage=15,
			send_sms=1,
			sms_message="{customer_name}: {discount_percentage}% off with {coupon_code} until {end_date}",
		)
		result = campaigns.launch(doc.name)
		drawn = members(doc.name)
		treated = {c for c, row in drawn.items() if row.campaign_group == "Treated"}
		mobiles = {c: frappe.db.get_value("Customer", c, "mobile_no") for c in self.customers}
		expected = {mobiles[c] for c in treated if mobiles[c]}
		self.assertEqual({request["to"] for request in received}, expected)
		self.assertEqual(len(received), len(expected))
		self.assertEqual(result.sms_sent, len(expected))
		self.assertEqual(result.sms_skipped, len(treated) - len(expected))
		by_mobile = {request["to"]: request["text"] for request in received}
		for customer in treated:
			if mobiles[customer]:
				self.assertIn(drawn[customer].coupon_code, by_mobile[mobiles[customer]])
				self.assertIn("15% off", by_mobile[mobiles[customer]])
				self.assertEqual(drawn[customer].sms_status, "Sent")
		self.assertNotIn(mobiles[self.customers[1]], by_mobile)

	def test_desk_launch_is_queued_checked_first_and_not_repeated(self):
		doc = make_campaign(self.segment)
		queued = len(frappe.db.after_commit._functions)
		message = campaigns.launch_campaign(doc.name)
		self.assertIn("being launched in the background", message)
		self.assertEqual(len(frappe.db.after_commit._functions), queued + 1)
		self.assertEqual(frappe.db.get_value("Retention Campaign", doc.name, "status"), "Draft")
		frappe.db.after_commit._functions.clear()  # the test never commits, so nothing would run
		campaigns.launch(doc.name)
		self.assertIn("already launched", campaigns.launch_campaign(doc.name))
		reader = frappe.get_doc(
			{
				"doctype": "User",
				"email": f"lcrm-reader-{frappe.generate_hash(length=6)}@example.com",
				"first_name": "Reader",
				"roles": [{"role": "Loyalty User"}],
			}
		).insert(ignore_permissions=True)
		frappe.set_user(reader.name)
		with self.assertRaises(frappe.PermissionError):
			campaigns.launch_campaign(doc.name)

	def test_a_churn_risk_band_segment_is_a_target_like_any_other(self):
		at_risk = self.customers[:8]
		segment = make_segment(at_risk, method="Churn Risk Band", churn_risk_band="High")
		doc = make_campaign(segment, control_share=25)
		result = campaigns.launch(doc.name)
		self.assertEqual(result.target, 8)
		self.assertEqual(set(members(doc.name)), set(at_risk))

	def test_customer_in_another_running_campaign_is_left_out(self):
		first = make_campaign(make_segment(self.customers[:5]), control_share=0)
		campaigns.launch(first.name)
		second = make_campaign(self.segment, control_share=0)
		result = campaigns.launch(second.name)
		self.assertEqual(result.other_campaign, 5)
		self.assertFalse(set(self.customers[:5]) & set(members(second.name)))
		only_busy = make_campaign(make_segment(self.customers[:2]))
		with self.assertRaisesRegex(frappe.ValidationError, "in another running campaign"):
			campaigns.launch(only_busy.name)
		self.assertEqual(frappe.db.get_value("Retention Campaign", only_busy.name, "status"), "Draft")

	# ----------------------------------------------------------------- measurement

	def test_treated_customers_who_buy_again_show_positive_incremental_revenue(self):
		doc = make_campaign(self.segment, control_share=50)
		campaigns.launch(doc.name)
		drawn = members(doc.name)
		treated = sorted(c for c, row in drawn.items() if row.campaign_group == "Treated")
		self.assertEqual(len(treated), 10)
		for index, customer in enumerate(treated):
			sales_invoice(customer, rate=100 + 10 * index)
		# a purchase outside the window does not count
		control = sorted(set(drawn) - set(treated))
		sales_invoice(control[0], rate=999, posting_date=add_days(nowdate(), 20), set_posting_time=1)
		figures = campaigns.measure(doc.name)
		self.assertEqual((figures["treated_customers"], figures["control_customers"]), (10, 10))
		self.assertEqual(figures["treated_buy_rate"], 1.0)
		self.assertEqual(figures["control_buy_rate"], 0.0)
		self.assertAlmostEqual(figures["treated_revenue_per_customer"], 145.0)
		incremental = figures["incremental_revenue"]
		self.assertAlmostEqual(incremental["estimate"], 1450.0)
		self.assertGreater(incremental["low"], 0)
		self.assertGreater(incremental["high"], incremental["estimate"])
		# offer cost: 10 treated x 50 points x 0.01
		self.assertAlmostEqual(figures["offer_cost"], 5.0)
		self.assertAlmostEqual(figures["return_on_cost"], (1450.0 - 5.0) / 5.0)
		# the curve covers the days measured so far (launched today: one day)
		self.assertEqual(figures["days_measured"], 1)
		self.assertEqual(figures["curve"]["day"], [0])
		self.assertAlmostEqual(figures["curve"]["treated"][-1], 145.0)
		self.assertEqual(figures["curve"]["control"][-1], 0.0)
		doc.reload()
		self.assertAlmostEqual(flt(doc.incremental_revenue), 1450.0)
		self.assertGreater(flt(doc.incremental_revenue_low), 0)

		from loyalty_crm.loyalty_crm.report.campaign_results.campaign_results import execute

		columns, data, _message, chart, summary = execute({"campaign": doc.name})
		self.assertEqual([row["campaign"] for row in data], [doc.name])
		self.assertEqual((data[0]["treated_customers"], data[0]["control_customers"]), (10, 10))
		self.assertEqual((data[0]["treated_buy_rate"], data[0]["control_buy_rate"]), (100.0, 0.0))
		self.assertAlmostEqual(data[0]["incremental_revenue"], 1450.0)
		self.assertGreater(data[0]["incremental_low"], 0)
		self.assertEqual(chart["data"]["datasets"][0]["values"], [145.0])
		self.assertTrue(any(card["value"] == 10 for card in summary))

	def test_points_multiplier_for_treated_customers_only_during_the_window(self):
		doc = make_campaign(
			self.segment, control_share=50, offer_type="Points Multiplier", points_multiplier=3
		)
		campaigns.launch(doc.name)
		drawn = members(doc.name)
		treated = next(c for c, row in drawn.items() if row.campaign_group == "Treated")
		control = next(c for c, row in drawn.items() if row.campaign_group == "Control")
		self.assertEqual(campaign_rows(doc.name), [])
		treated_invoice = sales_invoice(treated, rate=100)
		control_invoice = sales_invoice(control, rate=100)
		after_end = sales_invoice(treated, rate=100, posting_date=add_days(nowdate(), 14), set_posting_time=1)
		earned = {
			row.voucher_no: flt(row.points)
			for row in frappe.get_all(
				ledger.LEDGER, filters={"entry_type": "Earn"}, fields=["voucher_no", "points"]
			)
		}
		self.assertEqual(earned[treated_invoice.name], 300.0)
		self.assertEqual(earned[control_invoice.name], 100.0)
		self.assertEqual(earned[after_end.name], 100.0)
		redemptions, cost = campaigns.offer_cost(frappe.get_doc("Retention Campaign", doc.name), {})
		self.assertEqual(redemptions, 1)
		self.assertAlmostEqual(cost, 200 * 0.01)


class TestCampaignCoupons(FrappeTestCase):
	"""Coupons at the till (POS Invoice) and on a desk Sales Invoice."""

	def setUp(self):
		from erpnext.accounts.doctype.pos_closing_entry.test_pos_closing_entry import init_user_and_profile
		from erpnext.accounts.doctype.pos_opening_entry.test_pos_opening_entry import create_opening_entry
		from erpnext.stock.doctype.stock_entry.stock_entry_utils import make_stock_entry

		make_stock_entry(target="_Test Warehouse - _TC", item_code="_Test Item", qty=100, basic_rate=100)
		user, profile = init_user_and_profile()
		create_opening_entry(profile, user.name)
		frappe.set_user("Administrator")
		set_settings()
		self.customers = [make_customer("LCRM Coupon") for _index in range(6)]
		doc = make_campaign(
			make_segment(self.customers), control_share=0, offer_type="Coupon", discount_percentage=10
		)
		campaigns.launch(doc.name)
		self.campaign = frappe.get_doc("Retention Campaign", doc.name)
		self.coupons = {c: row.coupon_code for c, row in members(doc.name).items()}

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	def test_one_single_use_coupon_per_treated_customer_backed_by_one_pricing_rule(self):
		self.assertTrue(all(self.coupons.values()))
		self.assertEqual(len(set(self.coupons.values())), 6)
		rule = frappe.get_doc("Pricing Rule", self.campaign.pricing_rule)
		self.assertEqual(
			(rule.apply_on, rule.coupon_code_based, flt(rule.discount_percentage)), ("Transaction", 1, 10)
		)
		for customer, code in self.coupons.items():
			coupon = frappe.get_doc("Coupon Code", code)
			self.assertEqual((coupon.customer, coupon.maximum_use, coupon.used), (customer, 1, 0))
			self.assertEqual(coupon.pricing_rule, rule.name)

	def test_coupon_on_a_desk_sales_invoice_and_on_a_pos_invoice(self):
		from erpnext.accounts.doctype.pos_invoice.test_pos_invoice import create_pos_invoice

		desk_customer, till_customer, other = self.customers[:3]
		plain = sales_invoice(other, rate=200)
		self.assertEqual(flt(plain.discount_amount), 0)  # no coupon, no discount

		desk = sales_invoice(desk_customer, rate=200, submit=False, save=False)
		desk.coupon_code = self.coupons[desk_customer]
		desk.insert()
		self.assertEqual(flt(desk.additional_discount_percentage), 10)
		self.assertAlmostEqual(flt(desk.net_total), 180)
		desk.submit()
		self.assertEqual(frappe.db.get_value("Coupon Code", self.coupons[desk_customer], "used"), 1)

		again = sales_invoice(desk_customer, rate=50, submit=False, save=False)
		again.coupon_code = self.coupons[desk_customer]
		with self.assertRaisesRegex(frappe.ValidationError, "no longer valid"):
			again.insert()
		stolen = sales_invoice(other, rate=50, submit=False, save=False)
		stolen.coupon_code = self.coupons[till_customer]
		with self.assertRaisesRegex(frappe.ValidationError, "was issued to customer"):
			stolen.insert()

		till = create_pos_invoice(customer=till_customer, rate=300, do_not_submit=1)
		till.coupon_code = self.coupons[till_customer]
		till.save()
		self.assertAlmostEqual(flt(till.net_total), 270)
		till.set("payments", [])
		till.append("payments", {"mode_of_payment": "Cash", "amount": till.rounded_total or till.grand_total})
		till.save()
		till.submit()
		self.assertEqual(frappe.db.get_value("Coupon Code", self.coupons[till_customer], "used"), 1)

		figures = campaigns.measure(self.campaign.name)
		self.assertEqual(figures["offer_redemptions"], 2)
		self.assertAlmostEqual(figures["offer_cost"], 20 + 30)

		desk.reload()
		desk.cancel()
		self.assertEqual(frappe.db.get_value("Coupon Code", self.coupons[desk_customer], "used"), 0)


class TestCampaignCommands(FrappeTestCase):
	"""`bench --site S loyalty-crm campaign launch|measure NAME` as a user runs them, in their own process."""

	def bench(self, *args: str):
		import os
		import subprocess
		import sys

		from frappe.utils import get_bench_path

		return subprocess.run(
			[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", frappe.local.site, *args],
			cwd=os.path.join(get_bench_path(), "sites"),
			capture_output=True,
			text=True,
			timeout=300,
		)

	def test_unknown_campaign_is_one_message_and_exit_1(self):
		for command in ("launch", "measure"):
			result = self.bench("loyalty-crm", "campaign", command, "No Such Campaign LCRM")
			self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
			self.assertIn("No Such Campaign LCRM", result.stdout)
			self.assertNotIn("Traceback", result.stdout + result.stderr)
