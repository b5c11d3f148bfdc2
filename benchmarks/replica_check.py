"""What reading on the read replica costs: the health check, and a read through it vs on the primary.

    cd ~/frappe-bench/sites
    ../env/bin/python /path/to/loyalty_crm/benchmarks/replica_check.py --site SITE [--repeat 30]

Starts a real second MariaDB loaded from a snapshot of the site's database
(``loyalty_crm.testing_replica``; the copy takes seconds on a test site, minutes on a site with
a million invoices), points this process at it, and measures in the same run:

* ``check_replica()`` alone (connect, ``SHOW REPLICA STATUS``, newest ``modified`` on both
  sides), median and worst of ``--repeat``;
* the customer x day aggregation of Sales Invoices (the shape the nightly read has) on the
  primary, and inside ``reading()`` on the replica (check + switch + read + restore): the
  ratio is the price of the replica path on an idle machine; its point is taking that read off
  the primary's CPU and disks, which one machine cannot show;
* a replica that refuses connections (stopped) and one that is hung (SIGSTOP): how long
  until the read goes to the primary.

The replica is stopped and its files removed at the end; the site's data are not changed.
"""

from __future__ import annotations

import argparse
import statistics
import time

AGGREGATION = """
	select customer, company, posting_date, sum(base_net_total), count(*)
	from `tabSales Invoice`
	where docstatus = 1 and is_consolidated = 0
	group by customer, company, posting_date
"""


def timed(function) -> float:
	started = time.perf_counter()
	function()
	return time.perf_counter() - started


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--repeat", type=int, default=30)
	args = parser.parse_args()

	import frappe

	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	from loyalty_crm.services.replica import check_replica, reading
	from loyalty_crm.testing_replica import replica_configured, start_replica

	invoices = frappe.db.count("Sales Invoice")
	print(f"site {args.site}: {invoices} Sales Invoices")
	started = time.perf_counter()
	server = start_replica()
	print(f"second MariaDB on port {server.port}, snapshot loaded in {time.perf_counter() - started:.1f} s")
	try:
		with replica_configured(server):
			checks = []
			for _ in range(args.repeat):
				source = check_replica("benchmark")
				assert source.on_replica, source.reason
				checks.append(source.checked_in)
			print(
				f"health check: median {statistics.median(checks) * 1000:.1f} ms,"
				f" worst {max(checks) * 1000:.1f} ms ({source.measured_by})"
			)

			def on_replica():
				with reading("benchmark") as source:
					assert source.on_replica, source.reason
					frappe.db.sql(AGGREGATION)

			def on_primary():
				frappe.db.sql(AGGREGATION)

			on_primary()  # warm both buffer pools once
			on_replica()
			primary = statistics.median(timed(on_primary) for _ in range(args.repeat))
			replica = statistics.median(timed(on_replica) for _ in range(args.repeat))
			print(
				f"aggregation: primary {primary * 1000:.1f} ms, through reading() on the replica"
				f" {replica * 1000:.1f} ms: ratio {replica / primary:.2f},"
				f" {(replica - primary) * 1000:.1f} ms more per block (check, connect, restore)"
			)

			with server.hung():
				source = check_replica("benchmark")
			print(f"hung replica: {source.name} after {source.checked_in:.2f} s")
			server.shutdown()
			source = check_replica("benchmark")
			print(f"stopped replica: {source.name} after {source.checked_in * 1000:.1f} ms")
	finally:
		server.stop()
		frappe.destroy()


if __name__ == "__main__":
	main()
