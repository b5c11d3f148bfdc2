"""Open a Loyalty Nightly Run in headless Chromium, in English and in Chinese.

Checks the run's form: status, where it read from, the phases' timings, the chunks table with
each chunk's stage, and the System Manager's "Run Nightly Recompute Now" button.

Needs: chromium on PATH, the bench's web server for the site running (see serve_loopback.py),
and the `websocket-client` package. Without any of them it prints why and exits 0 (skipped).

    python tests/browser/nightly_run.py [--site SITE] [--base-url http://127.0.0.1:8016] --run NAME

Run the nightly recompute on the site first (``bench --site SITE loyalty-crm nightly``) and pass
the run's name. Screenshots (1366 x 900) go to tests/browser/artifacts/: nightly_run_en.png and
nightly_run_zh.png. Exit code 1 when a check fails.
"""

from __future__ import annotations

import shutil
import sys
import time
import urllib.parse

from campaign_results import ARTIFACTS, Browser
from cdp import browser_check_options

FORM_READY = (
	"window.cur_frm && cur_frm.doc.name && document.querySelector('[data-fieldname=chunks] .grid-row')"
)


def open_form(browser: Browser, base_url: str, run: str) -> str:
	browser.eval("window.onbeforeunload = null")
	browser.open(f"{base_url}/app/loyalty-nightly-run/{urllib.parse.quote(run)}")
	browser.wait_for(FORM_READY, timeout=60)
	time.sleep(1.0)
	return browser.eval(
		"document.querySelector('.layout-main-section').innerText + document.querySelector('.page-head').innerText"
	)


def run(base_url: str, name: str) -> list[str]:
	browser = Browser(shutil.which("chromium") or shutil.which("chromium-browser"))
	failures = []

	def check(condition: bool, what: str):
		print(("ok   " if condition else "FAIL ") + what)
		if not condition:
			failures.append(what)

	try:
		check(browser.login_as_administrator(base_url), "logged in as Administrator")
		text = open_form(browser, base_url, name)
		browser.screenshot("nightly_run_en.png")
		check("Completed" in text, "the run's status is shown")
		check("Read From" in text and "primary" in text, "where the run read from is shown")
		check("tiers" in text and "segments" in text, "the chunks table names each chunk's stage")
		check("Run Nightly Recompute Now" in text, "the System Manager's button is there")

		browser.set_language("zh")
		try:
			text = open_form(browser, base_url, name)
			browser.screenshot("nightly_run_zh.png")
			check("已完成" in text, "the status is in Chinese")
			check("读取来源" in text and "分块" in text, "labels are in Chinese")
			check("立即运行夜间重算" in text, "the button is in Chinese")
		finally:
			browser.set_language(None)
	except AssertionError as error:
		browser.screenshot("nightly_run_failure.png")
		check(False, f"{error} (nightly_run_failure.png)")
	finally:
		if browser.console:
			print("page errors: " + " / ".join(browser.console))
		browser.close()
	return failures


def main():
	args = browser_check_options(
		__doc__,
		"Nightly run",
		"site_nt",
		8016,
		extra=lambda parser: parser.add_argument("--run", required=True, help="a Loyalty Nightly Run's name"),
	)
	ARTIFACTS.mkdir(exist_ok=True)
	failures = run(args.base_url, args.run)
	print(f"screenshots in {ARTIFACTS}")
	if failures:
		print(f"{len(failures)} check(s) failed")
		sys.exit(1)


if __name__ == "__main__":
	main()
