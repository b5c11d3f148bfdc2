"""``loyalty-crm churn`` end to end, and bad input to ``analyze``/``churn`` tried as a new user would."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from loyalty_crm.cli import main
from loyalty_crm.offline.demo_data import demo_transactions

from .engine.test_clv import DATASETS, needs_cdnow

SCORE_COLUMNS = [
	"customer",
	"score",
	"band",
	"drivers",
	"expected_purchases",
	"p_alive",
	"predicted_clv",
	"value_at_risk",
	"days_since_last_purchase",
]


def _run(*args: str):
	return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _write(path: Path, text: str) -> Path:
	path.write_text(text, encoding="utf-8")
	return path


@pytest.fixture(scope="module")
def shop_csv(tmp_path_factory) -> Path:
	path = tmp_path_factory.mktemp("shop") / "transactions.csv"
	demo_transactions(n_customers=800, seed=11).to_csv(path, index=False, date_format="%Y-%m-%d")
	return path


@pytest.fixture(scope="module")
def churn_run(shop_csv: Path, tmp_path_factory):
	out = tmp_path_factory.mktemp("churn") / "out"
	return _run("churn", str(shop_csv), "--out", str(out), "--until", "2024-09-30"), out


def test_churn_prints_the_backtest_and_writes_scores_and_report(churn_run, shop_csv: Path) -> None:
	result, out = churn_run
	assert result.exit_code == 0, result.output
	for line in ("Churn model", "Baseline: recency alone", "Baseline: BG/NBD expected purchases"):
		assert line in result.output
	for metric in ("ROC AUC", "PR AUC", "Brier score", "Top-decile lift"):
		assert metric in result.output
	scores = pd.read_csv(out / "churn_scores.csv")
	assert list(scores.columns) == SCORE_COLUMNS
	# every customer who bought on or before --until, once, riskiest first
	known = pd.read_csv(shop_csv)
	assert set(scores["customer"]) == set(known.loc[known["date"] <= "2024-09-30", "customer"])
	assert scores["score"].is_monotonic_decreasing and scores["score"].between(0, 1).all()
	assert set(scores["band"]) <= {"Low", "Medium", "High", "Critical"}
	assert (scores.loc[scores["score"] >= 0.7, "band"] == "Critical").all()
	assert scores["drivers"].fillna("").str.len().gt(0).mean() > 0.5  # most customers get reasons in words
	assert not scores["drivers"].fillna("").str.contains("{0}", regex=False).any()
	model = json.loads((out / "churn_model.json").read_text())
	assert model["settings"]["as_of"] == "2024-09-30" and model["settings"]["horizon_days"] == 90
	assert model["validation_cutoff"] == "2024-07-02"  # 90 days before --until: never the held-out rows
	assert sum(row["customers"] for row in model["bands"]) == len(scores)
	html = (out / "report.html").read_text()
	assert "<h2>Churn risk</h2>" in html and "Valuable customers at risk" in html
	# the rows after --until cover the horizon, so the scores are checked against what happened
	assert "Held out: of" in result.output and model["holdout"]["complete"] is True
	assert 0.5 < model["holdout"]["roc_auc"] <= 1


def test_demo_includes_churn(tmp_path: Path) -> None:
	out = tmp_path / "demo"
	result = _run("demo", "--out", str(out))
	assert result.exit_code == 0, result.output
	assert "The model beats the better baseline on ROC AUC" in result.output
	scores = pd.read_csv(out / "churn_scores.csv")
	assert len(scores) == 2000
	html = (out / "report.html").read_text()
	assert "<h2>Churn risk</h2>" in html and html.count("data:image/png;base64,") >= 7
	assert "Why customers are at risk" in html
	# the demo's leavers fade first; the reasons given for the at-risk customers say so
	at_risk = scores.loc[scores["band"].isin(["High", "Critical"]), "drivers"].fillna("")
	fading = at_risk.str.contains("below their usual spend|× their usual|Spend down", regex=True)
	assert fading.mean() > 0.5


# --- bad input: a clear message, nothing written ---------------------------------------------------


@pytest.mark.parametrize("command", ["analyze", "churn"])
def test_header_only_file_says_no_transactions(command: str, tmp_path: Path) -> None:
	source = _write(tmp_path / "t.csv", "customer,date,amount\n")
	result = _run(command, str(source), "--out", str(tmp_path / "out"))
	assert result.exit_code == 1
	assert "has no transactions: it has a header row but no data rows" in result.output
	assert "NaT" not in result.output and "Traceback" not in result.output
	assert not (tmp_path / "out").exists()


def test_rows_after_today_are_reported_and_left_out(shop_csv: Path, tmp_path: Path) -> None:
	rows = pd.read_csv(shop_csv)
	typo = pd.DataFrame(
		{"customer": ["CUST-00001", "CUST-00002"], "date": ["2099-01-01", "2099-03-05"], "amount": [50, 60]}
	)
	source = tmp_path / "t.csv"
	pd.concat([rows, typo]).to_csv(source, index=False)
	result = _run("analyze", str(source), "--out", str(tmp_path / "out"))
	assert result.exit_code == 0, result.output
	assert "2 row(s) dated after today" in result.output and "2099-01-01, 2099-03-05" in result.output
	model = json.loads((tmp_path / "out" / "model.json").read_text())
	assert model["settings"]["observation_end"] == rows["date"].max()  # not stretched to 2099
	assert any("dated after today" in note for note in model["notes"])


def test_churn_leaves_future_rows_out_and_says_so_once(shop_csv: Path, tmp_path: Path) -> None:
	rows = pd.read_csv(shop_csv)
	typo = pd.DataFrame({"customer": ["CUST-00003"], "date": ["2099-12-31"], "amount": [80]})
	source = tmp_path / "t.csv"
	pd.concat([rows, typo]).to_csv(source, index=False)
	result = _run("churn", str(source), "--out", str(tmp_path / "out"))
	assert result.exit_code == 0, result.output
	assert result.output.count("1 row(s) dated after today") == 1
	model = json.loads((tmp_path / "out" / "churn_model.json").read_text())
	assert model["settings"]["as_of"] == rows["date"].max()  # scored as of the real last day, not 2099
	assert model["settings"]["held_out_rows"] == 0


def test_a_fit_on_three_customers_says_it_cannot_be_trusted(tmp_path: Path) -> None:
	source = _write(
		tmp_path / "t.csv",
		"customer,date,amount\n"
		"A,2024-01-01,10\nA,2024-02-01,12\nA,2024-03-01,9\n"
		"B,2024-01-05,20\nB,2024-03-20,25\n"
		"C,2024-02-01,30\n",
	)
	result = _run("analyze", str(source), "--out", str(tmp_path / "out"))
	assert result.exit_code == 0, result.output
	assert "BG/NBD was fitted on 3 customer(s), 2 with repeat purchases" in result.output
	assert "can't be trusted: a stable fit needs at least 30 customers" in result.output


def test_a_fit_on_enough_customers_has_no_trust_note(shop_csv: Path, tmp_path: Path) -> None:
	result = _run("analyze", str(shop_csv), "--out", str(tmp_path / "out"))
	assert result.exit_code == 0 and "can't be trusted" not in result.output


@pytest.fixture
def previous_results(tmp_path: Path) -> Path:
	out = tmp_path / "out"
	out.mkdir()
	_write(out / "churn_scores.csv", "customer,score\nKEEP,0.5\n")
	return out


@pytest.mark.parametrize(
	("options", "message"),
	[
		(["--horizon-days", "0"], "churn horizon must be a whole number of days above 0, got 0"),
		(["--horizon-days", "-7"], "churn horizon must be a whole number of days above 0, got -7"),
		(["--horizon-days", "400"], "a churn horizon of 400 days needs at least 800 days"),
		(
			["--thresholds", "0.5,0.3,0.7"],
			"thresholds must be strictly increasing and between 0 and 1, got 0.5, 0.3, 0.7",
		),
		(["--thresholds", "0.3,0.5,1.2"], "between 0 and 1, got 0.3, 0.5, 1.2"),
		(["--thresholds", "0.3,0.5"], "must be three numbers (Medium, High, Critical), got 2"),
		(["--thresholds", "low,high"], "give three numbers separated by commas"),
		(["--until", "2023-02-01"], "The history is 32 days long (2023-01-01 to 2023-02-01)"),
	],
)
def test_churn_refuses_bad_settings_and_keeps_previous_scores(
	shop_csv: Path, previous_results: Path, options: list[str], message: str
) -> None:
	result = CliRunner().invoke(main, ["churn", str(shop_csv), "--out", str(previous_results), *options])
	assert result.exit_code in (1, 2), result.output
	assert message in " ".join(result.output.split()), result.output
	assert "Traceback" not in result.output
	assert (previous_results / "churn_scores.csv").read_text() == "customer,score\nKEEP,0.5\n"
	assert sorted(p.name for p in previous_results.iterdir()) == ["churn_scores.csv"]


def test_churn_on_too_few_customers_says_what_is_missing(tmp_path: Path) -> None:
	source = tmp_path / "t.csv"
	demo_transactions(n_customers=25, seed=4).to_csv(source, index=False, date_format="%Y-%m-%d")
	result = _run("churn", str(source), "--out", str(tmp_path / "out"))
	assert result.exit_code == 1
	assert "A churn model needs at least 50 customers who bought on or before" in result.output
	assert not (tmp_path / "out").exists()


@needs_cdnow
def test_churn_command_on_cdnow_prints_the_model_beside_the_baselines(tmp_path: Path) -> None:
	"""The CDNOW sample with the 39-week holdout of Fader, Hardie & Lee as the horizon."""
	raw = pd.read_csv(
		DATASETS / "CDNOW_sample.txt",
		sep=r"\s+",
		header=None,
		names=["id", "customer", "date", "cds", "amount"],
		dtype={"id": str, "customer": str, "date": str},
	)
	source = tmp_path / "cdnow.csv"
	raw.assign(date=pd.to_datetime(raw["date"]).dt.strftime("%Y-%m-%d"))[
		["customer", "date", "amount"]
	].to_csv(source, index=False)
	result = _run("churn", str(source), "--out", str(tmp_path / "out"), "--horizon-days", "273")
	assert result.exit_code == 0, result.output
	assert "validated on" in result.output and "at 1997-09-30" in result.output
	print("\n" + result.output)
	model = json.loads((tmp_path / "out" / "churn_model.json").read_text())["metrics"]
	assert model["model"]["roc_auc"] >= max(model["recency"]["roc_auc"], model["bgnbd_expected"]["roc_auc"])
	assert "The model beats the better baseline on ROC AUC" in result.output
