"""Reads on a real second MariaDB server, writes on the primary, and the fallbacks when it is not fit.

The replica is a second ``mariadbd`` on this machine loaded from a snapshot of this site's
database (``loyalty_crm/testing_replica.py``), about 10-20 s to start once for the class. To
prove where a read went, the replica gets a ToDo row the primary does not have (ToDo is not one
of the tables the staleness check watches, so the replica still counts as current).

Without ``mariadbd`` the class is skipped with the reason, except in CI where that fails.
"""

from __future__ import annotations

import os
import time
import unittest
from datetime import datetime, timedelta
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import get_datetime

from loyalty_crm.services import replica
from loyalty_crm.services.replica import PRIMARY, REPLICA, reading
from loyalty_crm.testing_replica import (
	replica_configured,
	replica_in_site_config,
	replica_unavailable_reason,
	start_replica,
	start_replicating_pair,
)

REPLICA_SETTINGS = (
	"read_from_replica",
	"replica_host",
	"replica_db_port",
	"loyalty_crm_replica_max_lag_seconds",
)


def forget_what_read_only_left() -> None:
	"""A finished frappe.read_only() leaves primary_db/replica_db on frappe.local; start without."""
	if getattr(frappe.local, "primary_db", None) is frappe.local.db:
		for attr in ("primary_db", "replica_db"):
			if hasattr(frappe.local, attr):
				delattr(frappe.local, attr)


def port() -> int:
	return int(frappe.db.sql("select @@port")[0][0])


def skip_without_mariadbd() -> None:
	reason = replica_unavailable_reason()
	if reason:
		if os.environ.get("CI"):
			raise RuntimeError(f"CI must run the read replica tests: {reason}")
		raise unittest.SkipTest(f"no second MariaDB server: {reason}")


class TestReadReplica(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		skip_without_mariadbd()
		cls.server = start_replica()
		cls.marker = f"replica-only-{frappe.generate_hash(length=8)}"
		cls.server.sql(
			"insert into `tabToDo` (name, description, status, creation, modified)"
			f" values ('{cls.marker}', 'only on the replica', 'Open', '2001-01-01', '2001-01-01')"
		)
		cls.primary_port = port()
		cls.logger = frappe.logger("loyalty_crm")

	@classmethod
	def tearDownClass(cls):
		if getattr(cls, "server", None):
			cls.server.stop()
		super().tearDownClass()

	def setUp(self):
		self.assertFalse(any(frappe.conf.get(key) for key in REPLICA_SETTINGS), "site config has a replica")
		self.primary = frappe.local.db  # the object: frappe.db is a proxy, always itself

	def tearDown(self):
		frappe.db.rollback()

	def replica_todo(self, name: str) -> int:
		return int(self.server.sql(f"select count(*) from `tabToDo` where name = '{name}'")[0][0])

	def todo_description(self, name: str):
		rows = frappe.db.sql("select description from `tabToDo` where name = %s", name)
		return rows[0][0] if rows else None

	def test_healthy_replica_serves_the_reads_and_writes_go_to_the_primary(self):
		self.assertNotEqual(self.server.port, self.primary_port)
		self.assertIsNone(self.todo_description(self.marker), "the marker is on the replica only")
		with replica_configured(self.server), self.assertNoLogs(self.logger, "WARNING"):
			with reading("test read") as source:
				self.assertEqual(source.name, REPLICA)
				self.assertIsNone(source.reason)
				self.assertEqual(source.measured_by, "newest modified")
				self.assertEqual(source.lag_seconds, 0)
				self.assertEqual(port(), self.server.port)
				self.assertEqual(self.todo_description(self.marker), "only on the replica")
			self.assertIs(frappe.local.db, self.primary)
			self.assertEqual(port(), self.primary_port)
			self.assertIsNone(self.todo_description(self.marker))
			written = frappe.get_doc({"doctype": "ToDo", "description": "written after the read"}).insert()
		self.assertEqual(self.todo_description(written.name), "written after the read")
		self.assertEqual(self.replica_todo(written.name), 0, "the write reached the replica")

	def test_a_write_inside_the_block_is_refused_and_write_only_goes_to_the_primary(self):
		@frappe.write_only()
		def note():
			frappe.get_doc({"doctype": "ToDo", "description": "written through write_only"}).insert()
			return port(), frappe.db.sql("select max(name) from `tabToDo`")[0][0]

		before = self.replica_todo(self.marker)
		with replica_configured(self.server), reading("test read") as source:
			self.assertEqual(source.name, REPLICA)
			with self.assertRaises(frappe.InReadOnlyMode):
				frappe.db.sql("update `tabToDo` set description = 'changed' where name = %s", self.marker)
			written_on, _newest = note()
			self.assertEqual(port(), self.server.port, "write_only switched back to the replica")
		self.assertEqual(written_on, self.primary_port)
		self.assertEqual(self.replica_todo(self.marker), before)
		self.assertEqual(
			self.server.sql(f"select description from `tabToDo` where name = '{self.marker}'"),
			[["only on the replica"]],
		)
		self.assertTrue(frappe.db.exists("ToDo", {"description": "written through write_only"}))
		self.assertEqual(
			self.server.sql(
				"select count(*) from `tabToDo` where description = 'written through write_only'"
			),
			[["0"]],
		)

	def test_a_lagging_replica_falls_back_with_a_warning(self):
		"""An invoice changed on the primary 100 s after the replica's newest: lag 100 s."""
		replica_newest = get_datetime(self.server.sql("select max(modified) from `tabSales Invoice`")[0][0])
		self.assertIsInstance(replica_newest, datetime, "the site has Sales Invoices")
		invoice = frappe.db.get_value("Sales Invoice", {}, "name")
		frappe.db.sql(
			"update `tabSales Invoice` set modified = %s where name = %s",
			(replica_newest + timedelta(seconds=100), invoice),
		)

		with replica_configured(self.server, max_lag_seconds=300), reading("test read") as source:
			self.assertEqual(source.name, REPLICA)
			self.assertEqual(source.lag_seconds, 100)
			self.assertEqual(port(), self.server.port)

		for max_lag in (60, 0):
			with (
				replica_configured(self.server, max_lag_seconds=max_lag),
				self.assertLogs(self.logger, "WARNING") as logs,
			):
				with reading("nightly test") as source:
					self.assertEqual(port(), self.primary_port)
					self.assertIs(frappe.local.db, self.primary)
			self.assertEqual(source.name, PRIMARY)
			self.assertEqual(source.lag_seconds, 100)
			self.assertIn(f"lagging 100 s behind the primary (at most {max_lag} s", source.reason)
			self.assertEqual(len(logs.records), 1)
			self.assertIn("nightly test: Read replica", logs.output[0])
			self.assertIn(source.reason, logs.output[0])

	def test_a_replica_without_rows_the_primary_has_is_lagging(self):
		self.server.sql(
			"create table `_customers` like `tabCustomer`;"
			" insert into `_customers` select * from `tabCustomer`; delete from `tabCustomer`;"
		)
		try:
			with replica_configured(self.server), self.assertLogs(self.logger, "WARNING"):
				with reading("test read") as source:
					self.assertEqual(port(), self.primary_port)
			self.assertIn("has no Customer rows while the primary has some", source.reason)
		finally:
			self.server.sql("insert into `tabCustomer` select * from `_customers`; drop table `_customers`;")

	def test_a_replica_that_is_down_or_hung_falls_back_within_seconds(self):
		with replica_configured(self.server):
			with self.server.hung(), self.assertLogs(self.logger, "WARNING") as logs:
				started = time.monotonic()
				with reading("test read") as source:
					self.assertEqual(port(), self.primary_port)
				hung_for = time.monotonic() - started
			self.assertEqual(source.name, PRIMARY)
			self.assertIn("is down", source.reason)
			self.assertIn(source.reason, logs.output[0])
			self.assertLess(hung_for, replica.CONNECT_TIMEOUT + 5)

			self.server.shutdown()
			try:
				with self.assertLogs(self.logger, "WARNING") as logs:
					started = time.monotonic()
					with reading("test read") as source:
						self.assertEqual(port(), self.primary_port)
					down_for = time.monotonic() - started
			finally:
				self.server.start()
			self.assertEqual(source.name, PRIMARY)
			self.assertIn(f"Read replica 127.0.0.1:{self.server.port} is down", source.reason)
			self.assertIn(source.reason, logs.output[0])
			self.assertLess(down_for, replica.CONNECT_TIMEOUT + 3)
			with reading("test read") as source:
				self.assertEqual(port(), self.server.port, "back up: read from it again")

	def test_no_replica_configured_reads_the_primary_without_a_warning(self):
		with self.assertNoLogs(self.logger, "WARNING"):
			with reading("test read") as source:
				self.assertIs(frappe.local.db, self.primary)
				self.assertEqual(port(), self.primary_port)
		self.assertEqual(source, replica.ReadSource(PRIMARY))

	def test_a_misconfigured_replica_falls_back_naming_the_setting(self):
		cases = (
			({"read_from_replica": 1}, "sets read_from_replica but not replica_host"),
			(
				{"read_from_replica": 1, "replica_host": "127.0.0.1", replica.MAX_LAG_KEY: "five minutes"},
				f"{replica.MAX_LAG_KEY} must be a number of seconds, 0 or more, not 'five minutes'",
			),
			(
				{"read_from_replica": 1, "replica_host": "127.0.0.1", replica.MAX_LAG_KEY: -1},
				"0 or more, not -1",
			),
		)
		for settings, expected in cases:
			with patch.dict(frappe.local.conf, settings), self.assertLogs(self.logger, "WARNING"):
				with reading("test read") as source:
					self.assertEqual(port(), self.primary_port)
			self.assertIn(expected, source.reason)

	def test_site_config_for_workers_is_restored_byte_for_byte(self):
		import tempfile
		from pathlib import Path

		with tempfile.TemporaryDirectory() as site_path:
			path = Path(site_path) / "site_config.json"
			original = b'{\n "db_name": "x",\n  "odd_spacing": true}'
			path.write_bytes(original)
			with replica_in_site_config(self.server, site_path, max_lag_seconds=30):
				conf = frappe.get_site_config(site_path=site_path)
				self.assertEqual(
					(conf.read_from_replica, conf.replica_db_port, conf[replica.MAX_LAG_KEY], conf.db_name),
					(1, self.server.port, 30, "x"),
				)
			self.assertEqual(path.read_bytes(), original)

	def test_nesting_and_exceptions_restore_the_primary(self):
		leftover = getattr(frappe.local, "primary_db", None)
		with replica_configured(self.server):
			with reading("outer") as outer:
				replica_db = frappe.local.db
				with reading("inner") as inner:
					self.assertIs(frappe.local.db, replica_db)
				self.assertEqual((outer.name, inner.name), (REPLICA, REPLICA))
				self.assertIs(frappe.local.db, replica_db)
				self.assertEqual(port(), self.server.port, "the inner block closed the outer connection")
			self.assertIs(frappe.local.db, self.primary)
			self.assertIs(getattr(frappe.local, "primary_db", None), leftover)

			with self.assertRaises(ZeroDivisionError), reading("failing read"):
				self.assertEqual(port(), self.server.port)
				_ = 1 / 0
			self.assertIs(frappe.local.db, self.primary)
			self.assertEqual(port(), self.primary_port)

	def test_inside_and_after_frappe_read_only(self):
		"""A Script Report runs under frappe.read_only(): reading() inside it shares its connection."""
		forget_what_read_only_left()
		self.addCleanup(forget_what_read_only_left)

		@frappe.read_only()
		def report():
			frappe_replica = frappe.local.db
			with reading("inside a report") as source:
				self.assertIs(frappe.local.db, frappe_replica)
			self.assertIs(frappe.local.db, frappe_replica)
			return source.name, port()

		with replica_configured(self.server):
			self.assertEqual(report(), (REPLICA, self.server.port))
			self.assertIs(frappe.local.db, self.primary)
			# Frappe leaves primary_db/replica_db behind; a second connect_replica() would not switch.
			self.assertTrue(hasattr(frappe.local, "replica_db"))
			self.assertFalse(frappe.connect_replica())
			with reading("after a report") as source:
				self.assertEqual((source.name, port()), (REPLICA, self.server.port))
			self.assertIs(frappe.local.db, self.primary)
			self.assertIs(frappe.local.primary_db, self.primary, "left as Frappe had left it")


class TestReplicationStatus(FrappeTestCase):
	"""A server that really replicates (from a third server, see start_replicating_pair)."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		skip_without_mariadbd()
		cls.source, cls.replica = start_replicating_pair()
		cls.logger = frappe.logger("loyalty_crm")
		cls.primary_port = port()

	@classmethod
	def tearDownClass(cls):
		for server in (getattr(cls, "replica", None), getattr(cls, "source", None)):
			if server:
				server.stop()
		super().tearDownClass()

	def test_a_running_replica_is_read_by_its_replication_status(self):
		with replica_configured(self.replica, max_lag_seconds=0), self.assertNoLogs(self.logger, "WARNING"):
			with reading("test read") as source:
				self.assertEqual(port(), self.replica.port)
		self.assertEqual(
			(source.name, source.measured_by, source.lag_seconds), (REPLICA, "Seconds_Behind_Master", 0)
		)

	def test_a_replica_whose_replication_is_held_up_or_stopped_is_not_read(self):
		import pymysql

		name = self.source.db_name
		self.source.sql(
			"create table if not exists `lag_probe` (id int primary key); delete from `lag_probe`;"
		)
		self.wait_until_caught_up()
		# A session on the replica holds the table, so the replicated insert waits behind it.
		holder = pymysql.connect(
			host="127.0.0.1",
			port=self.replica.port,
			user=name,
			password=self.source.db_password,
			database=name,
		)
		try:
			with holder.cursor() as cursor:
				cursor.execute("lock tables `lag_probe` write")
			self.source.sql("insert into `lag_probe` values (1)")
			time.sleep(2.5)
			with replica_configured(self.replica, max_lag_seconds=1), self.assertLogs(self.logger, "WARNING"):
				with reading("test read") as source:
					self.assertEqual(port(), self.primary_port)
			self.assertEqual((source.name, source.measured_by), (PRIMARY, "Seconds_Behind_Master"))
			self.assertGreaterEqual(source.lag_seconds, 2)
			self.assertIn("s behind the primary (at most 1 s", source.reason)
		finally:
			holder.close()
		self.wait_until_caught_up()

		self.replica.sql("STOP SLAVE SQL_THREAD;")
		try:
			with replica_configured(self.replica), self.assertLogs(self.logger, "WARNING") as logs:
				with reading("test read") as source:
					self.assertEqual(port(), self.primary_port)
			self.assertEqual(source.name, PRIMARY)
			self.assertIn("has stopped replicating", source.reason)
			self.assertIn(source.reason, logs.output[0])
		finally:
			self.replica.sql("START SLAVE SQL_THREAD;")

	def wait_until_caught_up(self):
		deadline = time.monotonic() + 30
		while self.replica.sql("select count(*) from `lag_probe`") != self.source.sql(
			"select count(*) from `lag_probe`"
		):
			self.assertLess(time.monotonic(), deadline, "replication did not catch up")
			time.sleep(0.1)


class TestLagMeasures(FrappeTestCase):
	"""The two lag measures on the values a server would answer."""

	def test_replication_status(self):
		self.assertEqual(replica.replication_lag([]), (False, None))
		self.assertEqual(replica.replication_lag([{"Seconds_Behind_Master": 7}]), (False, 7.0))
		self.assertEqual(replica.replication_lag([{"Seconds_Behind_Source": 0}]), (False, 0.0))
		self.assertEqual(
			replica.replication_lag([{"Seconds_Behind_Master": 7}, {"Seconds_Behind_Master": None}]),
			(True, None),
			"one stopped source",
		)
		self.assertEqual(
			replica.replication_lag([{"Seconds_Behind_Master": 7}, {"Seconds_Behind_Master": 42}]),
			(False, 42.0),
			"the slowest source",
		)

	def test_staleness(self):
		t = datetime(2026, 1, 1, 12, 0, 0)
		same = {"Sales Invoice": t, "Customer": None}
		self.assertEqual(replica.staleness(same, dict(same)), (0.0, None))
		self.assertEqual(
			replica.staleness(
				{"Sales Invoice": t + timedelta(seconds=30), "Customer": t + timedelta(seconds=90)},
				{"Sales Invoice": t, "Customer": t},
			),
			(90.0, "Customer"),
		)
		self.assertEqual(
			replica.staleness({"Sales Invoice": t}, {"Sales Invoice": t + timedelta(seconds=5)}),
			(0.0, None),
			"a replica ahead is not behind",
		)
		lag, table = replica.staleness({"Customer": t}, {"Customer": None})
		self.assertEqual((lag, table), (float("inf"), "Customer"))
