from tests.bench import BENCH_SUMMARY, find_bench, must_run


def pytest_report_header(config):
	bench = find_bench()
	if bench.usable:
		return (
			f"bench integration: running on site {bench.site} of {bench.path} (app from {bench.app_path()})"
		)
	if must_run():
		return f"bench integration: REQUIRED in CI but not usable: {bench.problem}"
	return f"bench integration: SKIPPED, {bench.problem}"


def pytest_terminal_summary(terminalreporter):
	"""Show the bench runner's own count in the log, not only pytest's one passing test."""
	if BENCH_SUMMARY:
		terminalreporter.section("Frappe bench")
		for line in BENCH_SUMMARY:
			terminalreporter.write_line(line)
