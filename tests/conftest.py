from tests.bench import find_bench


def pytest_report_header(config):
	bench = find_bench()
	if bench.usable:
		return (
			f"bench integration: running on site {bench.site} of {bench.path} (app from {bench.app_path()})"
		)
	return f"bench integration: SKIPPED, {bench.problem}"
