"""Bench commands for churn: train a company's model, score its customers."""

import click
from frappe.commands import pass_context

from loyalty_crm.commands.base import connected, loyalty_crm, progress_printer


def _companies(company: str | None) -> list[str]:
	from loyalty_crm.services import churn

	return [company] if company else churn.companies_with_invoices()


def _refused(error) -> None:
	import frappe

	frappe.db.rollback()
	click.secho(frappe.utils.strip_html(str(error)), fg="red")
	raise SystemExit(1) from None


@loyalty_crm.command("train-churn")
@click.option("--company", help="Train only this company's model (default: every company with invoices).")
@click.option("--as-of", "as_of", help="Train on data up to this date (default: today).")
@pass_context
def train_churn(context, company=None, as_of=None):
	"""Fit and backtest the churn model; print the model's and both baselines' metrics.

	A failed training is recorded as a Failed Churn Model Run and the previous model stays in use.
	"""
	import frappe

	from loyalty_crm.services import churn

	failed = False
	with connected(context):
		companies = _companies(company)
		if not companies:
			click.secho(frappe._("No company has submitted invoices: nothing to train"), fg="yellow")
			return
		for name in companies:
			try:
				run = churn.train(name, as_of=as_of, commit=True, progress=click.echo)
			except frappe.ValidationError as error:
				_refused(error)
			if run.status != "Success":
				failed = True
				click.secho(
					frappe._("{0}: training failed, the previous model stays in use: {1}").format(
						name, run.error_message
					),
					fg="red",
				)
				continue
			click.secho(
				frappe._("{0}: {1} chose {2} ({3} customers, cutoffs {4}, validated at {5})").format(
					name, run.name, run.chosen_model, run.customers, run.cutoffs, run.validation_cutoff
				),
				fg="green",
			)
			click.echo(metrics_table(run))
	if failed:
		raise SystemExit(1)


def metrics_table(run) -> str:
	"""The backtest, model beside both baselines, every metric."""
	import frappe

	rows = [
		(frappe._("Model"), "model"),
		(frappe._("Recency Baseline"), "recency"),
		(frappe._("BG/NBD Baseline"), "bgnbd"),
	]
	header = [
		"",
		frappe._("ROC AUC"),
		frappe._("PR AUC"),
		frappe._("Brier Score"),
		frappe._("Top Decile Lift"),
	]
	lines = ["{:<18}{:>10}{:>10}{:>13}{:>17}".format(*header)]
	for label, prefix in rows:
		values = [run.get(f"{prefix}_{name}") for name in ("roc_auc", "pr_auc", "brier", "top_decile_lift")]
		cells = ["-" if value is None else f"{value:.3f}" for value in values]
		lines.append("{:<18}{:>10}{:>10}{:>13}{:>17}".format(label, *cells))
	return "\n".join(lines)


@loyalty_crm.command("score-churn")
@click.option("--company", help="Score only this company (default: every company with a trained model).")
@click.option("--as-of", "as_of", help="Score as of this date (default: today).")
@pass_context
def score_churn(context, company=None, as_of=None):
	"""Score every customer with the company's latest successful model; writes changed rows only."""
	import frappe

	from loyalty_crm.services import churn

	with connected(context):
		companies = (
			[company] if company else [c for c in churn.companies_with_invoices() if churn.active_run(c)]
		)
		if not companies:
			click.secho(
				frappe._("No company has a trained churn model yet: run train-churn first"), fg="yellow"
			)
			raise SystemExit(1)
		for name in companies:
			try:
				result = churn.score(
					name, as_of=as_of, commit=True, progress=progress_printer(frappe._("Customers written"))
				)
			except frappe.ValidationError as error:
				_refused(error)
			click.secho(result.summary(), fg="green")
			click.echo(frappe._("Done in {0:.1f} s").format(result.seconds))
