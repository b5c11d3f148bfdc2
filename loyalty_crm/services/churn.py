"""Churn on a real site: train a company's model, score its customers, keep the scores current.

What the site adds to the pure engine (``loyalty_crm.engine.churn``, which defines churn, the
features, the backtest and the drivers):

* **One read per table.** Transactions are the rows the segment refresh reads
  (``services.segments.load_transactions``: submitted Sales Invoices except POS
  consolidations, plus POS Invoices; cancelled ones never, returns as their own negative
  rows), aggregated per table (see ``company_transactions``). Surveys, complaints (survey answers marked as complaints and ERPNext Issues), points
  balances and tier ranks are one grouped query each. Nothing is read per customer.
* **Training** writes a *Churn Model Run*: window, horizon, cutoffs, the model's and both
  baselines' metrics, calibration, importances, and the fitted model as a private File whose
  sha256 is stored beside it and checked on every load. A failed training is kept as a Failed
  run with its reason; the company's latest *successful* run stays the one that scores, so a
  bad week never leaves customers without a model.
* **Scoring** writes *Churn Score* rows (one per customer and company) and only where the
  score (to 4 decimals) or the band changed, in chunks of customers with a commit per chunk in
  jobs; a second run on the same data writes nothing. ``scored_on`` is therefore the day the
  row last changed. The Customer's Churn Risk, drivers and scored-on date show the customer's
  main company: the one where the customer's predicted value is highest (then company name).
* Refusals (no invoices, no trained model, a model file whose hash does not match,
  thresholds that do not increase) are translated ``frappe.throw`` before anything is
  written, so the previous scores stay as they were.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import frappe
import numpy as np
import pandas as pd
from frappe import _
from frappe.utils import cint, flt, getdate, now_datetime, nowdate

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.services import bulk, customer_days, packed_read

SCORE = "Churn Score"
RUN = "Churn Model Run"
SETTINGS = "Loyalty Settings"
BANDS = ("Low", "Medium", "High", "Critical")
CHUNK_CUSTOMERS = 5000
UPDATE_CHUNK = 1000
DEFAULT_HORIZON_DAYS = 90
DEFAULT_THRESHOLDS = (0.3, 0.5, 0.7)
SCORE_DECIMALS = 4

# Stored per Churn Score row, in this order after the key columns.
VALUE_COLUMNS = (
	"score",
	"risk_band",
	"drivers",
	"drivers_json",
	"expected_purchases",
	"p_alive",
	"predicted_clv",
	"value_at_risk",
	"days_since_last_purchase",
)
CUSTOMER_FIELDS = {
	"loyalty_crm_churn_risk": "risk_band",
	"loyalty_crm_churn_drivers": "drivers",
	"loyalty_crm_churn_scored_on": "scored_on",
}
METRIC_NAMES = ("roc_auc", "pr_auc", "brier", "top_decile_lift")
METRIC_PREFIX = {"model": "model", "recency": "recency", "bgnbd_expected": "bgnbd"}


def engine():
	"""The engine module, imported on first use (it loads scikit-learn, which desk requests
	that only validate settings need not pay for)."""
	from loyalty_crm.engine import churn

	return churn


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChurnSettings:
	horizon_days: int
	thresholds: tuple[float, float, float]
	scoring: bool
	training: bool


def settings_from(doc) -> ChurnSettings:
	"""Validated churn settings; an unset field (a site not migrated yet) means its default."""

	def value(fieldname, default, cast):
		raw = doc.get(fieldname)
		return default if raw in (None, "") else cast(raw)

	horizon = value("churn_horizon_days", DEFAULT_HORIZON_DAYS, cint)
	if horizon < 1:
		frappe.throw(_("Churn Horizon (Days) must be at least 1; got {0}").format(horizon), title=_("Churn"))
	thresholds = tuple(
		value(fieldname, default, flt)
		for fieldname, default in zip(
			("churn_medium_threshold", "churn_high_threshold", "churn_critical_threshold"),
			DEFAULT_THRESHOLDS,
			strict=True,
		)
	)
	if not (0 < thresholds[0] < thresholds[1] < thresholds[2] < 1):
		frappe.throw(
			_(
				"Churn risk thresholds must increase strictly between 0 and 1 (Medium < High < Critical); got {0}, {1} and {2}"
			).format(*thresholds),
			title=_("Churn"),
		)
	return ChurnSettings(
		horizon_days=horizon,
		thresholds=thresholds,
		scoring=bool(value("enable_churn_scoring", 1, cint)),
		training=bool(value("enable_churn_training", 1, cint)),
	)


def validate_settings(doc) -> None:
	"""Loyalty Settings.validate: translated error, nothing saved."""
	settings_from(doc)


def churn_settings() -> ChurnSettings:
	return settings_from(frappe.get_cached_doc(SETTINGS))


# ---------------------------------------------------------------------------------------------
# Reading: transactions and side tables, one grouped query each
# ---------------------------------------------------------------------------------------------


def company_transactions(company: str, as_of) -> pd.DataFrame:
	"""The company's customer-days up to ``as_of``; refuses a company without any invoice.

	The same rows as ``services.segments.load_transactions(as_of, company)`` and the nightly
	run: ``services.customer_days`` (purchases and returns summed apart per customer and day).
	"""
	if not frappe.db.exists("Company", company):
		frappe.throw(_("Company {0} does not exist").format(company), frappe.DoesNotExistError)

	frame = customer_days.transactions(customer_days.read(as_of, company), company)
	if frame.empty:
		frappe.throw(
			_(
				"Company {0} has no submitted Sales or POS Invoices up to {1}: there is nothing to learn churn from or to score"
			).format(frappe.bold(company), frappe.format(getdate(as_of), "Date")),
			title=_("Churn"),
		)
	return frame[["customer", "date", "amount"]].reset_index(drop=True)


def side_tables(company: str, as_of):
	"""Survey answers, complaints, points balances and tier ranks as the engine's SideTables.

	Every table is dated (the engine uses only rows on or before each cutoff): points are the
	ledger's movements per day, tiers the Loyalty Tier History (rank of the tier moved to).
	"""
	values = {"company": company, "as_of": getdate(as_of)}
	surveys = pd.DataFrame(
		frappe.db.sql(
			"""
			select customer, date(submitted_on), if(nps_answered, nps, null), nullif(csat, 0)
			from `tabSatisfaction Survey`
			where docstatus < 2 and customer is not null and customer != ''
				and (company = %(company)s or company is null or company = '')
				and date(submitted_on) <= %(as_of)s
			""",
			values,
		),
		columns=["customer", "date", "nps", "csat"],
	)
	complaints = pd.DataFrame(
		frappe.db.sql(
			"""
			select customer, date(submitted_on) from `tabSatisfaction Survey`
			where docstatus < 2 and complaint = 1 and customer is not null and customer != ''
				and (company = %(company)s or company is null or company = '')
				and date(submitted_on) <= %(as_of)s
			union all
			select customer, opening_date from `tabIssue`
			where customer is not null and customer != ''
				and (company = %(company)s or company is null or company = '')
				and opening_date <= %(as_of)s
			""",
			values,
		),
		columns=["customer", "date"],
	)
	# Dated histories, so each training cutoff sees the balance and tier it had then (undated
	# snapshots would leak today's state into the past; the engine would leave them out).
	# The two long ones (a row per customer and day, a row per tier change) are read packed.
	points = packed_read.read_frame(
		"""
		select customer, posting_date as date, sum(points) as points from `tabLoyalty Ledger Entry`
		where company = %(company)s and posting_date <= %(as_of)s
		group by customer, posting_date
		""",
		values,
		["customer", "date", "points"],
	)
	tiers = packed_read.read_frame(
		"""
		select history.customer, history.change_date as date, coalesce(tier.`rank`, 0) as tier_rank,
			history.creation
		from `tabLoyalty Tier History` history
		left join `tabLoyalty Tier` tier on tier.name = history.to_tier
		where history.change_date <= %(as_of)s
		""",
		values,
		["customer", "date", "tier_rank", "creation"],
	)
	tiers = (  # in the order the query used to give: customer, day, then when it was recorded
		tiers.sort_values(["customer", "date", "creation"], kind="mergesort")
		.drop(columns="creation")
		.reset_index(drop=True)
	)
	for frame in (surveys, complaints, points, tiers):
		frame["date"] = pd.to_datetime(frame["date"])
	for frame, columns in ((surveys, ("nps", "csat")), (points, ("points",)), (tiers, ("tier_rank",))):
		for column in columns:
			frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
	return engine().SideTables(
		surveys=surveys if len(surveys) else None,
		complaints=complaints if len(complaints) else None,
		points=points if len(points) else None,
		tiers=tiers if len(tiers) else None,
	)


def companies_with_invoices() -> list[str]:
	return frappe.db.sql_list(
		"""
		select distinct company from `tabSales Invoice` where docstatus = 1 and is_consolidated = 0
		union select distinct company from `tabPOS Invoice` where docstatus = 1
		order by 1
		"""
	)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def train(company: str, as_of=None, commit: bool = False, progress: Callable[[str], None] | None = None):
	"""Fit the company's churn model and record it as a Churn Model Run (returned).

	Bad settings, an unknown company or one without invoices are refused before anything is
	written. A model the data cannot support (EngineError) or any other failure is recorded as
	a Failed run with its reason: the previous successful run stays the one in use.
	"""
	started = time.monotonic()
	as_of = getdate(as_of or nowdate())
	config = churn_settings()
	say = progress or (lambda message: None)
	say(_("Reading invoices of {0}").format(company))
	transactions = company_transactions(company, as_of)
	side = side_tables(company, as_of)

	run = frappe.get_doc(
		{
			"doctype": RUN,
			"company": company,
			"status": "Running",
			"as_of": as_of,
			"horizon_days": config.horizon_days,
			"trained_on": now_datetime(),
		}
	).insert(ignore_permissions=True)
	if commit:
		frappe.db.commit()
	try:
		say(_("Fitting the churn model on {0} customer-days").format(len(transactions)))
		model = (
			engine()
			.ChurnModel(horizon_days=config.horizon_days)
			.fit(transactions, side=side, as_of=pd.Timestamp(as_of))
		)
		save_model(run, model)
		fill_run(run, model)
		run.status = "Success"
	except EngineError as error:
		run.status = "Failed"
		run.error_message = error.translated(_)
	except Exception:
		# Recorded, not raised: a crash must not leave the company without its previous model.
		run.status = "Failed"
		log = frappe.log_error(title=_("Churn model training failed for {0}").format(company))
		run.error_message = _("Training failed unexpectedly; see the Error Log: {0}").format(
			log.name if log else ""
		)
	run.duration_seconds = time.monotonic() - started
	run.save(ignore_permissions=True)
	if commit:
		frappe.db.commit()
	return run


def save_model(run, model) -> None:
	"""The fitted model as a private File attached to the run, with its sha256 on the run."""
	data = engine().dumps(model)
	file = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": f"{run.name}.joblib",
			"is_private": 1,
			"content": data,
			"attached_to_doctype": RUN,
			"attached_to_name": run.name,
			"attached_to_field": "model_file",
		}
	).insert(ignore_permissions=True)
	run.model_file = file.file_url
	run.model_sha256 = hashlib.sha256(data).hexdigest()


def fill_run(run, model) -> None:
	"""The backtest's figures on the run: window, cutoffs, every metric, calibration, importances."""
	run.chosen_model = model.chosen_
	run.data_start = _date(model.data_start_)
	run.data_end = _date(model.data_end_)
	run.customers = int(model.n_customers_)
	run.training_rows = int(model.n_rows_)
	run.cutoffs = ", ".join(str(_date(cutoff)) for cutoff in model.cutoffs_)
	run.validation_cutoff = _date(model.validation_cutoff_)
	for key, prefix in METRIC_PREFIX.items():
		metrics = model.metrics_.get(key) or {}
		for name in METRIC_NAMES:
			value = metrics.get(name)
			run.set(f"{prefix}_{name}", None if value is None or not np.isfinite(value) else float(value))
	run.candidates = _json(model.metrics_.get("candidates") or {})
	run.metrics_json = _json(model.metrics_)
	run.calibration = _json(model.calibration_.to_dict("records"))
	importances = model.importances_.sort_values(ascending=False)
	run.importances = _json({str(k): float(v) for k, v in importances.items()})


def active_run(company: str) -> str | None:
	"""The company's latest successful run: the model that scores it."""
	rows = frappe.get_all(
		RUN,
		filters={"company": company, "status": "Success"},
		order_by="creation desc",
		limit=1,
		pluck="name",
	)
	return rows[0] if rows else None


def load_model(run_name: str):
	"""The run's model, after checking the file's sha256 against the one recorded at training."""
	run = frappe.db.get_value(RUN, run_name, ["model_file", "model_sha256"], as_dict=True)
	file_name = run and frappe.db.get_value("File", {"file_url": run.model_file}, "name")
	if not file_name:
		frappe.throw(
			_("The model file of Churn Model Run {0} is missing; train the churn model again").format(
				run_name
			),
			title=_("Churn"),
		)
	with open(frappe.get_doc("File", file_name).get_full_path(), "rb") as handle:
		data = handle.read()
	try:
		return engine().loads(data, run.model_sha256)
	except EngineError as error:
		frappe.throw(
			_(
				"Churn Model Run {0}: {1}. The file was changed after training; train the churn model again"
			).format(run_name, error.translated(_)),
			title=_("Churn"),
		)


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


@dataclass
class ScoreResult:
	company: str
	as_of: str
	model_run: str = ""
	customers: int = 0
	inserted: int = 0
	updated: int = 0
	deleted: int = 0
	customers_updated: int = 0
	bands: dict[str, int] = field(default_factory=dict)
	value_at_risk: float = 0.0
	seconds: float = 0.0

	@property
	def writes(self) -> int:
		return self.inserted + self.updated + self.deleted

	def summary(self) -> str:
		lines = [
			_("{0}: {1} customers scored as of {2} with {3}").format(
				self.company, self.customers, self.as_of, self.model_run
			),
			_("Churn Scores inserted: {0}, changed: {1}, removed: {2}; customers updated: {3}").format(
				self.inserted, self.updated, self.deleted, self.customers_updated
			),
			", ".join(_("{0}: {1}").format(_(band), self.bands.get(band, 0)) for band in BANDS),
			_("Value at risk: {0}").format(flt(self.value_at_risk, 2)),
		]
		return "\n".join(lines)


def compute_scores(
	company: str, as_of, run_name: str | None = None, transactions: pd.DataFrame | None = None, side=None
) -> tuple[pd.DataFrame, str]:
	"""The engine's scores for every customer of the company, shaped as Churn Score rows (no writes).

	``transactions`` and ``side`` are the nightly run's shared read; otherwise read here."""
	config = churn_settings()
	run_name = run_name or active_run(company)
	if not run_name:
		frappe.throw(
			_(
				'{0} has no trained churn model yet: train one first (bench --site SITE loyalty-crm train-churn --company "{0}")'
			).format(company),
			title=_("Churn"),
		)
	if transactions is None:
		transactions = company_transactions(company, as_of)
	if side is None:
		side = side_tables(company, as_of)
	model = load_model(run_name)
	try:
		scores = model.score(
			transactions,
			as_of=pd.Timestamp(getdate(as_of)),
			side=side,
			thresholds=config.thresholds,
		)
	except EngineError as error:
		frappe.throw(error.translated(_), title=_("Churn"))
	return shape_rows(scores), run_name


def shape_rows(scores: pd.DataFrame) -> pd.DataFrame:
	"""Engine output -> stored values: rounded numbers, translated driver text and JSON."""
	out = pd.DataFrame({"customer": scores["customer"].astype(str).to_numpy()})
	out["score"] = scores["score"].astype("float64").round(SCORE_DECIMALS).to_numpy()
	out["risk_band"] = scores["band"].astype(str).to_numpy()
	translated: dict[str, str] = {}  # one _() per sentence template, not per customer
	out["drivers"] = [driver_text(drivers, translated) for drivers in scores["drivers"]]
	out["drivers_json"] = [_drivers_json(drivers) for drivers in scores["drivers"]]
	# Frappe's Float and Currency columns are NOT NULL: a value the engine could not compute
	# (BG/NBD not fitted on too little data) is stored as 0, as the field descriptions say.
	for column in ("expected_purchases", "p_alive"):
		out[column] = np.nan_to_num(_rounded(scores[column], 4), nan=0.0)
	for column in ("predicted_clv", "value_at_risk"):
		out[column] = np.nan_to_num(_rounded(scores[column], 2), nan=0.0)
	days = pd.to_numeric(scores["days_since_last_purchase"], errors="coerce")
	out["days_since_last_purchase"] = days.round().astype("Int64").to_numpy()
	return out


def driver_text(drivers, translated: dict[str, str] | None = None) -> str:
	"""The drivers in the site's language, one per line (``translated`` caches the templates)."""
	translated = {} if translated is None else translated
	lines = []
	for driver in drivers or []:
		message = driver["message"]
		template = translated.get(message)
		if template is None:
			template = translated[message] = _(message)
		lines.append(template.format(*[_plain(v) for v in driver.get("values") or []]))
	return "\n".join(lines)


def _drivers_json(drivers) -> str:
	"""``_json`` of the drivers; the common case (all numbers finite) without the recursive walk."""
	text = json.dumps(list(drivers or []), default=_json_default, ensure_ascii=False, sort_keys=True)
	return _json(list(drivers or [])) if "NaN" in text or "Infinity" in text else text


def score(company: str, as_of=None, progress=None, commit: bool = False) -> ScoreResult:
	"""Score every customer of the company with its active model; write changed rows only."""
	started = time.monotonic()
	as_of = getdate(as_of or nowdate())
	wanted, run_name = compute_scores(company, as_of)
	result = ScoreResult(company=company, as_of=str(as_of), model_run=run_name, customers=len(wanted))
	result.inserted, result.updated, result.deleted = write_scores(
		company, wanted, run_name, as_of, progress=progress, commit=commit
	)
	result.customers_updated = update_customers()
	counts = wanted["risk_band"].value_counts()
	result.bands = {band: int(counts.get(band, 0)) for band in BANDS}
	result.value_at_risk = float(pd.to_numeric(wanted["value_at_risk"], errors="coerce").fillna(0).sum())
	if commit:
		frappe.db.commit()
	result.seconds = time.monotonic() - started
	return result


def stored_scores(company: str, customers: list[str] | None = None) -> pd.DataFrame:
	only = " and customer in %(customers)s" if customers is not None else ""
	frame = packed_read.read_frame(
		f"select name, customer, score, risk_band from `tab{SCORE}` where company = %(company)s{only}",
		{"company": company, "customers": tuple(customers or ("",))},
		["name", "customer", "score", "risk_band"],
	)
	frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype("float64").round(SCORE_DECIMALS)
	return frame


def write_scores(
	company: str,
	wanted: pd.DataFrame,
	run_name: str,
	as_of,
	progress=None,
	commit: bool = False,
	customers: list[str] | None = None,
) -> tuple[int, int, int]:
	"""Insert new rows, rewrite rows whose score or band changed, delete customers no longer
	scored; chunked by customer, a commit per chunk when ``commit``. ``customers`` limits the
	stored rows compared (a nightly chunk; ``wanted`` then holds only theirs). Returns
	(inserted, updated, deleted)."""
	stored = stored_scores(company, customers).set_index("customer")
	joined = wanted.join(stored, on="customer", rsuffix="_stored")
	is_new = joined["name"].isna().to_numpy()
	changed = ~is_new & (
		(joined["score"].to_numpy() != joined["score_stored"].to_numpy())
		| (joined["risk_band"].astype(str).to_numpy() != joined["risk_band_stored"].astype(str).to_numpy())
	)
	writes = joined[is_new | changed].copy()
	writes["_existing"] = ~is_new[is_new | changed]
	gone = stored[~stored.index.isin(set(wanted["customer"]))]
	touched = sorted(set(writes["customer"]) | set(gone.index))
	if not touched:
		if progress:
			progress(0, 0)
		return 0, 0, 0
	writes["name"] = [
		name if isinstance(name, str) else frappe.generate_hash(length=12) for name in writes["name"]
	]
	now, user = now_datetime(), frappe.session.user
	fields = ["name", "creation", "modified", "owner", "modified_by", "customer", "company", *VALUE_COLUMNS]
	fields += ["model_run", "scored_on"]
	for start in range(0, len(touched), CHUNK_CUSTOMERS):
		chunk = set(touched[start : start + CHUNK_CUSTOMERS])
		rows = writes[writes["customer"].isin(chunk)]
		# only rows that exist are deleted: a DELETE of names not in the table takes gap locks
		# that deadlock with another chunk's inserts (seen with two workers at 1M invoices)
		names = [*rows.loc[rows["_existing"], "name"], *gone.loc[gone.index.isin(chunk), "name"]]
		for offset in range(0, len(names), UPDATE_CHUNK):
			frappe.db.delete(SCORE, {"name": ("in", names[offset : offset + UPDATE_CHUNK])})
		if len(rows):
			bulk.insert_rows(
				SCORE,
				fields,
				(
					(row["name"], now, now, user, user, row["customer"], company)
					+ tuple(_db_value(row[column]) for column in VALUE_COLUMNS)
					+ (run_name, as_of)
					for row in rows.to_dict("records")
				),
			)
		if commit:
			frappe.db.commit()
		if progress:
			progress(min(start + CHUNK_CUSTOMERS, len(touched)), len(touched))
	return int(is_new.sum()), int(changed.sum()), len(gone)


def update_customers(customers: list[str] | None = None) -> int:
	"""Customer churn fields from the main company's row, written only where they differ.

	``customers`` limits the comparison to those customers (a nightly chunk)."""
	if customers == []:
		return 0
	values = {"customers": tuple(customers or ("",))}
	only = " where customer in %(customers)s" if customers is not None else ""
	scores = packed_read.read_frame(
		f"""
		select customer, company, risk_band, drivers, scored_on, coalesce(predicted_clv, 0) as clv
		from `tab{SCORE}`{only}
		""",
		values,
		["customer", "company", "risk_band", "drivers", "scored_on", "clv"],
	)
	scores["clv"] = scores["clv"].astype("float64")
	main = (
		scores.assign(_neg=-scores["clv"])
		.sort_values(["customer", "_neg", "company"], kind="mergesort")
		.drop_duplicates("customer")
		.set_index("customer")
	)
	fieldnames = list(CUSTOMER_FIELDS)
	only = " where name in %(customers)s" if customers is not None else ""
	current = packed_read.read_frame(
		f"select name as customer, {', '.join(f'`{f}`' for f in fieldnames)} from `tabCustomer`{only}",
		values,
		["customer", *fieldnames],
	).set_index("customer")
	target = pd.DataFrame(index=current.index)
	for fieldname, column in CUSTOMER_FIELDS.items():
		target[fieldname] = main[column].reindex(current.index)

	def text(frame: pd.DataFrame) -> pd.DataFrame:
		return frame.astype(object).where(frame.notna(), "").astype(str)

	changed = (text(current) != text(target)).any(axis=1)
	target = target[changed]
	bulk.update_rows(
		"Customer",
		fieldnames,
		[
			(customer, *(None if pd.isna(v) or v == "" else v for v in values))
			for customer, values in zip(
				target.index, target[fieldnames].itertuples(index=False, name=None), strict=True
			)
		],
	)
	return len(target)


# ---------------------------------------------------------------------------------------------
# Background jobs
# ---------------------------------------------------------------------------------------------


def job_id(kind: str) -> str:
	return f"loyalty_crm:churn:{kind}"


def enqueue(kind: str) -> bool:
	"""Queue the training or scoring of every company unless it is already queued or running."""
	from frappe.utils.background_jobs import is_job_enqueued

	if is_job_enqueued(job_id(kind)):
		return False
	frappe.enqueue(
		f"loyalty_crm.services.churn.{kind}_job",
		queue="long",
		timeout=4 * 3600,
		job_id=job_id(kind),
		deduplicate=True,
	)
	return True


def train_job():
	"""Train every company with invoices, then score those whose training succeeded."""
	for company in companies_with_invoices():
		try:
			run = train(company, commit=True)
			if run.status == "Success":
				score(company, commit=True)
		except Exception:
			frappe.db.rollback()
			frappe.log_error(title=_("Churn training or scoring failed for {0}").format(company))


def score_job():
	"""Score every company that has a trained model; a failure in one does not stop the others."""
	for company in companies_with_invoices():
		if not active_run(company):
			continue
		try:
			score(company, commit=True)
		except Exception:
			frappe.db.rollback()
			frappe.log_error(title=_("Churn scoring failed for {0}").format(company))


def train_churn_weekly():
	"""Scheduler (weekly): retrain (and then score) in the background when Loyalty Settings ask for it."""
	if churn_settings().training:
		enqueue("train")


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _date(value):
	return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _plain(value):
	"""numpy scalars -> Python, so JSON and str.format see ordinary numbers."""
	if isinstance(value, np.generic):
		return value.item()
	return value


def _json(value) -> str:
	return json.dumps(_finite(value), default=_json_default, ensure_ascii=False, sort_keys=True)


def _finite(value):
	"""NaN/inf -> None, recursively: JSON has no NaN and the desk's JSON.parse rejects it."""
	if isinstance(value, dict):
		return {str(k): _finite(v) for k, v in value.items()}
	if isinstance(value, list | tuple):
		return [_finite(v) for v in value]
	value = _plain(value)
	if isinstance(value, float) and not np.isfinite(value):
		return None
	return value


def _json_default(value):
	if isinstance(value, np.generic):
		return value.item()
	if isinstance(value, pd.Timestamp):
		return str(value.date())
	if isinstance(value, np.ndarray):
		return value.tolist()
	return str(value)


def _rounded(series: pd.Series, digits: int) -> np.ndarray:
	values = pd.to_numeric(series, errors="coerce").astype("float64").round(digits)
	return values.to_numpy()


def _db_value(value):
	if value is None or value is pd.NA:
		return None
	if isinstance(value, float) and np.isnan(value):
		return None
	return _plain(value)
