"""Heavy reads on the site's read replica when it has a healthy one; every write on the primary.

Why this module: Frappe v15 already has the machinery. Site config ``read_from_replica: 1``
with ``replica_host`` and ``replica_db_port`` (and, if the replica has other credentials,
``different_credentials_for_replica`` with ``replica_db_name`` / ``replica_db_password``);
``frappe.connect_replica()`` swaps ``frappe.local.db`` for a replica connection and keeps the
primary in ``frappe.local.primary_db``; ``frappe.read_only()`` wraps Script Reports and list
views in that swap, and ``frappe.write_only()`` swaps back to the primary for one call. Two
things it does not do, and the nightly pipeline needs both:

- It never asks whether the replica is up or current. A replica that is down fails the job
  halfway; one that stopped replicating yesterday silently gives yesterday's segments and tiers.
  ``reading()`` checks first, within a few seconds, and reads from the primary instead, with
  a warning in the ``loyalty_crm`` log and in ``ReadSource.reason`` for the run's summary.
- After ``read_only()`` returns, ``local.primary_db`` and ``local.replica_db`` stay set, so a
  second ``connect_replica()`` in the same background job returns False and that read quietly
  stays on the primary. ``reading()`` puts those attributes back exactly as it found them, so
  it switches every time and never disturbs an outer switch.

Use it around reads only::

    with reading("nightly aggregation") as source:
        frame = aggregate_invoices()   # frappe.db is the replica if source.name == "replica"
    write_changes(frame)               # frappe.db is the primary again

Inside the block code must not write: the replica connection is put in a read-only session
(``SET SESSION TRANSACTION READ ONLY``), so an insert or update raises
``frappe.InReadOnlyMode`` instead of landing on a server whose rows are overwritten by
replication or thrown away with a snapshot. A write that has to happen in the middle of a read
goes through a function decorated with ``frappe.write_only()``, which Frappe runs on the
primary. Reads inside the block do not see the primary connection's uncommitted writes:
commit before the block if the read must see them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import frappe
from frappe import _

REPLICA = "replica"
PRIMARY = "primary"

# Seconds for the health check's own connection to connect and to answer, so a replica that
# is down or hung costs at most a few seconds before the job goes on on the primary.
CONNECT_TIMEOUT = 3
MAX_LAG_KEY = "loyalty_crm_replica_max_lag_seconds"
DEFAULT_MAX_LAG = 300

# The tables whose newest ``modified`` measure how current a replica without replication
# status is (a snapshot, or a managed replica whose status we may not read): the invoices the
# nightly aggregates, the ledger and the customers. ``modified`` is indexed on every doctype.
WATCHED = ("Sales Invoice", "POS Invoice", "Loyalty Ledger Entry", "Customer")

NEWEST_QUERY = "select {}".format(
	", ".join(f"(select max(`modified`) from `tab{doctype}`)" for doctype in WATCHED)
)


@dataclass(frozen=True)
class ReadSource:
	"""Where the reads of one ``reading()`` block go, and why not to the replica when not.

	``reason`` is a translated sentence when a configured replica was not used (down, lagging,
	misconfigured), for the caller's run summary; None when the replica is used or none is
	configured. ``lag_seconds`` is what the check measured, ``measured_by`` how
	("Seconds_Behind_Master" or "newest modified"), ``checked_in`` the check's seconds.
	"""

	name: str
	reason: str | None = None
	lag_seconds: float | None = None
	measured_by: str | None = None
	checked_in: float = 0.0

	@property
	def on_replica(self) -> bool:
		return self.name == REPLICA


@contextmanager
def reading(purpose: str) -> Iterator[ReadSource]:
	"""Run the block's reads on the replica if the site has a healthy one, else on the primary.

	``purpose`` names the read in the log ("nightly aggregation"). Nested blocks, and blocks
	inside a function Frappe already runs under ``frappe.read_only()``, use the outer replica
	connection and leave it open; the outermost block closes the replica connection it opened
	and restores the primary on every exit, exceptions included.
	"""
	local = frappe.local
	outer_primary = getattr(local, "primary_db", None)
	if outer_primary is not None and local.db is not outer_primary:
		# An outer reading() or frappe.read_only() switched already: read on its connection.
		yield ReadSource(REPLICA)
		return
	if outer_primary is not None and _is_open(getattr(local, "replica_db", None)):
		# Inside frappe.write_only() within a replica read: the caller asked for the primary.
		yield ReadSource(PRIMARY)
		return

	source = check_replica(purpose)
	if not source.on_replica:
		yield source
		return

	primary = local.db
	saved = {attr: getattr(local, attr) for attr in ("primary_db", "replica_db") if hasattr(local, attr)}
	for attr in saved:
		# Left behind by a finished frappe.read_only(); connect_replica() would refuse to switch.
		delattr(local, attr)
	replica, failed = None, None
	try:
		if not frappe.connect_replica():
			raise RuntimeError("frappe.connect_replica() did not switch")
		replica = local.db
		# The guard against writes: an insert or update here raises instead of landing on the replica.
		replica.sql("SET SESSION TRANSACTION READ ONLY")
	except Exception as error:
		# The replica went away between the check and the switch.
		_restore(primary, replica, saved)
		started = time.monotonic() - source.checked_in
		failed = _fall_back(purpose, _down_reason(_where(frappe.conf), error), started)
	if failed is not None:
		yield failed
		return
	try:
		yield source
	finally:
		_restore(primary, replica, saved)


def check_replica(purpose: str) -> ReadSource:
	"""Whether the configured replica may be read now: reachable and no more behind than allowed.

	Not configured: primary, no warning. Down (no connection within ``CONNECT_TIMEOUT``),
	replication stopped, or behind by more than site config ``loyalty_crm_replica_max_lag_seconds``
	(default 300): primary, with a warning logged and returned as ``reason``.
	"""
	conf = frappe.conf
	if not conf.get("read_from_replica"):
		return ReadSource(PRIMARY)
	started = time.monotonic()
	where = _where(conf)
	if not conf.get("replica_host"):
		return _fall_back(
			purpose,
			_(
				"Site config sets read_from_replica but not replica_host. Reading from the primary database; add replica_host and replica_db_port to site_config.json."
			),
			started,
		)
	max_lag = _max_lag(conf)
	if max_lag is None:
		return _fall_back(
			purpose,
			_(
				"Site config {0} must be a number of seconds, 0 or more, not {1}. Reading from the primary database."
			).format(MAX_LAG_KEY, repr(conf.get(MAX_LAG_KEY))[:40]),
			started,
		)

	import pymysql

	try:
		connection = _probe(conf)
	except pymysql.Error as error:
		return _fall_back(purpose, _down_reason(where, error), started)
	try:
		stopped, lag = replication_lag(_replication_status(connection))
		measured_by = "Seconds_Behind_Master"
		if not stopped and lag is None:
			measured_by = "newest modified"
			with connection.cursor() as cursor:
				cursor.execute(NEWEST_QUERY)
				on_replica = dict(zip(WATCHED, cursor.fetchone(), strict=True))
			on_primary = dict(zip(WATCHED, frappe.db.sql(NEWEST_QUERY)[0], strict=True))
			lag, behind_in = staleness(on_primary, on_replica)
	except pymysql.Error as error:
		return _fall_back(
			purpose,
			_("Read replica {0} could not be checked: {1}. Reading from the primary database.").format(
				where, _error_text(error)
			),
			started,
		)
	finally:
		connection.close()

	if stopped:
		return _fall_back(
			purpose,
			_(
				"Read replica {0} has stopped replicating (Seconds_Behind_Master is empty). Reading from the primary database."
			).format(where),
			started,
		)
	if lag is not None and lag > max_lag:
		if math.isinf(lag):
			reason = _(
				"Read replica {0} is lagging: it has no {1} rows while the primary has some. Reading from the primary database."
			).format(where, _(behind_in))
		else:
			reason = _(
				"Read replica {0} is lagging {1} s behind the primary (at most {2} s allowed by {3}). Reading from the primary database."
			).format(where, math.ceil(lag), f"{max_lag:g}", MAX_LAG_KEY)
		return _fall_back(purpose, reason, started, lag=lag, measured_by=measured_by)
	return ReadSource(
		REPLICA, lag_seconds=lag or 0.0, measured_by=measured_by, checked_in=time.monotonic() - started
	)


def replication_lag(rows: list[Mapping]) -> tuple[bool, float | None]:
	"""``(stopped, seconds behind)`` from the rows of ``SHOW REPLICA STATUS``.

	No rows: the server is not a replica we can see (a snapshot, or a managed replica), so
	``(False, None)`` and the caller measures staleness instead. An empty
	``Seconds_Behind_Master`` (MySQL: ``Seconds_Behind_Source``) means the replication threads
	stopped. With several sources (multi-source replication) the slowest counts.
	"""
	if not rows:
		return False, None
	lags = [row.get("Seconds_Behind_Master", row.get("Seconds_Behind_Source")) for row in rows]
	if any(lag is None for lag in lags):
		return True, None
	return False, float(max(lags))


def staleness(
	on_primary: Mapping[str, datetime | None], on_replica: Mapping[str, datetime | None]
) -> tuple[float, str | None]:
	"""Seconds of changes the replica lacks, from each table's newest ``modified`` on both sides.

	For each table the replica is behind in, the changes it lacks span from its newest row to
	the primary's newest: the lag is the longest such span, and the table it was measured in
	(None when the replica is behind in none). A table empty on the replica but not on the
	primary is infinitely behind. A replica ahead of the primary (rows since deleted there) is
	not behind. The span errs on the safe side: after a quiet spell it can exceed the true lag,
	which only sends the read to the primary.
	"""
	lag, table = 0.0, None
	for doctype, newest in on_primary.items():
		if newest is None:
			continue
		replica_newest = on_replica.get(doctype)
		behind = math.inf if replica_newest is None else (newest - replica_newest).total_seconds()
		if behind > lag:
			lag, table = behind, doctype
	return lag, table


def _replication_status(connection) -> list[dict]:
	"""Rows of SHOW REPLICA STATUS, or none if the user may not see them (then staleness decides)."""
	import pymysql

	for statement in ("SHOW REPLICA STATUS", "SHOW SLAVE STATUS"):
		try:
			with connection.cursor(pymysql.cursors.DictCursor) as cursor:
				cursor.execute(statement)
				return list(cursor.fetchall())
		except (pymysql.ProgrammingError, pymysql.OperationalError, pymysql.InternalError):
			# 1064: an older server without the REPLICA spelling; 1227: no REPLICA MONITOR
			# privilege. Neither says anything about lag.
			continue
	return []


def _probe(conf):
	"""A short-lived connection to the replica with the credentials connect_replica() will use."""
	import pymysql

	user, password = conf.get("db_name"), conf.get("db_password")
	if conf.get("different_credentials_for_replica"):
		user, password = conf.get("replica_db_name"), conf.get("replica_db_password")
	return pymysql.connect(
		host=conf.get("replica_host"),
		port=int(conf.get("replica_db_port") or 3306),
		user=user,
		password=password or "",
		database=conf.get("db_name"),
		charset="utf8mb4",
		connect_timeout=CONNECT_TIMEOUT,
		read_timeout=CONNECT_TIMEOUT,
		write_timeout=CONNECT_TIMEOUT,
	)


def _max_lag(conf) -> float | None:
	value = conf.get(MAX_LAG_KEY, DEFAULT_MAX_LAG)
	if isinstance(value, bool):
		return None
	try:
		seconds = float(value)
	except (TypeError, ValueError):
		return None
	return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _fall_back(
	purpose: str,
	reason: str,
	started: float,
	lag: float | None = None,
	measured_by: str | None = None,
) -> ReadSource:
	frappe.logger("loyalty_crm").warning(f"{purpose}: {reason}")
	return ReadSource(
		PRIMARY,
		reason=reason,
		lag_seconds=lag,
		measured_by=measured_by,
		checked_in=time.monotonic() - started,
	)


def _restore(primary, replica, saved: dict) -> None:
	"""Primary back in frappe.local.db, our replica connection closed, attributes as found."""
	local = frappe.local
	local.db = primary
	if replica is not None and replica is not primary:
		replica.close()
	for attr in ("primary_db", "replica_db"):
		if hasattr(local, attr):
			delattr(local, attr)
	for attr, value in saved.items():
		setattr(local, attr, value)


def _is_open(db) -> bool:
	return db is not None and getattr(db, "_conn", None) is not None


def _where(conf) -> str:
	return f"{conf.get('replica_host')}:{conf.get('replica_db_port') or 3306}"


def _down_reason(where: str, error: Exception) -> str:
	return _("Read replica {0} is down: {1}. Reading from the primary database.").format(
		where, _error_text(error)
	)


def _error_text(error: Exception) -> str:
	return str(error.args[-1] if error.args else error)[:200]
