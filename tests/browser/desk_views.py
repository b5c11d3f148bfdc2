"""Open the desk in headless Chromium: the Loyalty CRM workspace, a Customer's loyalty panel and a
report's filters, in English and in Simplified Chinese, and take screenshots.

Checks that the workspace's Number Cards show numbers and its Dashboard Charts draw, that the
loyalty panel sits on the Customer form's first tab with the tier, points and movements, that
a report's filters carry their labels and its breadcrumb is Loyalty CRM, and that a Chinese
desk shows all of it in Chinese.

Needs: chromium on PATH, the bench's web server for the site running (serve_loopback.py), the
`websocket-client` package. Without any of them it prints why and exits 0 (skipped).

    python tests/browser/desk_views.py [--site SITE] [--base-url http://127.0.0.1:8013]

The site gets a small shop's year of loyalty (loyalty_crm.testing_desk.browser_desk_views).
Screenshots go to tests/browser/artifacts/desk_*_{en,zh}.png. Exit code 1 when a check fails.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

from cdp import Chromium, browser_check_options, execute_on_site

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
WIDTH, HEIGHT = 1440, 900


class Browser(Chromium):
	def __init__(self, chromium: str):
		super().__init__(chromium, WIDTH, HEIGHT, mobile=False, timeout=60)

	def screenshot(self, name: str, full_height: bool = False) -> Path:
		"""The viewport, or the whole page (the viewport grown to the document's height)."""
		if full_height:
			height = int(
				self.eval(
					"Math.max(document.documentElement.scrollHeight, ...[...document.querySelectorAll("
					"'.layout-main, .widget')].map((e) => e.getBoundingClientRect().bottom + window.scrollY + 40))"
				)
			)
			self.send(
				"Emulation.setDeviceMetricsOverride",
				width=WIDTH,
				height=min(height, 4000),
				deviceScaleFactor=1,
				mobile=False,
			)
		result = self.send("Page.captureScreenshot", format="png")
		if full_height:
			self.send(
				"Emulation.setDeviceMetricsOverride",
				width=WIDTH,
				height=HEIGHT,
				deviceScaleFactor=1,
				mobile=False,
			)
		path = ARTIFACTS / name
		path.write_bytes(base64.b64decode(result["data"]))
		return path

	def text(self, selector: str) -> str:
		return self.eval(f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''")


def views(browser: Browser, base_url: str, customer: str, lang: str, check) -> None:
	zh = lang == "zh"
	# the workspace: every number card with a number, every chart drawn
	browser.open(base_url + "/app/loyalty-crm")
	browser.wait_for("document.querySelectorAll('.widget.number-widget-box').length >= 7", timeout=60)
	browser.wait_for(
		"[...document.querySelectorAll('.widget.number-widget-box .number')]"
		".every((e) => e.innerText.trim() !== '')",
		timeout=60,
	)
	browser.wait_for(
		"document.querySelectorAll('.widget.dashboard-widget-box .chart-container svg').length >= 4",
		timeout=60,
	)
	browser.eval("new Promise((resolve) => setTimeout(resolve, 1500))")
	cards = browser.eval(
		"[...document.querySelectorAll('.widget.number-widget-box')].map((w) => "
		"[w.querySelector('.widget-title').innerText.trim(), w.querySelector('.number').innerText.trim()])"
	)
	print(f"number cards ({lang}): {cards}")
	check(len(cards) >= 7 and all(number for _title, number in cards), f"{lang}: 7 number cards with numbers")
	titles = " ".join(title for title, _number in cards).lower()  # CSS shows them upper case
	check(("有积分的会员" in titles) if zh else ("members with points" in titles), f"{lang}: card titles")
	browser.screenshot(f"desk_workspace_{lang}.png", full_height=True)

	# the Customer form: the panel on the first tab, near the top
	browser.open(base_url + f"/app/customer/{customer}")
	browser.wait_for("document.querySelector('.lcrm-panel .lcrm-tier')", timeout=60)
	browser.eval("new Promise((resolve) => setTimeout(resolve, 800))")
	top = browser.eval("Math.round(document.querySelector('.lcrm-panel').getBoundingClientRect().top)")
	check(0 < top < HEIGHT, f"{lang}: the loyalty panel is visible without scrolling (top at {top}px)")
	panel = browser.text(".lcrm-panel")
	print(f"panel ({lang}): {panel[:400]!r}")
	heading = browser.eval(
		"(() => { const s = document.querySelector('.lcrm-panel').closest('.form-section');"
		" const h = s && s.querySelector('.section-head'); return h ? h.innerText.trim() : ''; })()"
	)
	check(heading == ("会员忠诚度" if zh else "Loyalty"), f"{lang}: panel heading {heading!r}")
	for english, chinese in (("Points Balance", "积分余额"), ("Last Points Movements", "最近积分变动")):
		check((chinese if zh else english) in panel, f"{lang}: panel shows {chinese if zh else english}")
	browser.screenshot(f"desk_customer_panel_{lang}.png")

	# a report: labelled filters with their values, Loyalty CRM breadcrumb
	browser.open(base_url + "/app/query-report/Customer Lifetime Value?company=_Test Company")
	browser.wait_for("document.querySelectorAll('.page-form .lcrm-filter-label').length >= 8", timeout=60)
	browser.wait_for("frappe.query_report && (frappe.query_report.data || []).length > 0", timeout=60)
	browser.eval("new Promise((resolve) => setTimeout(resolve, 1000))")
	labels = browser.eval(
		"[...document.querySelectorAll('.page-form .lcrm-filter-label')].map((e) => e.innerText)"
	)
	crumbs = browser.text("#navbar-breadcrumbs")
	print(f"report filter labels ({lang}): {labels}; breadcrumb: {crumbs!r}")
	check(
		("预测期（月）" if zh else "Horizon (Months)") in labels,
		f"{lang}: the horizon filter says what it is",
	)
	check(("会员 CRM" if zh else "Loyalty CRM") in crumbs, f"{lang}: breadcrumb is the Loyalty CRM workspace")
	browser.screenshot(f"desk_report_clv_{lang}.png")


def run(base_url: str, customer: str) -> list[str]:
	chromium = shutil.which("chromium") or shutil.which("chromium-browser")
	browser = Browser(chromium)
	failures: list[str] = []

	def check(condition: bool, what: str):
		print(("ok   " if condition else "FAIL ") + what)
		if not condition:
			failures.append(what)

	try:
		check(browser.login_as_administrator(base_url), "logged in as Administrator")
		browser.open(base_url + "/app")
		browser.wait_for("window.frappe && frappe.xcall")
		browser.set_language("en")
		views(browser, base_url, customer, "en", check)
		browser.set_language("zh")
		try:
			views(browser, base_url, customer, "zh", check)
		finally:
			browser.set_language(None)
	except Exception as error:  # a page that never loads: keep the evidence, then fail
		browser.screenshot("desk_failure.png")
		check(False, f"{type(error).__name__}: {error}")
	finally:
		if browser.console:
			print("page errors: " + " / ".join(browser.console))
		browser.close()
	return failures


def main():
	args = browser_check_options(__doc__, "Desk views", "site_desk", 8013)
	ARTIFACTS.mkdir(exist_ok=True)
	data = execute_on_site(
		Path(args.bench).expanduser(), args.site, "loyalty_crm.testing_desk.browser_desk_views"
	)
	print(f"demo: {data}")
	failures = run(args.base_url, data["customer"])
	print(f"screenshots in {ARTIFACTS}")
	if failures:
		print(f"{len(failures)} check(s) failed")
		sys.exit(1)


if __name__ == "__main__":
	main()
