"""Synthetic data for ``benchmarks/nightly.py``: a shop on a real site, grown in steps.

Customers and submitted invoices come from the demo shop's simulator (customers who fade before
they leave, so churn and lifecycle have signal), about ten invoices per customer over two years,
one in ten rung up at the till (POS Invoice) and the rest on the desk (Sales Invoice). They are
bulk-inserted with SQL (only the columns the nightly stages read; no GL entries) under the
company ``LCRM Bench Nightly`` and names starting ``LCRM-NIGHT-``. Growing the shop adds the
next customers with their invoices, so the three sizes share their first rows.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

COMPANY = "LCRM Bench Nightly"
PREFIX = "LCRM-NIGHT-"
SEGMENT_PREFIX = "LCRM Night "
TIERS = (("LCRM Night Bronze", 1, 0), ("LCRM Night Silver", 2, 400), ("LCRM Night Gold", 3, 1500))
BATCH = 20_000


def shop(customers: int, seed: int = 11) -> pd.DataFrame:
	"""The whole shop's invoices (customer number, date, amount), about 10 per customer."""
	from loyalty_crm.offline.demo_data import demo_transactions

	frame = demo_transactions(n_customers=customers, seed=seed)
	rng = np.random.default_rng(seed)
	extra = max(0, customers * 10 - len(frame))
	if extra:  # more receipts on days the customer already bought
		chosen = frame[frame["amount"] > 0].sample(n=extra, replace=True, random_state=seed)
		share = rng.uniform(0.1, 0.5, size=len(chosen))
		frame = pd.concat(
			[frame, chosen.assign(amount=np.round(chosen["amount"].to_numpy() * share, 2))], ignore_index=True
		)
	frame["number"] = frame["customer"].str.slice(5).astype("int64") - 1
	frame["pos"] = rng.random(len(frame)) < 0.1
	return frame.sort_values(["number", "date"], kind="stable").reset_index(drop=True)


def customer_name(number: int) -> str:
	return f"{PREFIX}{number:07d}"


def seeded_customers(frappe) -> int:
	return frappe.db.count("Customer", {"name": ("like", PREFIX + "%")})


def grow(frappe, data: pd.DataFrame, upto: int) -> tuple[int, float]:
	"""Insert customers [already seeded, upto) and their invoices; returns (invoices, seconds)."""
	from frappe.utils import now_datetime

	started = time.perf_counter()
	first = seeded_customers(frappe)
	if first >= upto:
		return 0, 0.0
	ensure_company(frappe)
	now, admin = now_datetime(), "Administrator"
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	territory = frappe.db.get_value("Territory", {"is_group": 0}, "name")
	names = [customer_name(n) for n in range(first, upto)]
	for start in range(0, len(names), BATCH):
		frappe.db.bulk_insert(
			"Customer",
			["name", "creation", "modified", "owner", "modified_by", "customer_name", "customer_type"]
			+ ["customer_group", "territory"],
			[
				(n, now, now, admin, admin, n, "Individual", group, territory)
				for n in names[start : start + BATCH]
			],
			chunk_size=BATCH,
		)
		frappe.db.commit()
	rows = data[(data["number"] >= first) & (data["number"] < upto)]
	currency = frappe.db.get_value("Company", COMPANY, "default_currency")
	fields = ["name", "creation", "modified", "owner", "modified_by", "customer", "customer_name", "company"]
	fields += ["posting_date", "docstatus", "is_return", "currency", "base_net_total", "net_total"]
	fields += ["base_grand_total", "grand_total"]
	for table, kind in (("Sales Invoice", False), ("POS Invoice", True)):
		part = rows[rows["pos"] == kind]
		customers = [customer_name(n) for n in part["number"].tolist()]
		dates = part["date"].dt.date.tolist()
		amounts = part["amount"].round(2).tolist()
		ids = part.index.tolist()
		extra = ["is_consolidated"] if table == "Sales Invoice" else []
		for start in range(0, len(part), BATCH):
			batch = []
			for i in range(start, min(start + BATCH, len(part))):
				amount = float(amounts[i])
				grand = round(amount * 1.1, 2)
				row = (f"{PREFIX}{'PI' if kind else 'SI'}-{ids[i]:09d}", now, now, admin, admin)
				row += (customers[i], customers[i], COMPANY, dates[i], 1, int(amount < 0), currency)
				row += (amount, amount, grand, grand)
				batch.append(row + ((0,) if extra else ()))
			frappe.db.bulk_insert(table, fields + extra, batch, chunk_size=BATCH)
			frappe.db.commit()
	return len(rows), time.perf_counter() - started


def ensure_company(frappe) -> None:
	if frappe.db.exists("Company", COMPANY):
		return
	currency = frappe.db.get_value("Company", {}, "default_currency") or "INR"
	frappe.db.sql(
		"""insert into `tabCompany` (name, company_name, abbr, default_currency, country,
			creation, modified, owner, modified_by)
		values (%s, %s, 'LCRMN', %s, 'India', now(), now(), 'Administrator', 'Administrator')""",
		(COMPANY, COMPANY, currency),
	)
	frappe.db.commit()


def ensure_setup(frappe) -> list[str]:
	"""Benchmark segments and, when the site has no tier ladder, a three-tier ladder; notes."""
	notes = []
	ensure_company(frappe)
	for name, values in {
		"RFM Champions": {"method": "RFM Segment", "rfm_segment": "Champions", "priority": 1},
		"ABC A": {"method": "ABC Class", "abc_class": "A", "priority": 2},
		"At Risk": {"method": "Lifecycle Stage", "lifecycle_stage": "At Risk", "priority": 3},
		"Cluster 0": {"method": "Cluster", "cluster": 0, "priority": 4},
		"High Churn": {"method": "Churn Risk Band", "churn_risk_band": "High", "priority": 5},
		"Big Recent": {
			"method": "Rule",
			"priority": 6,
			"rule": '[{"field": "monetary", "operator": ">", "value": 500}, {"field": "recency_days", "operator": "<", "value": 60}]',
		},
	}.items():
		if not frappe.db.exists("Customer Segment", SEGMENT_PREFIX + name):
			frappe.get_doc(
				{
					"doctype": "Customer Segment",
					"segment_name": SEGMENT_PREFIX + name,
					"company": COMPANY,
					**values,
				}
			).insert(ignore_permissions=True)
	from loyalty_crm.services import tiers

	if not tiers.active_ladder():
		for name, rank, threshold in TIERS:
			if not frappe.db.exists("Loyalty Tier", name):
				frappe.get_doc(
					{
						"doctype": "Loyalty Tier",
						"tier_name": name,
						"rank": rank,
						"threshold": threshold,
						"multiplier": rank,
						"grace_months": 1,
					}
				).insert(ignore_permissions=True)
		frappe.db.set_single_value("Loyalty Settings", "enable_tiers", 1)
		notes.append("tier ladder created: " + ", ".join(t[0] for t in TIERS))
	frappe.db.commit()
	return notes


def reset_results(frappe) -> None:
	"""Forget what the stages wrote for the benchmark customers, so the next run writes it all."""
	like = PREFIX + "%"
	for sql in (
		"delete from `tabCustomer Segment Membership` where customer like %s",
		"delete from `tabChurn Score` where customer like %s",
		"delete from `tabLoyalty Tier History` where customer like %s",
		"""update `tabCustomer` set loyalty_crm_tier = null, loyalty_crm_tier_since = null,
			loyalty_crm_below_since = null, loyalty_crm_grace_ends = null, loyalty_crm_segment = null,
			loyalty_crm_rfm_segment = null, loyalty_crm_r_score = 0, loyalty_crm_f_score = 0,
			loyalty_crm_m_score = 0, loyalty_crm_lifecycle_stage = null, loyalty_crm_abc_class = null,
			loyalty_crm_clv_band = null, loyalty_crm_churn_risk = null, loyalty_crm_churn_drivers = null,
			loyalty_crm_churn_scored_on = null
			where name like %s""",
	):
		frappe.db.sql(sql, like)
		frappe.db.commit()


def cleanup(frappe) -> None:
	"""Remove every row the benchmark wrote, in slices so the undo log stays small."""
	reset_results(frappe)
	like = PREFIX + "%"
	for table, column in (("tabSales Invoice", "name"), ("tabPOS Invoice", "name"), ("tabCustomer", "name")):
		while True:
			frappe.db.sql(f"delete from `{table}` where `{column}` like %s limit 50000", like)
			deleted = frappe.db._cursor.rowcount
			frappe.db.commit()
			if not deleted or deleted < 0:
				break
	runs = frappe.get_all("Churn Model Run", {"company": COMPANY}, pluck="name")
	for file in frappe.get_all(
		"File",
		{"attached_to_doctype": "Churn Model Run", "attached_to_name": ("in", runs or [""])},
		pluck="name",
	):
		frappe.delete_doc("File", file, force=True, ignore_permissions=True)
	frappe.db.sql("delete from `tabChurn Model Run` where company = %s", COMPANY)
	frappe.db.sql("delete from `tabCustomer Segment` where name like %s", SEGMENT_PREFIX + "%")
	frappe.db.sql("delete from `tabLoyalty Tier` where name like %s", "LCRM Night %")
	runs = frappe.get_all("Loyalty Nightly Run", {"triggered_by": "Benchmark"}, pluck="name")
	for run in runs:
		frappe.db.sql("delete from `tabLoyalty Nightly Chunk` where parent = %s", run)
		frappe.db.sql("delete from `tabLoyalty Nightly Run` where name = %s", run)
	frappe.db.sql("delete from `tabCompany` where name = %s", COMPANY)
	frappe.db.commit()
