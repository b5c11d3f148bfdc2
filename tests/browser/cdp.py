"""The few Chrome DevTools Protocol calls the browser checks need, over one headless Chromium.

Shared by survey_page.py and pos_till.py, which add their own clicks and screenshots.
Chromium runs with a fresh profile, no background networking, and its debugging port on
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


class Chromium:
	def __init__(self, chromium: str, width: int, height: int, mobile: bool, timeout: float = 30):
		import websocket

		self.width, self.height = width, height
		self.profile = tempfile.mkdtemp(prefix="lcrm-chromium-")
		self.process = subprocess.Popen(
			[
				chromium,
				"--headless",
				"--no-sandbox",
				"--disable-gpu",
				"--disable-quic",
				"--no-first-run",
				"--disable-background-networking",
				"--disable-component-update",
				"--disable-sync",
				"--hide-scrollbars",
				f"--user-data-dir={self.profile}",
				f"--window-size={width},{height}",
				"--remote-debugging-address=127.0.0.1",
				"--remote-debugging-port=0",
				"about:blank",
			],
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
		)
		port_file = Path(self.profile) / "DevToolsActivePort"
		for _ in range(100):
			if port_file.exists() and port_file.read_text().strip():
				break
			time.sleep(0.1)
		port = port_file.read_text().split()[0]
		with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
			page = next(target for target in json.load(response) if target["type"] == "page")
		self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout)
		self.next_id = 0
		self.console: list[str] = []
		self.send("Page.enable")
		self.send("Runtime.enable")
		self.send(
			"Emulation.setDeviceMetricsOverride",
			width=width,
			height=height,
			deviceScaleFactor=1,
			mobile=mobile,
		)

	def send(self, method: str, **params):
		"""One command and its answer; page exceptions seen meanwhile are kept in ``console``."""
		self.next_id += 1
		self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
		while True:
			message = json.loads(self.socket.recv())
			if message.get("method") == "Runtime.exceptionThrown":
				details = message["params"]["exceptionDetails"]
				self.console.append(details.get("text", ""))
				self.console.append(json.dumps(details.get("exception", {}).get("description", ""))[:500])
			if message.get("id") == self.next_id:
				if "error" in message:
					raise RuntimeError(f"{method}: {message['error']}")
				return message.get("result", {})

	def open(self, url: str, accept_language: str | None = None) -> None:
		if accept_language:
			self.send("Network.enable")
			self.send("Network.setExtraHTTPHeaders", headers={"Accept-Language": accept_language})
		self.send("Page.navigate", url=url)
		self.wait_for("document.readyState === 'complete'")

	def eval(self, expression: str):
		result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
		if "exceptionDetails" in result:
			raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
		return result["result"].get("value")

	def wait_for(self, condition: str, timeout: float = 30) -> None:
		end = time.time() + timeout
		while time.time() < end:
			try:
				if self.eval(f"Boolean({condition})"):
					return
			except RuntimeError:
				pass
			time.sleep(0.2)
		raise AssertionError(f"timed out waiting for {condition}")

	def login_as_administrator(self, base_url: str) -> bool:
		"""Log in through Frappe's login API on the site's own page (the session cookie sticks)."""
		self.open(base_url + "/login")
		status = self.eval(
			"fetch('/api/method/login', {method: 'POST', headers: {'Content-Type': 'application/json',"
			" 'Accept': 'application/json'}, body: JSON.stringify({usr: 'Administrator', pwd: 'admin'})})"
			".then((r) => r.status)"
		)
		return status == 200

	def set_language(self, language: str | None) -> None:
		"""The Administrator's desk language ('zh', 'en'; None: back to the site's)."""
		self.eval(
			"frappe.xcall('frappe.client.set_value', {doctype: 'User', name: 'Administrator',"
			f" fieldname: 'language', value: {json.dumps(language)}}})"
		)

	def close(self) -> None:
		try:
			self.socket.close()
		finally:
			self.process.terminate()
			self.process.wait(timeout=10)
			shutil.rmtree(self.profile, ignore_errors=True)


def server_up(base_url: str) -> bool:
	try:
		with urllib.request.urlopen(f"{base_url}/api/method/ping", timeout=5) as response:
			return response.status == 200
	except OSError:
		return False


def execute_on_site(bench: Path, site: str, method: str):
	"""Run a whitelisted-style function on the site through bench's entry point; its JSON result."""
	result = subprocess.run(
		[str(bench / "env" / "bin" / "python"), "-m", "frappe.utils.bench_helper", "frappe"]
		+ ["--site", site, "execute", method],
		cwd=bench / "sites",
		capture_output=True,
		text=True,
		check=True,
	)
	line = [row for row in result.stdout.splitlines() if row.startswith(("[", "{"))][-1]
	return json.loads(line)


def browser_check_options(doc: str, title: str, site: str, port: int, extra=None) -> argparse.Namespace:
	"""The options every browser check takes, and the reasons it skips (exit 0, one line):
	no Chromium, no websocket-client, or no web server for the site at --base-url.

	``extra`` adds a check's own options to the parser before it reads the command line.
	"""
	parser = argparse.ArgumentParser(description=doc.splitlines()[0])
	parser.add_argument("--site", default=os.environ.get("LOYALTY_CRM_SITE", site))
	parser.add_argument("--base-url", default=f"http://127.0.0.1:{port}")
	parser.add_argument("--bench", default=os.environ.get("LOYALTY_CRM_BENCH", "~/frappe-bench"))
	if extra:
		extra(parser)
	args = parser.parse_args()

	def skip(reason: str) -> None:
		print(f"{title} browser check: SKIPPED, {reason}")
		sys.exit(0)

	if not (shutil.which("chromium") or shutil.which("chromium-browser")):
		skip("chromium is not installed (apt-get install chromium)")
	try:
		import websocket  # noqa: F401
	except ImportError:
		skip("the websocket-client package is not installed")
	if not server_up(args.base_url):
		skip(f"no web server at {args.base_url} (start it with tests/browser/serve_loopback.py)")
	return args
