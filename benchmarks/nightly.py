"""The nightly recompute on a real site: one pipeline against today's separate jobs, three sizes,
one and two RQ workers, seconds and peak memory.

    cd /root/frappe-bench/sites
    ../env/bin/python /work/main/benchmarks/nightly.py --site SITE                 # 25k/50k/100k customers
    ../env/bin/python /work/main/benchmarks/nightly.py --site SITE --sizes 2000,4000 --workers 1
    ../env/bin/python /work/main/benchmarks/nightly.py --site SITE --replica       # also read from a replica
    ../env/bin/python /work/main/benchmarks/nightly.py --site SITE --cleanup       # remove its data

Use a site of its own (``add-site.sh``): it starts its own ``bench worker --queue long``
processes, and another worker on the same queue would take chunks and skew the 1-vs-2 figure.

Data (``nightly_data.py``): the demo shop, about ten invoices per customer over two years, one
in ten a POS Invoice, bulk-inserted; the shop grows from size to size (25k customers / ~250k
invoices, then 50k / ~500k, then 100k / ~1M). Benchmark segments (RFM, ABC, lifecycle, cluster,
churn band, rule), a tier ladder when the site has none, and a churn model trained once.

At each size, every measurement runs in a fresh process (its peak RSS is its own), starting from
nothing stored for the benchmark customers ("first": everything is written) and then again
("unchanged": nothing to write):

* **separate**: today's daily jobs one after the other, as the scheduler ran them before the
  pipeline: ``expire_points``, ``refresh_segments``, ``evaluate_all`` (tiers), ``churn.score``;
* **nightly, N workers**: ``services.nightly.run`` (expiry, one read, every stage's engine, the
  chunks queued on ``long``) with N fresh ``bench worker --queue long`` processes, timed until
  the run is Completed. Peak memory: the coordinator's, and the largest chunk job's (a work
  horse forked from its worker, so it includes the worker itself).

Ratios are nightly / separate in the same run; "per 1M" divides seconds by invoices in
millions, so a flat column means linear growth. With ``--replica`` a second ``mariadbd`` is
loaded with a snapshot of the site at the first size and the nightly run reads from it.
The benchmark's data is removed at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import nightly_data as data  # noqa: E402

DEFAULT_SIZES = "25000,50000,100000"


def connect(site: str):
	import frappe

	frappe.init(site=site, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	return frappe


def peak_mb() -> float:
	return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# Measurements, each in a process of its own
# ---------------------------------------------------------------------------------------------


def measure_separate(site: str, as_of: str) -> dict:
	frappe = connect(site)
	from loyalty_crm.services import churn, expiry, segments, tiers

	steps = {}
	started = time.perf_counter()
	for name, call in (
		("expiry", lambda: expiry.expire_points(as_of)),
		("segments", lambda: segments.refresh_segments(as_of=as_of, commit=True)),
		("tiers", lambda: tiers.evaluate_all(as_of, commit=True)),
		("churn", lambda: churn.score(data.COMPANY, as_of=as_of, commit=True)),
	):
		step = time.perf_counter()
		call()
		frappe.db.commit()
		steps[name] = round(time.perf_counter() - step, 2)
	seconds = time.perf_counter() - started
	frappe.destroy()
	return {"seconds": seconds, "peak_mb": peak_mb(), "steps": steps}


def measure_nightly(site: str, as_of: str) -> dict:
	frappe = connect(site)
	from loyalty_crm.services import nightly

	started = time.perf_counter()
	result = nightly.run(as_of=as_of, triggered_by="Benchmark", inline=False, force=True)
	queued = time.perf_counter() - started
	coordinator_peak = peak_mb()
	while True:
		frappe.db.rollback()
		status = frappe.db.get_value(nightly.RUN, result.run, "status")
		if status not in nightly.ACTIVE:
			break
		time.sleep(0.2)
	seconds = time.perf_counter() - started
	run = frappe.get_doc(nightly.RUN, result.run)
	out = {
		"seconds": seconds,
		"coordinator": queued,
		"peak_mb": coordinator_peak,
		"chunk_peak_mb": max((c.peak_mb for c in run.chunks), default=0.0),
		"chunk_seconds": sum(c.seconds for c in run.chunks),
		"status": status,
		"writes": run.writes,
		"read_source": run.read_source,
		"steps": result.timings,
	}
	frappe.destroy()
	return out


def production_env() -> dict:
	"""The environment of the measured processes, as on a production bench: Python caches the
	bytecode it compiles. Some shells (this project's sandboxes) set PYTHONDONTWRITEBYTECODE, and
	then every process, the coordinator and each work horse, compiles Frappe's and the app's
	modules again (0.8 s in the coordinator alone), which a bench never does after its first run."""
	env = dict(os.environ)
	env.pop("PYTHONDONTWRITEBYTECODE", None)
	return env


def child(kind: str, site: str, as_of: str) -> dict:
	"""Run one measurement in a fresh interpreter; its JSON is the last line it prints."""
	output = subprocess.run(
		[sys.executable, os.path.abspath(__file__), "--site", site, "--measure", kind, "--as-of", as_of],
		capture_output=True,
		text=True,
		check=False,
		env=production_env(),
	)
	if output.returncode:
		raise RuntimeError(f"{kind} failed:\n{output.stdout[-3000:]}\n{output.stderr[-3000:]}")
	return json.loads(output.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------------------------


def start_workers(count: int) -> list[subprocess.Popen]:
	bench = os.path.dirname(os.getcwd())
	return [
		subprocess.Popen(
			[
				os.path.join(bench, "env", "bin", "python"),
				"-m",
				"frappe.utils.bench_helper",
				"frappe",
				"worker",
			]
			+ ["--queue", "long"],
			cwd=os.getcwd(),
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
			start_new_session=True,
			env=production_env(),
		)
		for _ in range(count)
	]


def stop_workers(workers: list[subprocess.Popen]) -> None:
	import signal

	for worker in workers:
		if worker.poll() is None:
			os.killpg(worker.pid, signal.SIGTERM)
	for worker in workers:
		try:
			worker.wait(timeout=60)
		except subprocess.TimeoutExpired:
			os.killpg(worker.pid, signal.SIGKILL)


def other_workers(frappe) -> int:
	from frappe.utils.background_jobs import get_workers

	return sum(1 for worker in get_workers() if any(q.name.endswith(":long") for q in worker.queues))


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def fmt(row: dict) -> str:
	return f"{row['seconds']:7.1f} s  {row['peak_mb']:6.0f} MB"


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--site", required=True)
	parser.add_argument(
		"--sizes", default=DEFAULT_SIZES, help="customers at each step (about 10 invoices each)"
	)
	parser.add_argument("--workers", default="1,2", help="worker counts to measure")
	parser.add_argument("--replica", action="store_true", help="at the first size, also read from a replica")
	parser.add_argument("--keep", action="store_true", help="keep the data afterwards")
	parser.add_argument("--cleanup", action="store_true", help="only remove the benchmark's data")
	parser.add_argument("--measure", help=argparse.SUPPRESS)
	parser.add_argument("--as-of", dest="as_of", help=argparse.SUPPRESS)
	args = parser.parse_args()

	if args.measure:  # a child process: one measurement, JSON on the last line
		measure = measure_separate if args.measure == "separate" else measure_nightly
		print(json.dumps(measure(args.site, args.as_of), default=str))
		return 0

	frappe = connect(args.site)
	if args.cleanup:
		data.cleanup(frappe)
		print("benchmark data removed")
		return 0
	if os.environ.get("PYTHONDONTWRITEBYTECODE"):
		print(
			"note: PYTHONDONTWRITEBYTECODE is set here; the measured processes run without it, as on a bench"
		)
	busy = other_workers(frappe)
	if busy:
		print(f"note: {busy} other worker(s) listen on the long queue; they may take chunks")
	sizes = [int(size) for size in args.sizes.split(",")]
	worker_counts = [int(count) for count in args.workers.split(",")]
	started = time.perf_counter()
	shop = data.shop(max(sizes))
	as_of = str(shop["date"].max().date())
	for note in data.ensure_setup(frappe):
		print(note)
	print(
		f"site {args.site}; {os.cpu_count()} CPU(s); as of {as_of}; shop generated in {time.perf_counter() - started:.1f} s"
	)

	results = []
	for index, size in enumerate(sizes):
		added, seconds = data.grow(frappe, shop, size)
		invoices = int((shop["number"] < size).sum())
		print(f"\n== {size:,} customers, {invoices:,} invoices (seeded {added:,} in {seconds:.0f} s)")
		if index == 0:
			from loyalty_crm.services import churn

			frappe.db.set_single_value("Loyalty Settings", "churn_horizon_days", 90)
			frappe.db.commit()
			run = churn.train(data.COMPANY, as_of=as_of, commit=True)
			print(f"churn model {run.name}: {run.status}")
		row = {"customers": size, "invoices": invoices}
		for label in ("separate", *[f"nightly {n}w" for n in worker_counts]):
			workers = start_workers(int(label.split()[1][:-1])) if label != "separate" else []
			try:
				for phase in ("first", "unchanged"):
					if phase == "first":
						data.reset_results(frappe)
					kind = "separate" if label == "separate" else "nightly"
					measured = child(kind, args.site, as_of)
					row[f"{label} {phase}"] = measured
					extra = ""
					if kind == "nightly":
						extra = (
							f"  coordinator {measured['coordinator']:.1f} s, chunks {measured['chunk_seconds']:.1f} s"
							f" (largest chunk job {measured['chunk_peak_mb']:.0f} MB), writes {measured['writes']:,},"
							f" read from {measured['read_source']}, {measured['status']}; {measured['steps']}"
						)
					else:
						extra = f"  {measured['steps']}"
					print(f"{label:12s} {phase:9s} {fmt(measured)}{extra}", flush=True)
			finally:
				stop_workers(workers)
		results.append(row)
		if args.replica and index == 0:
			replica_check(frappe, args.site, as_of)

	print(
		"\nsummary (seconds; ratio = nightly / separate in the same run; per 1M = seconds per million invoices)"
	)
	header = f"{'customers':>10} {'invoices':>10} {'phase':>10} {'separate':>9}"
	for n in worker_counts:
		header += f" {f'{n} worker(s)':>12} {'ratio':>6} {'per 1M':>7}"
	print(header)
	for row in results:
		for phase in ("first", "unchanged"):
			line = f"{row['customers']:>10,} {row['invoices']:>10,} {phase:>10} {row[f'separate {phase}']['seconds']:>9.1f}"
			for n in worker_counts:
				nightly = row[f"nightly {n}w {phase}"]["seconds"]
				ratio = nightly / row[f"separate {phase}"]["seconds"]
				line += f" {nightly:>12.1f} {ratio:>6.2f} {nightly / (row['invoices'] / 1e6):>7.1f}"
			print(line)
	largest = results[-1]
	peaks = [largest[key]["peak_mb"] for key in largest if key.startswith("nightly")]
	chunk_peaks = [largest[key]["chunk_peak_mb"] for key in largest if key.startswith("nightly")]
	print(
		f"\npeak RSS at {largest['customers']:,} customers: coordinator {max(peaks):.0f} MB, "
		f"largest chunk job {max(chunk_peaks):.0f} MB; separate jobs {largest['separate first']['peak_mb']:.0f} MB"
	)
	if not args.keep:
		data.cleanup(frappe)
		print("benchmark data removed")
	frappe.destroy()
	return 0


def replica_check(frappe, site: str, as_of: str) -> None:
	"""The nightly run with a real second MariaDB (a snapshot of the site) as the read replica."""
	from loyalty_crm.testing_replica import replica_in_site_config, start_replica

	started = time.perf_counter()
	server = start_replica()
	print(
		f"replica: snapshot loaded into a second mariadbd on port {server.port} in {time.perf_counter() - started:.0f} s"
	)
	workers = start_workers(1)
	try:
		with replica_in_site_config(server, os.path.join(os.getcwd(), site)):
			data.reset_results(frappe)
			for phase in ("first", "unchanged"):
				measured = child("nightly", site, as_of)
				print(
					f"nightly 1w on replica {phase:9s} {fmt(measured)}  read from {measured['read_source']}, "
					f"writes {measured['writes']:,}, {measured['status']}"
				)
	finally:
		stop_workers(workers)
		server.stop()


if __name__ == "__main__":
	sys.exit(main())
