"""Report speed on a real site: our CLV and Retention reports against ERPNext's "Customer Acquisition and Loyalty".

Run inside the bench's environment, from the sites folder:

    cd /root/frappe-bench/sites
    ../env/bin/python /path/to/loyalty_crm/benchmarks/report_speed.py --site site_clv --invoices 100000
    ../env/bin/python /path/to/loyalty_crm/benchmarks/report_speed.py --site site_clv --cleanup

Synthetic submitted invoices are written straight into ``tabSales Invoice`` with bulk SQL inserts
(only the columns the three reports read; no ORM, no GL entries), for a company "LCRM Bench Co"
that exists only on these rows, and customers named ``LCRM-BENCH-C…``. Everything it writes has
the ``LCRM-BENCH-`` prefix and is deleted at the end (or by ``--cleanup`` after a crash).

ERPNext's report scans every invoice up to To Date and checks ``customer not in <list>`` per
invoice, so its time grows with invoices x customers. It is timed on growing windows of the
same data (From Date fixed, To Date later each step) while the previous step predicts it fits
``--erpnext-budget`` seconds; our reports are timed on the same windows, and then on all rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

PREFIX = "LCRM-BENCH-"
COMPANY = "LCRM Bench Co"
START = np.datetime64("2023-01-02")
DAYS = 730
CHUNK = 20_000


def connect(site: str) -> None:
	import frappe

	sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
	frappe.init(site=site, sites_path=os.getcwd())
	frappe.connect()


def simulate(invoices: int, seed: int = 7):
	"""Customers who arrive over two years and buy at gamma-distributed rates; 2% are returns."""
	rng = np.random.default_rng(seed)
	customers = max(2, invoices // 10)
	arrival = rng.integers(0, DAYS - 30, customers)
	weight = rng.gamma(0.6, 1.0, customers) * (DAYS - arrival) / DAYS
	owner = rng.choice(customers, size=invoices, p=weight / weight.sum())
	owner[:customers] = np.arange(customers)  # everyone buys at least once: on the arrival day
	day = np.where(
		np.arange(invoices) < customers,
		arrival[owner],
		arrival[owner] + (rng.random(invoices) * (DAYS - arrival[owner])).astype(int),
	)
	amount = np.round(rng.lognormal(4.0, 0.8, invoices), 2)
	is_return = (rng.random(invoices) < 0.02) & (np.arange(invoices) >= customers)
	amount = np.where(is_return, -np.round(amount / 2, 2), amount)
	order = np.argsort(day, kind="stable")
	return (
		customers,
		owner[order],
		(START + day[order]).astype("datetime64[D]"),
		amount[order],
		is_return[order],
	)


def insert(invoices: int) -> int:
	import frappe

	customers, owner, dates, amount, is_return = simulate(invoices)
	now = frappe.utils.now()
	started = time.perf_counter()
	customer_rows = [
		(f"{PREFIX}C{i:07d}", f"Bench Customer {i}", "All Customer Groups", "All Territories", now, now)
		for i in range(customers)
	]
	for start in range(0, customers, CHUNK):
		frappe.db.bulk_insert(
			"Customer",
			["name", "customer_name", "customer_group", "territory", "creation", "modified"],
			customer_rows[start : start + CHUNK],
		)
	fields = [
		"name", "docstatus", "company", "customer", "customer_name", "posting_date", "posting_time",
		"currency", "conversion_rate", "base_net_total", "net_total", "base_grand_total", "grand_total",
		"is_return", "is_consolidated", "creation", "modified",
	]  # fmt: skip
	dates = dates.astype(str)
	for start in range(0, invoices, CHUNK):
		rows = []
		for i in range(start, min(start + CHUNK, invoices)):
			value = float(amount[i])
			customer = f"{PREFIX}C{owner[i]:07d}"
			rows.append(
				(f"{PREFIX}SI{i:08d}", 1, COMPANY, customer, customer, dates[i], "12:00:00", "INR", 1,
				 value, value, value, value, int(is_return[i]), 0, now, now)
			)  # fmt: skip
		frappe.db.bulk_insert("Sales Invoice", fields, rows)
		frappe.db.commit()
		print(f"\r  inserted {min(start + CHUNK, invoices):,}/{invoices:,} invoices", end="", flush=True)
	print(f"\n  {invoices:,} invoices for {customers:,} customers in {time.perf_counter() - started:.1f} s")
	return customers


def cleanup() -> None:
	import frappe

	started = time.perf_counter()
	for doctype in ("Sales Invoice", "Customer"):
		while True:
			frappe.db.sql(f"delete from `tab{doctype}` where name like %s limit 50000", f"{PREFIX}%")
			deleted = frappe.db.sql("select row_count()")[0][0]
			frappe.db.commit()
			if not deleted:
				break
	print(f"  removed the benchmark rows in {time.perf_counter() - started:.1f} s")


def timed(function, *args):
	started = time.perf_counter()
	result = function(*args)
	return time.perf_counter() - started, result


def ours(to_date: str) -> tuple[float, float, int]:
	from loyalty_crm.loyalty_crm.report.customer_lifetime_value.customer_lifetime_value import execute as clv
	from loyalty_crm.loyalty_crm.report.customer_retention.customer_retention import execute as retention

	filters = {"company": COMPANY, "from_date": str(START), "to_date": to_date}
	clv_seconds, result = timed(clv, filters)
	retention_seconds, _result = timed(retention, filters)
	if result[2]:
		print(f"    CLV report message: {result[2]}")
	return clv_seconds, retention_seconds, len(result[1])


def erpnext(to_date: str) -> float:
	import frappe
	from erpnext.selling.report.customer_acquisition_and_loyalty.customer_acquisition_and_loyalty import (
		execute,
	)

	filters = frappe._dict(view_type="Monthly", company=COMPANY, from_date=str(START), to_date=to_date)
	return timed(execute, filters)[0]


def main() -> None:
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--site", default="site_clv")
	parser.add_argument("--invoices", type=int, default=100_000)
	parser.add_argument(
		"--erpnext-budget", type=float, default=120.0, help="seconds ERPNext's report may take"
	)
	parser.add_argument("--cleanup", action="store_true", help="only remove rows a crashed run left")
	parser.add_argument("--keep", action="store_true", help="keep the rows (then --cleanup later)")
	args = parser.parse_args()
	connect(args.site)
	import frappe

	try:
		cleanup()
		if args.cleanup:
			return
		print(f"Inserting {args.invoices:,} synthetic submitted Sales Invoices on {args.site}")
		insert(args.invoices)
		counts = frappe.db.sql(
			"select posting_date, count(*) from `tabSales Invoice` where company = %s group by posting_date"
			" order by posting_date",
			COMPANY,
		)
		dates = np.array([str(d) for d, _n in counts])
		cumulative = np.cumsum([n for _d, n in counts])
		print(f"\n{'invoices':>10} {'customers':>10} {'CLV s':>8} {'Retention s':>12} {'ERPNext s':>10} "
			  f"{'ERPNext/CLV':>12} {'ERPNext/Retention':>18}")  # fmt: skip
		ours(dates[0])  # warm up: imports and caches are not what we measure
		previous = None  # (invoices, seconds) of ERPNext's last run
		for fraction in (0.01, 0.03, 0.1, 0.3, 1.0):
			index = min(int(np.searchsorted(cumulative, fraction * cumulative[-1])), len(dates) - 1)
			to_date, size = dates[index], int(cumulative[index])
			clv_s, retention_s, buyers = ours(to_date)
			erpnext_s = None
			# time grows ~ invoices x customers, i.e. with the square of the window
			predicted = previous[1] * (size / previous[0]) ** 2 if previous else 0.0
			if predicted <= args.erpnext_budget:
				erpnext_s = erpnext(to_date)
				previous = (size, erpnext_s)
			line = f"{size:>10,} {buyers:>10,} {clv_s:>8.2f} {retention_s:>12.2f} "
			if erpnext_s is None:
				line += f"{'skipped':>10} (predicted {predicted:,.0f} s > budget {args.erpnext_budget:.0f} s)"
			else:
				line += f"{erpnext_s:>10.2f} {erpnext_s / clv_s:>12.1f} {erpnext_s / retention_s:>18.1f}"
			print(line, flush=True)
	finally:
		if not args.keep:
			cleanup()
		frappe.destroy()


if __name__ == "__main__":
	main()
