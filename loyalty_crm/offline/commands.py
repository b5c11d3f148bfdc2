"""``loyalty-crm analyze`` and ``loyalty-crm demo``: the offline pipeline behind two commands.

Engine errors become ``click.ClickException`` so the user sees the message, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from loyalty_crm.engine.errors import EngineError
from loyalty_crm.offline.loader import load_transactions
from loyalty_crm.offline.pipeline import AnalysisResult, analyze, write_outputs


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
		result = analyze(load_transactions(source))
		paths = write_outputs(result, out_dir)
	except EngineError as error:
		raise click.ClickException(str(error)) from error
	_print_result(result, paths)
	click.echo(f"Open the report: {paths['report.html'].resolve()}")


def _print_result(result: AnalysisResult, paths: dict[str, Path]) -> None:
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
	for note in result.notes:
		click.echo(f"Note: {note}", err=True)
	click.echo(f"Wrote {', '.join(str(path) for path in paths.values())}")
