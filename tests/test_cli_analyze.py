"""``loyalty-crm analyze`` and ``loyalty-crm demo`` end to end, through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from loyalty_crm.cli import main
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.offline.demo_data import demo_transactions
from loyalty_crm.offline.loader import load_transactions

CUSTOMER_COLUMNS = [
	"customer",
	"first_purchase",
	"last_purchase",
	"frequency",
	"recency",
	"T",
	"monetary_value",
	"historical_value",
	"recency_days",
	"r_score",
	"f_score",
	"m_score",
	"rfm_score",
	"segment",
	"p_alive",
	"expected_purchases",
	"expected_average_spend",
	"clv",
]


def _run(*args: str):
	return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _write(path: Path, text: str) -> Path:
	path.write_text(text, encoding="utf-8")
	return path


@pytest.fixture(scope="module")
def shop_csv(tmp_path_factory) -> Path:
	path = tmp_path_factory.mktemp("shop") / "transactions.csv"
	demo_transactions(n_customers=300, seed=11).to_csv(path, index=False, date_format="%Y-%m-%d")
	return path


def test_analyze_writes_all_files(shop_csv: Path, tmp_path: Path) -> None:
	result = _run("analyze", str(shop_csv), "--out", str(tmp_path / "out"))
	assert result.exit_code == 0, result.output
	assert "BG/NBD: r=" in result.output and "log-likelihood" in result.output
	assert "Gamma-Gamma: p=" in result.output
	out = tmp_path / "out"
	customers = pd.read_csv(out / "customers.csv")
	assert list(customers.columns) == CUSTOMER_COLUMNS
	assert len(customers) == 300
	assert customers["clv"].notna().all() and (customers["clv"] >= 0).all()
	cohorts = pd.read_csv(out / "cohorts.csv")
	assert cohorts.columns[0] == "cohort" and cohorts.columns[1] == "0"
	model = json.loads((out / "model.json").read_text())
	assert set(model["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
	assert set(model["gamma_gamma"]["params"]) == {"p", "q", "v"}
	html = (out / "report.html").read_text()
	assert html.startswith("<!DOCTYPE html>") and html.count("data:image/png;base64,") >= 4


def test_until_holds_rows_out(shop_csv: Path, tmp_path: Path) -> None:
	later = (pd.read_csv(shop_csv)["date"] > "2024-06-30").sum()
	result = _run("analyze", str(shop_csv), "--out", str(tmp_path), "--until", "2024-06-30")
	assert result.exit_code == 0, result.output
	assert f"Held out {later:,} rows" in result.output
	model = json.loads((tmp_path / "model.json").read_text())
	assert model["settings"]["held_out_rows"] == later
	assert model["holdout"]["predicted_purchases"] > 0
	assert "Holdout check" in (tmp_path / "report.html").read_text()


def test_horizon_zero_gives_zero_clv(shop_csv: Path, tmp_path: Path) -> None:
	result = _run("analyze", str(shop_csv), "--out", str(tmp_path), "--horizon", "0")
	assert result.exit_code == 0, result.output
	assert (pd.read_csv(tmp_path / "customers.csv")["clv"] == 0).all()


def test_missing_column_is_a_clear_error(tmp_path: Path) -> None:
	source = _write(tmp_path / "t.csv", "customer,date\nA,2024-01-01\n")
	result = _run("analyze", str(source), "--out", str(tmp_path / "out"))
	assert result.exit_code == 1
	assert "Error: The CSV needs columns for amount" in result.output
	assert "Traceback" not in result.output
	assert not (tmp_path / "out").exists()


def test_bad_date_names_the_row(tmp_path: Path) -> None:
	source = _write(tmp_path / "t.csv", "Customer,Date,Amount\nA,2024-01-01,10\nB,not a date,5\n")
	result = _run("analyze", str(source), "--out", str(tmp_path / "out"))
	assert result.exit_code == 1
	assert "unreadable dates on row(s): 3" in result.output  # spreadsheet row 3 (header is row 1)


def test_returns_are_netted(tmp_path: Path) -> None:
	source = _write(
		tmp_path / "t.csv",
		"customer,date,amount\n"
		"A,2024-01-01,100\nA,2024-01-20,-40\nA,2024-02-01,50\n"  # return day is not a purchase day
		"B,2024-01-05,30\nB,2024-01-05,-30\nB,2024-02-10,20\n"  # first day nets to 0: first purchase is 02-10
		"C,2024-01-10,10\nC,2024-01-30,15\n",
	)
	result = _run("analyze", str(source), "--out", str(tmp_path / "out"))
	assert result.exit_code == 0, result.output
	customers = pd.read_csv(tmp_path / "out" / "customers.csv", index_col="customer")
	assert customers.loc["A", "historical_value"] == pytest.approx(110.0)  # 100 - 40 + 50
	assert customers.loc["A", "frequency"] == 1  # 01-01 and 02-01
	assert customers.loc["B", "historical_value"] == pytest.approx(20.0)
	assert (customers.loc["B", "frequency"], customers.loc["B", "first_purchase"]) == (0, "2024-02-10")


def test_all_one_time_buyers_still_get_historical_value(tmp_path: Path) -> None:
	source = _write(
		tmp_path / "t.csv", "customer,date,amount\nA,2024-01-01,10\nB,2024-01-05,20\nC,2024-02-01,30\n"
	)
	result = CliRunner().invoke(main, ["analyze", str(source), "--out", str(tmp_path)])
	assert result.exit_code == 0, result.output
	assert "BG/NBD needs repeat purchases" in result.output
	assert "historical value is still available" in result.output
	customers = pd.read_csv(tmp_path / "customers.csv", index_col="customer")
	assert customers["historical_value"].tolist() == [10.0, 20.0, 30.0]
	assert customers["clv"].isna().all()
	assert json.loads((tmp_path / "model.json").read_text())["bgnbd"] is None
	assert "No model could be fitted" in (tmp_path / "report.html").read_text()


def test_single_customer_explains_why_no_model(tmp_path: Path) -> None:
	source = _write(
		tmp_path / "t.csv", "customer,date,amount\nA,2024-01-01,10\nA,2024-02-01,12\nA,2024-03-01,9\n"
	)
	result = CliRunner().invoke(main, ["analyze", str(source), "--out", str(tmp_path)])
	assert result.exit_code == 0, result.output
	assert "Fitting BG/NBD needs at least 2 customers, got 1" in result.output
	customers = pd.read_csv(tmp_path / "customers.csv", index_col="customer")
	assert customers.loc["A", "historical_value"] == pytest.approx(31.0)
	assert customers.loc["A", "frequency"] == 2


def test_negative_horizon_is_refused(shop_csv: Path, tmp_path: Path) -> None:
	result = _run("analyze", str(shop_csv), "--out", str(tmp_path), "--horizon", "-2")
	assert result.exit_code == 1 and "whole number of months, 0 or more, got -2" in result.output


def test_erpnext_sales_invoice_export_is_recognised(tmp_path: Path) -> None:
	source = _write(
		tmp_path / "Sales Invoice.csv",
		"ID,Customer,Posting Date,Net Total,Grand Total,Is Return (Credit Note),Docstatus\n"
		"SINV-1,Acme,31-01-2024,100.00,118.00,0,1\n"
		'SINV-2,Acme,15-02-2024,"1,000.00",1180.00,0,1\n'
		"SINV-3,Acme,16-02-2024,200.00,236.00,1,1\n"  # credit note exported with a positive total
		"SINV-4,Bolt,20-02-2024,50.00,59.00,0,2\n"  # cancelled
		"SINV-5,Bolt,21-02-2024,70.00,82.60,0,0\n"  # draft
		"SINV-6,Bolt,22-02-2024,-30.00,-35.40,1,1\n",  # credit note, already negative
	)
	frame = load_transactions(source)
	assert frame["customer"].tolist() == ["Acme", "Acme", "Acme", "Bolt"]
	assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == [
		"2024-01-31",
		"2024-02-15",
		"2024-02-16",
		"2024-02-22",
	]
	assert frame["amount"].tolist() == [100.0, 1000.0, -200.0, -30.0]  # net total preferred over grand total


def test_loader_reports_missing_file(tmp_path: Path) -> None:
	with pytest.raises(EngineError, match="file not found"):
		load_transactions(tmp_path / "nope.csv")


def test_demo_writes_report(tmp_path: Path) -> None:
	out = tmp_path / "demo"
	result = _run("demo", "--out", str(out))
	assert result.exit_code == 0, result.output
	assert f"Open the report: {(out / 'report.html').resolve()}" in result.output
	for name in ("transactions.csv", "customers.csv", "cohorts.csv", "model.json", "report.html"):
		assert (out / name).stat().st_size > 0
	transactions = pd.read_csv(out / "transactions.csv")
	assert transactions["customer"].nunique() == 2000 and (transactions["amount"] < 0).any()
	# the simulated shop follows BG/NBD, so the fit recovers its purchase-rate shape r = 0.9 roughly
	model = json.loads((out / "model.json").read_text())
	assert 0.6 < model["bgnbd"]["params"]["r"] < 1.3
