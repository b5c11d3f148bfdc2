"""The four analytics reports on a million invoices, each against the bare SQL it needs, in one run.

Run with the bench's Python from the sites directory (it connects to the site itself):

    cd ~/frappe-bench/sites
    ../env/bin/python /work/main/benchmarks/reports.py --site site_reports                  # 1M invoices
    ../env/bin/python /work/main/benchmarks/reports.py --site site_reports --invoices 100000
    ../env/bin/python /work/main/benchmarks/reports.py --site site_reports --profile       # + cProfile
    ../env/bin/python /work/main/benchmarks/reports.py --site site_reports --cleanup       # remove the data

What it does:

* bulk-inserts (SQL, no ORM, no GL entries) submitted Sales Invoices of the dedicated company
  ``LCRM Bench Reports`` (10 per customer on average, 2% returns, over two years, the same
  simulator as ``report_speed.py``), their customers ``LCRM-RPT-C...``, four benchmark Customer
  Segments with a membership for every customer (and a second one for a third of them), and one
  Churn Score per customer: what the Segments and Churn Risk reports read;
* times each report through ``frappe.desk.query_report.run`` as the desk calls it (filters as
  JSON, ``ignore_prepared_report`` so it computes in this process), and the JSON encoding of the
  answer the desk would send;
* times, in the same run and right next to it, the bare SQL aggregation the report needs (the
  floor: no report can be faster than reading its data), and prints report / floor;
* prints the process's peak resident memory after each report (a high-water mark);
* ``--profile`` adds a cProfile of each report (top functions by cumulative time);
* deletes everything it wrote at the end (``--keep`` keeps it, ``--cleanup`` only deletes).

Why "report / SQL floor" and not seconds alone: the machine is shared and its speed varies from
minute to minute; the floor measured beside each report moves with it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from report_speed import simulate  # noqa: E402  (the same synthetic shop)

COMPANY = "LCRM Bench Reports"
PREFIX = "LCRM-RPT-"
SEGMENTS = ("LCRM-RPT Champions", "LCRM-RPT Loyal", "LCRM-RPT At Risk", "LCRM-RPT Lapsed")
START = "2023-01-02"
TO_DATE = "2024-12-31"
CHUNK = 10_000
TARGET_RATIO = 2.0


def connect(site: str):
	import frappe

	frappe.init(site=site, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	return frappe


def peak_rss_mb() -> float:
	return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def cleanup(frappe) -> None:
	started = time.perf_counter()
	for table, column, value in (
		("tabSales Invoice", "company", COMPANY),
		("tabChurn Score", "company", COMPANY),
		("tabCustomer Segment Membership", "company", COMPANY),
		("tabCustomer Segment", "company", COMPANY),
		("tabCustomer", "name like", PREFIX + "%"),
		("tabCompany", "name", COMPANY),
	):
		condition = f"{column} %s" if column.endswith(" like") else f"{column} = %s"
		while True:  # in slices, so the undo log of one statement stays small
			frappe.db.sql(f"delete from `{table}` where {condition} limit 50000", value)
			deleted = frappe.db.sql("select row_count()")[0][0]
			frappe.db.commit()
			if not deleted:
				break
	print(f"benchmark data removed ({time.perf_counter() - started:.1f} s)")


def seed(frappe, invoices: int) -> int:
	"""Company, customers, invoices, segments, memberships and churn scores; returns the customers."""
	from frappe.utils import now_datetime

	now = now_datetime()
	admin = "Administrator"
	customers, owner, dates, amount, is_return = simulate(invoices)
	rng = np.random.default_rng(11)
	names = np.array([f"{PREFIX}C{i:07d}" for i in range(customers)], dtype=object)
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	territory = frappe.db.get_value("Territory", {"is_group": 0}, "name")
	currency = frappe.db.get_value("Company", {}, "default_currency") or "INR"
	started = time.perf_counter()
	frappe.db.bulk_insert(
		"Company",
		["name", "creation", "modified", "owner", "modified_by", "company_name", "abbr", "default_currency"],
		[(COMPANY, now, now, admin, admin, COMPANY, "LCRMRPT", currency)],
	)
	frappe.db.bulk_insert(
		"Customer",
		["name", "creation", "modified", "owner", "modified_by", "customer_name", "customer_type"]
		+ ["customer_group", "territory"],
		(
			(n, now, now, admin, admin, f"Bench Customer {i}", "Company", group, territory)
			for i, n in enumerate(names)
		),
		chunk_size=CHUNK,
	)
	day = dates.astype(str)
	frappe.db.bulk_insert(
		"Sales Invoice",
		["name", "creation", "modified", "owner", "modified_by", "customer", "customer_name", "company"]
		+ ["posting_date", "docstatus", "is_return", "is_consolidated", "base_net_total", "net_total"]
		+ ["currency", "conversion_rate"],
		(
			(
				f"{PREFIX}SI{i:08d}",
				now,
				now,
				admin,
				admin,
				names[owner[i]],
				names[owner[i]],
				COMPANY,
				day[i],
				1,
				int(is_return[i]),
				0,
				float(amount[i]),
				float(amount[i]),
				currency,
				1,
			)  # fmt: skip
			for i in range(invoices)
		),
		chunk_size=CHUNK,
	)
	frappe.db.commit()
	print(f"  {invoices:,} invoices for {customers:,} customers in {time.perf_counter() - started:.0f} s")

	started = time.perf_counter()
	frappe.db.bulk_insert(
		"Customer Segment",
		["name", "creation", "modified", "owner", "modified_by", "segment_name", "enabled", "method"]
		+ ["company", "rfm_segment"],
		[(s, now, now, admin, admin, s, 0, "RFM Segment", COMPANY, s.split(" ", 1)[1]) for s in SEGMENTS],
	)
	# every customer in one segment, a third of them in a second one too
	first = rng.integers(0, len(SEGMENTS), customers)
	second_of = np.flatnonzero(rng.random(customers) < 1 / 3)
	member = np.concatenate([np.arange(customers), second_of])
	segment = np.concatenate([first, (first[second_of] + 1) % len(SEGMENTS)])
	r, f, m = (rng.integers(1, 6, customers) for _ in range(3))
	last = (np.datetime64(TO_DATE) - rng.integers(0, 700, customers)).astype(str)
	monetary = np.round(rng.lognormal(6, 1, customers), 2)
	frequency = rng.integers(1, 40, customers)
	frappe.db.bulk_insert(
		"Customer Segment Membership",
		["name", "creation", "modified", "owner", "modified_by", "customer", "segment", "company"]
		+ ["rfm_segment", "rfm_score", "r_score", "f_score", "m_score", "last_purchase", "frequency"]
		+ ["monetary", "abc_class", "clv_band", "clv_basis", "lifecycle_stage", "cluster"],
		(
			(
				f"{PREFIX}M{k:08d}",
				now,
				now,
				admin,
				admin,
				names[c],
				SEGMENTS[segment[k]],
				COMPANY,
				SEGMENTS[segment[k]].split(" ", 1)[1],
				f"{r[c]}{f[c]}{m[c]}",
				int(r[c]),
				int(f[c]),
				int(m[c]),
				last[c],
				int(frequency[c]),
				float(monetary[c]),
				"ABC"[int(m[c]) % 3],
				("High", "Medium", "Low")[int(r[c]) % 3],
				"Predicted CLV",
				"Active",
				str(int(f[c]) % 4),
			)  # fmt: skip
			for k, c in enumerate(member)
		),
		chunk_size=CHUNK,
	)
	score = rng.random(customers)
	band = np.array(["Low", "Medium", "High", "Critical"], dtype=object)[np.digitize(score, [0.3, 0.5, 0.7])]
	clv = np.round(rng.lognormal(5, 1, customers), 2)
	scored_on = TO_DATE
	frappe.db.bulk_insert(
		"Churn Score",
		["name", "creation", "modified", "owner", "modified_by", "customer", "customer_name", "company"]
		+ ["risk_band", "score", "value_at_risk", "drivers", "days_since_last_purchase"]
		+ ["expected_purchases", "p_alive", "predicted_clv", "scored_on"],
		(
			(
				f"{PREFIX}S{i:08d}",
				now,
				now,
				admin,
				admin,
				names[i],
				f"Bench Customer {i}",
				COMPANY,
				band[i],
				float(round(score[i], 4)),
				float(round(score[i] * clv[i], 2)),
				"Days since the last purchase: 120 (usual 30); spend fell 40% against the 90 days before",
				int(rng.integers(0, 700)),
				float(round(3 * (1 - score[i]), 3)),
				float(round(1 - score[i], 4)),
				float(clv[i]),
				scored_on,
			)  # fmt: skip
			for i in range(customers)
		),
		chunk_size=CHUNK,
	)
	frappe.db.commit()
	print(
		f"  {len(member):,} segment memberships and {customers:,} churn scores in "
		f"{time.perf_counter() - started:.0f} s"
	)
	return customers


# ---------------------------------------------------------------------------------------------
# The floors: the bare SQL each report cannot do without, fetched as plain tuples
# ---------------------------------------------------------------------------------------------


def floor_transactions(frappe) -> int:
	"""Net amount per customer per day over both invoice tables: what CLV and Retention read.

	In its fastest shape: through the covering index when the site has it (else grouped by
	sorting), the day as TO_DAYS and the sum as a double (cheapest to decode)."""
	from loyalty_crm.services.report_scale import has_customer_day_index

	values = {"company": COMPANY, "from_date": START, "to_date": TO_DATE}
	hint = "" if has_customer_day_index() else "SQL_BIG_RESULT"

	def aggregate(table: str, extra: str = "") -> str:
		return f"""select {hint} customer, to_days(posting_date), cast(sum(base_net_total) as double)
			from `{table}`
			where docstatus = 1 and company = %(company)s and posting_date between %(from_date)s and %(to_date)s
			{extra} group by customer, posting_date"""

	rows = frappe.db.sql(
		aggregate("tabSales Invoice", "and is_consolidated = 0")
		+ " union all "
		+ aggregate("tabPOS Invoice"),
		values,
	)
	return len(rows)


def floor_segments(frappe) -> int:
	"""The stored memberships with the customer's name, in the report's order."""
	return len(
		frappe.db.sql(
			"""select m.customer, c.customer_name, m.segment, m.company, m.rfm_segment, m.rfm_score,
				m.r_score, m.f_score, m.m_score, m.last_purchase, m.frequency, m.monetary, m.abc_class,
				m.clv_band, m.clv_basis, m.clv_basis_note, m.lifecycle_stage, m.cluster
			from `tabCustomer Segment Membership` m join `tabCustomer` c on c.name = m.customer
			where m.company = %s order by m.segment, m.monetary desc""",
			COMPANY,
		)
	)


def floor_churn(frappe) -> int:
	"""The company's churn scores with the customer's fields, in the report's order."""
	return len(
		frappe.db.sql(
			"""select s.customer, c.customer_name, s.risk_band, s.score, s.drivers,
				s.days_since_last_purchase, c.loyalty_crm_segment, c.loyalty_crm_tier, c.territory,
				c.customer_group, s.expected_purchases, s.p_alive, s.predicted_clv, s.value_at_risk,
				s.scored_on, s.model_run
			from `tabChurn Score` s join `tabCustomer` c on c.name = s.customer
			where s.company = %s order by s.score desc, s.value_at_risk desc, s.customer asc""",
			COMPANY,
		)
	)


def floor_all_customer_days(frappe) -> int:
	"""Net amount per company, customer and day up to As Of, every company: what a live segment
	computation reads (it segments everyone, then the report keeps one company)."""
	values = {"as_of": TO_DATE}

	def aggregate(table: str, extra: str = "") -> str:
		return f"""select company, customer, to_days(posting_date), cast(sum(base_net_total) as double)
			from `{table}` where docstatus = 1 and posting_date <= %(as_of)s {extra}
			group by company, customer, posting_date"""

	rows = frappe.db.sql(
		aggregate("tabSales Invoice", "and is_consolidated = 0")
		+ " union all "
		+ aggregate("tabPOS Invoice"),
		values,
	)
	return len(rows)


# (label, report, filters, floor)
REPORTS = (
	(
		"Customer Lifetime Value",
		"Customer Lifetime Value",
		{"company": COMPANY, "from_date": START, "to_date": TO_DATE},
		floor_transactions,
	),
	(
		"Customer Retention",
		"Customer Retention",
		{"company": COMPANY, "from_date": START, "to_date": TO_DATE},
		floor_transactions,
	),
	("Customer Segments", "Customer Segments", {"company": COMPANY}, floor_segments),
	("Churn Risk", "Churn Risk", {"company": COMPANY}, floor_churn),
)
LIVE_SEGMENTS = (
	"Segments, live As Of",
	"Customer Segments",
	{"company": COMPANY, "as_of": TO_DATE},
	floor_all_customer_days,
)


def run_report(frappe, name: str, filters: dict) -> tuple[float, float, dict]:
	"""The report as the desk runs it, and the JSON encoding of its answer, in seconds."""
	from frappe.desk.query_report import run

	started = time.perf_counter()
	result = run(name, filters=json.dumps(filters), user="Administrator", ignore_prepared_report=True)
	seconds = time.perf_counter() - started
	started = time.perf_counter()
	frappe.as_json(result, indent=None)
	return seconds, time.perf_counter() - started, result


def timed(function, *args) -> tuple[float, object]:
	started = time.perf_counter()
	result = function(*args)
	return time.perf_counter() - started, result


def measure(frappe, repeat: int, profile: bool, live_segments: bool = False) -> list[dict]:
	results = []
	for label, name, filters, floor in (*REPORTS, LIVE_SEGMENTS) if live_segments else REPORTS:
		floor(frappe)  # warm the buffer pool and the imports: neither is what we measure
		run_report(frappe, name, filters)
		report_times, floor_times, json_times = [], [], []
		for _ in range(repeat):  # alternate, so a busy minute hits both alike
			floor_seconds, rows = timed(floor, frappe)
			report_seconds, json_seconds, result = run_report(frappe, name, filters)
			floor_times.append(floor_seconds)
			report_times.append(report_seconds)
			json_times.append(json_seconds)
		line = {
			"report": label,
			"rows": len(result["result"]),
			"sql_rows": rows,
			"report_s": min(report_times),
			"floor_s": min(floor_times),
			"json_s": min(json_times),
			"peak_mb": peak_rss_mb(),
		}
		line["ratio"] = line["report_s"] / line["floor_s"]
		results.append(line)
		print(
			f"{label:<24} {line['rows']:>9,} rows  report {line['report_s']:6.2f} s  SQL floor "
			f"{line['floor_s']:6.2f} s ({rows:,} rows)  ratio {line['ratio']:5.2f}  JSON {line['json_s']:5.2f} s  "
			f"peak {line['peak_mb']:6.0f} MB",
			flush=True,
		)
		if profile:
			profiler = cProfile.Profile()
			profiler.enable()
			run_report(frappe, name, filters)
			profiler.disable()
			out = io.StringIO()
			pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
			print(out.getvalue())
	return results


def main() -> None:
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--site", default="site_reports")
	parser.add_argument("--invoices", type=int, default=1_000_000)
	parser.add_argument(
		"--repeat", type=int, default=2, help="runs of each report and floor (the best counts)"
	)
	parser.add_argument("--profile", action="store_true", help="cProfile each report once more")
	parser.add_argument(
		"--live-segments",
		action="store_true",
		help="also the Segments report with an As Of date (computes the segments live, saves nothing)",
	)
	parser.add_argument("--cleanup", action="store_true", help="only remove the benchmark data")
	parser.add_argument("--keep", action="store_true", help="keep the data (remove later with --cleanup)")
	parser.add_argument("--reuse", action="store_true", help="use the data a --keep run left")
	args = parser.parse_args()
	frappe = connect(args.site)
	try:
		if not args.reuse:
			cleanup(frappe)
		if args.cleanup:
			return
		if not args.reuse:
			print(f"Seeding {args.invoices:,} invoices on {args.site}")
			seed(frappe, args.invoices)
		versions = {app: frappe.get_attr(f"{app}.__version__") for app in ("frappe", "erpnext")}
		print(
			f"Frappe {versions['frappe']}, ERPNext {versions['erpnext']}, {os.cpu_count()} CPU(s), "
			f"load average {os.getloadavg()[0]:.1f}; best of {args.repeat} runs each"
		)
		results = measure(frappe, args.repeat, args.profile, args.live_segments)
		# the target is for the reports as the desk opens them; a live As Of recomputes every segment
		standard = [line for line in results if line["report"] != LIVE_SEGMENTS[0]]
		worst = max(standard, key=lambda line: line["ratio"])
		verdict = "OK" if worst["ratio"] <= TARGET_RATIO else "ABOVE TARGET"
		print(
			f"target: every report (default filters) <= {TARGET_RATIO:.0f}x its SQL floor: {verdict} "
			f"(worst {worst['report']}, {worst['ratio']:.2f}x); peak {peak_rss_mb():.0f} MB"
		)
	finally:
		if not args.keep and not args.cleanup:
			cleanup(frappe)
		frappe.destroy()


if __name__ == "__main__":
	main()
