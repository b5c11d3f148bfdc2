"""Run the app's FrappeTestCases on a real ERPNext v15 site when a bench is here.

No stand-in frappe: without a real bench these are skipped, and the skip line says why.
"""

from __future__ import annotations

import pytest

from tests.bench import find_bench

BENCH = find_bench()


@pytest.mark.skipif(not BENCH.usable, reason=f"bench integration tests skipped: {BENCH.problem}")
def test_frappe_test_cases_pass_on_real_site():
	apps = BENCH.run("--site", BENCH.site, "list-apps", timeout=300).stdout
	if "loyalty_crm" not in apps.split():
		pytest.skip(f"bench integration tests skipped: loyalty_crm is not installed on site {BENCH.site}")
	result = BENCH.run("--site", BENCH.site, "run-tests", "--app", "loyalty_crm")
	output = result.stdout + result.stderr
	print(output[-4000:])
	assert result.returncode == 0, output[-8000:]
	assert "Ran " in output and " tests" in output, "run-tests ran no test"
	assert "FAILED" not in output, output[-8000:]
