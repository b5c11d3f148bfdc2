"""``loyalty-crm analyze``, ``churn`` and ``demo``: the offline pipeline behind three commands.

Engine errors become ``click.ClickException`` so the user sees the message, not a traceback.
Every result is computed before the first file is written, so a refused run leaves the
output folder as it was.
"""

from __future__ import annotations

from pathlib import Path

import click

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.offline.churn import ChurnResult, churn_analysis, metrics_table
from loyalty_crm.offline.loader import load_transactions
from loyalty_crm.offline.pipeline import AnalysisResult, analyze, drop_future_rows, write_outputs


@click.command("analyze")
@click.argument("transactions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
	"--out",
	"out_dir",
	required=True,
	type=click.Path(file_okay=False, path_type=Path),
	help="Folder for the results.",
)
@click.option(
	"--until",
	default=None,
	help="Analyse up to this date (YYYY-MM-DD); later rows are held out to check the model.",
)
@click.option("--horizon", default=12, show_default=True, type=int, help="CLV horizon in months.")
@click.option(
	"--discount-rate", default=0.01, show_default=True, type=float, help="Monthly discount rate for CLV."
)
def analyze_command(
	transactions: Path, out_dir: Path, until: str | None, horizon: int, discount_rate: float
) -> None:
	"""Fit BG/NBD + Gamma-Gamma on TRANSACTIONS.csv (customer,date,amount or an ERPNext Sales Invoice export)."""
	try:
		frame = load_transactions(transactions)
		result = analyze(frame, until=until, horizon_months=horizon, discount_rate=discount_rate)
		paths = write_outputs(result, out_dir)
	except EngineError as error:
		raise click.ClickException(str(error)) from error
	_print_result(result, paths)


@click.command("churn")
@click.argument("transactions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
	"--out",
	"out_dir",
	required=True,
	type=click.Path(file_okay=False, path_type=Path),
	help="Folder for the results.",
)
@click.option(
	"--until",
	default=None,
	help="Score as of this date (YYYY-MM-DD); later rows check the scores against what happened.",
)
@click.option(
	"--horizon-days",
	default=90,
	show_default=True,
	type=int,
	help="Churned = no purchase in this many days after a date.",
)
@click.option(
	"--thresholds",
	default="0.3,0.5,0.7",
	show_default=True,
	help="Score thresholds of the Medium, High and Critical bands, increasing, between 0 and 1.",
)
def churn_command(
	transactions: Path, out_dir: Path, until: str | None, horizon_days: int, thresholds: str
) -> None:
	"""Train a backtested churn model on TRANSACTIONS.csv, score every customer, write churn_scores.csv and the report."""
	try:
		notes: list[str] = []
		frame = drop_future_rows(load_transactions(transactions), None, notes)
		result = analyze(frame, until=until)
		result.notes[:0] = notes  # said once, by the CLV part; churn_analysis sees no future rows now
		churn = churn_analysis(
			frame, until=until, horizon_days=horizon_days, thresholds=_thresholds(thresholds)
		)
		paths = write_outputs(result, out_dir, churn)
	except EngineError as error:
		raise click.ClickException(str(error)) from error
	_print_result(result, paths, churn)


@click.command("demo")
@click.option(
	"--out",
	"out_dir",
	default="loyalty-crm-report",
	show_default=True,
	type=click.Path(file_okay=False, path_type=Path),
	help="Folder for the demo data and results.",
)
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed of the simulated shop.")
def demo_command(out_dir: Path, seed: int) -> None:
	"""Simulate a shop (2,000 customers, 2 years), analyse it and write an HTML report."""
	from loyalty_crm.offline.demo_data import demo_transactions

	out_dir.mkdir(parents=True, exist_ok=True)
	source = out_dir / "transactions.csv"
	demo_transactions(seed=seed).to_csv(source, index=False, date_format="%Y-%m-%d")
	click.echo(f"Demo transactions: {source}")
	try:
		frame = load_transactions(source)
		result = analyze(frame)
		churn = churn_analysis(frame)
		paths = write_outputs(result, out_dir, churn)
	except EngineError as error:
		raise click.ClickException(str(error)) from error
	_print_result(result, paths, churn)
	click.echo(f"Open the report: {paths['report.html'].resolve()}")


def _thresholds(text: str) -> tuple[float, ...]:
	try:
		return tuple(float(part) for part in text.split(","))
	except ValueError as error:
		raise click.BadParameter(
			f"{text!r}: give three numbers separated by commas, e.g. 0.3,0.5,0.7", param_hint="--thresholds"
		) from error


def _print_churn(churn: ChurnResult) -> None:
	model, settings = churn.model, churn.settings
	metrics = model.metrics_
	click.echo(
		f"Churn (no purchase within {settings['horizon_days']} days): trained on {len(model.cutoffs_)} cutoffs "
		f"({model.cutoffs_[0].date()} to {model.cutoffs_[-1].date()}), validated on {metrics['validation_rows']:,} "
		f"other customers at {model.validation_cutoff_.date()} ({metrics['churn_rate']:.0%} churned); "
		f"chosen: {model.chosen_.replace('_', ' ')}."
	)
	table = metrics_table(model)
	click.echo(table.to_string(float_format=lambda value: f"{value:.3f}"))
	better = max(metrics["recency"]["roc_auc"], metrics["bgnbd_expected"]["roc_auc"])
	word = "beats" if metrics["model"]["roc_auc"] > better else "does not beat"
	click.echo(
		f"The model {word} the better baseline on ROC AUC ({metrics['model']['roc_auc']:.3f} vs {better:.3f})."
	)
	holdout = churn.holdout
	if holdout and holdout.get("complete") and "roc_auc" in holdout:
		click.echo(
			f"Held out: of {holdout['customers']:,} customers scored on {settings['as_of']}, "
			f"{holdout['churn_rate']:.0%} bought nothing in the next {holdout['horizon_days']} days; "
			f"scores' ROC AUC {holdout['roc_auc']:.3f}, Brier {holdout['brier']:.3f}."
		)
	elif holdout:
		click.echo(
			f"Held out {settings['held_out_rows']:,} rows covering {holdout['days']} of the {holdout['horizon_days']} "
			"days a check of the scores needs."
		)
	bands = churn.bands
	counts = ", ".join(
		f"{band} {int(count):,} (value at risk {value:,.0f})"
		for band, count, value in zip(bands.index, bands["customers"], bands["value_at_risk"], strict=True)
	)
	click.echo(f"Scored {len(churn.scores):,} customers as of {settings['as_of']}: {counts}.")


def _print_result(result: AnalysisResult, paths: dict[str, Path], churn: ChurnResult | None = None) -> None:
	settings = result.settings
	click.echo(
		f"Analysed {result.kpis['customers']:,} customers, {settings['observation_start']} to {settings['observation_end']}."
	)
	if settings["held_out_rows"]:
		click.echo(f"Held out {settings['held_out_rows']:,} rows after {settings['observation_end']}.")
	for title, model in (("BG/NBD", result.bgnbd), ("Gamma-Gamma", result.gamma_gamma)):
		if model:
			params = ", ".join(f"{name}={value:.4f}" for name, value in model["params"].items())
			click.echo(f"{title}: {params}; log-likelihood {model['log_likelihood']:.2f}")
	if result.holdout:
		h = result.holdout
		click.echo(
			f"Holdout ({h['days']:.0f} days): predicted {h['predicted_purchases']:.0f} purchases, actual {h['actual_purchases']:.0f}."
		)
	if churn is not None:
		_print_churn(churn)
	for note in result.notes:
		click.echo(f"Note: {note}", err=True)
	click.echo(f"Wrote {', '.join(str(path) for path in paths.values())}")
