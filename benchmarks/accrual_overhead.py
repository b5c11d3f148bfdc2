"""Overhead of loyalty_crm's invoice hooks on Sales Invoice submission, on a real site.

Submits N Sales Invoices with the app's doc_events active and N with them removed from the
site's hook table, alternating in rounds so both see the same database and cache state, and
prints the ratio. Everything is rolled back at the end: the site is left as it was.

Run from the bench's sites folder with the bench's Python:
    cd ~/frappe-bench/sites && ../env/bin/python /path/to/loyalty_crm/benchmarks/accrual_overhead.py --site SITE
Target: ratio <= 1.10 for 200 invoices.
"""

from __future__ import annotations

import argparse
import statistics
import time


def submit_invoices(count: int, customer: str) -> float:
	from loyalty_crm.testing import sales_invoice

	started = time.perf_counter()
	for _ in range(count):
		sales_invoice(customer, rate=123.45)
	return time.perf_counter() - started


def without_app_hooks():
	"""The site's doc_events with every loyalty_crm handler taken out (frappe caches them per request)."""
	import frappe

	hooks = frappe.get_doc_hooks()
	saved = {
		doctype: {event: list(handlers) for event, handlers in events.items()}
		for doctype, events in hooks.items()
	}
	for events in hooks.values():
		for event, handlers in events.items():
			events[event] = [h for h in handlers if not h.startswith("loyalty_crm.")]
	return saved


def restore_hooks(saved):
	import frappe

	hooks = frappe.get_doc_hooks()
	hooks.clear()
	hooks.update(saved)


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--invoices", type=int, default=200, help="invoices per variant (default 200)")
	parser.add_argument(
		"--rounds", type=int, default=4, help="alternating rounds the invoices are split into"
	)
	args = parser.parse_args()

	import frappe

	frappe.init(site=args.site)
	frappe.connect()
	try:
		frappe.flags.in_test = True  # ERPNext's test helpers and records, as in run-tests
		from loyalty_crm.testing import before_tests, make_customer, set_settings

		before_tests()
		set_settings()
		# the app as installed: tiers on (default ladder), so their per-invoice upgrade check counts too
		frappe.db.set_single_value("Loyalty Settings", "enable_tiers", 1)
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")
		customer = make_customer("LCRM Bench")
		submit_invoices(5, customer)  # warm caches for both variants

		per_round = max(1, args.invoices // args.rounds)
		with_app, without_app = [], []
		for _ in range(args.rounds):
			with_app.append(submit_invoices(per_round, customer))
			saved = without_app_hooks()
			try:
				without_app.append(submit_invoices(per_round, customer))
			finally:
				restore_hooks(saved)

		total = per_round * args.rounds
		hooked, plain = sum(with_app), sum(without_app)
		print(f"invoices per variant: {total} (in {args.rounds} alternating rounds)")
		print(f"with loyalty_crm hooks:    {hooked:8.2f} s  ({hooked / total * 1000:6.1f} ms/invoice)")
		print(f"without loyalty_crm hooks: {plain:8.2f} s  ({plain / total * 1000:6.1f} ms/invoice)")
		ratios = [a / b for a, b in zip(with_app, without_app, strict=True)]
		print(
			f"overhead ratio: {hooked / plain:.3f} (per round: {', '.join(f'{r:.3f}' for r in ratios)}; median {statistics.median(ratios):.3f}) target <= 1.10"
		)
	finally:
		frappe.db.rollback()
		frappe.destroy()


if __name__ == "__main__":
	main()
