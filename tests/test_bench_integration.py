"""Run the app's FrappeTestCases on a real ERPNext v15 site when a bench is here.

No stand-in frappe: without a real bench these are skipped, and the skip line says why. In CI
with the bench kit present (``tests.bench.must_run``) the bench is required: ``.ci/run`` built
it and installed this checkout, so a missing bench is a failure, never a skip.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.bench import BENCH_SUMMARY, CHECKOUT, find_bench, must_run

BENCH = find_bench()


def _require_bench() -> None:
	if BENCH.usable:
		return
	if must_run():
		pytest.fail(f"bench integration tests could not run in CI: {BENCH.problem}")
	pytest.skip(f"bench integration tests skipped: {BENCH.problem}")


def test_frappe_test_cases_pass_on_real_site():
	_require_bench()
	assert BENCH.runs_checkout(), (
		f"the bench's apps/loyalty_crm is {BENCH.app_path()}, not the checkout under test {CHECKOUT}: "
		"run .ci/run, or link the checkout into the bench (README, 'Run the tests')"
	)
	apps = BENCH.run("--site", BENCH.site, "list-apps", timeout=300).stdout
	if "loyalty_crm" not in apps:
		if must_run():
			pytest.fail(f"loyalty_crm is not installed on site {BENCH.site}")
		pytest.skip(f"bench integration tests skipped: loyalty_crm is not installed on site {BENCH.site}")
	started = time.monotonic()
	result = BENCH.run("--site", BENCH.site, "run-tests", "--app", "loyalty_crm")
	output = result.stdout + result.stderr
	summary = [
		line.strip()
		for line in output.splitlines()
		if re.match(r"^(Ran \d+ tests?|OK|FAILED)\b", line.strip())
	]
	BENCH_SUMMARY.extend(
		[
			f"bench run-tests --app loyalty_crm on site {BENCH.site} ({time.monotonic() - started:.0f} s):",
			*summary,
		]
	)
	print(output[-4000:])
	assert result.returncode == 0, output[-8000:]
	assert any(line.startswith("Ran ") for line in summary), "run-tests ran no test"
	assert "FAILED" not in output, output[-8000:]
