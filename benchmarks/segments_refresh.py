"""Segment refresh on a real site: synthetic customers and invoices, against a per-customer ORM loop.

Run with the bench's Python from the sites directory (it connects to the site itself):

    cd /root/frappe-bench/sites
    ../env/bin/python /work/main/benchmarks/segments_refresh.py --site SITE                 # 100k / 1M
    ../env/bin/python /work/main/benchmarks/segments_refresh.py --site SITE --customers 10000 --invoices 100000
    ../env/bin/python /work/main/benchmarks/segments_refresh.py --site SITE --cleanup       # remove the data

What it does:

* bulk-inserts (SQL) customers named ``LCRM-BENCH-...`` and submitted Sales Invoices of the
  dedicated company ``LCRM Bench Segments`` over two years (4% credit notes), plus five
  benchmark segments (RFM, ABC, lifecycle, cluster, rule); ``--cleanup`` deletes exactly these;
* times ``refresh_segments`` (one SQL aggregation, the engines, changes-only bulk writes) and
  a second refresh (must write nothing), with the process's peak resident memory;
* baseline: what one writes without the service, per customer: read the customer's invoices
  with ``frappe.get_all``, compute R/F/M in Python, ``get_doc`` the Customer and ``db_set`` its
  fields, insert a membership with ``get_doc(...).insert()``. It is far too slow for every
  customer, so it runs on a sample and the time is scaled linearly (printed as such); its
  writes are rolled back. The baseline still does *less* than the refresh (no quintiles,
  no ABC/lifecycle/clusters), so the ratio flatters the baseline.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date, timedelta

import numpy as np

COMPANY = "LCRM Bench Segments"
PREFIX = "LCRM-BENCH-"
SEGMENT_PREFIX = "LCRM Bench "


def connect(site: str):
	import frappe

	sites = os.getcwd()
	frappe.init(site=site, sites_path=sites)
	frappe.connect()
	frappe.set_user("Administrator")
	return frappe


def peak_rss_mb() -> float:
	return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cleanup(frappe) -> None:
	frappe.db.sql("delete from `tabSales Invoice` where company = %s", COMPANY)
	frappe.db.sql("delete from `tabCustomer Segment Membership` where company = %s", COMPANY)
	frappe.db.sql("delete from `tabCustomer Segment Membership` where segment like %s", SEGMENT_PREFIX + "%")
	frappe.db.sql("delete from `tabCustomer Segment` where name like %s", SEGMENT_PREFIX + "%")
	frappe.db.sql("delete from `tabCustomer` where name like %s", PREFIX + "%")
	frappe.db.sql("delete from `tabCompany` where name = %s", COMPANY)
	frappe.db.commit()
	print("benchmark data removed")


def seed(frappe, customers: int, invoices: int, seed_value: int = 7) -> None:
	from frappe.utils import now_datetime

	rng = np.random.default_rng(seed_value)
	now = now_datetime()
	names = [f"{PREFIX}{i:07d}" for i in range(customers)]
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	territory = frappe.db.get_value("Territory", {"is_group": 0}, "name")
	started = time.perf_counter()
	currency = frappe.db.get_value("Company", {}, "default_currency") or "INR"
	frappe.db.bulk_insert(
		"Company",
		["name", "creation", "modified", "owner", "modified_by", "company_name", "abbr", "default_currency"],
		[(COMPANY, now, now, "Administrator", "Administrator", COMPANY, "LCRMBS", currency)],
	)
	frappe.db.bulk_insert(
		"Customer",
		[
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"customer_name",
			"customer_type",
			"customer_group",
			"territory",
		],
		((n, now, now, "Administrator", "Administrator", n, "Company", group, territory) for n in names),
		chunk_size=5000,
	)
	# Customers buy at different rates (a few very often), over two years up to today.
	weights = rng.pareto(1.5, customers) + 0.1
	who = rng.choice(customers, size=invoices, p=weights / weights.sum())
	today = date.today()
	ages = rng.integers(0, 730, size=invoices)
	amounts = np.round(rng.lognormal(4, 1, size=invoices), 2)
	returns = rng.random(invoices) < 0.04
	amounts[returns] = -np.round(amounts[returns] * rng.random(returns.sum()), 2)

	def rows():
		for i in range(invoices):
			yield (
				f"{PREFIX}SI-{i:08d}",
				now,
				now,
				"Administrator",
				"Administrator",
				names[who[i]],
				names[who[i]],
				COMPANY,
				today - timedelta(days=int(ages[i])),
				1,
				int(returns[i]),
				0,
				float(amounts[i]),
				float(amounts[i]),
			)

	frappe.db.bulk_insert(
		"Sales Invoice",
		[
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"customer",
			"customer_name",
			"company",
			"posting_date",
			"docstatus",
			"is_return",
			"is_consolidated",
			"base_net_total",
			"net_total",
		],
		rows(),
		chunk_size=10000,
	)
	for name, values in {
		"RFM Champions": {"method": "RFM Segment", "rfm_segment": "Champions", "priority": 1},
		"ABC A": {"method": "ABC Class", "abc_class": "A", "priority": 2},
		"At Risk": {"method": "Lifecycle Stage", "lifecycle_stage": "At Risk", "priority": 3},
		"Cluster 0": {"method": "Cluster", "cluster": 0, "priority": 4},
		"Baseline": {"method": "ABC Class", "abc_class": "C", "priority": 9, "enabled": 0},
		"Big Recent": {
			"method": "Rule",
			"priority": 5,
			"rule": '[{"field": "monetary", "operator": ">", "value": 500}, {"field": "recency_days", "operator": "<", "value": 60}]',
		},
	}.items():
		frappe.get_doc(
			{
				"doctype": "Customer Segment",
				"segment_name": SEGMENT_PREFIX + name,
				"company": COMPANY,
				**values,
			}
		).insert(ignore_permissions=True)
	frappe.db.commit()
	print(f"seeded {customers} customers, {invoices} invoices in {time.perf_counter() - started:.1f} s")


def baseline(frappe, sample: int) -> float:
	"""Seconds per customer of the per-customer ORM loop (writes rolled back)."""
	from frappe.utils import date_diff, nowdate

	customers = frappe.get_all(
		"Customer", filters={"name": ("like", PREFIX + "%")}, pluck="name", limit=sample
	)
	segment = SEGMENT_PREFIX + "Baseline"  # disabled: the refresh leaves it empty
	started = time.perf_counter()
	for customer in customers:
		rows = frappe.get_all(
			"Sales Invoice",
			filters={"customer": customer, "docstatus": 1, "is_consolidated": 0},
			fields=["posting_date", "base_net_total"],
		)
		recent = [r for r in rows if date_diff(nowdate(), r.posting_date) < 365]
		monetary = sum(r.base_net_total for r in recent)
		days = {r.posting_date for r in recent if r.base_net_total > 0}
		last = max(days) if days else None
		doc = frappe.get_doc("Customer", customer)
		doc.db_set(
			{
				"loyalty_crm_f_score": min(5, len(days)),
				"loyalty_crm_r_score": 5 if last and date_diff(nowdate(), last) < 30 else 1,
			},
			update_modified=False,
		)
		if monetary > 0:
			frappe.get_doc(
				{
					"doctype": "Customer Segment Membership",
					"customer": customer,
					"segment": segment,
					"company": COMPANY,
					"frequency": len(days),
					"monetary": monetary,
					"last_purchase": last,
				}
			).insert(ignore_permissions=True)
	elapsed = time.perf_counter() - started
	frappe.db.rollback()
	return elapsed / max(len(customers), 1)


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--customers", type=int, default=100_000)
	parser.add_argument("--invoices", type=int, default=1_000_000)
	parser.add_argument("--sample", type=int, default=300, help="customers in the ORM-loop baseline")
	parser.add_argument("--cleanup", action="store_true", help="only remove the benchmark data")
	parser.add_argument("--keep", action="store_true", help="keep the data after the run")
	args = parser.parse_args()

	frappe = connect(args.site)
	try:
		cleanup(frappe)
		if args.cleanup:
			return
		seed(frappe, args.customers, args.invoices)

		from loyalty_crm.services.segments import refresh_segments

		before = peak_rss_mb()
		first = refresh_segments(commit=True)
		first_peak = peak_rss_mb()
		second = refresh_segments(commit=True)
		per_customer = baseline(frappe, args.sample)
		scaled = per_customer * args.customers

		print(f"\nsite {args.site}: {args.customers} benchmark customers, {args.invoices} invoices")
		print(f"customers scored (all companies): {first.customers_scored}")
		print(
			f"refresh 1: {first.seconds:8.1f} s  inserted {first.inserted}, deleted {first.deleted}, "
			f"customers updated {first.customers_updated}"
		)
		print(
			f"refresh 2: {second.seconds:8.1f} s  inserted {second.inserted}, deleted {second.deleted}, "
			f"customers updated {second.customers_updated}  (idempotent: {second.writes == 0})"
		)
		print(f"peak RSS: {first_peak:.0f} MB (before the refresh {before:.0f} MB)")
		print(
			f"baseline, per-customer ORM loop: {per_customer * 1000:.1f} ms/customer measured on "
			f"{args.sample} customers, scaled x{args.customers}: {scaled:.0f} s (an estimate, not run)"
		)
		print(f"ratio baseline / refresh 1: {scaled / first.seconds:.1f}x")
		for name, count in first.members.items():
			print(f"  {name}: {count}")
	finally:
		if not args.keep and not args.cleanup:
			cleanup(frappe)
		frappe.destroy()


if __name__ == "__main__":
	sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
	main()
