"""ERPNext's own suites with loyalty_crm installed, compared with the same suites without it.

Installing the app must not break ERPNext. These suites depend on what ran before them (a POS
test needs an open POS Opening Entry another suite leaves behind, a company the setup wizard
made...), so a fair comparison runs the same suites, in the same order, from the same starting
state, with and without the app, in the same job: two sites restored from the kit's dump,
prepared alike (``erpnext_suites/prepare_site.py``), the app installed on one of them. A test
that fails only where the app is installed is ours; one that fails on both is the suite's own
state and is reported, not blamed on the app.

The site without the app gives the same result every time for one ERPNext version and kit dump,
so it is recorded in ``erpnext_suites/baseline.json`` with the versions it was taken on and
only the site with the app runs, which halves the time. When the bench's ERPNext or Frappe
version differs from the recorded one, the baseline site runs in the same job instead.

Opt-in, because it takes minutes: ``LOYALTY_CRM_ERPNEXT_SUITES=1 python -m pytest
tests/test_erpnext_suites.py`` (``.ci/run`` sets it); ``=both`` runs the baseline site too,
``=record`` runs both and rewrites the baseline file. Needs the bench kit (for the dump) and a
bench with the app in its apps/ (``.ci/run`` makes both).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.bench import BENCH_SUMMARY, KIT, find_bench

SUITES = (
	"Sales Invoice",
	"POS Invoice",
	"POS Closing Entry",
	"POS Invoice Merge Log",
	"Loyalty Program",
	"Customer",
)
WITHOUT_APP, WITH_APP = "erpnext_without_app", "erpnext_with_app"
PREPARE = Path(__file__).parent / "erpnext_suites" / "prepare_site.py"
BASELINE = Path(__file__).parent / "erpnext_suites" / "baseline.json"

BENCH = find_bench()
MODE = os.environ.get("LOYALTY_CRM_ERPNEXT_SUITES", "").lower()
ENABLED = MODE in ("1", "true", "yes", "both", "record")
opt_in = pytest.mark.skipif(
	not ENABLED, reason="ERPNext's suites are opt-in: set LOYALTY_CRM_ERPNEXT_SUITES=1"
)


@dataclass
class SuiteResult:
	ran: int = 0
	failed: set[str] = field(default_factory=set)
	seconds: float = 0.0
	output: str = ""


def parse_unittest_output(output: str) -> SuiteResult:
	"""The runner's own words: `Ran N tests`, and a `FAIL:`/`ERROR:` header per failing test."""
	ran = re.findall(r"^Ran (\d+) tests?", output, flags=re.M)
	failed = set(re.findall(r"^(?:FAIL|ERROR): (\S+ \(\S+\))", output, flags=re.M))
	return SuiteResult(ran=int(ran[-1]) if ran else 0, failed=failed, output=output)


def _shell(*args: str, cwd: Path, timeout: int = 900) -> None:
	result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
	assert result.returncode == 0, f"{' '.join(args)} failed:\n{(result.stdout + result.stderr)[-3000:]}"


def _fresh_site(site: str, with_app: bool) -> None:
	if (BENCH.path / "sites" / site / "site_config.json").exists():
		_shell(
			*BENCH.command("drop-site", site, "--force", "--no-backup", "--db-root-password", "frappe_root"),
			cwd=BENCH.path / "sites",
		)
	_shell("bash", str(KIT / "add-site.sh"), site, str(BENCH.path), cwd=BENCH.path)
	_shell(str(BENCH.path / "env" / "bin" / "python"), str(PREPARE), site, cwd=BENCH.path / "sites")
	if with_app:
		_shell(*BENCH.command("--site", site, "clear-cache"), cwd=BENCH.path / "sites")
		_shell(*BENCH.command("--site", site, "install-app", "loyalty_crm"), cwd=BENCH.path / "sites")


def _run_suites(site: str) -> dict[str, SuiteResult]:
	results = {}
	for doctype in SUITES:
		started = time.monotonic()
		run = subprocess.run(
			BENCH.command("--site", site, "run-tests", "--doctype", doctype),
			cwd=BENCH.path / "sites",
			capture_output=True,
			text=True,
			timeout=3600,
			env={**os.environ, "CI": "true"},
		)
		results[doctype] = parse_unittest_output(run.stdout + run.stderr)
		results[doctype].seconds = time.monotonic() - started
	return results


def bench_versions() -> dict[str, str]:
	versions = {}
	for app in ("frappe", "erpnext"):
		text = (BENCH.path / "apps" / app / app / "__init__.py").read_text()
		versions[app] = re.search(r'__version__ = "([^"]+)"', text).group(1)
	return versions


def recorded_baseline(versions: dict[str, str]) -> dict[str, SuiteResult] | None:
	"""The recorded site-without-app results, when they were taken on these versions."""
	if MODE in ("both", "record") or not BASELINE.exists():
		return None
	recorded = json.loads(BASELINE.read_text())
	if recorded["versions"] != versions or set(recorded["suites"]) != set(SUITES):
		return None
	return {
		doctype: SuiteResult(ran=suite["ran"], failed=set(suite["failed"]), seconds=suite["seconds"])
		for doctype, suite in recorded["suites"].items()
	}


def record_baseline(versions: dict[str, str], results: dict[str, SuiteResult]) -> None:
	suites = {
		doctype: {"ran": r.ran, "failed": sorted(r.failed), "seconds": round(r.seconds)}
		for doctype, r in results.items()
	}
	BASELINE.write_text(json.dumps({"versions": versions, "suites": suites}, indent=1) + "\n")


@pytest.fixture(scope="module")
def suite_results() -> dict[str, dict[str, SuiteResult]]:
	if not BENCH.usable or not (KIT / "add-site.sh").is_file():
		pytest.fail(f"ERPNext's suites need the bench kit at {KIT} and a usable bench: {BENCH.problem}")
	versions = bench_versions()
	results = {WITHOUT_APP: recorded_baseline(versions)}
	source = f"recorded in {BASELINE.name}" if results[WITHOUT_APP] else "run now"
	if results[WITHOUT_APP] is None:
		_fresh_site(WITHOUT_APP, with_app=False)
		results[WITHOUT_APP] = _run_suites(WITHOUT_APP)
		if MODE == "record":
			record_baseline(versions, results[WITHOUT_APP])
	_fresh_site(WITH_APP, with_app=True)
	results[WITH_APP] = _run_suites(WITH_APP)
	BENCH_SUMMARY.append(
		f"ERPNext {versions['erpnext']} suites (tests ran / failed), without loyalty_crm ({source}) → with it:"
	)
	for doctype in SUITES:
		base, ours = results[WITHOUT_APP][doctype], results[WITH_APP][doctype]
		BENCH_SUMMARY.append(
			f"  {doctype}: {base.ran}/{len(base.failed)} ({base.seconds:.0f} s) → "
			f"{ours.ran}/{len(ours.failed)} ({ours.seconds:.0f} s)"
		)
	return results


def test_parser_reads_the_runner_summary():
	output = "EF.\n======\nERROR: test_a (x.y.Test.test_a)\n---\nFAIL: test_b (x.y.Test.test_b)\nRan 3 tests in 1s\n"
	result = parse_unittest_output(output)
	assert result.ran == 3
	assert result.failed == {"test_a (x.y.Test.test_a)", "test_b (x.y.Test.test_b)"}


@opt_in
@pytest.mark.parametrize("doctype", SUITES)
def test_no_new_failure_with_the_app(suite_results, doctype):
	base, ours = suite_results[WITHOUT_APP][doctype], suite_results[WITH_APP][doctype]
	assert ours.ran > 0, f"{doctype}: no test ran with the app\n{ours.output[-3000:]}"
	assert ours.ran == base.ran, f"{doctype}: {base.ran} tests without the app, {ours.ran} with it"
	new = sorted(ours.failed - base.failed)
	assert not new, f"{doctype}: fails only with loyalty_crm installed: {new}\n{ours.output[-6000:]}"
