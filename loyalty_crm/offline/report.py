"""A self-contained HTML report: one file to e-mail, charts embedded as PNG, no scripts.

Written for a shop owner first (KPI cards, pictures, top customers) and an analyst second
(model parameters and log-likelihoods, the holdout check).
"""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from loyalty_crm import __version__  # noqa: E402

ACCENT = "#2563eb"
ACCENT_2 = "#f59e0b"
CSS = """
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;
color:#1f2937;background:#f3f4f6}header{background:linear-gradient(120deg,#1e3a8a,#2563eb);color:#fff;
padding:28px 40px}header h1{margin:0 0 4px;font-size:26px}header p{margin:0;opacity:.85}
main{max-width:1180px;margin:0 auto;padding:24px 24px 48px}.cards{display:grid;
grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px;margin:-44px 0 24px}
.card{background:#fff;border-radius:12px;padding:16px 18px;box-shadow:0 2px 8px rgba(0,0,0,.08)}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#6b7280}
.card .value{font-size:26px;font-weight:650;margin-top:2px}.card .hint{font-size:12px;color:#6b7280}
section{background:#fff;border-radius:12px;padding:20px 24px;margin-bottom:20px;
box-shadow:0 1px 4px rgba(0,0,0,.06)}h2{font-size:18px;margin:0 0 12px}.grid{display:grid;
grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:20px}img{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{padding:7px 10px;text-align:right;
border-bottom:1px solid #e5e7eb}th{background:#f9fafb;font-weight:600}td:first-child,th:first-child{text-align:left}
.note{background:#fff7ed;border-left:4px solid #f59e0b;padding:10px 14px;border-radius:6px;margin:8px 0}
.muted{color:#6b7280;font-size:13px}footer{text-align:center;color:#9ca3af;font-size:12px;padding:12px}
"""


def render_report(result, churn=None) -> str:
	"""The full HTML page for an :class:`~loyalty_crm.offline.pipeline.AnalysisResult`.

	``churn`` (a :class:`~loyalty_crm.offline.churn.ChurnResult`) adds the churn section.
	"""
	settings = result.settings
	sections = [
		_notes(result.notes),
		_section(
			"Customers over time",
			_grid(_img(_monthly_chart(result.monthly)), _img(_clv_chart(result.customers))),
		),
		_section(
			"Retention",
			_grid(_img(_heatmap(result.retention)), _img(_retention_chart(result.retention_curve))),
			"Share of each monthly cohort (customers by month of first purchase) buying again k months later. "
			"Blank cells: the cohort is not that old yet.",
		),
		_section("Most valuable customers", _top_customers(result.customers)),
		_section("Models", _model_tables(result)),
		_holdout_section(result.holdout),
	]
	if churn is not None:
		sections.insert(4, _churn_section(churn))
	title = "Customer value &amp; loyalty report"
	period = f"{settings['observation_start']} to {settings['observation_end']}"
	return (
		f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
		f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{title}</title>"
		f"<style>{CSS}</style></head><body><header><h1>{title}</h1><p>Purchases {period} &middot; "
		f"CLV horizon {settings['horizon_months']} months, {settings['monthly_discount_rate']:.2%} monthly discount"
		f"</p></header><main>{_cards(result.kpis)}{''.join(sections)}</main>"
		f"<footer>loyalty_crm {__version__} &middot; BG/NBD and Gamma-Gamma (Fader, Hardie &amp; Lee 2005)"
		f"</footer></body></html>"
	)


# --- building blocks -------------------------------------------------------------------------


def _cards(kpis: dict) -> str:
	cards = [
		("Customers", f"{kpis['customers']:,}", f"{kpis['purchases']:,} purchase days"),
		("Net revenue", _money(kpis["net_revenue"]), f"avg purchase {_money(kpis['average_purchase'])}"),
		("Repeat rate", f"{kpis['repeat_purchase_rate']:.0%}", "bought on 2+ days"),
		("Top 20% share", _percent(kpis["top20_revenue_share"]), "of net revenue"),
		("Still active", _number(kpis["expected_active"]), "expected, from P(alive)"),
		("Predicted CLV", _money(kpis["predicted_clv_total"]), f"mean {_money(kpis['predicted_clv_mean'])}"),
	]
	body = "".join(
		f"<div class='card'><div class='label'>{label}</div><div class='value'>{value}</div>"
		f"<div class='hint'>{hint}</div></div>"
		for label, value, hint in cards
	)
	return f"<div class='cards'>{body}</div>"


def _notes(notes: list[str]) -> str:
	if not notes:
		return ""
	items = "".join(f"<div class='note'>{html.escape(note)}</div>" for note in notes)
	return _section("Notes", items)


def _section(title: str, body: str, caption: str = "") -> str:
	text = f"<p class='muted'>{caption}</p>" if caption else ""
	return f"<section><h2>{title}</h2>{text}{body}</section>"


def _grid(*items: str) -> str:
	return "<div class='grid'>" + "".join(f"<div>{item}</div>" for item in items) + "</div>"


def _table(frame: pd.DataFrame) -> str:
	head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
	rows = "".join(
		"<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in [index, *row]) + "</tr>"
		for index, row in zip(frame.index, frame.itertuples(index=False), strict=True)
	)
	return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _top_customers(customers: pd.DataFrame, n: int = 15) -> str:
	has_clv = customers["clv"].notna().any()
	key = "clv" if has_clv else "historical_value"
	top = customers.sort_values(key, ascending=False).head(n)
	table = pd.DataFrame(
		{
			"Segment": top["segment"].fillna("") if "segment" in top else "",
			"Purchases": top["frequency"] + 1,
			"Last purchase": top["last_purchase"].dt.strftime("%Y-%m-%d"),
			"Spent so far": top["historical_value"].map(_money),
			"P(alive)": top["p_alive"].map(_percent),
			"Predicted CLV": top["clv"].map(_money),
		},
		index=top.index.rename("Customer"),
	)
	caption = (
		"Ranked by predicted CLV."
		if has_clv
		else "Ranked by historical value (no CLV model could be fitted)."
	)
	return f"<p class='muted'>{caption}</p>" + _table(table)


def _model_tables(result) -> str:
	parts = []
	if result.bgnbd:
		p = result.bgnbd["params"]
		parts.append(
			"<h3>BG/NBD (purchase frequency, time unit = days)</h3>"
			+ _params_table(p, result.bgnbd["log_likelihood"], result.bgnbd["customers"])
			+ f"<p class='muted'>Mean purchase rate of an active customer r/&alpha; = {p['r'] / p['alpha']:.4f} per day; "
			f"mean drop-out chance after a purchase a/(a+b) = {p['a'] / (p['a'] + p['b']):.1%}.</p>"
		)
	if result.gamma_gamma:
		p = result.gamma_gamma["params"]
		mean = p["p"] * p["v"] / (p["q"] - 1) if p["q"] > 1 else float("nan")
		parts.append(
			"<h3>Gamma-Gamma (spend per purchase; v is the paper's &gamma;)</h3>"
			+ _params_table(p, result.gamma_gamma["log_likelihood"], result.gamma_gamma["customers"])
			+ f"<p class='muted'>Population mean spend per purchase p&middot;v/(q&minus;1) = {_money(mean)}.</p>"
		)
	return "".join(parts) or "<p>No model could be fitted; see the notes above.</p>"


def _params_table(params: dict, log_likelihood: float, customers: int) -> str:
	rows = {
		**{name: f"{value:.4f}" for name, value in params.items()},
		"log-likelihood": f"{log_likelihood:.2f}",
	}
	rows["customers fitted"] = f"{customers:,}"
	return _table(pd.DataFrame({"value": list(rows.values())}, index=pd.Index(list(rows), name="parameter")))


def _holdout_section(holdout: dict | None) -> str:
	if not holdout:
		return ""
	text = (
		f"{holdout['rows']:,} transaction rows after the analysis end were held out ({holdout['days']:.0f} days). "
		f"The model predicted {holdout['predicted_purchases']:,.0f} purchase days for known customers; "
		f"{holdout['actual_purchases']:,.0f} happened."
	)
	return _section("Holdout check", _img(_holdout_chart(holdout["by_frequency"])), text)


def _churn_section(churn) -> str:
	"""Who is slipping away, why, how much value is at stake, and how far to trust the model."""
	from loyalty_crm.engine.churn import FEATURES, drivers_text
	from loyalty_crm.offline.churn import metrics_table

	model, settings = churn.model, churn.settings
	metrics = model.metrics_
	table = metrics_table(model).map(lambda value: "–" if pd.isna(value) else f"{value:.3f}")
	better = max(metrics["recency"]["roc_auc"], metrics["bgnbd_expected"]["roc_auc"])
	verdict = (
		f"The model ranks churners better than the better baseline (ROC AUC {metrics['model']['roc_auc']:.3f} "
		f"against {better:.3f})."
		if metrics["model"]["roc_auc"] > better
		else f"The model does not beat the better baseline here (ROC AUC {metrics['model']['roc_auc']:.3f} "
		f"against {better:.3f}); rank by that baseline instead."
	)
	intro = (
		f"A customer counts as churned if they buy nothing in the {settings['horizon_days']} days after a date. "
		f"Scores are as of {settings['as_of']}: the probability of buying nothing in the next "
		f"{settings['horizon_days']} days, calibrated so that 0.3 means about 30 %. Trained by backtest on "
		f"{len(model.cutoffs_)} past cutoffs ({', '.join(str(c.date()) for c in model.cutoffs_)}); validated on "
		f"{metrics['validation_rows']:,} other customers at {model.validation_cutoff_.date()}, whose next "
		f"{settings['horizon_days']} days the model never saw. Chosen: {model.chosen_.replace('_', ' ')}. {verdict}"
	)
	bands = churn.bands.copy()
	band_table = pd.DataFrame(
		{
			"Customers": bands["customers"].map(lambda v: f"{v:,}"),
			"Mean score": bands["mean_score"].map(_percent),
			"Value at risk": bands["value_at_risk"].map(_money),
		},
		index=bands.index.rename("Band"),
	)
	thresholds = ", ".join(f"{t:g}" for t in settings["thresholds"])
	at_risk = churn.scores[churn.scores["band"].isin(["High", "Critical"])]
	top = at_risk.sort_values(["value_at_risk", "customer"], ascending=[False, True]).head(15)
	top_table = pd.DataFrame(
		{
			"Band": top["band"].to_numpy(),
			"Score": top["score"].map(_percent).to_numpy(),
			"Days since purchase": top["days_since_last_purchase"].to_numpy(),
			"Predicted CLV": top["predicted_clv"].map(_money).to_numpy(),
			"Value at risk": top["value_at_risk"].map(_money).to_numpy(),
			"Why": [drivers_text(d) for d in top["drivers"]],
		},
		index=pd.Index(top["customer"].to_numpy(), name="Customer"),
	)
	holdout = ""
	if churn.holdout and churn.holdout.get("complete") and "roc_auc" in churn.holdout:
		h = churn.holdout
		holdout = (
			f"<p class='muted'>Held-out check: of the {h['customers']:,} customers scored on {settings['as_of']}, "
			f"{h['churn_rate']:.0%} bought nothing in the next {h['horizon_days']} days; the scores rank them with "
			f"ROC AUC {h['roc_auc']:.3f} (Brier {h['brier']:.3f}).</p>"
		)
	importances = model.importances_.head(10)
	labels = [FEATURES[name][0] for name in importances.index]
	return _section(
		"Churn risk",
		f"<p class='muted'>{html.escape(intro)}</p>"
		+ "<h3>Backtest: model against both baselines (same validation customers)</h3>"
		+ _table(table)
		+ "<p class='muted'>ROC AUC and PR AUC: higher is better (0.5 is a coin toss); Brier score: lower is "
		"better; top-decile lift: churn rate among the 10 % ranked riskiest ÷ the overall rate. Recency alone "
		"ranks by days since the last purchase; BG/NBD ranks by expected purchases in the horizon (not by "
		"P(alive), which is 1 for every one-time buyer).</p>"
		+ holdout
		+ _grid(
			_img(_calibration_chart(model.calibration_)),
			_img(_importance_chart(pd.Series(importances.to_numpy(), index=labels))),
		)
		+ f"<h3>Risk bands (thresholds {thresholds})</h3>"
		+ _grid(_table(band_table), _img(_band_chart(bands)))
		+ "<h3>Why customers are at risk</h3>"
		+ _reasons_table(at_risk)
		+ "<h3>Valuable customers at risk (High and Critical, by value at risk)</h3>"
		+ "<p class='muted'>Value at risk = score × predicted 12-month CLV (historical value where no CLV "
		"model could be fitted). The reasons are the features that raise each customer's score most.</p>"
		+ _table(top_table),
	)


def _reasons_table(at_risk: pd.DataFrame) -> str:
	"""How often each kind of reason appears among the High and Critical customers' drivers."""
	from loyalty_crm.engine.churn import FEATURES

	reasons = pd.Series([d["feature"] for drivers in at_risk["drivers"] for d in drivers], dtype=object)
	if reasons.empty:
		return "<p class='muted'>No single feature stands out for these customers.</p>"
	counts = reasons.value_counts().head(8)
	table = pd.DataFrame(
		{
			"Customers": counts.map(lambda v: f"{v:,}").to_numpy(),
			"Share of at-risk customers": (counts / max(len(at_risk), 1)).map(_percent).to_numpy(),
		},
		index=pd.Index([FEATURES[name][0] for name in counts.index], name="Reason (feature)"),
	)
	return (
		"<p class='muted'>Each at-risk customer's reasons are the features that raise their score most "
		"(the score change when the feature is set to the typical customer's value). Counted here across "
		"the High and Critical bands.</p>" + _table(table)
	)


# --- charts ----------------------------------------------------------------------------------


def _img(figure) -> str:
	buffer = io.BytesIO()
	figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
	plt.close(figure)
	data = base64.b64encode(buffer.getvalue()).decode("ascii")
	return f"<img alt='chart' src='data:image/png;base64,{data}'>"


def _axes(title: str):
	figure, axes = plt.subplots(figsize=(6.4, 3.6))
	axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
	for side in ("top", "right"):
		axes.spines[side].set_visible(False)
	axes.grid(axis="y", alpha=0.3)
	return figure, axes


def _monthly_chart(monthly: pd.DataFrame):
	figure, axes = _axes("Active customers per month")
	labels = monthly.index.astype(str)
	positions = np.arange(len(labels))
	axes.bar(positions, monthly["repeat_customers"], color=ACCENT, label="returning")
	axes.bar(
		positions, monthly["new_customers"], bottom=monthly["repeat_customers"], color=ACCENT_2, label="new"
	)
	step = max(1, len(labels) // 8)
	axes.set_xticks(positions[::step], labels[::step], rotation=0, fontsize=8)
	axes.legend(frameon=False)
	return figure


def _clv_chart(customers: pd.DataFrame):
	has_clv = customers["clv"].notna().any()
	values = customers["clv" if has_clv else "historical_value"].dropna()
	figure, axes = _axes("Predicted CLV per customer" if has_clv else "Historical value per customer")
	upper = float(np.quantile(values, 0.99)) if len(values) else 1.0
	axes.hist(values.clip(upper=upper), bins=40, color=ACCENT, alpha=0.85)
	axes.set_xlabel("value (top 1% clipped)")
	axes.set_ylabel("customers")
	return figure


def _heatmap(retention: pd.DataFrame):
	figure, axes = plt.subplots(figsize=(6.4, 0.28 * len(retention) + 1.4))
	shown = retention.iloc[:, 1:] if retention.shape[1] > 1 else retention
	image = axes.imshow(
		shown.to_numpy(dtype=float),
		aspect="auto",
		cmap="Blues",
		vmin=0,
		vmax=max(0.05, np.nanmax(shown.to_numpy())),
	)
	axes.set_title("Cohort retention", loc="left", fontsize=12, fontweight="bold")
	axes.set_yticks(np.arange(len(shown)), shown.index.astype(str), fontsize=7)
	step = max(1, shown.shape[1] // 12)
	axes.set_xticks(np.arange(shown.shape[1])[::step], shown.columns[::step], fontsize=8)
	axes.set_xlabel("months since first purchase")
	figure.colorbar(image, ax=axes, format=PercentFormatter(1.0), fraction=0.04)
	return figure


def _retention_chart(curve: pd.Series):
	figure, axes = _axes("Average retention (weighted by cohort size)")
	axes.plot(curve.index, curve.to_numpy(), marker="o", color=ACCENT)
	axes.yaxis.set_major_formatter(PercentFormatter(1.0))
	axes.set_xlabel("months since first purchase")
	axes.set_ylim(0, 1.02)
	return figure


def _holdout_chart(by_frequency: pd.DataFrame):
	figure, axes = _axes("Holdout: purchases per customer by calibration repeat purchases")
	labels = [str(i) if i < 7 else "7+" for i in by_frequency.index]
	axes.plot(labels, by_frequency["actual"], marker="o", color=ACCENT, label="actual")
	axes.plot(labels, by_frequency["predicted"], marker="s", linestyle="--", color=ACCENT_2, label="BG/NBD")
	axes.set_xlabel("repeat purchases in calibration period")
	axes.legend(frameon=False)
	return figure


def _calibration_chart(calibration: pd.DataFrame):
	figure, axes = _axes("Calibration on the validation customers")
	axes.plot([0, 1], [0, 1], linestyle=":", color="#9ca3af", label="perfect")
	axes.plot(
		calibration["mean_predicted"], calibration["observed_rate"], marker="o", color=ACCENT, label="model"
	)
	axes.set_xlabel("predicted churn probability (bin mean)")
	axes.set_ylabel("share who churned")
	axes.xaxis.set_major_formatter(PercentFormatter(1.0))
	axes.yaxis.set_major_formatter(PercentFormatter(1.0))
	axes.legend(frameon=False)
	return figure


def _importance_chart(importances: pd.Series):
	figure, axes = _axes("What the model relies on (permutation importance)")
	shown = importances.iloc[::-1]
	axes.barh(np.arange(len(shown)), shown.to_numpy(), color=ACCENT)
	axes.set_yticks(np.arange(len(shown)), shown.index, fontsize=8)
	axes.set_xlabel("drop in validation ROC AUC when shuffled")
	axes.grid(axis="x", alpha=0.3)
	return figure


def _band_chart(bands: pd.DataFrame):
	figure, axes = _axes("Customers and value at risk per band")
	positions = np.arange(len(bands))
	axes.bar(positions - 0.2, bands["customers"], width=0.4, color=ACCENT, label="customers")
	axes.set_xticks(positions, bands.index)
	axes.set_ylabel("customers")
	other = axes.twinx()
	other.bar(positions + 0.2, bands["value_at_risk"], width=0.4, color=ACCENT_2, label="value at risk")
	other.set_ylabel("value at risk")
	other.spines["top"].set_visible(False)
	figure.legend(frameon=False, loc="upper left", bbox_to_anchor=(0.12, 0.88))
	return figure


# --- formatting ------------------------------------------------------------------------------


def _money(value: float | None) -> str:
	if value is None or pd.isna(value):
		return "–"
	return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _percent(value: float | None) -> str:
	return "–" if value is None or pd.isna(value) else f"{value:.0%}"


def _number(value: float | None) -> str:
	return "–" if value is None or pd.isna(value) else f"{value:,.0f}"
