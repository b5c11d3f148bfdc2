"""Open a measured Retention Campaign's results in headless Chromium, in English and in Chinese.

Checks the Campaign Results report (treated and control rows, the KPI cards, the cumulative
revenue chart) and the results chart on the campaign form.

Needs: chromium on PATH, the bench's web server for the site running (see serve_loopback.py),
and the `websocket-client` package. Without any of them it prints why and exits 0 (skipped).

    python tests/browser/campaign_results.py [--site SITE] [--base-url http://127.0.0.1:8014]

The site gets a launched, measured campaign with 40 customers and their invoices
(loyalty_crm.testing_campaigns.browser_campaign). Screenshots (1366 x 900) go to
tests/browser/artifacts/: campaign_results_en.png, campaign_results_zh.png and
campaign_form_en.png. Exit code 1 when a check fails.
"""

from __future__ import annotations

import base64
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

from cdp import Chromium, browser_check_options, execute_on_site

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
WIDTH, HEIGHT = 1366, 900


class Browser(Chromium):
	def __init__(self, chromium: str):
		super().__init__(chromium, WIDTH, HEIGHT, mobile=False, timeout=60)

	def screenshot(self, name: str) -> Path:
		result = self.send("Page.captureScreenshot", format="png")
		path = ARTIFACTS / name
		path.write_bytes(base64.b64decode(result["data"]))
		return path


REPORT_READY = (
	"document.querySelector('.report-summary .summary-item')"
	" && document.querySelector('.chart-wrapper svg, .frappe-chart svg')"
	" && document.querySelectorAll('.dt-row').length > 1"
)


def open_report(browser: Browser, base_url: str, campaign: str) -> str:
	query = urllib.parse.urlencode({"campaign": campaign})
	browser.eval("window.onbeforeunload = null")
	browser.open(f"{base_url}/app/query-report/Campaign Results?{query}")
	browser.wait_for(REPORT_READY, timeout=60)
	time.sleep(1.5)  # the chart animates in
	return browser.eval("document.querySelector('.layout-main-section').innerText")


def run(base_url: str, campaign: str) -> list[str]:
	chromium = shutil.which("chromium") or shutil.which("chromium-browser")
	browser = Browser(chromium)
	failures = []

	def check(condition: bool, what: str):
		print(("ok   " if condition else "FAIL ") + what)
		if not condition:
			failures.append(what)

	try:
		check(browser.login_as_administrator(base_url), "logged in as Administrator")
		text = open_report(browser, base_url, campaign)
		browser.screenshot("campaign_results_en.png")
		check("Treated" in text and "Control" in text, "the report shows treated and control rows")
		check("Incremental Revenue" in text, "the incremental revenue card and column are shown")
		check("95% Interval" in text, "the confidence interval is shown")
		legend = browser.eval("document.querySelector('.chart-wrapper, .frappe-chart').innerText")
		check("Treated" in legend and "Control" in legend, f"the chart has both curves ({legend!r})")

		browser.open(f"{base_url}/app/retention-campaign/{urllib.parse.quote(campaign)}")
		browser.wait_for(
			"window.cur_frm && cur_frm.doc.name && document.querySelector('[data-fieldname=results_html] svg')",
			timeout=60,
		)
		browser.eval(
			"document.querySelector('[data-fieldname=results_html]').scrollIntoView({block: 'center'})"
		)
		time.sleep(1.5)
		browser.screenshot("campaign_form_en.png")
		form_text = browser.eval("document.querySelector('[data-fieldname=results_html]').innerText")
		check("incremental revenue" in form_text, "the form shows the results and the chart")

		browser.set_language("zh")
		try:
			text = open_report(browser, base_url, campaign)
			browser.screenshot("campaign_results_zh.png")
			check("实验组" in text and "对照组" in text, "the report is in Chinese for a Chinese user")
			check("增量收入" in text, "the incremental revenue label is translated")
		finally:
			browser.set_language(None)
	except AssertionError as error:
		browser.screenshot("campaign_failure.png")
		check(False, f"{error} (campaign_failure.png)")
	finally:
		if browser.console:
			print("page errors: " + " / ".join(browser.console))
		browser.close()
	return failures


def main():
	args = browser_check_options(
		__doc__,
		"Campaign results",
		"site_camp",
		8014,
		extra=lambda parser: parser.add_argument(
			"--campaign", help="an existing measured campaign instead of a new one"
		),
	)
	ARTIFACTS.mkdir(exist_ok=True)
	campaign = (
		args.campaign
		or execute_on_site(
			Path(args.bench).expanduser(), args.site, "loyalty_crm.testing_campaigns.browser_campaign"
		)["campaign"]
	)
	print(f"campaign: {campaign}")
	failures = run(args.base_url, campaign)
	print(f"screenshots in {ARTIFACTS}")
	if failures:
		print(f"{len(failures)} check(s) failed")
		sys.exit(1)


if __name__ == "__main__":
	main()
