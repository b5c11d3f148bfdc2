"""A real second MariaDB server, loaded from a snapshot of the site's database, as a read replica.

For the replica tests (``services/test_replica.py``) and the nightly benchmark: a ``mariadbd``
of its own (own temporary datadir, own socket, a free port picked at run time, started as the
``mysql`` user the way the bench kit starts the primary) with the site's database copied in by
``mariadb-dump --single-transaction`` and the site's database user created with the site's
password, so ``frappe.connect_replica()`` logs in exactly as it would to a production replica.
It is a snapshot, not a replicating server: it needs nothing changed on the primary (no binary
log, no replication user), which is also why the health check's staleness measure, not
``Seconds_Behind_Master``, is what it exercises.

The primary's configuration and datadir are never touched: the server starts with
``--no-defaults`` and every option on its command line.

    server = start_replica()                # the current site's database; about 10 s
    with replica_configured(server):        # frappe.local.conf points at it for this process
        ...
    server.stop()                           # process killed, datadir removed

For background workers (a benchmark), ``replica_in_site_config(server, site_path)`` writes the
keys into ``site_config.json`` and restores the file's exact bytes afterwards.
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest.mock import patch

import frappe

HOST = "127.0.0.1"
# The bench's own ports (MariaDB, web, socket.io, redis queue and cache, file watcher) are never
# used, even if free at the moment.
RESERVED_PORTS = frozenset({3306, 8000, 9000, 11000, 13000, 6787})
TOOLS = ("mariadbd", "mariadb-install-db", "mariadb-dump", "mariadb")


def _tool(name: str) -> str | None:
	return shutil.which(name) or next(
		(str(path) for path in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if path.exists()), None
	)


def replica_unavailable_reason() -> str | None:
	"""Why a second server cannot be started here (for a test's skip message), or None."""
	missing = [name for name in TOOLS if not _tool(name)]
	if missing:
		return f"{', '.join(missing)} not installed (apt-get install mariadb-server mariadb-client)"
	if os.geteuid() == 0:
		try:
			pwd.getpwnam("mysql")
		except KeyError:
			return "running as root but there is no 'mysql' user to run mariadbd as"
	return None


def free_port() -> int:
	"""A TCP port nothing listens on now, outside the bench's own ports."""
	while True:
		with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
			probe.bind((HOST, 0))
			port = probe.getsockname()[1]
		if port not in RESERVED_PORTS:
			return port


@dataclass
class ReplicaServer:
	"""One running second ``mariadbd``; ``stop()`` kills it and removes its files."""

	db_name: str
	db_password: str
	port: int
	root: Path
	primary: dict = field(repr=False)
	options: tuple[str, ...] = ()
	process: subprocess.Popen | None = field(default=None, repr=False)

	@property
	def datadir(self) -> Path:
		return self.root / "data"

	@property
	def socket(self) -> str:
		return str(self.root / "mysqld.sock")

	def start(self) -> None:
		"""Start the server on its datadir (again, after ``shutdown()``) and wait until it answers."""
		if self.running:
			return
		command = [
			_tool("mariadbd"),
			"--no-defaults",
			f"--datadir={self.datadir}",
			f"--port={self.port}",
			f"--bind-address={HOST}",
			f"--socket={self.socket}",
			f"--pid-file={self.root / 'mysqld.pid'}",
			f"--log-error={self.root / 'error.log'}",
			"--skip-name-resolve",
			"--innodb-buffer-pool-size=128M",
			"--innodb-log-file-size=64M",
			"--innodb-flush-log-at-trx-commit=0",
			"--innodb-doublewrite=0",
			"--character-set-server=utf8mb4",
			"--collation-server=utf8mb4_unicode_ci",
			"--character-set-client-handshake=FALSE",
			"--max-allowed-packet=256M",
		]
		if not any(option.startswith("--log-bin") for option in self.options):
			command.append("--skip-log-bin")
		command += self.options
		if os.geteuid() == 0:
			command.insert(2, "--user=mysql")
		with open(self.root / "console.log", "ab") as console:
			self.process = subprocess.Popen(
				command, stdin=subprocess.DEVNULL, stdout=console, stderr=console, start_new_session=True
			)
		deadline = time.monotonic() + 60
		while time.monotonic() < deadline:
			if self.process.poll() is not None:
				raise RuntimeError(f"the replica mariadbd exited: {self._log_tail()}")
			try:
				self.sql("select 1")
				return
			except subprocess.CalledProcessError:
				time.sleep(0.2)
		raise RuntimeError(f"the replica mariadbd did not answer within 60 s: {self._log_tail()}")

	@property
	def running(self) -> bool:
		return self.process is not None and self.process.poll() is None

	def shutdown(self) -> None:
		"""Stop the server cleanly and keep its data (``start()`` brings it back): "replica down"."""
		if self.running:
			self.process.terminate()
			try:
				self.process.wait(60)
			except subprocess.TimeoutExpired:
				self.process.kill()
				self.process.wait()
		self.process = None

	@contextmanager
	def hung(self) -> Iterator[None]:
		"""The server frozen (SIGSTOP): it accepts TCP connections and never answers."""
		os.kill(self.process.pid, signal.SIGSTOP)
		try:
			yield
		finally:
			os.kill(self.process.pid, signal.SIGCONT)

	def stop(self) -> None:
		"""Kill the server and remove its datadir; safe to call twice."""
		if self.running:
			self.process.kill()
			self.process.wait()
		self.process = None
		shutil.rmtree(self.root, ignore_errors=True)

	def sql(self, query: str) -> list[list[str]]:
		"""Run SQL as the server's root, on the site's database, through its socket; rows as text."""
		database = [self.db_name] if self.loaded else []
		result = subprocess.run(
			[_tool("mariadb"), "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B", *database],
			input=query,
			capture_output=True,
			text=True,
			check=True,
			timeout=60,
		)
		return [line.split("\t") for line in result.stdout.splitlines()]

	@property
	def loaded(self) -> bool:
		return (self.datadir / self.db_name).is_dir()

	def refresh_snapshot(self) -> None:
		"""Copy the site's database from the primary again (committed rows, one consistent read)."""
		name = self.db_name
		self.sql(
			f"DROP DATABASE IF EXISTS `{name}`;"
			f" CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
		)
		options = self.root / "primary.cnf"
		client = [f"user={name}", f"password={self.db_password}"]
		if self.primary.get("socket"):
			client.append(f"socket={self.primary['socket']}")
		else:
			client += [f"host={self.primary['host']}", f"port={self.primary['port']}"]
		options.write_text("[client]\n" + "\n".join(client) + "\n")
		options.chmod(0o600)
		dump = subprocess.Popen(
			[
				_tool("mariadb-dump"),
				f"--defaults-file={options}",
				"--single-transaction",
				"--quick",
				"--skip-lock-tables",
				"--default-character-set=utf8mb4",
				name,
			],
			stdout=subprocess.PIPE,
			stderr=subprocess.PIPE,
		)
		load = subprocess.run(
			[
				_tool("mariadb"),
				"--no-defaults",
				f"--socket={self.socket}",
				"-uroot",
				"--default-character-set=utf8mb4",
				name,
			],
			stdin=dump.stdout,
			capture_output=True,
		)
		dump.stdout.close()
		dump_error = dump.stderr.read().decode(errors="replace")
		dump.wait()
		options.unlink()
		if dump.returncode or load.returncode:
			raise RuntimeError(
				f"copying {name} to the replica failed: {dump_error.strip()} {load.stderr.decode(errors='replace').strip()}"
			)


def start_replica(
	site_db_name: str | None = None, db_password: str | None = None, port: int | None = None
) -> ReplicaServer:
	"""Start a second MariaDB with a snapshot of the site's database and its user; about 10 s.

	Defaults come from the connected site's config (``db_name``, ``db_password``, and where the
	primary is: ``db_socket`` or ``db_host``/``db_port``). ``port`` None picks a free one.
	"""
	server = start_server(site_db_name, db_password, port)
	try:
		server.refresh_snapshot()
		server.sql(_site_user_sql(server))
	except BaseException:
		server.stop()
		raise
	return server


def start_replicating_pair(
	site_db_name: str | None = None, db_password: str | None = None
) -> tuple[ReplicaServer, ReplicaServer]:
	"""Two new servers, the second replicating from the first: ``SHOW REPLICA STATUS`` for real.

	The site's own primary has no binary log and is not reconfigured for a test, so this pair
	stands beside it: the first server holds an empty database of the site's name and the
	site's user (both reach the second through replication), the second is the "replica" the
	site is pointed at. Only the replication-status side of the health check can be shown on
	it; the snapshot from ``start_replica()`` shows the rest. A few seconds: no data is copied.
	"""
	source = start_server(site_db_name, db_password, options=("--server-id=1", "--log-bin=binlog"))
	try:
		replica = start_server(site_db_name, db_password, options=("--server-id=2",))
	except BaseException:
		source.stop()
		raise
	try:
		source.sql(
			"CREATE USER 'replication'@'%' IDENTIFIED BY 'replication';"
			" GRANT REPLICATION SLAVE ON *.* TO 'replication'@'%';"
		)
		replica.sql(
			f"CHANGE MASTER TO MASTER_HOST='{HOST}', MASTER_PORT={source.port},"
			" MASTER_USER='replication', MASTER_PASSWORD='replication', MASTER_USE_GTID=no,"
			" MASTER_CONNECT_RETRY=1, MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4; START SLAVE;"
		)
		name = source.db_name
		source.sql(
			f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
			f" {_site_user_sql(source)}"
		)
		deadline = time.monotonic() + 60
		while not replica.loaded or not replica.sql(
			f"select 1 from mysql.global_priv where User = '{name}' and Host = '{HOST}'"
		):
			if time.monotonic() > deadline:
				raise RuntimeError(f"replication did not start: {replica.sql('SHOW SLAVE STATUS')}")
			time.sleep(0.2)
	except BaseException:
		replica.stop()
		source.stop()
		raise
	return source, replica


def start_server(
	site_db_name: str | None = None,
	db_password: str | None = None,
	port: int | None = None,
	options: tuple[str, ...] = (),
) -> ReplicaServer:
	"""A new, empty MariaDB server (system tables only), started; the building block of the above."""
	reason = replica_unavailable_reason()
	if reason:
		raise RuntimeError(reason)
	conf = frappe.conf
	site_db_name = site_db_name or conf.db_name
	db_password = db_password or conf.db_password
	if port is None:
		port = free_port()
	elif port in RESERVED_PORTS:
		raise ValueError(f"port {port} belongs to the bench")
	primary = {"socket": conf.db_socket, "host": conf.db_host or HOST, "port": int(conf.db_port or 3306)}
	root = Path(tempfile.mkdtemp(prefix="loyalty-crm-replica-"))
	if os.geteuid() == 0:
		mysql = pwd.getpwnam("mysql")
		os.chown(root, mysql.pw_uid, mysql.pw_gid)
	server = ReplicaServer(site_db_name, db_password, port, root, primary, options=tuple(options))
	atexit.register(server.stop)
	try:
		install = [
			_tool("mariadb-install-db"),
			"--no-defaults",
			f"--datadir={server.datadir}",
			"--auth-root-authentication-method=socket",
			"--skip-test-db",
		]
		if os.geteuid() == 0:
			install.insert(2, "--user=mysql")
		subprocess.run(install, capture_output=True, check=True, timeout=120)
		server.start()
	except BaseException:
		server.stop()
		raise
	return server


def _site_user_sql(server: ReplicaServer) -> str:
	"""The site's database user, as on the primary, able to read replication status."""
	statements = []
	for host in ("localhost", HOST):
		user = f"'{server.db_name}'@'{host}'"
		statements += [
			f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{server.db_password}'",
			f"GRANT ALL PRIVILEGES ON `{server.db_name}`.* TO {user}",
			# As a DBA would grant a monitoring user: SHOW REPLICA STATUS answers instead of
			# refusing (with no rows on a snapshot).
			f"GRANT REPLICA MONITOR ON *.* TO {user}",
		]
	return "; ".join(statements) + ";"


def replica_settings(server: ReplicaServer, max_lag_seconds: float | None = None) -> dict:
	"""The site_config keys that point Frappe at ``server`` (Frappe's own keys, and our max lag)."""
	values = {"read_from_replica": 1, "replica_host": HOST, "replica_db_port": server.port}
	if max_lag_seconds is not None:
		values["loyalty_crm_replica_max_lag_seconds"] = max_lag_seconds
	return values


@contextmanager
def replica_configured(server: ReplicaServer, max_lag_seconds: float | None = None) -> Iterator[None]:
	"""This process's site config (``frappe.local.conf``) points at ``server`` inside the block."""
	with patch.dict(frappe.local.conf, replica_settings(server, max_lag_seconds)):
		yield


@contextmanager
def replica_in_site_config(
	server: ReplicaServer, site_path: str | os.PathLike, max_lag_seconds: float | None = None
) -> Iterator[None]:
	"""``SITE/site_config.json`` points at ``server`` (for workers) inside the block; exact bytes restored."""
	path = Path(site_path) / "site_config.json"
	original = path.read_bytes()
	config = json.loads(original)
	config.update(replica_settings(server, max_lag_seconds))
	try:
		path.write_text(json.dumps(config, indent=1))
		yield
	finally:
		path.write_bytes(original)
