"""Tier evaluation on a real site: one SQL aggregation + the vectorised engine vs a per-customer loop.

    cd ~/frappe-bench/sites
    ../env/bin/python /path/to/loyalty_crm/benchmarks/tier_evaluation.py --site SITE            # 100k / 1M
    ../env/bin/python .../tier_evaluation.py --site SITE --customers 10000 --invoices 100000    # smaller
    ../env/bin/python .../tier_evaluation.py --site SITE --cleanup                              # remove the data

The engine-only idea of ``benchmarks/tier_engine.py``, extended to the database. Synthetic
customers and submitted Sales Invoices (4% credit notes, two years before AS_OF) are
bulk-inserted by SQL under a dedicated company (``LCRM Tier Bench``), named ``LTB-...`` so
``--cleanup`` removes exactly them. Then, on the site's own ladder (Loyalty Tier + Loyalty
Settings), in the same run:

* set-wise: ``services.tiers.window_metric`` (ONE aggregation over the window for every
  customer) + the Customer state in one SELECT + ``engine.evaluate_tiers`` on all of them;
* the whole ``services.tiers.evaluate_all`` (chunked, dry run), then a writing run (history
  rows + Customer caches for every change) and a second writing run (idempotent: writes
  nothing), both rolled back at the end so the site's data are untouched;
* baseline: the naive loop, per customer one metric query, one state read and one engine call.
  It is far too slow for every customer, so it runs on a random sample and the time is scaled
  up linearly (printed as such).

Timings are wall-clock seconds on this machine; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

import numpy as np

COMPANY = "LCRM Tier Bench"
PREFIX = "LTB-"
AS_OF = date(2024, 6, 30)
BATCH = 20000


def connect(site: str):
	import frappe

	frappe.init(site=site, sites_path=".")
	frappe.connect()
	return frappe


def cleanup(frappe) -> None:
	for table, column in (
		("tabSales Invoice", "name"),
		("tabLoyalty Tier History", "customer"),
		("tabCustomer", "name"),
	):
		started = time.perf_counter()
		total = 0
		while True:  # in slices, so the undo log stays small
			frappe.db.sql(f"delete from `{table}` where `{column}` like %s limit 50000", (PREFIX + "%",))
			deleted = frappe.db._cursor.rowcount
			frappe.db.commit()
			total += max(deleted or 0, 0)
			if not deleted or deleted < 0:
				break
		print(f"  removed {total} rows from {table} in {time.perf_counter() - started:.1f} s")
	frappe.db.sql("delete from `tabCompany` where name = %s", COMPANY)
	frappe.db.commit()


def ensure_company(frappe) -> None:
	if not frappe.db.exists("Company", COMPANY):
		currency = frappe.db.get_default("currency") or "INR"
		frappe.db.sql(
			"""insert into `tabCompany` (name, company_name, abbr, default_currency, country,
				creation, modified, owner, modified_by)
			values (%s, %s, 'LTB', %s, 'India', now(), now(), 'Administrator', 'Administrator')""",
			(COMPANY, COMPANY, currency),
		)


def load(frappe, customers: int, invoices: int, seed: int) -> tuple[float, float]:
	"""Bulk-insert synthetic customers and submitted invoices; returns seconds for each."""
	rng = np.random.default_rng(seed)
	ensure_company(frappe)
	group = frappe.db.get_value("Customer Group", {"is_group": 0}) or "All Customer Groups"
	territory = frappe.db.get_value("Territory", {"is_group": 0}) or "All Territories"
	now = frappe.utils.now()
	started = time.perf_counter()
	names = [f"{PREFIX}C{i:07d}" for i in range(customers)]
	fields = ["name", "customer_name", "customer_type", "customer_group", "territory"]
	fields += ["creation", "modified", "owner", "modified_by", "docstatus"]
	for first in range(0, customers, BATCH):
		rows = [
			(name, name, "Individual", group, territory, now, now, "Administrator", "Administrator", 0)
			for name in names[first : first + BATCH]
		]
		frappe.db.bulk_insert("Customer", fields, rows, chunk_size=BATCH)
		frappe.db.commit()
	customers_seconds = time.perf_counter() - started

	started = time.perf_counter()
	currency = frappe.db.get_value("Company", COMPANY, "default_currency")
	fields = ["name", "customer", "customer_name", "company", "posting_date", "docstatus", "is_return"]
	fields += ["is_consolidated", "currency", "base_net_total", "base_grand_total", "net_total"]
	fields += ["grand_total", "creation", "modified", "owner", "modified_by"]
	for first in range(0, invoices, BATCH):
		size = min(BATCH, invoices - first)
		who = rng.integers(0, customers, size)
		days = rng.integers(0, 730, size)
		amount = np.round(rng.lognormal(3.5, 1.0, size), 2)
		returns = rng.random(size) < 0.04
		amount[returns] = -np.round(amount[returns] * rng.uniform(0.1, 1.0, returns.sum()), 2)
		posting = np.datetime64(AS_OF, "D") - days.astype("timedelta64[D]")
		rows = [
			(
				f"{PREFIX}SI-{first + i:08d}",
				names[c],
				names[c],
				COMPANY,
				str(p),
				1,
				int(r),
				0,
				currency,
				float(a),
				float(a),
				float(a),
				float(a),
				now,
				now,
				"Administrator",
				"Administrator",
			)
			for i, (c, p, r, a) in enumerate(
				zip(who.tolist(), posting.tolist(), returns.tolist(), amount.tolist(), strict=True)
			)
		]
		frappe.db.bulk_insert("Sales Invoice", fields, rows, chunk_size=BATCH)
		frappe.db.commit()
		print(f"\r  invoices {first + size}/{invoices}", end="", flush=True)
	print()
	return customers_seconds, time.perf_counter() - started


def timed(fn, *args, **kwargs):
	started = time.perf_counter()
	result = fn(*args, **kwargs)
	return result, time.perf_counter() - started


def naive_per_customer(frappe, tiers, engine, ladder, options, start, end, customers: list[str]) -> float:
	"""The loop one writes first: per customer a metric query, a state read, an engine call."""
	import pandas as pd

	started = time.perf_counter()
	for customer in customers:
		value = tiers.window_metric(options["metric"], start, end, [customer]).get(customer, 0.0)
		state = frappe.db.get_value(
			"Customer",
			customer,
			["name as customer", "loyalty_crm_tier as tier", "loyalty_crm_tier_since as tier_since"]
			+ ["loyalty_crm_below_since as below_since"],
			as_dict=True,
		)
		state["tier"] = state["tier"] or None
		engine.evaluate_tiers(
			pd.DataFrame([dict(state)]),
			pd.Series([value], index=[customer]),
			ladder,
			AS_OF,
			downgrade_mode=options["downgrade_mode"],
		)
	return time.perf_counter() - started


def main():
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--site", required=True)
	parser.add_argument("--customers", type=int, default=100_000)
	parser.add_argument("--invoices", type=int, default=1_000_000)
	parser.add_argument("--sample", type=int, default=1000, help="customers in the naive loop's sample")
	parser.add_argument("--seed", type=int, default=7)
	parser.add_argument("--cleanup", action="store_true", help="remove the synthetic data and stop")
	parser.add_argument("--keep", action="store_true", help="keep the synthetic data after the run")
	args = parser.parse_args()

	frappe = connect(args.site)
	from loyalty_crm.engine import tiers as engine
	from loyalty_crm.services import tiers

	try:
		if args.cleanup:
			print("cleanup:")
			cleanup(frappe)
			return
		existing = frappe.db.count("Sales Invoice", {"name": ("like", PREFIX + "%")})
		if existing and existing != args.invoices:
			print(f"found {existing} synthetic invoices from an earlier run; removing them first")
			cleanup(frappe)
			existing = 0
		if not existing:
			print(f"loading {args.customers} customers and {args.invoices} invoices under {COMPANY!r} ...")
			c_seconds, i_seconds = load(frappe, args.customers, args.invoices, args.seed)
			print(
				f"  customers: {c_seconds:.1f} s ({args.customers / c_seconds:,.0f} rows/s); "
				f"invoices: {i_seconds:.1f} s ({args.invoices / i_seconds:,.0f} rows/s)"
			)
		else:
			print(f"reusing {existing} synthetic invoices already on the site")

		ladder = tiers.active_ladder()
		if not ladder:
			print("the site has no Loyalty Tiers (or tiers are off): nothing to measure")
			return
		options = tiers.ladder_options()
		start, end = engine.qualification_window(AS_OF, options["window_kind"], options["window_months"])
		site_invoices = frappe.db.count("Sales Invoice", {"docstatus": 1}) + frappe.db.count(
			"POS Invoice", {"docstatus": 1}
		)
		print(
			f"\nladder: {', '.join(row['tier'] for row in ladder)}; metric {options['metric']}, "
			f"window {start} .. {end}; site: {frappe.db.count('Customer')} customers, "
			f"{site_invoices} submitted invoices"
		)

		values, t_sql = timed(tiers.window_metric, options["metric"], start, end)
		state, t_state = timed(tiers.customer_state)
		metric_values = values.reindex(state["customer"].astype(object).to_numpy(), fill_value=0.0)
		result, t_engine = timed(
			engine.evaluate_tiers,
			state[list(engine.CURRENT_COLUMNS)],
			metric_values,
			ladder,
			AS_OF,
			options["downgrade_mode"],
		)
		setwise = t_sql + t_state + t_engine
		print("\nset-wise (one aggregation + one state read + one engine call):")
		print(f"  SQL aggregation   {t_sql:8.2f} s  ({site_invoices / t_sql:,.0f} invoice rows/s)")
		print(f"  state read        {t_state:8.2f} s  ({len(state) / t_state:,.0f} customers/s)")
		print(f"  engine            {t_engine:8.2f} s  ({len(state) / t_engine:,.0f} customers/s)")
		print(f"  total             {setwise:8.2f} s  ({len(state) / setwise:,.0f} customers/s)")
		print(f"  changes: {result['change'].value_counts().to_dict()}")

		summary, t_dry = timed(tiers.evaluate_all, AS_OF, dry_run=True, commit=False)
		print(f"\nevaluate_all, dry run (chunks of {tiers.CHUNK}):  {t_dry:8.2f} s  {summary}")
		summary, t_write = timed(tiers.evaluate_all, AS_OF, commit=False)
		print(f"evaluate_all, writing:                 {t_write:8.2f} s  {summary}")
		again, t_again = timed(tiers.evaluate_all, AS_OF, commit=False)
		print(
			f"evaluate_all, same day again:          {t_again:8.2f} s  history rows {again['history_rows']}"
		)
		frappe.db.rollback()
		print("  (the writing runs were rolled back)")

		synthetic = [name for name in state["customer"] if str(name).startswith(PREFIX)]
		sample = random.Random(args.seed).sample(synthetic, min(args.sample, len(synthetic)))
		t_sample = naive_per_customer(frappe, tiers, engine, ladder, options, start, end, sample)
		t_naive = t_sample / len(sample) * len(state)
		print(
			f"\nbaseline, per customer (query + read + engine) on a sample of {len(sample)}: "
			f"{t_sample:.2f} s, scaled to {len(state)} customers: {t_naive:.1f} s (estimated, linear)"
		)
		print("\nratios (baseline / this):")
		print(f"  set-wise read + engine  {t_naive / setwise:8.1f}x")
		print(f"  evaluate_all, dry run   {t_naive / t_dry:8.1f}x")
		print(f"  evaluate_all, writing   {t_naive / t_write:8.1f}x")
		if not args.keep:
			print("\ncleanup:")
			cleanup(frappe)
	finally:
		frappe.destroy()


if __name__ == "__main__":
	main()
