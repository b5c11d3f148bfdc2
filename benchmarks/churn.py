"""Churn model: train and score 100k customers / 1M invoices, seconds and peak memory, against baselines.

    python benchmarks/churn.py            # 100k customers, ~1M invoices
    python benchmarks/churn.py --quick    # 10k customers, ~100k invoices

Engine mode (this file, no bench). The data are the demo shop's simulator (customers who fade
before they leave, so there is real churn signal) at 100k customers over two years, with
purchases split over extra same-day receipts until there are about 10 invoices per customer.
Each measured step runs in a fresh child process, so its peak memory (the child's max RSS,
imports included) is its own and not the high-water mark of an earlier step:

* train: ``ChurnModel().fit`` (4 cutoffs, features, BG/NBD per cutoff, both candidates,
  calibration, importances, the final refit);
* score: ``ChurnModel.score`` for every customer from the saved model (``loads``, sha256
  checked): features, BG/NBD and Gamma-Gamma at the scoring date, CLV, drivers, bands.
  Target: under 10 s on 2 cores;
* baseline: the cheapest churn ranking there is, BG/NBD expected purchases from
  ``customer_summary`` + ``BetaGeoModel.fit`` on the same rows in the same run; the ratio
  says what the model's extra features, drivers and CLV cost on top of it;
* loop: features computed with a Python loop per customer (what one writes without
  groupby), on a sample and scaled up linearly (printed as such), against the vectorised
  ``churn_features`` on the same sample.

Site mode: the Frappe half of this benchmark (training and scoring through
``loyalty_crm.services.churn`` on a site's invoices, with the database reads and the Churn
Score writes) is added to this file by the site work as a ``--site SITE`` option; it goes
below, after the engine mode, and reuses ``synthetic`` for its invoices.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SCORE_TARGET_SECONDS = 10.0


def synthetic(customers: int, invoices_per_customer: float = 10.0, seed: int = 1) -> pd.DataFrame:
	"""The demo shop at ``customers`` customers, purchases split into receipts up to ~N invoices each."""
	from loyalty_crm.offline.demo_data import demo_transactions

	frame = demo_transactions(n_customers=customers, seed=seed)
	rng = np.random.default_rng(seed)
	extra = max(0, int(customers * invoices_per_customer) - len(frame))
	if extra:  # one more receipt on the same day for randomly chosen purchases
		chosen = frame[frame["amount"] > 0].sample(n=extra, replace=True, random_state=seed)
		share = rng.uniform(0.1, 0.5, size=len(chosen))
		split = chosen.assign(amount=np.round(chosen["amount"].to_numpy() * share, 2))
		frame = pd.concat([frame, split], ignore_index=True)
	return frame.sort_values(["date", "customer"], kind="stable").reset_index(drop=True)


def _peak_mb() -> float:
	return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _step(name: str, data_path: str, model_path: str, queue) -> None:
	"""One measured step in a child process; reports seconds and the child's peak memory."""
	from loyalty_crm.engine import churn

	frame = pd.read_pickle(data_path)
	start, cpu = time.perf_counter(), time.process_time()
	report: dict = {}
	if name == "train":
		model = churn.ChurnModel().fit(frame)
		seconds = time.perf_counter() - start
		data = churn.dumps(model)
		Path(model_path).write_bytes(data)
		Path(model_path + ".sha256").write_text(hashlib.sha256(data).hexdigest())
		report = {
			"chosen": model.chosen_,
			"rows": model.metrics_["training_rows"],
			"auc": {k: model.metrics_[k]["roc_auc"] for k in ("model", "recency", "bgnbd_expected")},
		}
	elif name == "score":
		data = Path(model_path).read_bytes()
		model = churn.loads(data, Path(model_path + ".sha256").read_text())
		start, cpu = time.perf_counter(), time.process_time()
		scores = model.score(frame)
		seconds = time.perf_counter() - start
		report = {"customers": len(scores), "bands": scores["band"].value_counts().to_dict()}
	elif name == "baseline":
		from loyalty_crm.engine.clv import BetaGeoModel, customer_summary

		summary = customer_summary(frame)
		model = BetaGeoModel().fit(summary)
		expected = model.conditional_expected_number_of_purchases_up_to_time(
			90.0, summary["frequency"], summary["recency"], summary["T"]
		)
		seconds = time.perf_counter() - start
		report = {"customers": len(expected)}
	else:
		raise ValueError(name)
	cpu = time.process_time() - cpu  # CPU time of the step: on a shared, busy machine wall time is not ours
	queue.put({"step": name, "seconds": seconds, "cpu": cpu, "peak_mb": _peak_mb(), **report})


def _measure(name: str, data_path: str, model_path: str) -> dict:
	context = multiprocessing.get_context("spawn")
	queue = context.Queue()
	process = context.Process(target=_step, args=(name, data_path, model_path, queue))
	process.start()
	result = queue.get()
	process.join()
	return result


def _loop_features(frame: pd.DataFrame, cutoff: pd.Timestamp) -> dict:
	"""Recency, frequency, mean spend, median interval and spend trend, one customer at a time."""
	out = {}
	for customer, rows in frame.groupby("customer", sort=False):  # the shape of "one query per customer"
		rows = rows[rows["date"] <= cutoff]
		daily = rows.groupby("date")["amount"].sum()
		days = daily[daily > 0].index
		if len(days) == 0:
			continue
		gaps = np.diff(days.to_numpy()).astype("timedelta64[D]").astype(float)
		recent = rows.loc[rows["date"] > cutoff - pd.Timedelta(days=90), "amount"].sum()
		before = rows.loc[
			(rows["date"] <= cutoff - pd.Timedelta(days=90))
			& (rows["date"] > cutoff - pd.Timedelta(days=180)),
			"amount",
		].sum()
		out[customer] = (
			(cutoff - days[-1]).days,
			len(days),
			daily[daily > 0].mean(),
			float(np.median(gaps)) if len(gaps) else np.nan,
			(recent - before) / before if before > 0 else np.nan,
		)
	return out


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--quick", action="store_true", help="10k customers instead of 100k")
	parser.add_argument("--site", help="site mode: train and score through the site (see below)")
	parser.add_argument("--cleanup", action="store_true", help="site mode: only remove the benchmark data")
	parser.add_argument("--keep", action="store_true", help="site mode: keep the data after the run")
	parser.add_argument(
		"--loop-sample", type=int, default=2000, help="customers in the per-customer loop sample"
	)
	args = parser.parse_args()
	if args.site:
		return site_main(args)
	customers = 10_000 if args.quick else 100_000

	from loyalty_crm.engine.churn import churn_features

	started = time.perf_counter()
	frame = synthetic(customers)
	print(
		f"data: {frame['customer'].nunique():,} customers, {len(frame):,} invoices, "
		f"{frame['date'].min().date()} to {frame['date'].max().date()} "
		f"(made in {time.perf_counter() - started:.1f} s); {os.cpu_count()} CPU(s)"
	)
	with tempfile.TemporaryDirectory() as folder:
		data_path, model_path = str(Path(folder) / "frame.pkl"), str(Path(folder) / "model.joblib")
		frame.to_pickle(data_path)
		results = {name: _measure(name, data_path, model_path) for name in ("baseline", "train", "score")}

	sample_names = frame["customer"].drop_duplicates().sample(n=args.loop_sample, random_state=0)
	sample = frame[frame["customer"].isin(sample_names)]
	cutoff = sample["date"].max()
	start = time.perf_counter()
	loop = _loop_features(sample, cutoff)
	loop_seconds = time.perf_counter() - start
	start = time.perf_counter()
	vectorised = churn_features(sample, cutoff)
	vector_seconds = time.perf_counter() - start
	check = pd.DataFrame.from_dict(
		loop,
		orient="index",
		columns=["recency_days", "frequency", "monetary_mean", "interval_median_days", "spend_trend"],
	).sort_index()
	ours = vectorised.loc[check.index, ["recency_days", "frequency", "monetary_mean", "interval_median_days"]]
	np.testing.assert_allclose(
		check[ours.columns].to_numpy(dtype=float), ours.to_numpy(dtype=float), rtol=1e-9
	)

	train, score, baseline = results["train"], results["score"], results["baseline"]
	print(
		f"train:    {train['seconds']:8.1f} s (CPU {train['cpu']:.1f} s)  peak {train['peak_mb']:7.0f} MB  "
		f"chosen {train['chosen']}, "
		f"{train['rows']:,} training rows"
	)
	print("          validation ROC AUC " + ", ".join(f"{k} {v:.3f}" for k, v in train["auc"].items()))
	print(
		f"score:    {score['seconds']:8.1f} s (CPU {score['cpu']:.1f} s)  peak {score['peak_mb']:7.0f} MB  "
		f"{score['customers']:,} customers "
		f"{json.dumps(score['bands'])}"
	)
	print(
		f"baseline: {baseline['seconds']:8.1f} s (CPU {baseline['cpu']:.1f} s)  peak {baseline['peak_mb']:7.0f} MB  "
		"(customer_summary + BG/NBD fit + expected purchases)"
	)
	print(
		f"ratio score / baseline: {score['seconds'] / baseline['seconds']:.2f} wall, "
		f"{score['cpu'] / baseline['cpu']:.2f} CPU; train / baseline: {train['seconds'] / baseline['seconds']:.2f} "
		f"wall, {train['cpu'] / baseline['cpu']:.2f} CPU"
	)
	scale = customers / args.loop_sample
	print(
		f"features, {args.loop_sample:,}-customer sample: loop {loop_seconds:.2f} s, vectorised {vector_seconds:.2f} s "
		f"(ratio {loop_seconds / vector_seconds:.1f}x; loop scaled to {customers:,} customers: "
		f"~{loop_seconds * scale:.0f} s, linear estimate)"
	)
	verdict = "OK" if score["seconds"] < SCORE_TARGET_SECONDS else "ABOVE TARGET"
	print(
		f"scoring target: under {SCORE_TARGET_SECONDS:.0f} s for {customers:,} customers: {verdict} "
		f"(wall {score['seconds']:.1f} s, CPU {score['cpu']:.1f} s on one thread; load average "
		f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs while it ran)"
	)


# ---------------------------------------------------------------------------------------------
# Site mode: --site SITE (run with the bench's Python from the sites directory)
# ---------------------------------------------------------------------------------------------
#
#     cd ~/frappe-bench/sites
#     ../env/bin/python /work/main/benchmarks/churn.py --site SITE                # 100k / ~1M
#     ../env/bin/python /work/main/benchmarks/churn.py --site SITE --quick        # 10k / ~100k
#     ../env/bin/python /work/main/benchmarks/churn.py --site SITE --cleanup      # remove the data
#
# The same synthetic shop is bulk-inserted (SQL, as benchmarks/segments_refresh.py does) as
# submitted Sales Invoices of the dedicated company ``LCRM Bench Churn`` and customers named
# ``LCRM-CHURN-BENCH-...``; returns become credit notes (negative totals). Then, in this one
# process: ``services.churn.train`` (one aggregated SQL read, side tables, engine fit, model
# file), ``services.churn.score`` twice (the first inserts every Churn Score, the second must
# write nothing), and, as the baseline measured in the same run, the engine alone on the frame
# the service read (``ChurnModel.fit`` and ``score``): the ratios say what the database reads
# and the changed-rows writes cost on top of the engine. Peak memory is the process's max RSS
# after each step (a high-water mark, so it only grows). Everything is removed at the end.

SITE_COMPANY = "LCRM Bench Churn"
SITE_PREFIX = "LCRM-CHURN-BENCH-"


def _site_connect(site: str):
	import frappe

	frappe.init(site=site, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	return frappe


def _site_cleanup(frappe) -> None:
	runs = frappe.get_all("Churn Model Run", {"company": SITE_COMPANY}, pluck="name")
	if runs:
		for file in frappe.get_all(
			"File", {"attached_to_doctype": "Churn Model Run", "attached_to_name": ("in", runs)}, pluck="name"
		):
			frappe.delete_doc("File", file, force=True, ignore_permissions=True)
	frappe.db.sql("delete from `tabChurn Score` where company = %s", SITE_COMPANY)
	frappe.db.sql("delete from `tabChurn Model Run` where company = %s", SITE_COMPANY)
	frappe.db.sql("delete from `tabSales Invoice` where company = %s", SITE_COMPANY)
	frappe.db.sql("delete from `tabCustomer` where name like %s", SITE_PREFIX + "%")
	frappe.db.sql("delete from `tabCompany` where name = %s", SITE_COMPANY)
	frappe.db.commit()


def _site_seed(frappe, frame: pd.DataFrame) -> None:
	from frappe.utils import now_datetime

	now = now_datetime()
	codes, uniques = pd.factorize(frame["customer"], sort=True)
	names = np.array([f"{SITE_PREFIX}{i:07d}" for i in range(len(uniques))], dtype=object)
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	territory = frappe.db.get_value("Territory", {"is_group": 0}, "name")
	currency = frappe.db.get_value("Company", {}, "default_currency") or "INR"
	admin = "Administrator"
	frappe.db.bulk_insert(
		"Company",
		["name", "creation", "modified", "owner", "modified_by", "company_name", "abbr", "default_currency"],
		[(SITE_COMPANY, now, now, admin, admin, SITE_COMPANY, "LCRMBC", currency)],
	)
	frappe.db.bulk_insert(
		"Customer",
		["name", "creation", "modified", "owner", "modified_by", "customer_name", "customer_type"]
		+ ["customer_group", "territory"],
		((n, now, now, admin, admin, n, "Company", group, territory) for n in names),
		chunk_size=5000,
	)
	customers = names[codes]
	dates = frame["date"].dt.date.to_numpy()
	amounts = frame["amount"].round(2).to_numpy()
	frappe.db.bulk_insert(
		"Sales Invoice",
		["name", "creation", "modified", "owner", "modified_by", "customer", "customer_name", "company"]
		+ ["posting_date", "docstatus", "is_return", "is_consolidated", "base_net_total", "net_total"],
		(
			(
				f"{SITE_PREFIX}SI-{i:08d}",
				now,
				now,
				admin,
				admin,
				customers[i],
				customers[i],
				SITE_COMPANY,
				dates[i],
				1,
				int(amounts[i] < 0),
				0,
				float(amounts[i]),
				float(amounts[i]),
			)
			for i in range(len(frame))
		),
		chunk_size=10000,
	)
	frappe.db.commit()


def site_main(args) -> None:
	customers = 10_000 if args.quick else 100_000
	frappe = _site_connect(args.site)
	try:
		_site_cleanup(frappe)
		if args.cleanup:
			print("benchmark data removed")
			return
		from loyalty_crm.engine import churn as engine
		from loyalty_crm.services import churn as service

		started = time.perf_counter()
		frame = synthetic(customers)
		_site_seed(frappe, frame)
		as_of = frame["date"].max().date()
		print(
			f"site {args.site}: seeded {frame['customer'].nunique():,} customers, {len(frame):,} invoices "
			f"up to {as_of} in {time.perf_counter() - started:.0f} s; {os.cpu_count()} CPU(s)"
		)
		frappe.db.set_single_value("Loyalty Settings", "churn_horizon_days", 90)

		start = time.perf_counter()
		run = service.train(SITE_COMPANY, as_of=as_of, commit=True)
		train_seconds = time.perf_counter() - start
		train_peak = _peak_mb()
		if run.status != "Success":
			print(f"training failed: {run.error_message}")
			return
		first = service.score(SITE_COMPANY, as_of=as_of, commit=True)
		score_peak = _peak_mb()
		second = service.score(SITE_COMPANY, as_of=as_of, commit=True)

		start = time.perf_counter()
		read = service.company_transactions(SITE_COMPANY, as_of)
		side = service.side_tables(SITE_COMPANY, as_of)
		read_seconds = time.perf_counter() - start
		start = time.perf_counter()
		model = engine.ChurnModel(horizon_days=90).fit(read, side=side, as_of=pd.Timestamp(as_of))
		engine_train = time.perf_counter() - start
		start = time.perf_counter()
		scores = model.score(read, as_of=pd.Timestamp(as_of), side=side)
		engine_score = time.perf_counter() - start

		print(
			f"train (site):  {train_seconds:8.1f} s  peak {train_peak:7.0f} MB  {run.name} chose {run.chosen_model}; "
			f"ROC AUC model {run.model_roc_auc:.3f}, recency {run.recency_roc_auc:.3f}, "
			f"BG/NBD {run.bgnbd_roc_auc or float('nan'):.3f}"
		)
		print(
			f"score 1:       {first.seconds:8.1f} s  peak {score_peak:7.0f} MB  {first.customers:,} customers, "
			f"inserted {first.inserted:,}; customers updated {first.customers_updated:,}; {json.dumps(first.bands)}"
		)
		print(
			f"score 2:       {second.seconds:8.1f} s  writes {second.writes} (idempotent: {second.writes == 0})"
		)
		print(f"read (SQL + side tables): {read_seconds:.1f} s for {len(read):,} customer-day rows")
		print(
			f"engine alone (baseline): train {engine_train:.1f} s, score {engine_score:.1f} s "
			f"({len(scores):,} customers)"
		)
		print(
			f"ratio site / engine: train {train_seconds / engine_train:.2f}, first score "
			f"{first.seconds / engine_score:.2f}, second score {second.seconds / engine_score:.2f}"
		)
		verdict = "OK" if second.seconds < SCORE_TARGET_SECONDS else "ABOVE TARGET"
		print(f"scoring target (site, unchanged rows): under {SCORE_TARGET_SECONDS:.0f} s: {verdict}")
	finally:
		if not args.keep and not args.cleanup:
			_site_cleanup(frappe)
		frappe.destroy()


if __name__ == "__main__":
	sys.exit(main())
