"""Launching a Retention Campaign on a real site: set-wise writes vs a per-customer ORM loop.

    cd ~/frappe-bench/sites
    ../env/bin/python /path/to/loyalty_crm/benchmarks/campaign_launch.py --site SITE [--customers 10000]

Synthetic customers (``LCB-...``) are bulk-inserted by SQL and split into two segments; a
bonus-points campaign is launched on one half and a coupon campaign on the other, each with a
10 % control group, through ``services.campaigns.launch`` (target query, engine draw, one bulk
insert for the ledger lots / coupons and one for the members). The baseline does the same writes
the naive way, one customer at a time (customer lock + one ledger row through
``ledger.append_rows``, or one Coupon Code document, plus one Retention Campaign Member
document) on a random sample, scaled up linearly to the treated count (printed as such).
Everything runs in one transaction that is rolled back at the end: the site keeps nothing.
No emails or SMS are sent (no template, no SMS).
"""

from __future__ import annotations

import argparse
import random
import time

PREFIX = "LCB-"


def connect(site: str):
	import frappe

	frappe.init(site=site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	return frappe


def load_customers(frappe, count: int) -> list[str]:
	names = [f"{PREFIX}{index:07d}" for index in range(count)]
	frappe.db.bulk_insert(
		"Customer",
		["name", "customer_name", "customer_group", "territory", "customer_type", "creation", "modified"],
		[
			(
				name,
				name,
				"All Customer Groups",
				"All Territories",
				"Individual",
				"2024-01-01",
				"2024-01-01",
			)
			for name in names
		],
		chunk_size=5000,
	)
	for index in range(0, count, 5000):
		chunk = names[index : index + 5000]
		frappe.db.sql(
			"update `tabCustomer` set loyalty_crm_segment = if(right(name, 1) in ('0', '1', '2'), 'A', 'B')"
			" where name in %(names)s",
			{"names": tuple(chunk)},
		)
	return names


def make_segment(frappe, company: str, customers: list[str], label: str) -> str:
	name = f"LCB {label} {frappe.generate_hash(length=6)}"
	frappe.get_doc(
		{
			"doctype": "Customer Segment",
			"segment_name": name,
			"method": "ABC Class",
			"abc_class": "A",
			"company": company,
		}
	).insert(ignore_permissions=True)
	frappe.db.bulk_insert(
		"Customer Segment Membership",
		["name", "customer", "segment", "company"],
		[(frappe.generate_hash(length=12), customer, name, company) for customer in customers],
		chunk_size=5000,
	)
	return name


def make_campaign(frappe, company: str, segment: str, **offer):
	from frappe.utils import add_days, nowdate

	return frappe.get_doc(
		{
			"doctype": "Retention Campaign",
			"campaign_name": f"LCB {frappe.generate_hash(length=8)}",
			"company": company,
			"target_type": "Customer Segment",
			"customer_segment": segment,
			"launch_date": nowdate(),
			"end_date": add_days(nowdate(), 13),
			"measurement_days": 30,
			"control_share": 10,
			**offer,
		}
	).insert(ignore_permissions=True)


def baseline_points(frappe, company: str, campaign: str, customers: list[str]) -> float:
	from frappe.utils import nowdate

	from loyalty_crm.engine import points as engine
	from loyalty_crm.services import ledger

	started = time.perf_counter()
	for customer in customers:
		ledger.lock_customer(customer)
		row = engine.plan_earn(50, nowdate(), 30, entry_type="Campaign", new_name=ledger.new_entry_name)
		ledger.append_rows(
			[row], customer=customer, company=company, voucher_type="Retention Campaign", voucher_no=campaign
		)
		frappe.get_doc(
			{
				"doctype": "Retention Campaign Member",
				"campaign": campaign,
				"customer": customer,
				"company": company,
				"campaign_group": "Treated",
			}
		).insert(ignore_permissions=True)
	return time.perf_counter() - started


def baseline_coupons(frappe, campaign, customers: list[str]) -> float:
	started = time.perf_counter()
	for customer in customers:
		frappe.get_doc(
			{
				"doctype": "Coupon Code",
				"coupon_name": f"LCB-{frappe.generate_hash(length=10)}",
				"coupon_type": "Gift Card",
				"customer": customer,
				"pricing_rule": campaign.pricing_rule,
				"valid_from": campaign.launch_date,
				"valid_upto": campaign.end_date,
				"maximum_use": 1,
			}
		).insert(ignore_permissions=True)
		frappe.get_doc(
			{
				"doctype": "Retention Campaign Member",
				"campaign": campaign.name,
				"customer": customer,
				"company": campaign.company,
				"campaign_group": "Treated",
			}
		).insert(ignore_permissions=True)
	return time.perf_counter() - started


def main():
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--customers", type=int, default=10000)
	parser.add_argument("--sample", type=int, default=300, help="customers in the per-customer baseline")
	parser.add_argument("--company", help="default: the site's default company")
	args = parser.parse_args()
	frappe = connect(args.site)
	from loyalty_crm.services import campaigns

	try:
		company = (
			args.company or frappe.db.get_default("company") or frappe.get_all("Company", pluck="name")[0]
		)
		print(f"site {args.site}, company {company}, {args.customers} customers")
		started = time.perf_counter()
		names = load_customers(frappe, args.customers)
		half = len(names) // 2
		points_segment = make_segment(frappe, company, names[:half], "points")
		coupon_segment = make_segment(frappe, company, names[half:], "coupons")
		print(f"  synthetic data in {time.perf_counter() - started:.1f} s")

		points = make_campaign(frappe, company, points_segment, offer_type="Bonus Points", bonus_points=50)
		started = time.perf_counter()
		result = campaigns.launch(points.name)
		points_seconds = time.perf_counter() - started
		coupon = make_campaign(frappe, company, coupon_segment, offer_type="Coupon", discount_percentage=10)
		started = time.perf_counter()
		coupon_result = campaigns.launch(coupon.name)
		coupon_seconds = time.perf_counter() - started
		coupon.reload()

		# the naive loop, on a sample of customers outside both campaigns' members
		sample = random.Random(7).sample(range(args.customers), min(args.sample, args.customers))
		spare = [f"{PREFIX}S{index:07d}" for index in sample]
		frappe.db.bulk_insert(
			"Customer",
			["name", "customer_name", "customer_group", "territory", "customer_type"],
			[(name, name, "All Customer Groups", "All Territories", "Individual") for name in spare],
		)
		naive_points = baseline_points(frappe, company, points.name, spare[: len(spare) // 2])
		naive_coupons = baseline_coupons(frappe, coupon, spare[len(spare) // 2 :])
		scale_points = result.treated / max(len(spare) // 2, 1)
		scale_coupons = coupon_result.treated / max(len(spare) - len(spare) // 2, 1)

		print(f"bonus points: {result.treated} treated, {result.control} control")
		print(f"  launch (set-wise)           {points_seconds:8.2f} s")
		print(
			f"  per-customer loop (scaled)  {naive_points * scale_points:8.2f} s"
			f"  ({len(spare) // 2} customers took {naive_points:.2f} s)"
		)
		print(f"  ratio loop / launch         {naive_points * scale_points / points_seconds:8.1f}x")
		print(f"coupons: {coupon_result.treated} treated, {coupon_result.control} control")
		print(f"  launch (set-wise)           {coupon_seconds:8.2f} s")
		print(
			f"  per-customer loop (scaled)  {naive_coupons * scale_coupons:8.2f} s"
			f"  ({len(spare) - len(spare) // 2} customers took {naive_coupons:.2f} s)"
		)
		print(f"  ratio loop / launch         {naive_coupons * scale_coupons / coupon_seconds:8.1f}x")
	finally:
		frappe.db.rollback()
		frappe.destroy()
		print("rolled back: the site keeps nothing")


if __name__ == "__main__":
	main()
