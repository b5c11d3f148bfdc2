"""Open the public survey page in headless Chromium, answer it, submit it, in English and Chinese.

Needs: chromium on PATH, the bench's web server for the site running (see serve_loopback.py),
and the `websocket-client` package. Without any of them it prints why and exits 0 (skipped).

    python tests/browser/survey_page.py [--site SITE] [--base-url http://127.0.0.1:8011]

Screenshots (390 x 844, a phone) go to tests/browser/artifacts/. Exit code 1 when a check fails.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

from cdp import Chromium, browser_check_options, execute_on_site

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
WIDTH, HEIGHT = 390, 844


def survey_links(bench: Path, site: str) -> list[str]:
	"""Fresh invoices with survey links, made on the site by the app's test helper."""
	return execute_on_site(bench, site, "loyalty_crm.testing.browser_survey_links")


class Browser(Chromium):
	"""The survey page on a phone-sized screen."""

	def __init__(self, chromium: str):
		super().__init__(chromium, WIDTH, HEIGHT, mobile=True)

	def open(self, url: str, accept_language: str = "en") -> None:
		super().open(url, accept_language=accept_language)

	def click(self, selector: str) -> None:
		self.eval(f"document.querySelector({json.dumps(selector)}).click()")

	def text(self) -> str:
		return self.eval("document.body.innerText")

	def screenshot(self, name: str) -> Path:
		height = int(self.eval("Math.ceil(document.documentElement.scrollHeight)"))
		result = self.send(
			"Page.captureScreenshot",
			format="png",
			captureBeyondViewport=True,
			clip={"x": 0, "y": 0, "width": WIDTH, "height": max(height, HEIGHT), "scale": 1},
		)
		path = ARTIFACTS / name
		path.write_bytes(base64.b64decode(result["data"]))
		return path


def answer(browser: Browser, nps: int, csat: int, ces: int, comment: str, complaint: str | None = None):
	browser.click(f"input[name=nps][value='{nps}']")
	browser.click(f"input[name=csat][value='{csat}']")
	browser.click(f"input[name=ces][value='{ces}']")
	browser.eval(
		f"(() => {{ const c = document.getElementById('comment'); c.value = {json.dumps(comment)};"
		" c.dispatchEvent(new Event('input')); })()"
	)
	if complaint:
		browser.click("#complaint")
		browser.eval(f"document.getElementById('complaint_category').value = {json.dumps(complaint)}")


def run(base_url: str, links: list[str]) -> list[str]:
	chromium = shutil.which("chromium") or shutil.which("chromium-browser")
	browser = Browser(chromium)
	failures = []

	def check(condition: bool, what: str):
		print(("ok   " if condition else "FAIL ") + what)
		if not condition:
			failures.append(what)

	try:
		english, chinese = links[0], links[1]
		# English, language from the browser's Accept-Language
		browser.open(base_url + english, accept_language="en-US,en;q=0.9")
		check("How likely are you to recommend us" in browser.text(), "English form shown")
		check(
			browser.eval("document.documentElement.scrollWidth") <= WIDTH,
			"no sideways scrolling on a 390px phone",
		)
		browser.screenshot("survey_en_form.png")
		browser.click("#submit")
		browser.wait_for("document.getElementById('error').style.display === 'block'")
		check("Please answer at least one question" in browser.text(), "empty form refused in the page")
		answer(browser, nps=9, csat=4, ces=6, comment="Friendly staff, short queue.")
		browser.screenshot("survey_en_filled.png")
		browser.click("#submit")
		browser.wait_for("document.querySelector('.notice.ok')")
		text = browser.text()
		check("Your answers have been received" in text, "English answers accepted")
		check("20 loyalty points have been added" in text, "reward points announced")
		browser.screenshot("survey_en_thanks.png")
		browser.open(base_url + english)
		check("already been answered" in browser.text(), "the same link cannot be answered twice")
		browser.screenshot("survey_en_used.png")

		# Simplified Chinese, from ?lang=zh
		browser.open(base_url + chinese + "&lang=zh", accept_language="en-US")
		text = browser.text()
		check("您有多大可能向朋友或同事推荐我们" in text, "Chinese form shown")
		browser.screenshot("survey_zh_form.png")
		answer(browser, nps=3, csat=2, ces=2, comment="排队太久了。", complaint="Waiting Time")
		browser.click("#submit")
		browser.wait_for("document.querySelector('.notice.ok')")
		check("我们已收到您的回答" in browser.text(), "Chinese answers accepted")
		browser.screenshot("survey_zh_thanks.png")

		# a tampered link gets a clear page, in Chinese from Accept-Language
		browser.open(base_url + chinese[:-3] + "abc", accept_language="zh-CN,zh;q=0.9")
		check("此调查链接无效" in browser.text(), "tampered link refused, language from Accept-Language")
		browser.screenshot("survey_zh_invalid.png")
	finally:
		browser.close()
	check(rate_limited(base_url), "submissions rate-limited per IP address (HTTP 429)")
	return failures


def rate_limited(base_url: str, tries: int = 60) -> bool:
	"""Post bad answers until the server refuses; nothing is written by any of them."""
	import urllib.error
	import urllib.parse

	body = urllib.parse.urlencode({"token": "not-a-token", "nps": "5"}).encode()
	for _ in range(tries):
		request = urllib.request.Request(
			f"{base_url}/api/method/loyalty_crm.services.surveys.submit",
			data=body,
			headers={"Accept": "application/json"},
		)
		try:
			urllib.request.urlopen(request, timeout=10)
		except urllib.error.HTTPError as error:
			if error.code == 429:
				return True
	return False


def reset_rate_limit(bench: Path, site: str) -> None:
	"""So the check can run again within the hour."""
	subprocess.run(
		[
			str(bench / "env" / "bin" / "python"),
			"-m",
			"frappe.utils.bench_helper",
			"frappe",
			"--site",
			site,
			"execute",
			"frappe.cache.delete_keys",
			"--args",
			json.dumps(["rl:loyalty_crm.services.surveys.submit"]),
		],
		cwd=bench / "sites",
		capture_output=True,
		check=False,
	)


def main():
	args = browser_check_options(__doc__, "survey page", "site_surveys", 8011)
	ARTIFACTS.mkdir(exist_ok=True)
	bench = Path(args.bench).expanduser()
	links = survey_links(bench, args.site)
	try:
		failures = run(args.base_url, links)
	finally:
		reset_rate_limit(bench, args.site)
	print(f"screenshots in {ARTIFACTS}")
	if failures:
		print(f"{len(failures)} check(s) failed")
		sys.exit(1)


if __name__ == "__main__":
	main()
