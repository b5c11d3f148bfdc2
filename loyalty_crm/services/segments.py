"""Customer segments: one aggregated invoice query, the engines, bulk writes of changes only.

A refresh

1. reads every submitted invoice up to the as-of date with ONE aggregated SQL query (Sales
   Invoices that are not POS consolidations, plus POS Invoices; cancelled ones excluded, returns
   kept as negative amounts) into a transactions DataFrame, per company;
2. hands it to the pure engines: RFM metrics and scores (``engine.rfm``), ABC classes
   (``engine.abc``), CLV bands from predicted CLV when the CLV models fit, else from historical
   net revenue, with the basis recorded (``engine.value_bands``), lifecycle
   stages (``engine.lifecycle``), k-means clusters when a segment needs them
   (``engine.clusters``), administrator rules (``engine.segment_rules``);
3. compares the wanted memberships with the stored ``Customer Segment Membership`` rows and
   deletes/inserts only the rows that differ, chunked by customer;
4. updates the Customer cache fields only where they changed (``UPDATE ... CASE``);
5. runs the segments' actions (add members to an Email Group).

Running it twice on the same day writes no membership or Customer row the second time.

Why a membership doctype rather than a child table of the segment: a segment may hold tens of
thousands of customers, and the Customer form, reports and rules ask "which segments is this
customer in?". Separate rows indexed on customer and segment (unique per customer, segment and
company) answer both directions with an index lookup and never load a huge child table.

Customers whose net revenue in the window is zero or less (only returns) are not scored, so
they belong to no segment. The Customer form shows the scores of the customer's main company
(highest net revenue in the window, then company name) and, as "Customer Segment", the primary
membership: the segment with the lowest priority number, then the first by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import frappe
import numpy as np
import pandas as pd
from frappe import _
from frappe.utils import cint, flt, getdate, now_datetime, nowdate
from threadpoolctl import threadpool_limits

from loyalty_crm.engine import abc as abc_engine
from loyalty_crm.engine import lifecycle as lifecycle_engine
from loyalty_crm.engine import rfm as rfm_engine
from loyalty_crm.engine import segment_rules, value_bands
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import bulk, customer_days, packed_read

SEGMENT = "Customer Segment"
MEMBERSHIP = "Customer Segment Membership"
SETTINGS = "Loyalty Settings"
CHUNK_CUSTOMERS = 5000
UPDATE_CHUNK = 1000

METHOD_COLUMN = {
	"RFM Segment": ("rfm_segment", "rfm_segment"),
	"ABC Class": ("abc_class", "abc_class"),
	"CLV Band": ("clv_band", "clv_band"),
	"Cluster": ("cluster", "cluster"),
	"Lifecycle Stage": ("lifecycle_stage", "lifecycle_stage"),
	"Churn Risk Band": ("churn_risk_band", "churn_risk_band"),
}  # method -> (profile column, Customer Segment field holding the wanted value)

# What a membership row remembers of the refresh that wrote it. Stable from day to day unless
# the customer's purchases (or the quintiles) change, so a daily refresh rewrites few rows:
# the last purchase date is kept instead of recency in days, which grows every day.
SNAPSHOT = (
	"rfm_segment",
	"rfm_score",
	"r_score",
	"f_score",
	"m_score",
	"last_purchase",
	"frequency",
	"monetary",
	"abc_class",
	"clv_band",
	"clv_basis",
	"clv_basis_note",
	"lifecycle_stage",
	"cluster",
)
INT_COLUMNS = ("r_score", "f_score", "m_score", "frequency")

# Customer custom field -> profile column (see install.get_custom_fields).
CUSTOMER_FIELDS = {
	"loyalty_crm_segment": "primary_segment",
	"loyalty_crm_r_score": "r_score",
	"loyalty_crm_f_score": "f_score",
	"loyalty_crm_m_score": "m_score",
	"loyalty_crm_rfm_segment": "rfm_segment",
	"loyalty_crm_lifecycle_stage": "lifecycle_stage",
	"loyalty_crm_abc_class": "abc_class",
	"loyalty_crm_clv_band": "clv_band",
}

# Fields a "Rule" segment may test, with their kind for the rule validator.
RULE_FIELDS = {
	"customer_group": segment_rules.TEXT,
	"territory": segment_rules.TEXT,
	"customer_type": segment_rules.TEXT,
	"recency_days": segment_rules.NUMBER,
	"frequency": segment_rules.NUMBER,
	"monetary": segment_rules.NUMBER,
	"tenure_days": segment_rules.NUMBER,
	"r_score": segment_rules.NUMBER,
	"f_score": segment_rules.NUMBER,
	"m_score": segment_rules.NUMBER,
	"rfm_segment": segment_rules.TEXT,
	"abc_class": segment_rules.TEXT,
	"clv_band": segment_rules.TEXT,
	"lifecycle_stage": segment_rules.TEXT,
}


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentSettings:
	window_days: int
	abc_cutoffs: tuple[float, float]
	k_range: tuple[int, int]
	lifecycle: lifecycle_engine.LifecycleSettings
	score_table: list[dict]

	@property
	def rfm_segment_names(self) -> list[str]:
		return [str(rule["segment"]) for rule in self.score_table] + [rfm_engine.OTHERS]


def default_score_table_json() -> str:
	return frappe.as_json(
		[
			{k: list(v) if isinstance(v, tuple) else v for k, v in rule.items()}
			for rule in rfm_engine.DEFAULT_SEGMENT_TABLE
		]
	)


def fill_setting_defaults(doc) -> None:
	"""Existing sites get the new fields empty: an empty (0) value means the default."""
	defaults = {
		"segment_window_days": 365,
		"abc_a_cutoff": 80,
		"abc_b_cutoff": 95,
		"cluster_k_min": 2,
		"cluster_k_max": 8,
		"lifecycle_new_days": 30,
		"lifecycle_at_risk_days": 90,
		"lifecycle_lapsed_days": 180,
		"lifecycle_at_risk_factor": 2,
		"lifecycle_lapsed_factor": 4,
	}
	for fieldname, value in defaults.items():
		if doc.get(fieldname) in (None, "", 0):
			setattr(doc, fieldname, value)
	if not (doc.get("rfm_segment_table") or "").strip():
		doc.rfm_segment_table = default_score_table_json()


def settings_from(doc) -> SegmentSettings:
	"""Validated segment settings; raises EngineError (or frappe.ValidationError) with what is wrong."""
	fill_setting_defaults(doc)
	window = cint(doc.segment_window_days)
	if window < 1:
		frappe.throw(_("Analysis Window (Days) must be at least 1"), title=_("Customer Segments"))
	cutoffs = abc_engine.validate_cutoffs((flt(doc.abc_a_cutoff), flt(doc.abc_b_cutoff)))
	low, high = cint(doc.cluster_k_min), cint(doc.cluster_k_max)
	from loyalty_crm.engine import clusters as cluster_engine  # scikit-learn: only where clusters are made

	limit_low, limit_high = cluster_engine.K_LIMITS
	if not limit_low <= low <= high <= limit_high:
		frappe.throw(
			_("Fewest and Most Clusters must satisfy {0} <= fewest <= most <= {1}; got {2} and {3}").format(
				limit_low, limit_high, low, high
			),
			title=_("Customer Segments"),
		)
	lifecycle = lifecycle_engine.lifecycle_settings(
		{
			"new_days": flt(doc.lifecycle_new_days),
			"at_risk_days": flt(doc.lifecycle_at_risk_days),
			"lapsed_days": flt(doc.lifecycle_lapsed_days),
			"at_risk_factor": flt(doc.lifecycle_at_risk_factor),
			"lapsed_factor": flt(doc.lifecycle_lapsed_factor),
			# 0 (the default) = a share of the global thresholds, decided by the engine
			"at_risk_floor_days": flt(doc.get("lifecycle_at_risk_floor_days")) or None,
			"lapsed_floor_days": flt(doc.get("lifecycle_lapsed_floor_days")) or None,
		}
	)
	table = rfm_engine.validate_segment_table(doc.rfm_segment_table)
	return SegmentSettings(window, cutoffs, (low, high), lifecycle, table)


def validate_settings(doc) -> None:
	"""Loyalty Settings.validate: translated error, nothing saved."""
	try:
		settings_from(doc)
	except EngineError as error:
		frappe.throw(error.translated(_), title=_("Customer Segments"))


def segment_settings() -> SegmentSettings:
	try:
		return settings_from(frappe.get_cached_doc(SETTINGS).as_dict())
	except EngineError as error:
		frappe.throw(error.translated(_), title=_("Customer Segments"))


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def load_transactions(as_of, company: str | None = None) -> pd.DataFrame:
	"""Every submitted invoice up to ``as_of`` (of one company, if given), from the shared read.

	Per company, customer and day, purchases and returns stay two rows (summed separately), so
	the engine can still tell a day of free sales from a day cancelled by a return. The churn
	service and the nightly pipeline read the same customer-days (``services.customer_days``).
	"""
	return customer_days.transactions(customer_days.read(as_of, company), company=None)


def load_customers() -> pd.DataFrame:
	columns = ["customer", "customer_group", "territory", "customer_type"]
	frame = packed_read.read_frame(  # 100k customers: packed, not decoded field by field
		"select name as customer, customer_group, territory, customer_type from `tabCustomer`", {}, columns
	)
	return frame.astype(object).where(frame.notna(), None).set_index("customer")


def load_segments(segment: str | None = None) -> list[dict]:
	filters = {"name": segment} if segment else {}
	segments = frappe.get_all(
		SEGMENT,
		filters=filters,
		fields=[
			"name",
			"enabled",
			"method",
			"priority",
			"company",
			"rfm_segment",
			"abc_class",
			"clv_band",
			"cluster",
			"lifecycle_stage",
			"churn_risk_band",
			"rule",
			"action",
			"email_group",
		],
		order_by="priority asc, name asc",
	)
	if segment and not segments:
		frappe.throw(_("Customer Segment {0} does not exist").format(segment), frappe.DoesNotExistError)
	return segments


# ---------------------------------------------------------------------------------------------
# Computing (no writes)
# ---------------------------------------------------------------------------------------------

PROFILE_COLUMNS = (
	"company",
	"customer",
	"recency_days",
	"frequency",
	"monetary",
	"tenure_days",
	"last_purchase",
	"r_score",
	"f_score",
	"m_score",
	"rfm_score",
	"rfm_segment",
	"abc_class",
	"clv_band",
	"clv_basis",
	"clv_basis_note",
	"lifecycle_stage",
	"cluster",
)

# Membership "CLV Band Basis" options, from the engine's row sources.
CLV_BASIS = {value_bands.PREDICTED: "Predicted CLV", value_bands.HISTORICAL: "Historical Value"}


def clv_band_profile(rows: pd.DataFrame, as_of, customers: pd.Index) -> tuple[pd.DataFrame, str | None]:
	"""Band, basis and (on fallback) the reason, for one company's scored customers.

	The CLV models learn from all of the company's history up to ``as_of`` with the CLV report's
	default horizon and discount rate; customers are banded by predicted CLV when the models fit
	and by historical net revenue (all history) when they cannot, with the engine's reason.
	"""
	from loyalty_crm.services.clv import DEFAULT_DISCOUNT_PERCENT, DEFAULT_HORIZON_MONTHS

	historical = rows.groupby("customer")["amount"].sum().reindex(customers)
	bands, reason = value_bands.model_clv_bands(
		rows,
		as_of,
		historical,
		horizon_months=DEFAULT_HORIZON_MONTHS,
		monthly_discount_rate=DEFAULT_DISCOUNT_PERCENT / 100,
	)
	note = reason.translated(_) if reason else None
	out = pd.DataFrame(index=customers)
	out["clv_band"] = bands["band"]
	out["clv_basis"] = bands["source"].map(CLV_BASIS)
	out["clv_basis_note"] = np.where(bands["source"] == value_bands.HISTORICAL, note, None)
	return out, note


def compute_profiles(
	transactions: pd.DataFrame, as_of, config: SegmentSettings, with_clusters: bool
) -> tuple[pd.DataFrame, list[str]]:
	"""One row per scored (company, customer): metrics, scores and every label. Also notes."""
	notes: list[str] = []
	frames = []
	for company, rows in transactions.groupby("company", sort=True):
		rows = rows[["customer", "date", "amount"]]
		metrics = rfm_engine.customer_metrics(rows, as_of, config.window_days)
		scores = rfm_engine.score_metrics(metrics, config.score_table)
		if scores.empty:
			continue
		profile = scores.join(metrics[["last_purchase", "tenure_days"]])
		profile = profile.rename(columns={"segment": "rfm_segment"})
		profile["abc_class"] = abc_engine.abc_classes(profile["monetary"], config.abc_cutoffs)["abc_class"]
		clv, reason = clv_band_profile(rows, as_of, profile.index)
		profile = profile.join(clv)
		if reason:
			notes.append(_("{0}: CLV bands use historical value ({1})").format(company, reason))
		stages = lifecycle_engine.lifecycle_stages(rows, as_of, config.lifecycle)["stage"]
		profile["lifecycle_stage"] = stages.reindex(profile.index)
		profile["cluster"] = None
		if with_clusters:
			try:
				# One thread: k-means on few features gains nothing from more, and a worker
				# sharing the machine with others is slowed down by oversubscription.
				with threadpool_limits(limits=1):
					from loyalty_crm.engine import clusters as cluster_engine

					clusterer = cluster_engine.CustomerClusterer(k_range=config.k_range).fit(profile)
				profile["cluster"] = clusterer.labels_.astype(str)
			except EngineError as error:
				notes.append(_("{0}: no clusters ({1})").format(company, error.translated(_)))
		profile["company"] = company
		frames.append(profile.reset_index())
	if not frames:
		return pd.DataFrame(columns=list(PROFILE_COLUMNS)), notes
	return pd.concat(frames, ignore_index=True)[list(PROFILE_COLUMNS)], notes


def wanted_memberships(
	profiles: pd.DataFrame,
	customers: pd.DataFrame,
	segments: list[dict],
	churn_scores: pd.DataFrame | None = None,
) -> pd.DataFrame:
	"""Rows (customer, segment, company, snapshot...) every enabled segment should hold.

	``churn_scores`` (customer, company, risk_band) are the scores the nightly run has just
	computed; without them the stored Churn Scores are used."""
	columns = ["customer", "segment", "company", *SNAPSHOT]
	if profiles.empty:
		return pd.DataFrame(columns=columns)
	enriched = profiles.join(customers, on="customer")
	parts = []
	for segment in segments:
		if not segment.enabled:
			continue
		if segment.method == "Churn Risk Band":
			# From the stored Churn Scores, not the profiles: the customers most at risk are
			# often those with no purchase in the window, whom the profiles leave out.
			members = churn_band_members(profiles, segment, churn_scores)
			members.insert(1, "segment", segment.name)
			parts.append(members)
			continue
		rows = enriched if not segment.company else enriched[enriched["company"] == segment.company]
		if segment.method == "Rule":
			mask = apply_segment_rule(rows, segment.rule, segment.name)
		else:
			column, wanted_field = METHOD_COLUMN[segment.method]
			wanted = segment.get(wanted_field)
			if segment.method == "Cluster":
				wanted = str(cint(wanted))
			mask = (rows[column] == wanted).to_numpy(dtype=bool)
		members = rows.loc[mask, ["customer", "company", *SNAPSHOT]].copy()
		members.insert(1, "segment", segment.name)
		parts.append(members)
	if not parts:
		return pd.DataFrame(columns=columns)
	return pd.concat(parts, ignore_index=True)[columns]


def churn_band_members(
	profiles: pd.DataFrame, segment, churn_scores: pd.DataFrame | None = None
) -> pd.DataFrame:
	"""(customer, company, snapshot...) of the Churn Scores in the segment's band (and company);
	the snapshot comes from the customer's profile where there is one, empty otherwise."""
	if churn_scores is not None:
		keep = churn_scores["risk_band"].astype(str).to_numpy() == segment.churn_risk_band
		if segment.company:
			keep &= churn_scores["company"].astype(str).to_numpy() == segment.company
		scored = churn_scores.loc[keep, ["customer", "company"]].astype(object).reset_index(drop=True)
	else:
		filters = {"risk_band": segment.churn_risk_band}
		if segment.company:
			filters["company"] = segment.company
		scored = pd.DataFrame(
			frappe.get_all("Churn Score", filters=filters, fields=["customer", "company"], as_list=True),
			columns=["customer", "company"],
		)
	snapshot = profiles[["customer", "company", *SNAPSHOT]] if len(profiles) else None
	if snapshot is None:
		for column in SNAPSHOT:
			scored[column] = None
		return scored
	return scored.merge(snapshot, on=["customer", "company"], how="left")[["customer", "company", *SNAPSHOT]]


def apply_segment_rule(rows: pd.DataFrame, rule: str, segment_name: str) -> np.ndarray:
	frame = rows[list(RULE_FIELDS)].copy()
	for column, kind in RULE_FIELDS.items():
		if kind == segment_rules.NUMBER:
			frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
		else:
			frame[column] = frame[column].astype(object)
	try:
		return segment_rules.apply_rule(frame, rule).to_numpy(dtype=bool)
	except EngineError as error:
		frappe.throw(
			_("Customer Segment {0}: {1}").format(segment_name, error.translated(_)),
			title=_("Customer Segments"),
		)


# ---------------------------------------------------------------------------------------------
# Writing (changes only)
# ---------------------------------------------------------------------------------------------


def signatures(frame: pd.DataFrame) -> np.ndarray:
	"""One 64-bit hash per membership row over key and snapshot, normalised the same way for rows
	computed in pandas and rows read back from the database. Hashing the normalised columns is
	several times cheaper than joining them into one text per row, which an unchanged nightly
	chunk spent most of its comparison on. Two different rows of a chunk sharing a hash (odds
	about 1 in 10^10 for 20k rows a side) would leave that row as stored until it changes again."""
	normal = pd.DataFrame(
		{column: _text(frame[column]) for column in ("customer", "segment", "company")}, index=frame.index
	)
	for column in SNAPSHOT:
		values = frame[column]
		if column in INT_COLUMNS:
			normal[column] = pd.to_numeric(values, errors="coerce").fillna(0).astype("int64")
		elif column == "monetary":  # in cents, rounded as the Currency field stores it
			amount = pd.to_numeric(values, errors="coerce").fillna(0).astype("float64").round(2)
			normal[column] = np.rint(amount.to_numpy() * 100).astype("int64")
		elif column == "last_purchase":
			days = pd.to_datetime(values).dt.normalize()
			normal[column] = np.where(days.isna(), -1, days.to_numpy("datetime64[D]").astype("int64"))
		else:
			normal[column] = _text(values)
	return pd.util.hash_pandas_object(normal, index=False).to_numpy()


def _text(values: pd.Series) -> pd.Series:
	return values.astype(object).where(values.notna(), "").astype(str)


def existing_memberships(
	segment_names: list[str], company: str | None = None, customers: list[str] | None = None
) -> pd.DataFrame:
	columns = ["name", "customer", "segment", "company", *SNAPSHOT]
	if not segment_names or customers == []:
		return pd.DataFrame(columns=columns)
	conditions = ["segment in %(segments)s"]
	if company:
		conditions.append("company = %(company)s")
	if customers is not None:
		conditions.append("customer in %(customers)s")
	return packed_read.read_frame(
		f"select {', '.join(f'`{c}`' for c in columns)} from `tab{MEMBERSHIP}` where {' and '.join(conditions)}",
		{"segments": tuple(segment_names), "company": company, "customers": tuple(customers or ())},
		columns,
	)


def write_memberships(
	wanted: pd.DataFrame,
	segment_names: list[str],
	company: str | None = None,
	progress: Callable[[int, int], None] | None = None,
	commit: bool = False,
	customers: list[str] | None = None,
) -> tuple[int, int]:
	"""Delete stored rows that are no longer wanted as they are, insert wanted rows not stored.

	Work is done in chunks of customers; with ``commit`` (background job) each chunk commits.
	``customers`` limits the stored rows compared to those customers (a nightly chunk; then
	``wanted`` holds only theirs). Returns (inserted, deleted).
	"""
	stored = existing_memberships(segment_names, company, customers)
	stored_sig = signatures(stored) if len(stored) else np.array([], dtype="uint64")
	wanted_sig = signatures(wanted) if len(wanted) else np.array([], dtype="uint64")
	stale = stored[~np.isin(stored_sig, wanted_sig)] if len(stored) else stored
	new = wanted[~np.isin(wanted_sig, stored_sig)] if len(wanted) else wanted
	touched = sorted(set(stale["customer"]) | set(new["customer"]))
	if not touched:
		if progress:
			progress(0, 0)
		return 0, 0

	now = now_datetime()
	user = frappe.session.user
	fields = [
		"name",
		"creation",
		"modified",
		"owner",
		"modified_by",
		"customer",
		"segment",
		"company",
		*SNAPSHOT,
	]
	for start in range(0, len(touched), CHUNK_CUSTOMERS):
		chunk = set(touched[start : start + CHUNK_CUSTOMERS])
		names = stale.loc[stale["customer"].isin(chunk), "name"].tolist()
		for offset in range(0, len(names), UPDATE_CHUNK):
			frappe.db.delete(MEMBERSHIP, {"name": ("in", names[offset : offset + UPDATE_CHUNK])})
		rows = new[new["customer"].isin(chunk)]
		if len(rows):
			bulk.insert_rows(
				MEMBERSHIP,
				fields,
				(
					(frappe.generate_hash(length=12), now, now, user, user, *_membership_values(record))
					for record in rows.itertuples(index=False, name=None)
				),
			)
		if commit:
			frappe.db.commit()
		if progress:
			progress(min(start + CHUNK_CUSTOMERS, len(touched)), len(touched))
	return len(new), len(stale)


def _membership_values(record: tuple) -> tuple:
	customer, segment, company, *snapshot = record
	values = dict(zip(SNAPSHOT, snapshot, strict=True))
	for column in INT_COLUMNS:
		values[column] = int(values[column]) if pd.notna(values[column]) else 0
	values["monetary"] = round(float(values["monetary"]), 2) if pd.notna(values["monetary"]) else 0
	values["last_purchase"] = (
		pd.Timestamp(values["last_purchase"]).date() if pd.notna(values["last_purchase"]) else None
	)
	for column in (
		"rfm_segment",
		"rfm_score",
		"abc_class",
		"clv_band",
		"clv_basis",
		"clv_basis_note",
		"lifecycle_stage",
		"cluster",
	):
		value = values[column]
		values[column] = (
			None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
		)
	return (customer, segment, company, *(values[column] for column in SNAPSHOT))


def customer_values(profiles: pd.DataFrame, customers: list[str] | None = None) -> pd.DataFrame:
	"""What the Customer cache fields should hold, for every customer that has a value."""
	return with_primary(main_values(profiles), customers)


def main_values(profiles: pd.DataFrame) -> pd.DataFrame:
	"""Per customer, the profile of the main company (highest monetary, then company name)."""
	if profiles.empty:
		main = pd.DataFrame(
			columns=["customer", *[c for c in CUSTOMER_FIELDS.values() if c != "primary_segment"]]
		)
	else:
		main = (
			profiles.assign(_neg=-profiles["monetary"].astype("float64"))
			.sort_values(["customer", "_neg", "company"], kind="mergesort")
			.drop_duplicates("customer")
		)
	return main.set_index("customer")[[c for c in CUSTOMER_FIELDS.values() if c != "primary_segment"]]


def with_primary(
	main: pd.DataFrame, customers: list[str] | None = None, primary: pd.Series | None = None
) -> pd.DataFrame:
	"""The main profile values plus the primary segment from the stored memberships (or from
	``primary`` when the caller knows them: a nightly chunk that has just written its own)."""
	if primary is None:
		primary = primary_segments(customers)
	if customers is not None:
		main = main[main.index.isin(customers)]
	out = pd.DataFrame(index=main.index.union(primary.index))
	out["primary_segment"] = primary.reindex(out.index)
	for column in CUSTOMER_FIELDS.values():
		if column != "primary_segment":
			out[column] = main[column].reindex(out.index)
	return out


def primary_segments(customers: list[str] | None = None) -> pd.Series:
	"""Per customer, the stored membership with the lowest priority number (then segment name)."""
	if customers == []:
		return pd.Series([], dtype=object)
	only = "where m.customer in %(customers)s" if customers is not None else ""
	frame = packed_read.read_frame(
		f"""
		select m.customer, m.segment, s.priority
		from `tab{MEMBERSHIP}` m join `tab{SEGMENT}` s on s.name = m.segment
		{only}
		""",
		{"customers": tuple(customers or ())},
		["customer", "segment", "priority"],
	)
	return primary_of(frame)


def primary_of(memberships: pd.DataFrame) -> pd.Series:
	"""Per customer of ``memberships`` (customer, segment, priority), the segment with the lowest
	priority number, then the first by name."""
	if memberships.empty:
		return pd.Series([], dtype=object)
	frame = memberships[["customer", "segment"]].assign(
		priority=pd.to_numeric(memberships["priority"], errors="coerce")
	)
	frame = frame.sort_values(["customer", "priority", "segment"], kind="mergesort").drop_duplicates(
		"customer"
	)
	return frame.set_index("customer")["segment"]


def update_customers(wanted: pd.DataFrame, customers: list[str] | None = None) -> int:
	"""Write the Customer cache fields where they differ, one CASE update per chunk.

	``customers`` limits the comparison to those customers (a nightly chunk)."""
	if customers == []:
		return 0
	fields = list(CUSTOMER_FIELDS)
	only = "where name in %(customers)s" if customers is not None else ""
	current = packed_read.read_frame(
		f"select name as customer, {', '.join(f'`{f}`' for f in fields)} from `tabCustomer` {only}",
		{"customers": tuple(customers or ())},
		["customer", *fields],
	).set_index("customer")
	target = pd.DataFrame(index=current.index)
	for fieldname, column in CUSTOMER_FIELDS.items():
		target[fieldname] = wanted[column].reindex(current.index) if column in wanted else None

	def normalise(frame: pd.DataFrame) -> pd.DataFrame:
		out = pd.DataFrame(index=frame.index)
		for fieldname, column in CUSTOMER_FIELDS.items():
			values = frame[fieldname]
			if column in INT_COLUMNS:
				out[fieldname] = pd.to_numeric(values, errors="coerce").fillna(0).astype("int64")
			else:
				out[fieldname] = values.astype(object).where(values.notna(), "").astype(str)
		return out

	current_n, target_n = normalise(current), normalise(target)
	changed = (current_n != target_n).any(axis=1)
	rows = target_n[changed]
	if rows.empty:
		return 0

	def value(column: str, raw):
		return int(raw) if column in INT_COLUMNS else (raw or None)

	fields = list(CUSTOMER_FIELDS)
	bulk.update_rows(
		"Customer",
		fields,
		[
			(customer, *(value(CUSTOMER_FIELDS[f], raw) for f, raw in zip(fields, values, strict=True)))
			for customer, values in zip(
				rows.index, rows[fields].itertuples(index=False, name=None), strict=True
			)
		],
	)
	return len(rows)


# ---------------------------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------------------------


@dataclass
class ActionResult:
	added: int = 0
	without_email: int = 0


def add_members_to_email_group(segment: str, email_group: str) -> ActionResult:
	"""Add the segment's members with an email address to the group; never removes anyone
	(unsubscribes and manual additions stay as they are). Customers with No Marketing Messages
	ticked are not added."""
	rows = frappe.db.sql(
		f"""
		select distinct c.name, c.email_id
		from `tab{MEMBERSHIP}` m join `tabCustomer` c on c.name = m.customer
		where m.segment = %s and coalesce(c.loyalty_crm_no_marketing, 0) = 0
		""",
		segment,
	)
	emails = {(email or "").strip() for _customer, email in rows}
	without_email = sum(1 for _customer, email in rows if not (email or "").strip())
	emails.discard("")
	existing = set(frappe.get_all("Email Group Member", filters={"email_group": email_group}, pluck="email"))
	missing = sorted(emails - existing)
	if missing:
		now, user = now_datetime(), frappe.session.user
		frappe.db.bulk_insert(
			"Email Group Member",
			["name", "creation", "modified", "owner", "modified_by", "email_group", "email", "unsubscribed"],
			(
				(frappe.generate_hash(length=10), now, now, user, user, email_group, email, 0)
				for email in missing
			),
		)
		frappe.get_doc("Email Group", email_group).update_total_subscribers()
	return ActionResult(added=len(missing), without_email=without_email)


# ---------------------------------------------------------------------------------------------
# The refresh
# ---------------------------------------------------------------------------------------------


@dataclass
class RefreshResult:
	as_of: str
	customers_scored: int = 0
	inserted: int = 0
	deleted: int = 0
	customers_updated: int = 0
	members: dict[str, int] = field(default_factory=dict)
	email_added: int = 0
	email_skipped: int = 0
	notes: list[str] = field(default_factory=list)
	nothing_to_segment: bool = False
	seconds: float = 0.0

	@property
	def writes(self) -> int:
		return self.inserted + self.deleted + self.customers_updated

	def summary(self) -> str:
		if self.nothing_to_segment:
			head = _("Nothing to segment: no customer has a positive net purchase up to {0}").format(
				self.as_of
			)
		else:
			head = _("{0} customers scored as of {1}").format(self.customers_scored, self.as_of)
		lines = [
			head,
			_("Memberships inserted: {0}, deleted: {1}; customers updated: {2}").format(
				self.inserted, self.deleted, self.customers_updated
			),
		]
		for name, count in self.members.items():
			lines.append(_("{0}: {1} members").format(name, count))
		if self.email_added or self.email_skipped:
			lines.append(
				_("Email group members added: {0}; customers without email skipped: {1}").format(
					self.email_added, self.email_skipped
				)
			)
		return "\n".join([*lines, *self.notes])


def refresh_segments(
	segment: str | None = None,
	company: str | None = None,
	as_of=None,
	progress: Callable[[int, int], None] | None = None,
	commit: bool = False,
) -> RefreshResult:
	"""Recompute memberships of all segments (or one) and the Customer cache fields.

	``company`` limits the memberships written to that company (the scores of every company
	are still computed, so the Customer fields stay consistent whatever the options).
	"""
	started = time.monotonic()
	as_of = getdate(as_of or nowdate())
	result = RefreshResult(as_of=str(as_of))
	config = segment_settings()
	segments = load_segments(segment)
	if company and not frappe.db.exists("Company", company):
		frappe.throw(_("Company {0} does not exist").format(company), frappe.DoesNotExistError)

	profiles, notes = compute(as_of, config, segments)
	result.notes.extend(notes)
	result.customers_scored = int(profiles["customer"].nunique()) if len(profiles) else 0
	result.nothing_to_segment = result.customers_scored == 0

	wanted = wanted_memberships(profiles, load_customers(), segments)
	names = [s.name for s in segments]
	if company:
		wanted = wanted[wanted["company"] == company]
	result.inserted, result.deleted = write_memberships(
		wanted, names, company=company, progress=progress, commit=commit
	)
	result.customers_updated = update_customers(customer_values(profiles))

	counts = dict(
		frappe.db.sql(
			f"select segment, count(*) from `tab{MEMBERSHIP}` group by segment",
		)
	)
	stamp = now_datetime()
	for row in segments:
		result.members[row.name] = cint(counts.get(row.name))
		frappe.db.set_value(
			SEGMENT,
			row.name,
			{"member_count": result.members[row.name], "last_refreshed": stamp},
			update_modified=False,
		)
		if row.enabled and row.action == "Add to Email Group" and row.email_group:
			action = add_members_to_email_group(row.name, row.email_group)
			result.email_added += action.added
			result.email_skipped += action.without_email
	if commit:
		frappe.db.commit()
	result.seconds = time.monotonic() - started
	return result


def compute(
	as_of, config: SegmentSettings, segments: list[dict], transactions: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[str]]:
	"""Profiles of every scored (company, customer) as of a date, without writing anything.

	``transactions`` (from ``customer_days``) spares the read when the nightly run has it."""
	if transactions is None:
		transactions = load_transactions(as_of)
	if transactions.empty:
		return pd.DataFrame(columns=list(PROFILE_COLUMNS)), []
	with_clusters = any(s.enabled and s.method == "Cluster" for s in segments)
	try:
		return compute_profiles(transactions, as_of, config, with_clusters)
	except EngineError as error:
		frappe.throw(error.translated(_), title=_("Customer Segments"))


# ---------------------------------------------------------------------------------------------
# Background jobs and desk entry points
# ---------------------------------------------------------------------------------------------


def job_id(segment: str | None = None) -> str:
	return f"loyalty_crm:segments:refresh:{segment or '*'}"


def enqueue_refresh(segment: str | None = None) -> bool:
	"""Queue a refresh unless the same one is already queued or running; True when queued."""
	from frappe.utils.background_jobs import is_job_enqueued

	if is_job_enqueued(job_id(segment)):
		return False
	frappe.enqueue(
		"loyalty_crm.services.segments.refresh_job",
		queue="long",
		timeout=3600,
		job_id=job_id(segment),
		deduplicate=True,
		segment=segment,
	)
	return True


def refresh_job(segment: str | None = None):
	refresh_segments(segment=segment, commit=True)


@frappe.whitelist()
def refresh_now(segment: str) -> str:
	"""The "Refresh now" button: queue the refresh (the whole computation is shared, so one
	segment costs nearly as much as all of them, but only its memberships are rewritten)."""
	frappe.has_permission(SEGMENT, "write", segment, throw=True)
	if enqueue_refresh(segment):
		return _("Refresh of {0} queued; the member count updates when it finishes").format(segment)
	return _("A refresh of {0} is already queued or running").format(segment)


@frappe.whitelist()
def customer_memberships(customer: str) -> list[dict]:
	"""The Customer form's segment dashboard: memberships with their snapshot, primary first."""
	frappe.has_permission("Customer", "read", customer, throw=True)
	rows = frappe.db.sql(
		f"""
		select m.segment, m.company, s.color, s.priority, s.method, {", ".join(f"m.`{c}`" for c in SNAPSHOT)}
		from `tab{MEMBERSHIP}` m join `tab{SEGMENT}` s on s.name = m.segment
		where m.customer = %s
		order by s.priority asc, m.segment asc, m.company asc
		""",
		customer,
		as_dict=True,
	)
	for row in rows:
		row["method_label"] = _(row["method"])
	return rows
