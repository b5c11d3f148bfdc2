"""Find a real Frappe bench to run the app's FrappeTestCases on, or say why not.

The integration tests are FrappeTestCases beside the doctypes; `bench run-tests` runs them
on a real ERPNext site. This module only locates that bench and site and checks that its
database and Redis answer, so the pytest run can run them or skip with one clear line.

Where a skip would hide a broken CI it must not happen: in CI (``CI=true``) on a machine that
has the bench kit beside the checkout, ``.ci/run`` has just built the bench, so a bench that is
missing or down is a failure with its reason (:func:`must_run`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
# Lines of the bench runner's own summary, printed at the end of the pytest run (conftest).
BENCH_SUMMARY: list[str] = []
KIT = Path(os.environ.get("LOYALTY_CRM_KIT", CHECKOUT.parent / "shared" / "bench")).expanduser()


@dataclass
class Bench:
	path: Path
	site: str | None
	problem: str | None

	@property
	def usable(self) -> bool:
		return self.problem is None

	def app_path(self) -> Path:
		return (self.path / "apps" / "loyalty_crm").resolve()

	def runs_checkout(self) -> bool:
		"""The bench must test this checkout, not whatever copy its apps/ folder happens to hold."""
		return self.app_path() == CHECKOUT

	def command(self, *args: str) -> list[str]:
		"""bench's own entry point, without needing the bench CLI on PATH."""
		return [str(self.path / "env" / "bin" / "python"), "-m", "frappe.utils.bench_helper", "frappe", *args]

	def run(self, *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
		return subprocess.run(
			self.command(*args), cwd=self.path / "sites", capture_output=True, text=True, timeout=timeout
		)


def find_bench() -> Bench:
	path = Path(os.environ.get("LOYALTY_CRM_BENCH", "~/frappe-bench")).expanduser()
	if not (path / "apps" / "frappe").is_dir() or not (path / "sites").is_dir():
		return Bench(path, None, f"no Frappe bench at {path} (set LOYALTY_CRM_BENCH)")
	common = _read_json(path / "sites" / "common_site_config.json")
	site = os.environ.get("LOYALTY_CRM_SITE") or _default_site(path, common)
	if not site or not (path / "sites" / site / "site_config.json").exists():
		return Bench(path, site, f"bench at {path} has no site {site!r} (set LOYALTY_CRM_SITE)")
	if not (path / "apps" / "loyalty_crm").exists():
		return Bench(path, site, f"loyalty_crm is not in {path}/apps (bench get-app it first)")
	config = {**common, **_read_json(path / "sites" / site / "site_config.json")}
	for label, host, port in _services(config):
		if not _answers(host, port):
			return Bench(path, site, f"bench at {path} found but its {label} at {host}:{port} is not running")
	return Bench(path, site, None)


def must_run() -> bool:
	"""In CI with the kit present the bench was built for this run: no silent skip."""
	return os.environ.get("CI", "").lower() in ("1", "true", "yes") and (KIT / "build.sh").is_file()


def _default_site(path: Path, common: dict) -> str | None:
	current = path / "sites" / "currentsite.txt"
	if current.exists() and current.read_text().strip():
		return current.read_text().strip()
	return common.get("default_site")


def _services(config: dict) -> list[tuple[str, str, int]]:
	services = [("MariaDB", config.get("db_host", "127.0.0.1"), int(config.get("db_port", 3306)))]
	for key in ("redis_cache", "redis_queue"):
		url = config.get(key)
		if url and url.startswith("redis://"):
			host, _, port = url[len("redis://") :].partition(":")
			services.append((key, host, int(port or 6379)))
	return services


def _answers(host: str, port: int) -> bool:
	try:
		with socket.create_connection((host, port), timeout=2):
			return True
	except OSError:
		return False


def _read_json(path: Path) -> dict:
	try:
		return json.loads(path.read_text())
	except (OSError, ValueError):
		return {}
