"""The DuckDB store: the only module that runs SQL.

CONTRACT (other modules code against these names; the implementation may grow, not change them):

Writing (one short write transaction per ingest, Arrow bulk insert):
    ingest_snapshot(db_path, snapshot: SnapshotData) -> int | None
        Writes one snapshot (all its subnets) atomically. Returns the new snapshot_id, or None when
        (network, block) is already stored (re-ingest is a no-op, nothing duplicated).
    record_run(db_path, run: dict) -> int
        Appends a row to collection_runs; returns run_id.

    SnapshotData(meta: dict, tables: dict[str, pyarrow.Table])
        meta: the `snapshots` columns except snapshot_id (network, block, block_hash, taken_at,
              spec_version, sdk_version, source, note).
        tables: 'subnets', 'neurons', 'mechanism_neurons', 'weights', 'bonds', 'bonds_after' with the
              columns of schema.sql except snapshot_id (the store adds it). Missing tables = no rows.

Reading (read-only connection opened per call, retried with backoff on a lock error; never cached):
    list_snapshots(db_path) -> DataFrame            newest first
    latest_snapshot_id(db_path) -> int | None
    subnets(db_path, snapshot_id) -> DataFrame
    neurons(db_path, snapshot_id, netuid) -> DataFrame        ordered by uid
    mechanism_neurons(db_path, snapshot_id, netuid, mechid) -> DataFrame   ordered by uid
    weights(db_path, snapshot_id, netuid, mechid) -> DataFrame  long format
    bonds(db_path, snapshot_id, netuid, mechid, *, after=False) -> DataFrame
    hotkey_history(db_path, netuid, hotkey) -> DataFrame      a hotkey's rows across snapshots
    subnet_history(db_path, netuid) -> DataFrame              per-snapshot per-uid Tv, permit, stake...
    collection_runs(db_path) -> DataFrame

Errors: StoreError (a clear one-line message) for a missing, empty, corrupt or locked file; a lock
still held after the wait is DatabaseLockedError, a StoreError (both from analytics.errors).

Additions beyond the original contract (same rules):
    ingest_snapshots(db_path, [SnapshotData, ...]) -> list[int | None]   one connection, one
        transaction per snapshot (bulk loads such as the demo)
    snapshot_meta(db_path, snapshot_id) -> dict             one `snapshots` row; StoreError if unknown
    subnet_tables(db_path, snapshot_id, netuid) -> dict[str, DataFrame]
        every row of one subnet in one snapshot ('subnet' (1 row), 'neurons', 'mechanism_neurons',
        'weights', 'bonds', 'bonds_after'), read through ONE connection; what analytics/snapshot.py uses.
    snapshot_tables(db_path, snapshot_id, netuids=None) -> dict[str, DataFrame]
        the same for a whole snapshot (or several subnets) through one connection.
    snapshot_batches(db_path, snapshot_ids, netuids=None, *, money=False) -> Iterator[dict]
        per snapshot: its row, its tables (weights and bonds as numpy columns) and, with money, its
        money rows, all through ONE connection for the whole run (`check`).
    table_contents(db_path, table) -> DataFrame             a whole table in a canonical order (tests, audits)
    schema_version(db_path) -> int
    initialise(db_path) -> None                             create / migrate the schema, no data
    snapshot_neurons, previous_snapshot_id                  watchlist reads (issue 18)
    open_alerts, alerts_on_snapshot, alert_history, record_alerts, pending_deliveries, record_delivery
        remembered alerts (migration 4)
    default_db_path() -> Path                               alias of analytics.config.default_db_path
    SCHEMA_VERSION, TABLES, DEMO_DB_PATH, LOCK_WAIT_SECONDS (seconds a call waits for another
    process's lock; env METAGRAPH_LENS_LOCK_WAIT)

Parquet lakes (analytics/data/lake.py): anywhere a database path is taken, a lake directory or an
``s3://bucket/prefix`` works for reading: it is opened as an in-memory DuckDB connection with the
lake's tables registered (pyarrow datasets over the committed files), so every read above runs
unchanged. Writing to a lake goes through `lake export` / `collect --lake`, never through this module.
    db_location(value) -> Path | str      a CLI/env value: s3:// URIs stay strings, else a Path
    is_lake(location) -> bool; db_exists(location) -> bool; db_token(location) -> str (cache key)
    lake_table_specs(db_path) -> {table: lake.TableSpec}   every table, discovered from the schema
    snapshot_arrow(db_path, snapshot_id, tables) -> {table: pa.Table}   one snapshot's rows, key order
    table_arrow(db_path, table) -> pa.Table                   a whole table, key order

Concurrency: DuckDB allows one writing process per file and takes an exclusive lock while any
read-write connection is open; a read-only connection takes a shared lock. So by default every call
opens its own connection and closes it before returning. The app turns on ``keep_reader_open()``:
one shared read-only connection per process, lent out as cursors, closed when idle (1 s) or old
(5 s, at the next moment no query runs) and re-opened when the file changes, so the cron writer
still gets the lock within seconds (see SharedReader for the measurements behind this choice).

Added by issue 16: ``add_subnets`` (resumable writes), ``stored_subnets``, ``subnet_summary``,
``validator_history``, the `subnet_summary` table (migration 3), ``keep_reader_open``,
``hotkey_return_history`` (a validator's return history in one narrow pass: Validator detail cold
<= 0.5 s at 260 snapshots of 128 subnets), the `validator_summary` table (migration 5: the validators'
rows that hotkey_return_history and validator_history read, written at ingest).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics import config
from analytics.data import files
from analytics.data import lake as _lake
from analytics.errors import DatabaseLockedError, StoreError
from analytics.textsafe import arrow_all_safe, safe_frame, safe_values

__all__ = ["DatabaseLockedError", "StoreError"]  # re-exported: callers catch store.StoreError

log = logging.getLogger("analytics.data.store")

SCHEMA_FILE = Path(__file__).with_name("schema.sql")
SCHEMA_V2_FILE = Path(__file__).with_name("schema_v2.sql")  # the money path: takes, pools, dividends

# Forward migrations: (version, SQL). Version 1 is schema.sql itself. Append new versions; never edit
# an applied one. Each runs in one transaction together with its schema_version row.
# Per-(snapshot, subnet) figures the History page charts, computed from `neurons` by SQL so the
# migration (all old snapshots) and every ingest (the new subnets) fill them the same way.
_SUMMARY_INSERT = """
INSERT INTO subnet_summary
WITH nn AS (
    SELECT n.*, CAST(n.consensus AS DOUBLE)
               / nullif(sum(CAST(n.consensus AS DOUBLE)) OVER (PARTITION BY n.snapshot_id, n.netuid), 0) AS c_share,
           row_number() OVER (PARTITION BY n.snapshot_id, n.netuid ORDER BY n.consensus DESC, n.uid) AS c_rank
    FROM neurons n
    WHERE {where}
)
SELECT snapshot_id, netuid,
       count(*)::INTEGER AS n,
       count(*) FILTER (WHERE active)::INTEGER AS active,
       count(*) FILTER (WHERE validator_permit)::INTEGER AS validators,
       CAST(sum(total_stake) AS HUGEINT) AS total_stake,
       CAST(sum(emission) AS HUGEINT) AS emission,
       median(validator_trust / 65535.0) FILTER (WHERE validator_permit) AS tv_median,
       sum(validator_trust / 65535.0 * CAST(total_stake AS DOUBLE)) FILTER (WHERE validator_permit)
           / nullif(sum(CAST(total_stake AS DOUBLE)) FILTER (WHERE validator_permit), 0) AS tv_stake_weighted,
       coalesce(sum(c_share) FILTER (WHERE c_rank <= 10), 0.0) AS consensus_top10_share,
       1.0 / nullif(coalesce(sum(c_share * c_share), 0.0), 0) AS effective_miners
FROM nn
GROUP BY snapshot_id, netuid
"""


def _migration_3() -> str:
    """Runtime history and fast history: each subnet row notes the items its epoch block's runtime
    lacked (its spec is migration 2's epoch_spec_version) (stored NULL, hence validator_trust and stake_weight may be
    NULL); `subnet_summary` holds one row per (snapshot, subnet), filled here for old snapshots and
    at every ingest after."""
    return (
        """
        ALTER TABLE subnets ADD COLUMN IF NOT EXISTS decode_note VARCHAR;
        ALTER TABLE neurons ALTER COLUMN validator_trust DROP NOT NULL;
        ALTER TABLE neurons ALTER COLUMN stake_weight DROP NOT NULL;
        CREATE TABLE IF NOT EXISTS subnet_summary (
            snapshot_id           BIGINT NOT NULL,
            netuid                INTEGER NOT NULL,
            n                     INTEGER NOT NULL,
            active                INTEGER NOT NULL,
            validators            INTEGER NOT NULL,   -- validator-permit holders (epoch output)
            total_stake           HUGEINT,            -- rao, summed over uids
            emission              HUGEINT,            -- rao, summed over uids
            tv_median             DOUBLE,             -- of permit holders, Tv as a fraction
            tv_stake_weighted     DOUBLE,
            consensus_top10_share DOUBLE,             -- share of all consensus held by the top 10 miners
            effective_miners      DOUBLE,             -- 1 / sum(c_i^2), c = C / sum(C)
            PRIMARY KEY (snapshot_id, netuid)
        );
        """
        + _SUMMARY_INSERT.format(where="true")
        + ";"
    )


# Per-(snapshot, subnet, hotkey) rows of the validators (permit holders and hotkeys with recorded
# dividends, parents that are not registered included): the columns a validator's history reads
# (Validator detail, Stake, History). The rows are exactly those money_hotkeys(validators_only=True)
# returns, from the same join. Laid out by (netuid, hotkey, snapshot): DuckDB reads every row group a
# query's filter cannot rule out by its min/max, whole, and rows appended snapshot by snapshot put every
# subnet in every row group; sorted, one subnet's or one hotkey's years are one or two row groups.
# Ingest appends each snapshot's rows and re-sorts the table when the unsorted tail has grown past
# VALIDATOR_SUMMARY_TAIL rows and an eighth of the sorted part (so the rewrites cost O(1) per row).
_VALIDATOR_SUMMARY_DDL = """
CREATE TABLE {name} (
    snapshot_id      BIGINT NOT NULL,
    netuid           INTEGER NOT NULL,
    hotkey           VARCHAR NOT NULL,
    uid              INTEGER,            -- NULL: a parent not registered on the subnet
    validator_permit BOOLEAN NOT NULL,   -- epoch output; false for an unregistered parent
    active           BOOLEAN,
    validator_trust  USMALLINT,          -- u16
    total_stake      UBIGINT,            -- rao
    alpha_stake      UBIGINT,            -- rao, the neuron's
    alpha_stake_own  UBIGINT,            -- rao, TotalHotkeyAlpha (hotkeys)
    alpha_dividends  UBIGINT             -- rao, the nominators' recorded dividend (hotkeys)
)
"""
_VALIDATOR_SUMMARY_ORDER = "netuid, hotkey, snapshot_id"
_VALIDATOR_SUMMARY_INSERT = """
INSERT INTO validator_summary
SELECT n.snapshot_id, n.netuid, n.hotkey, n.uid, n.validator_permit, n.active, n.validator_trust,
       n.total_stake, n.alpha_stake, h.alpha_stake_own, h.alpha_dividends
FROM neurons n LEFT JOIN (SELECT * FROM hotkeys h WHERE {where_h}) h
    ON h.snapshot_id = n.snapshot_id AND h.netuid = n.netuid AND h.hotkey = n.hotkey
WHERE ({where_n}) AND (n.validator_permit OR h.alpha_dividends > 0)
UNION ALL
SELECT h.snapshot_id, h.netuid, h.hotkey, NULL, false, NULL, NULL, NULL, NULL, h.alpha_stake_own,
       h.alpha_dividends
FROM hotkeys h
WHERE ({where_h}) AND h.uid IS NULL
ORDER BY 2, 3, 1
"""
VALIDATOR_SUMMARY_TAIL = 4 * 122_880  # rows: four DuckDB row groups
_SORTED_ROWS = "sorted_rows="  # the table comment: how many rows lead the table in sorted order


def _migration_5() -> str:
    """Fast validator history: `validator_summary`, one row per (snapshot, subnet, validator hotkey),
    filled here for old snapshots (sorted) and at every ingest after (as subnet_summary)."""
    return (
        _VALIDATOR_SUMMARY_DDL.format(name="validator_summary")
        + ";"
        + _VALIDATOR_SUMMARY_INSERT.format(where_n="true", where_h="true")
        + ";"
    )  # sorted; no table comment yet: the first ingest after records how many rows lead sorted


def _sort_validator_summary(
    con: duckdb.DuckDBPyConnection, appended: int = 0, *, force: bool = False
) -> bool:
    """After ``appended`` rows were added to `validator_summary`: rewrite it in (netuid, hotkey,
    snapshot) order when its unsorted tail is due (see VALIDATOR_SUMMARY_TAIL), or always with
    ``force``; inside the caller's transaction. The table comment keeps how many rows lead in sorted
    order; none yet means all but the rows just appended (what migration 5 leaves). True when sorted."""
    total = int(_scalar(con, "SELECT count(*) FROM validator_summary"))
    comment = _scalar(
        con,
        "SELECT max(comment) FROM duckdb_tables() WHERE table_name = 'validator_summary'"
        " AND database_name = current_database()",
    )
    text = str(comment or "")
    sorted_rows = int(text[len(_SORTED_ROWS) :]) if text.startswith(_SORTED_ROWS) else total - appended
    if not force and total - sorted_rows < max(VALIDATOR_SUMMARY_TAIL, sorted_rows // 8):
        if not text.startswith(_SORTED_ROWS):
            con.execute(f"COMMENT ON TABLE validator_summary IS '{_SORTED_ROWS}{sorted_rows:d}'")
        return False
    con.execute(_VALIDATOR_SUMMARY_DDL.format(name="validator_summary_sorted"))
    con.execute(
        f"INSERT INTO validator_summary_sorted SELECT * FROM validator_summary ORDER BY {_VALIDATOR_SUMMARY_ORDER}"
    )
    con.execute("DROP TABLE validator_summary")
    con.execute("ALTER TABLE validator_summary_sorted RENAME TO validator_summary")
    con.execute(f"COMMENT ON TABLE validator_summary IS '{_SORTED_ROWS}{total:d}'")
    return True


def sort_validator_summary(db_path: str | os.PathLike[str]) -> bool:
    """Sort `validator_summary` now, whatever its tail (one write transaction); False on a schema
    before migration 5. Ingest does it when due; a bench (or an operator after a large backfill) may
    want the layout a long history settles into without waiting for the next ingest."""
    with _writer(db_path) as con:
        if "validator_summary" not in _user_tables(con):
            return False
        with _snapshot_transaction(con, []):
            return _sort_validator_summary(con, force=True)


MIGRATIONS: list[tuple[int, Callable[[], str]]] = [
    (1, lambda: SCHEMA_FILE.read_text()),
    (2, lambda: SCHEMA_V2_FILE.read_text()),
    (3, _migration_3),
    (4, lambda: ALERTS_SCHEMA),  # alerts (issue 18)
    (5, _migration_5),  # validator_summary (issue 16)
]

SCHEMA_VERSION = MIGRATIONS[-1][0]

# Migration 4: remembered alerts. One row per alert (rule, key, snapshot) and one per destination it
# must reach. A state alert (out of consensus, Tv below...) stays open until a run finds the condition
# over (resolved_snapshot_id), which is what stops repeats; an event alert is closed when written.
# Destinations are stored as a hash of the Apprise URL, never the URL (it may hold secrets).
ALERTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id             BIGINT PRIMARY KEY,
    rule                 VARCHAR NOT NULL,   -- as written canonically: 'tv_below:0.8', 'deregistered'
    key                  VARCHAR NOT NULL,   -- the hotkey, or 'subnet N'
    netuid               INTEGER NOT NULL,
    hotkey               VARCHAR,            -- NULL for subnet rules
    snapshot_id          BIGINT NOT NULL,    -- the snapshot it fired on
    event                BOOLEAN NOT NULL,   -- an event (once per snapshot) or a state (once per episode)
    message              VARCHAR NOT NULL,
    details              VARCHAR,            -- JSON
    created_at           TIMESTAMP NOT NULL,
    resolved_snapshot_id BIGINT              -- first snapshot where the state no longer held; NULL = open
);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id      BIGINT NOT NULL,
    destination   VARCHAR NOT NULL,          -- sha256 of the Apprise URL, first 16 hex digits
    attempts      INTEGER NOT NULL,
    delivered_at  TIMESTAMP,                 -- NULL = not delivered yet: retried on the next run
    last_error    VARCHAR,
    PRIMARY KEY (alert_id, destination)
);
"""

# The tables a snapshot writes, in insert order; collection_runs is written by record_run.
TABLES: tuple[str, ...] = (
    "subnets",
    "neurons",
    "mechanism_neurons",
    "weights",
    "bonds",
    "bonds_after",
    "hotkeys",
    "child_keys",
)

# The embedded demo database, and the environment variable naming the database to open instead
# (aliases of analytics.config, where paths and defaults live).
DEMO_DB_PATH = config.DEMO_DB_PATH
CHAIN_DB_PATH = config.CHAIN_DB_PATH
DB_ENV_VAR = config.DB_ENV_VAR

# Seconds a read or write waits, retrying with backoff, while another process holds the file's lock
# (the one retry layer for locks; a test or a caller may set it, a write may pass its own wait).
LOCK_WAIT_SECONDS = config.lock_wait_seconds()

# DuckDB threads per connection this process opens (None: DuckDB's default, every core). `check
# --jobs` sets 1 in its worker processes: they already use every core side by side.
READ_THREADS: int | None = None

SNAPSHOT_META_COLUMNS = (
    "network",
    "block",
    "block_hash",
    "taken_at",
    "spec_version",
    "sdk_version",
    "source",
    "note",
)
RUN_COLUMNS = (
    "started_at",
    "finished_at",
    "network",
    "status",
    "snapshot_id",
    "subnets_ok",
    "subnets_failed",
)

# Canonical row order of each table: its key columns.
_ORDER: dict[str, str] = {
    "snapshots": "snapshot_id",
    "subnets": "snapshot_id, netuid",
    "neurons": "snapshot_id, netuid, uid",
    "mechanism_neurons": "snapshot_id, netuid, mechid, uid",
    "weights": "snapshot_id, netuid, mechid, validator_uid, miner_uid",
    "bonds": "snapshot_id, netuid, mechid, validator_uid, miner_uid",
    "bonds_after": "snapshot_id, netuid, mechid, validator_uid, miner_uid",
    "hotkeys": "snapshot_id, netuid, hotkey",
    "child_keys": "snapshot_id, netuid, child_hotkey, parent_hotkey",
    "collection_runs": "run_id",
    "schema_version": "version",
    "alerts": "alert_id",
    "alert_deliveries": "alert_id, destination",
    "subnet_summary": "snapshot_id, netuid",
    "validator_summary": "snapshot_id, netuid, hotkey",
}


@dataclass
class SnapshotData:
    """One snapshot to ingest: `snapshots` metadata plus Arrow tables (see the module docstring)."""

    meta: dict[str, Any]
    tables: dict[str, pa.Table] = field(default_factory=dict)


def default_db_path() -> config.DbLocation:
    """The database to open when none is given: analytics.config.default_db_path with this module's
    CHAIN_DB_PATH and DEMO_DB_PATH (kept for callers of the store). An ``s3://`` lake in
    $METAGRAPH_LENS_DB is returned as a string (a Path would fold its '//')."""
    return config.default_db_path(chain=CHAIN_DB_PATH, demo=DEMO_DB_PATH)


# A database given on a command line or in the environment: s3:// stays a string, else a Path.
db_location = config.db_location


def is_lake(location: object) -> bool:
    """Whether ``location`` is a Parquet lake (an s3:// URI or a directory holding a lake manifest)."""
    return _lake.is_lake(location)


def db_exists(location: str | os.PathLike[str]) -> bool:
    """Whether there is something to open: a file, a lake directory, or (not checked here) an s3:// lake."""
    return is_lake(location) or Path(os.fspath(location)).exists()


# Identity of the database's current contents for cache keys, a file's or a lake's (one definition).
db_token = files.db_version


# --------------------------------------------------------------------------------------------------
# Connections


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def _lock_holder(exc: BaseException) -> str:
    text = str(exc)
    if "(PID " in text:
        pid = text.split("(PID ", 1)[1].split(")", 1)[0]
        return f" by process {pid}"
    return " by another process"


def _check_readable(path: Path) -> None:
    """Raise StoreError for a file a reader cannot use; never creates anything."""
    if not path.exists():
        raise StoreError(
            f"database {path} does not exist (create it with `python -m analytics demo` or `collect`)"
        )
    if path.is_dir():
        raise StoreError(f"database path {path} is a directory, not a DuckDB file")
    if path.stat().st_size == 0:
        raise StoreError(f"database {path} is empty (0 bytes): not a metagraph-lens database")


def _check_writable(path: Path) -> None:
    """Raise StoreError for a path a writer must not touch (it may create a new file)."""
    if path.is_dir():
        raise StoreError(f"database path {path} is a directory, not a DuckDB file")
    if not path.parent.is_dir():
        raise StoreError(f"directory {path.parent} does not exist")
    if path.exists() and path.stat().st_size == 0:
        raise StoreError(
            f"database {path} is empty (0 bytes): refusing to write into a file that is not a DuckDB database"
        )


def _open(path: Path, *, read_only: bool, lock_wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open a connection, retrying with exponential backoff (and jitter) while the file is locked:
    up to ``lock_wait`` seconds (default LOCK_WAIT_SECONDS), then DatabaseLockedError.

    The only retry on a lock in the code base; :func:`_is_lock_error` is the only place that tells a
    lock from other DuckDB errors."""
    wait = LOCK_WAIT_SECONDS if lock_wait is None else lock_wait
    deadline = time.monotonic() + wait
    delay = 0.02
    warned = False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            # A table missing from the file must be an error, never a Python variable of that name
            # that DuckDB's replacement scan finds in the caller's frame (ingest registers its views).
            con.execute("SET python_enable_replacements = false")
            if READ_THREADS is not None:
                con.execute(f"SET threads = {int(READ_THREADS)}")
            return con
        except duckdb.Error as exc:
            if _is_lock_error(exc):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DatabaseLockedError(
                        f"database {path} is locked{_lock_holder(exc)} (waited {wait:g} s); "
                        "try again when the writer has finished"
                    ) from None
                if not warned and not read_only:
                    log.warning("database locked%s: waiting up to %g s for %s", _lock_holder(exc), wait, path)
                    warned = True
                time.sleep(min(delay * (1 + random.random() / 4), remaining))
                delay = min(delay * 2, 1.0)
                continue
            if "not a valid DuckDB database" in str(exc):
                raise StoreError(
                    f"database {path} is not a valid DuckDB file (corrupt or another format)"
                ) from None
            raise StoreError(f"database {path} cannot be opened: {_first_line(exc)}") from None


def _query_error(path: Path, exc: duckdb.Error) -> StoreError:
    """Translate an error raised while querying an open database into a one-line StoreError."""
    msg = _first_line(exc)
    if isinstance(exc, duckdb.CatalogException | duckdb.BinderException):
        # a missing table (Catalog) or a same-named table with other columns (Binder): foreign schema
        return StoreError(f"database {path} is not a metagraph-lens database or is outdated ({msg})")
    if (
        "Corrupt" in msg
        or "checksum" in msg
        or isinstance(exc, duckdb.SerializationException | duckdb.IOException)
    ):
        return StoreError(f"database {path} is corrupt: {msg}")
    return StoreError(f"database {path}: {msg}")


class SharedReader:
    """One long-lived read-only connection per process (the app's), lent out as cursors.

    Why not simply keep it open: DuckDB locks the file per process. A read-only connection holds a
    shared lock, and the cron writer (`collect`, `backfill`) needs the exclusive one, so a connection
    held for the life of the app would lock the writer out for good (measured: the writer fails with
    "Conflicting lock"; a fresh connection costs ~15-100 ms per query, a cursor on an open one ~1.5 ms).
    So the connection is held only while pages query: it is closed once no cursor has been out for
    ``idle`` seconds, and also, at the next moment no cursor is out, once it is ``max_age`` seconds
    old, so even a busy app leaves the file unlocked every few seconds and a writer's retries
    (``LOCK_WAIT_SECONDS``, the collector's backoff) get in. It is re-opened when the file changes
    (size, mtime or inode: a new snapshot, or `demo --force` replacing the file), so pages never read
    a stale catalog. A write from this process first closes it (DuckDB refuses a read-write
    connection beside a read-only one to the same file in one process).
    """

    def __init__(self, idle: float = 1.0, max_age: float = 5.0) -> None:
        self.idle, self.max_age = idle, max_age
        self.enabled = False
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._path: Path | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._opened = 0.0
        self._active = 0
        self._timer: threading.Timer | None = None
        self.opens = 0  # connections opened (observability for tests and the bench)

    @staticmethod
    def _file_stamp(path: Path) -> tuple[int, int, int]:
        st = path.stat()
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def checkout(self, path: Path) -> duckdb.DuckDBPyConnection | None:
        """A cursor on the shared connection, or None (the caller opens its own) when another file
        is in use by a running query."""
        with self._lock:
            stale = self._con is not None and (
                self._path != path
                or self._stamp != self._file_stamp(path)
                or time.monotonic() - self._opened > self.max_age
            )
            if stale:
                if self._active:
                    return None
                self._close_locked()
            if self._con is None:
                self._con = _open(path, read_only=True)
                self._path, self._stamp, self._opened = path, self._file_stamp(path), time.monotonic()
                self.opens += 1
            self._active += 1
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            return self._con.cursor()

    def release(self, cursor: duckdb.DuckDBPyConnection) -> None:
        with contextlib.suppress(duckdb.Error):
            cursor.close()
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._con is not None:
                self._timer = threading.Timer(self.idle, self._close_if_idle)
                self._timer.daemon = True
                self._timer.start()

    def _close_if_idle(self) -> None:
        with self._lock:
            if self._active == 0:
                self._close_locked()

    def _close_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._con is not None:
            with contextlib.suppress(duckdb.Error):
                self._con.close()
        self._con, self._path, self._stamp = None, None, None

    def close(self, path: Path | None = None) -> None:
        """Close the shared connection (to ``path`` only, when given) if no cursor is out."""
        with self._lock:
            if self._con is not None and self._active == 0 and (path is None or self._path == path):
                self._close_locked()

    @property
    def is_open(self) -> bool:
        return self._con is not None


SHARED_READER = SharedReader()
atexit.register(SHARED_READER.close)  # closed before the interpreter tears DuckDB's objects down


def keep_reader_open(enabled: bool = True) -> None:
    """Read through :data:`SHARED_READER` from now on (the app); off, every call opens its own."""
    SHARED_READER.enabled = enabled
    if not enabled:
        SHARED_READER.close()


@contextmanager
def _lake_reader(location: str | os.PathLike[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with the lake's committed tables registered under their names."""
    try:
        view = _lake.open_for_reading(location)
    except _lake.LakeError as exc:
        raise StoreError(str(exc)) from None
    # One connection per thread and lake commit (registering the tables costs more than most queries);
    # DuckDB connections are not shared between threads, and a new commit gets a new connection.
    held = getattr(_lake_connections, "by_lake", None)
    if held is None:
        held = _lake_connections.by_lake = {}
    token, con = held.get(view.display, (None, None))
    if token != view.token or con is None:
        if con is not None:
            con.close()
        con = duckdb.connect(":memory:")
        for name, table in view.tables.items():
            con.register(name, table)
        held[view.display] = (view.token, con)
    try:
        yield con
    except (duckdb.Error, OSError, pa.ArrowException) as exc:
        raise StoreError(f"lake {view.display}: {_first_line(exc)}") from None


_lake_connections = threading.local()


@contextmanager
def _reader(db_path: str | os.PathLike[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for one call: a lake's in-memory connection, a cursor on the app's
    shared connection when enabled, else a fresh connection closed on exit; errors become StoreError."""
    if is_lake(db_path):
        with _lake_reader(db_path) as con:
            yield con
        return
    path = Path(db_path)
    _check_readable(path)
    cursor = SHARED_READER.checkout(path) if SHARED_READER.enabled else None
    if cursor is not None:
        try:
            yield cursor
        except duckdb.Error as exc:
            raise _query_error(path, exc) from None
        finally:
            SHARED_READER.release(cursor)
        return
    con = _open(path, read_only=True)
    try:
        yield con
    except duckdb.Error as exc:
        raise _query_error(path, exc) from None
    finally:
        con.close()


def _read_df(db_path: str | os.PathLike[str], sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    with _reader(db_path) as con:
        return _shown(con.execute(sql, params or []).df())


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Every read leaves the store with chain strings made visible (analytics.textsafe): control and
    bidi characters escaped, once here for every page, chart, CSV and terminal line. The database keeps
    the raw bytes (read them with duckdb itself)."""
    return safe_frame(frame)


@contextmanager
def _writer(
    db_path: str | os.PathLike[str], lock_wait: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh read-write connection with the schema migrated to SCHEMA_VERSION."""
    if is_lake(db_path):
        raise StoreError(
            f"{db_path} is a Parquet lake, read-only here: write to a DuckDB file and append to the lake "
            "with `python -m analytics lake export` or `collect --lake`"
        )
    path = Path(db_path)
    _check_writable(path)
    SHARED_READER.close()
    con = _open(path, read_only=False, lock_wait=lock_wait)
    try:
        _migrate(con, path)
        yield con
    except duckdb.Error as exc:
        raise _query_error(path, exc) from None
    finally:
        con.close()


# --------------------------------------------------------------------------------------------------
# Schema and migrations


def _user_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_catalog = current_database()"
    ).fetchall()
    return {r[0] for r in rows}


def _applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The migration versions recorded in schema_version (empty when the table is missing)."""
    if "schema_version" not in _user_tables(con):
        return set()
    return {int(r[0]) for r in con.execute("SELECT version FROM schema_version").fetchall()}


def _version_of(applied: set[int]) -> int:
    """The schema version a set of applied migrations amounts to: the highest known version such that
    every known migration up to it is applied (0: none). Migrations are numbered per branch, so a
    database can hold 4 before 2 and 3 existed; it is then at version 1 until they are applied."""
    version = 0
    for number, _ in MIGRATIONS:
        if number not in applied:
            break
        version = number
    return version


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    return _version_of(_applied_versions(con))


def _migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Apply every known migration not yet recorded in schema_version, in version order (not only
    those above the highest recorded: a database that got 4 before 2 and 3 existed still gets them);
    refuse foreign databases and ones holding a migration this code does not know (newer code)."""
    tables = _user_tables(con)
    applied = _applied_versions(con)
    if not applied and tables - {"schema_version"}:
        raise StoreError(
            f"database {path} holds other tables ({', '.join(sorted(tables)[:3])}...) but no "
            "metagraph-lens schema: refusing to write into it"
        )
    unknown = sorted(applied - {number for number, _ in MIGRATIONS})
    if unknown:
        raise StoreError(
            f"database {path} has schema version {max(applied)}, newer than this code ({SCHEMA_VERSION}; "
            f"migration(s) {', '.join(map(str, unknown))} unknown here): upgrade metagraph-lens"
        )
    missing = [(number, sql) for number, sql in MIGRATIONS if number not in applied]
    if not missing:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
        )
        for number, sql in missing:
            con.execute(sql())
            con.execute("INSERT INTO schema_version VALUES (?, ?)", [number, _utcnow()])
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the open transaction, keeping the error that caused it. A failed write (disk full, file too
    large) can abort the transaction by itself; then ROLLBACK fails with "no transaction is active", and
    raising that would hide the real cause. Nothing was committed either way."""
    with suppress(duckdb.Error):
        con.execute("ROLLBACK")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _foreign_reason(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why an open database is not ours (None when it is, or when it is empty: a new file)."""
    tables = _user_tables(con)
    if not tables:
        return None
    if "schema_version" not in tables or not _applied_versions(con):
        shown = ", ".join(sorted(tables)[:3]) + (", ..." if len(tables) > 3 else "")
        return f"it holds other tables ({shown}) and no metagraph-lens schema"
    columns = _table_columns(con, "snapshots")
    if "snapshots" not in tables or not {"snapshot_id", *SNAPSHOT_META_COLUMNS} <= set(columns):
        return "its snapshots table is not metagraph-lens's"
    return None


def check_lens_database(db_path: str | os.PathLike[str]) -> None:
    """Raise StoreError("... is not a metagraph-lens database ...") for an existing file that belongs to
    something else: not DuckDB, or DuckDB with other tables (a same-named ``snapshots`` included).
    A missing or empty (0-byte) file, or a DuckDB file without tables, passes: a writer may create it.
    Cheap (one read-only connection): callers run it before minutes of chain reads or a rebuild."""
    path = Path(db_path)
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    with _reader(path) as con:
        reason = _foreign_reason(con)
    if reason:
        raise StoreError(f"database {path} is not a metagraph-lens database: {reason}")


def schema_version(db_path: str | os.PathLike[str]) -> int:
    """The schema version of an existing database: the highest version up to which every migration this
    code knows is applied (0 when it has no metagraph-lens schema; see _version_of)."""
    if is_lake(db_path):
        try:
            return _lake.open_for_reading(db_path).schema_version
        except _lake.LakeError as exc:
            raise StoreError(str(exc)) from None
    with _reader(db_path) as con:
        return _current_version(con)


def initialise(db_path: str | os.PathLike[str]) -> None:
    """Create (or migrate) the schema without writing data."""
    with _writer(db_path):
        pass


# --------------------------------------------------------------------------------------------------
# Writing


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The one value of an aggregate query (which always returns one row)."""
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, bool]:
    """Column name -> nullable, in table order."""
    rows = con.execute(
        "SELECT column_name, is_nullable FROM information_schema.columns "
        "WHERE table_name = ? AND table_schema = 'main' AND table_catalog = current_database() ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {name: nullable == "YES" for name, nullable in rows}


def _checked_columns(table: str, incoming: pa.Table, columns: dict[str, bool]) -> list[str]:
    names = list(incoming.column_names)
    unknown = [c for c in names if c not in columns or c == "snapshot_id"]
    if unknown:
        raise StoreError(f"table {table}: unknown column(s) {unknown} in the incoming data")
    missing = [c for c, nullable in columns.items() if c != "snapshot_id" and not nullable and c not in names]
    if missing:
        raise StoreError(f"table {table}: required column(s) {missing} missing from the incoming data")
    for name in names:
        nulls = incoming.column(name).null_count
        if nulls and not columns[name]:
            raise StoreError(f"table {table}: column {name} has {nulls} empty value(s) but is required")
    return names


def _validate_snapshot(snapshot: SnapshotData) -> None:
    unknown = set(snapshot.meta) - set(SNAPSHOT_META_COLUMNS)
    if unknown:
        raise StoreError(f"snapshot metadata: unknown field(s) {sorted(unknown)}")
    for required in ("network", "block", "taken_at", "source"):
        if snapshot.meta.get(required) is None:
            raise StoreError(f"snapshot metadata: '{required}' is required")
    extra = set(snapshot.tables) - set(TABLES)
    if extra:
        raise StoreError(f"snapshot tables: unknown table(s) {sorted(extra)}")


def _ingest_on(con: duckdb.DuckDBPyConnection, snapshot: SnapshotData) -> int | None:
    """One snapshot in one transaction on an open write connection (see ingest_snapshot)."""
    meta = dict(snapshot.meta)
    taken_at = meta["taken_at"]
    if isinstance(taken_at, datetime) and taken_at.tzinfo is not None:  # the store keeps naive UTC
        meta["taken_at"] = taken_at.astimezone(UTC).replace(tzinfo=None)
    plan = []
    for table in TABLES:
        incoming = snapshot.tables.get(table)
        if incoming is None or incoming.num_rows == 0:
            continue
        plan.append((table, incoming, _checked_columns(table, incoming, _table_columns(con, table))))

    with _snapshot_transaction(con, plan):
        exists = con.execute(
            "SELECT 1 FROM snapshots WHERE network = ? AND block = ?", [meta["network"], int(meta["block"])]
        ).fetchone()
        if exists:
            return None  # already stored: the transaction ends having written nothing
        snapshot_id = _insert_snapshot_row(con, meta)
        _insert_plan(con, plan, snapshot_id)
        _write_summary(con, snapshot_id)
    return snapshot_id


@contextmanager
def _snapshot_transaction(con: duckdb.DuckDBPyConnection, plan: list) -> Iterator[None]:
    """One write transaction: committed when the body ends, rolled back on any error or interrupt
    (nothing half-written); the incoming Arrow tables of ``plan`` unregistered either way."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    finally:
        for table, _, _ in plan:
            con.unregister(f"incoming_{table}")


def _insert_snapshot_row(con: duckdb.DuckDBPyConnection, meta: dict[str, Any]) -> int:
    """A new ``snapshots`` row under the next free id holding ``meta`` (inside the caller's
    transaction); returns that id."""
    snapshot_id = int(_scalar(con, "SELECT coalesce(max(snapshot_id), 0) + 1 FROM snapshots"))
    cols = list(SNAPSHOT_META_COLUMNS)
    con.execute(
        f"INSERT INTO snapshots (snapshot_id, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
        [snapshot_id, *[meta.get(c) for c in cols]],
    )
    return snapshot_id


def _write_summary(
    con: duckdb.DuckDBPyConnection, snapshot_id: int, netuids: list[int] | None = None
) -> None:
    """The subnet_summary and validator_summary rows of one snapshot (of those subnets only, when
    given) inside the caller's transaction; each skipped on a schema before its migration (3, 5: only
    test fixtures pin an older schema)."""
    tables = _user_tables(con)

    def where(prefix: str) -> str:
        listed = (
            "" if netuids is None else f" AND {prefix}.netuid IN ({', '.join(str(int(k)) for k in netuids)})"
        )
        return f"{prefix}.snapshot_id = {int(snapshot_id):d}{listed}"

    if "subnet_summary" in tables:
        con.execute(_SUMMARY_INSERT.format(where=where("n")))
    if "validator_summary" in tables:
        row = con.execute(_VALIDATOR_SUMMARY_INSERT.format(where_n=where("n"), where_h=where("h"))).fetchone()
        _sort_validator_summary(con, int(row[0]) if row else 0)


def _insert_plan(con: duckdb.DuckDBPyConnection, plan: list, snapshot_id: int) -> None:
    """INSERT ... SELECT each incoming Arrow table under the snapshot's id (inside the caller's transaction)."""
    for table, incoming, names in plan:
        alias = f"incoming_{table}"
        con.register(alias, incoming)
        col_list = ", ".join(names)
        con.execute(
            f"INSERT INTO {table} (snapshot_id, {col_list}) SELECT {snapshot_id:d}, {col_list} FROM {alias}"
        )


def add_subnets(
    db_path: str | os.PathLike[str], snapshot: SnapshotData, *, lock_wait: float | None = None
) -> tuple[int, list[int]]:
    """Add subnets to the snapshot of (network, block), creating it if absent: what a resumable run
    (backfill) writes as each subnet completes, so an interrupted run loses only the work in flight.

    One transaction: every incoming subnet not stored yet in that snapshot is written whole, with its
    summary row; subnets already there are skipped (a rerun adds nothing). Returns (snapshot_id,
    netuids added). ``lock_wait`` as for :func:`ingest_snapshot`.
    """
    _validate_snapshot(snapshot)
    incoming_subnets = snapshot.tables.get("subnets")
    netuids = [int(v) for v in incoming_subnets.column("netuid").to_pylist()] if incoming_subnets else []
    meta = dict(snapshot.meta)
    plan: list[tuple[str, pa.Table, list[str]]] = []
    with _writer(db_path, lock_wait=lock_wait) as con, _snapshot_transaction(con, plan):
        row = con.execute(
            "SELECT snapshot_id FROM snapshots WHERE network = ? AND block = ?",
            [meta["network"], int(meta["block"])],
        ).fetchone()
        snapshot_id = int(row[0]) if row else _insert_snapshot_row(con, meta)
        stored = {
            int(r[0])
            for r in con.execute("SELECT netuid FROM subnets WHERE snapshot_id = ?", [snapshot_id]).fetchall()
        }
        new = [k for k in netuids if k not in stored]
        if new:
            keep = pa.array(new, pa.int32())
            for table in TABLES:
                incoming = snapshot.tables.get(table)
                if incoming is None or incoming.num_rows == 0:
                    continue
                incoming = incoming.filter(pc.is_in(incoming.column("netuid"), value_set=keep))
                if incoming.num_rows:
                    plan.append(
                        (table, incoming, _checked_columns(table, incoming, _table_columns(con, table)))
                    )
            _insert_plan(con, plan, snapshot_id)
            _write_summary(con, snapshot_id, new)
    return snapshot_id, new


def stored_subnets(db_path: str | os.PathLike[str], network: str) -> dict[int, set[int]]:
    """block -> netuids stored, for every snapshot of ``network`` (what a resumed run skips)."""
    df = _read_df(
        db_path,
        "SELECT s.block, b.netuid FROM snapshots s LEFT JOIN subnets b USING (snapshot_id) WHERE s.network = ?",
        [network],
    )
    out: dict[int, set[int]] = {}
    for block, netuid in zip(df["block"], df["netuid"], strict=True):
        entry = out.setdefault(int(block), set())
        if pd.notna(netuid):
            entry.add(int(netuid))
    return out


def subnet_summary(db_path: str | os.PathLike[str], netuid: int, network: str | None = None) -> pd.DataFrame:
    """One subnet's `subnet_summary` rows across snapshots with the snapshot's block and time, oldest
    first: a few hundred rows, not the subnet's every neuron."""
    where = "m.netuid = ?" + (" AND s.network = ?" if network is not None else "")
    params: list[Any] = [int(netuid)] + ([network] if network is not None else [])
    return _read_df(
        db_path,
        f"""
        SELECT m.*, s.network, s.block, s.taken_at
        FROM subnet_summary m JOIN snapshots s USING (snapshot_id)
        WHERE {where}
        ORDER BY s.taken_at, s.snapshot_id
        """,
        params,
    )


def validator_history(
    db_path: str | os.PathLike[str], netuid: int, network: str | None = None
) -> pd.DataFrame:
    """The validator-permit holders of one subnet across snapshots, oldest first: snapshot_id,
    taken_at, block, uid, hotkey, validator_permit, active, validator_trust (u16), total_stake (rao). Only the columns History
    charts: the scan fetches a handful of column vectors where the subnet's rows are, not whole rows."""
    where = "n.netuid = ? AND n.validator_permit" + (" AND s.network = ?" if network is not None else "")
    params: list[Any] = [int(netuid)] + ([network] if network is not None else [])
    with _reader(db_path) as con:
        # validator_summary (migration 5) holds every permit holder's row with these columns; a
        # database not yet upgraded (the app reads without migrating) or an older lake reads neurons.
        table = "validator_summary" if _has_table(con, "validator_summary") else "neurons"
        return _shown(
            con.execute(
                f"""
                SELECT n.snapshot_id, s.taken_at, s.block, n.uid, n.hotkey, n.validator_permit, n.active,
                       n.validator_trust, n.total_stake
                FROM {table} n JOIN snapshots s USING (snapshot_id)
                WHERE {where}
                ORDER BY s.taken_at, s.snapshot_id, n.uid
                """,
                params,
            ).df()
        )


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether ``name`` is a table of the database, or a view (a lake registers its tables as views)."""
    row = con.execute(
        "SELECT count(*) FROM (SELECT table_name AS name FROM duckdb_tables()"
        " UNION ALL SELECT view_name FROM duckdb_views()) WHERE name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])


def ingest_snapshot(
    db_path: str | os.PathLike[str], snapshot: SnapshotData, *, lock_wait: float | None = None
) -> int | None:
    """Write one snapshot atomically; return its new snapshot_id, or None if (network, block) is stored.

    ``lock_wait``: seconds to wait for readers holding the file's lock (default LOCK_WAIT_SECONDS).

    Incoming Arrow tables are registered under `incoming_<table>` (a name no table uses, so the
    replacement scan cannot pick up a table of the same name) and copied with INSERT ... SELECT
    inside one transaction: readers see all of the snapshot or none of it.
    """
    _validate_snapshot(snapshot)
    with _writer(db_path, lock_wait) as con:
        return _ingest_on(con, snapshot)


def ingest_snapshots(db_path: str | os.PathLike[str], snapshots: list[SnapshotData]) -> list[int | None]:
    """Several snapshots through one connection, each in its own transaction (as ingest_snapshot)."""
    for snapshot in snapshots:
        _validate_snapshot(snapshot)
    with _writer(db_path) as con:
        return [_ingest_on(con, snapshot) for snapshot in snapshots]


def record_run(
    db_path: str | os.PathLike[str], run: dict[str, Any], *, lock_wait: float | None = None
) -> int:
    """Append one collection run (keys: RUN_COLUMNS; subnets_failed may be a dict) and return its run_id.
    ``lock_wait`` as for :func:`ingest_snapshot`."""
    unknown = set(run) - set(RUN_COLUMNS)
    if unknown:
        raise StoreError(f"collection run: unknown field(s) {sorted(unknown)}")
    values = dict(run)
    if isinstance(values.get("subnets_failed"), dict):
        values["subnets_failed"] = json.dumps({str(k): str(v) for k, v in values["subnets_failed"].items()})
    with _writer(db_path, lock_wait) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            run_id = int(_scalar(con, "SELECT coalesce(max(run_id), 0) + 1 FROM collection_runs"))
            cols = list(RUN_COLUMNS)
            con.execute(
                f"INSERT INTO collection_runs (run_id, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
                [run_id, *[values.get(c) for c in cols]],
            )
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        return run_id


# --------------------------------------------------------------------------------------------------
# Reading


def list_snapshots(db_path: str | os.PathLike[str]) -> pd.DataFrame:
    """Every snapshot, newest first, with its number of subnets."""
    return _read_df(
        db_path,
        """
        SELECT s.*, coalesce(c.subnet_count, 0) AS subnet_count
        FROM snapshots s
        LEFT JOIN (SELECT snapshot_id, count(*) AS subnet_count FROM subnets GROUP BY snapshot_id) c
            USING (snapshot_id)
        ORDER BY s.taken_at DESC, s.snapshot_id DESC
        """,
    )


def latest_snapshot_id(db_path: str | os.PathLike[str]) -> int | None:
    """The newest snapshot's id (by time taken), or None for a database without snapshots."""
    with _reader(db_path) as con:
        row = con.execute(
            "SELECT snapshot_id FROM snapshots ORDER BY taken_at DESC, snapshot_id DESC LIMIT 1"
        ).fetchone()
    return int(row[0]) if row else None


def snapshot_meta(db_path: str | os.PathLike[str], snapshot_id: int) -> dict[str, Any]:
    """One snapshot's metadata row as a dict; StoreError when there is no such snapshot."""
    df = _read_df(db_path, "SELECT * FROM snapshots WHERE snapshot_id = ?", [int(snapshot_id)])
    if df.empty:
        raise StoreError(f"no snapshot {snapshot_id} in {Path(db_path)}")
    return df.iloc[0].to_dict()


def subnets(db_path: str | os.PathLike[str], snapshot_id: int) -> pd.DataFrame:
    """The subnets of one snapshot, ordered by netuid."""
    return _read_df(
        db_path, "SELECT * FROM subnets WHERE snapshot_id = ? ORDER BY netuid", [int(snapshot_id)]
    )


def subnet_list(db_path: str | os.PathLike[str], snapshot_id: int) -> pd.DataFrame:
    """netuid, name and mechanism_count of one snapshot's subnets, ordered by netuid: what the pages' pickers
    and lists need (a cold read of every column of `subnets` cost ~15 ms more, for ~50 columns unused)."""
    return _read_df(
        db_path,
        "SELECT netuid, name, mechanism_count FROM subnets WHERE snapshot_id = ? ORDER BY netuid",
        [int(snapshot_id)],
    )


def neurons(db_path: str | os.PathLike[str], snapshot_id: int, netuid: int) -> pd.DataFrame:
    """One subnet's neurons (netuid-level inputs and outputs), ordered by uid."""
    return _read_df(
        db_path,
        "SELECT * FROM neurons WHERE snapshot_id = ? AND netuid = ? ORDER BY uid",
        [int(snapshot_id), int(netuid)],
    )


def mechanism_neurons(
    db_path: str | os.PathLike[str], snapshot_id: int, netuid: int, mechid: int
) -> pd.DataFrame:
    """One mechanism's per-uid rows (last_update, commit_block, incentive), ordered by uid."""
    return _read_df(
        db_path,
        "SELECT * FROM mechanism_neurons WHERE snapshot_id = ? AND netuid = ? AND mechid = ? ORDER BY uid",
        [int(snapshot_id), int(netuid), int(mechid)],
    )


def weights(db_path: str | os.PathLike[str], snapshot_id: int, netuid: int, mechid: int) -> pd.DataFrame:
    """One mechanism's weights in long format (validator_uid, miner_uid, weight), explicit zeros kept."""
    return _read_df(
        db_path,
        "SELECT * FROM weights WHERE snapshot_id = ? AND netuid = ? AND mechid = ? ORDER BY validator_uid, miner_uid",
        [int(snapshot_id), int(netuid), int(mechid)],
    )


def bonds(
    db_path: str | os.PathLike[str], snapshot_id: int, netuid: int, mechid: int, *, after: bool = False
) -> pd.DataFrame:
    """One mechanism's bonds in long format: the epoch's input bonds, or with after=True the bonds it wrote."""
    table = "bonds_after" if after else "bonds"
    return _read_df(
        db_path,
        f"SELECT * FROM {table} WHERE snapshot_id = ? AND netuid = ? AND mechid = ? ORDER BY validator_uid, miner_uid",
        [int(snapshot_id), int(netuid), int(mechid)],
    )


def subnet_tables(db_path: str | os.PathLike[str], snapshot_id: int, netuid: int) -> dict[str, pd.DataFrame]:
    """Every row of one subnet in one snapshot, read through one connection.

    Keys: 'subnet' (one row), 'neurons', 'mechanism_neurons', 'weights', 'bonds', 'bonds_after'
    (all mechanisms, ordered by key). StoreError when the snapshot or the subnet is not stored.
    """
    out = snapshot_tables(db_path, snapshot_id, [netuid])
    if out["subnet"].empty:
        raise StoreError(f"subnet {netuid} is not in snapshot {snapshot_id}")
    return out


def snapshot_tables(
    db_path: str | os.PathLike[str], snapshot_id: int, netuids: list[int] | None = None
) -> dict[str, pd.DataFrame]:
    """Every row of one snapshot (or of the given subnets), through one connection.

    Keys as subnet_tables ('subnet' then holds one row per subnet), ordered by key. StoreError when
    the snapshot is not stored; unknown netuids simply have no rows.
    """
    with _reader(db_path) as con:
        return _snapshot_tables_on(con, db_path, snapshot_id, netuids)


# The columns of the (validator, miner) tables that the engine reads, per table.
_MATRIX_COLUMNS = {
    "weights": "netuid, mechid, validator_uid, miner_uid, weight",
    "bonds": "netuid, mechid, validator_uid, miner_uid, bond",
    "bonds_after": "netuid, mechid, validator_uid, miner_uid, bond",
}
# The same read in the chain's own widths (netuid and uids u16, mechid u8): half the bytes of the
# stored INTEGERs to convert and copy, millions of rows per snapshot. A value outside them cannot
# come from the chain; DuckDB refuses the cast (StoreError) rather than wrapping it.
_NARROW_MATRIX_COLUMNS = {
    table: columns.replace("netuid,", "netuid::USMALLINT AS netuid,")
    .replace("mechid,", "mechid::UTINYINT AS mechid,")
    .replace("validator_uid,", "validator_uid::USMALLINT AS validator_uid,")
    .replace("miner_uid,", "miner_uid::USMALLINT AS miner_uid,")
    for table, columns in _MATRIX_COLUMNS.items()
}


def _snapshot_tables_on(
    con: duckdb.DuckDBPyConnection,
    db_path: str | os.PathLike[str],
    snapshot_id: int,
    netuids: list[int] | None,
    *,
    matrices_as_arrays: bool = False,
    known: bool = False,
) -> dict[str, Any]:
    """snapshot_tables on an open connection. With ``matrices_as_arrays`` the weights and bonds come
    as {column: numpy array} in storage order, not sorted (a snapshot of 128 subnets holds millions of
    them: a DataFrame and an ORDER BY cost more than the epochs; the caller groups them by netuid),
    and the neurons as {column: numpy array} in key order, text made visible (no DataFrame: building
    one for 33 k neurons cost more than the engine's epochs of a dozen subnets)."""
    where = "snapshot_id = ?"
    params: list[Any] = [int(snapshot_id)]
    if netuids is not None:
        where += f" AND netuid IN ({', '.join('?' * len(netuids))})" if netuids else " AND false"
        params += [int(k) for k in netuids]
    out: dict[str, Any] = {}
    if not known:  # ``known``: the caller has checked the snapshot and reads its subnets itself
        if not con.execute("SELECT 1 FROM snapshots WHERE snapshot_id = ?", params[:1]).fetchone():
            raise StoreError(f"no snapshot {snapshot_id} in {Path(db_path)}")
        out["subnet"] = _shown(
            con.execute(f"SELECT * FROM subnets WHERE {where} ORDER BY netuid", params).df()
        )
    for table in ("neurons", "mechanism_neurons", "weights", "bonds", "bonds_after"):
        if matrices_as_arrays and table in _MATRIX_COLUMNS:
            # through Arrow: measured 4x cheaper than fetchnumpy() or df() on 2 M rows; asked for as
            # one batch, so that a single-threaded read (check's workers) comes as one chunk per
            # column, which numpy takes without a copy (joining a snapshot's ~4 M rows of chunks cost
            # more than DuckDB's scan: fresh pages every snapshot)
            arrow = con.sql(
                f"SELECT {_NARROW_MATRIX_COLUMNS[table]} FROM {table} WHERE {where}", params=params
            )
            out[table] = _arrow_arrays(arrow.to_arrow_table(_ONE_BATCH))
            continue
        if matrices_as_arrays and table == "neurons":
            arrow = con.sql(f"SELECT * FROM {table} WHERE {where} ORDER BY {_ORDER[table]}", params=params)
            rows = arrow.to_arrow_table()
            out[table] = {name: _shown_values(rows.column(name)) for name in rows.column_names}
            continue
        out[table] = _shown(
            con.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY {_ORDER[table]}", params).df()
        )
    return out


# Rows per Arrow batch for reads wanted whole (the weights and bonds of a snapshot: ~1.5 M rows each).
_ONE_BATCH = 1 << 30


def _arrow_arrays(rows: pa.Table) -> dict[str, Any]:
    """A numeric Arrow table without nulls as {column: numpy array}: a column of one chunk as it is
    (no copy), one of several joined into one contiguous copy (ChunkedArray.to_numpy of a dozen
    chunks costs 5x combine + to_numpy)."""
    out = {}
    for name in rows.column_names:
        column = rows.column(name)
        whole = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        out[name] = whole.to_numpy()
    return out


# The `hotkeys` columns the payout check reads (snapshot_batches' 'money_rows').
_MONEY_ROW_COLUMNS = """netuid, uid, hotkey, coldkey, delegate_take, childkey_take, alpha_stake_own, root_stake_own,
    alpha_dividends, root_alpha_dividends"""


def _shown_values(column: pa.ChunkedArray) -> Any:
    """One Arrow column as a numpy array, text made visible as _shown does (analytics.textsafe)."""
    values = column.combine_chunks().to_numpy(zero_copy_only=False)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return values
    return values if arrow_all_safe(column) else safe_values(values)


def snapshot_batches(
    db_path: str | os.PathLike[str],
    snapshot_ids: list[int],
    netuids: list[int] | None = None,
    *,
    money: bool = False,
) -> Iterator[dict[str, Any]]:
    """Per snapshot, in the order given, everything `check` reads, through ONE read-only connection
    for the whole run (a connection per call cost more than the epochs it fed).

    Each item: 'snapshot' (the `snapshots` row as a dict), snapshot_tables' keys with the weights and
    bonds as {column: numpy array} in storage order (netuid, mechid, validator_uid, miner_uid and
    weight / bond; not sorted), and with ``money`` also 'money_subnets' and 'child_keys', as the
    functions of those names return them for the snapshot (and subnets), and 'money_rows': the
    `hotkeys` rows holding a stake ({column: array}: netuid, uid, hotkey, coldkey, takes, own stakes,
    recorded dividends; storage order) - money_hotkeys without its join, which the caller makes
    against the neurons it already holds.
    StoreError for an unknown snapshot (raised when the iteration reaches it).
    """
    row_where, row_params = "snapshot_id = ?", []
    if netuids is not None:
        row_where += f" AND netuid IN ({', '.join('?' * len(netuids))})" if netuids else " AND false"
        row_params = [int(k) for k in netuids]
    with _reader(db_path) as con:
        # The small tables of every snapshot asked for, one query each (a query costs ~10 ms whatever
        # its size: four per snapshot were a fifth of check's time), split per snapshot here.
        heads = _batch_heads(con, [int(k) for k in snapshot_ids], netuids, money=money)
        for snapshot_id in snapshot_ids:
            if int(snapshot_id) not in heads["snapshot"]:
                raise StoreError(f"no snapshot {snapshot_id} in {Path(db_path)}")
            batch = _snapshot_tables_on(
                con, db_path, snapshot_id, netuids, matrices_as_arrays=True, known=True
            )
            batch["snapshot"] = heads["snapshot"][int(snapshot_id)]
            batch["subnet"] = heads["subnet"][int(snapshot_id)]
            if money:
                batch["money_subnets"] = heads["money_subnets"][int(snapshot_id)]
                rows = con.sql(
                    f"SELECT {_MONEY_ROW_COLUMNS} FROM hotkeys WHERE {row_where} AND alpha_stake_own IS NOT NULL",
                    params=[int(snapshot_id), *row_params],
                ).to_arrow_table()
                batch["money_rows"] = {name: _shown_values(rows.column(name)) for name in rows.column_names}
                batch["child_keys"] = heads["child_keys"][int(snapshot_id)]
            yield batch


def _batch_heads(
    con: duckdb.DuckDBPyConnection, snapshot_ids: list[int], netuids: list[int] | None, *, money: bool
) -> dict[str, dict[int, Any]]:
    """snapshot_batches' small tables for all of ``snapshot_ids`` at once, per snapshot id: 'snapshot'
    (its row as a dict; absent when not stored), 'subnet' and, with ``money``, 'money_subnets' and
    'child_keys' (DataFrames as snapshot_tables, money_subnets and child_keys give them, index from 0)."""
    ids = sorted(set(snapshot_ids))
    marks, id_params = _id_list(ids)
    meta = _shown(con.execute(f"SELECT * FROM snapshots WHERE snapshot_id IN ({marks})", id_params).df())
    out: dict[str, dict[int, Any]] = {"snapshot": {int(r["snapshot_id"]): r for r in meta.to_dict("records")}}
    where, params = _snapshots_and_subnets(ids, netuids)
    frames = {
        "subnet": f"SELECT * FROM subnets WHERE {where} ORDER BY snapshot_id, netuid",
    }
    if money:
        frames["child_keys"] = f"SELECT * FROM child_keys WHERE {where} ORDER BY {_ORDER['child_keys']}"
    queries: dict[str, tuple[str, list[Any]]] = {name: (sql, params) for name, sql in frames.items()}
    if money:
        queries["money_subnets"] = _money_subnets_sql(ids, netuids)
    for name, (sql, sql_params) in queries.items():
        frame = _shown(con.execute(sql, sql_params).df())
        parts = {int(k): part for k, part in frame.groupby("snapshot_id", sort=False)}
        empty = frame.iloc[0:0]
        out[name] = {k: parts.get(k, empty).reset_index(drop=True) for k in ids}
    return out


_HISTORY_COLUMNS = """
    s.snapshot_id, s.network, s.block, s.taken_at, s.source, n.netuid, n.uid, n.hotkey, n.coldkey,
    n.is_owner, n.block_at_registration, n.active, n.validator_permit, n.validator_trust, n.dividends,
    n.consensus, n.stake_weight, n.alpha_stake, n.tao_stake, n.total_stake, n.emission
"""


def hotkey_history(db_path: str | os.PathLike[str], netuid: int, hotkey: str) -> pd.DataFrame:
    """One hotkey's neuron rows on a subnet across snapshots, oldest first (its uid may change)."""
    return _read_df(
        db_path,
        f"""
        SELECT {_HISTORY_COLUMNS}
        FROM neurons n JOIN snapshots s USING (snapshot_id)
        WHERE n.netuid = ? AND n.hotkey = ?
        ORDER BY s.taken_at, s.snapshot_id
        """,
        [int(netuid), hotkey],
    )


def subnet_history(db_path: str | os.PathLike[str], netuid: int, network: str | None = None) -> pd.DataFrame:
    """Per-snapshot, per-uid Tv, permit, stake, dividends... of one subnet, oldest first.

    `network` restricts to one network (a database may hold 'finney' and 'test' snapshots).
    """
    where = "n.netuid = ?" + (" AND s.network = ?" if network is not None else "")
    params: list[Any] = [int(netuid)] + ([network] if network is not None else [])
    return _read_df(
        db_path,
        f"""
        SELECT {_HISTORY_COLUMNS}
        FROM neurons n JOIN snapshots s USING (snapshot_id)
        WHERE {where}
        ORDER BY s.taken_at, s.snapshot_id, n.uid
        """,
        params,
    )


def collection_runs(db_path: str | os.PathLike[str]) -> pd.DataFrame:
    """Every recorded collection run, newest first."""
    return _read_df(db_path, "SELECT * FROM collection_runs ORDER BY run_id DESC")


def table_contents(db_path: str | os.PathLike[str], table: str) -> pd.DataFrame:
    """A whole table in canonical key order (for audits and the demo's determinism test)."""
    if table not in _ORDER:
        raise StoreError(f"unknown table {table!r}; known: {', '.join(_ORDER)}")
    return _read_df(db_path, f"SELECT * FROM {table} ORDER BY {_ORDER[table]}")


# --------------------------------------------------------------------------------------------------
# Added by the pages helper (issue 6) for the Overview: one query instead of one per subnet, so a
# snapshot of 128 subnets stays well under a second. Same rules as the reads above.


def snapshot_validators(db_path: str | os.PathLike[str], snapshot_id: int) -> pd.DataFrame:
    """Every validator-permit holder of every subnet in one snapshot: netuid, uid, validator_permit,
    active, validator_trust (u16), total_stake (rao); ordered by netuid, uid."""
    return _read_df(
        db_path,
        """
        SELECT netuid, uid, validator_permit, active, validator_trust, total_stake
        FROM neurons
        WHERE snapshot_id = ? AND validator_permit
        ORDER BY netuid, uid
        """,
        [int(snapshot_id)],
    )


# --------------------------------------------------------------------------------------------------
# The money path (issue 14, schema version 2): takes, pools, recorded dividends, parent/child relations.

_MONEY_SUBNET_COLUMNS = """
    s.snapshot_id, s.netuid, s.name AS subnet_name, s.tempo, s.aligned, s.epoch_block, s.inputs_block,
    s.outputs_block, s.tao_weight, s.mechanism_count, s.epoch_emission, s.epoch_emission_source,
    s.pending_server, s.pending_validator, s.pending_root, s.owner_cut, s.block_alpha_out,
    s.subnet_owner_cut, s.root_proportion, s.ck_burn, s.tao_reserve, s.alpha_reserve,
    s.alpha_outstanding, s.price_rao, s.moving_price, s.tao_in_emission, s.excess_tao,
    s.emission_share, s.emission_gate_bar, s.emission_bar_quantile, s.emission_gate_exponent,
    s.emission_bar_rank, s.epoch_spec_version
"""


def _id_list(values: list[int]) -> tuple[str, list[int]]:
    ids = [int(v) for v in values]
    return (", ".join("?" * len(ids)) or "NULL"), ids


def _snapshots_and_subnets(
    snapshot_ids: list[int], netuids: list[int] | None, prefix: str = ""
) -> tuple[str, list[int]]:
    """A WHERE condition (and its parameters) keeping rows of the given snapshots and, unless
    ``netuids`` is None, of those subnets; ``prefix`` qualifies the columns (e.g. "s.")."""
    marks, params = _id_list(snapshot_ids)
    where = f"{prefix}snapshot_id IN ({marks})"
    if netuids is not None:
        more, extra = _id_list(netuids)
        where += f" AND {prefix}netuid IN ({more})"
        params = params + extra
    return where, params


_WINDOW_SQL = """
    SELECT snapshot_id FROM snapshots
    WHERE network = ? AND taken_at <= ? AND taken_at >= ? - to_days(?)
    ORDER BY taken_at, snapshot_id
"""


def snapshots_in_window(db_path: str | os.PathLike[str], snapshot_id: int, days: int) -> list[int]:
    """Snapshots of the same network taken in the `days` days up to and including `snapshot_id`
    (taken_at >= its taken_at - days), oldest first. StoreError when the snapshot is unknown."""
    meta = snapshot_meta(db_path, snapshot_id)
    df = _read_df(db_path, _WINDOW_SQL, [meta["network"], meta["taken_at"], meta["taken_at"], int(days)])
    return [int(v) for v in df["snapshot_id"]]


def _money_subnets_sql(snapshot_ids: list[int], netuids: list[int] | None) -> tuple[str, list[Any]]:
    where, params = _snapshots_and_subnets(snapshot_ids, netuids, "s.")
    sql = f"""
        SELECT {_MONEY_SUBNET_COLUMNS}, p.block, p.taken_at, p.network, p.source, p.spec_version
        FROM subnets s JOIN snapshots p USING (snapshot_id)
        WHERE {where}
        ORDER BY p.taken_at, s.snapshot_id, s.netuid
    """
    return sql, params


def money_subnets(
    db_path: str | os.PathLike[str], snapshot_ids: list[int], netuids: list[int] | None = None
) -> pd.DataFrame:
    """The money columns of the given snapshots' subnets (with block and taken_at), by snapshot, netuid."""
    return _read_df(db_path, *_money_subnets_sql(snapshot_ids, netuids))


_MONEY_HOTKEY_COLUMNS = """h.delegate_take, h.childkey_take, h.alpha_stake_own, h.root_stake_own, h.alpha_dividends,
        h.root_alpha_dividends, h.nominators, h.identity_name"""


def _money_hotkeys_sql(
    snapshot_ids: list[int], netuids: list[int] | None, hotkey: str | None, validators_only: bool
) -> tuple[str, list[Any]]:
    marks, ids = _id_list(snapshot_ids)
    params: list[Any] = list(ids)
    where_n = f"n.snapshot_id IN ({marks})"
    where_h = f"h.snapshot_id IN ({marks}) AND h.uid IS NULL"
    where_j = f"snapshot_id IN ({marks})"  # the hotkeys joined to the neurons: the same subnets only
    params_n: list[Any] = list(params)
    params_h: list[Any] = list(params)
    if netuids is not None:
        more, extra = _id_list(netuids)
        where_n += f" AND n.netuid IN ({more})"
        where_h += f" AND h.netuid IN ({more})"
        where_j += f" AND netuid IN ({more})"
        params_n += extra
        params_h += extra
        params = params + extra
    if hotkey is not None:
        where_n += " AND n.hotkey = ?"
        where_h += " AND h.hotkey = ?"
        params_n.append(hotkey)
        params_h.append(hotkey)
    if validators_only:
        where_n += " AND (n.validator_permit OR h.alpha_dividends > 0)"
    money = _MONEY_HOTKEY_COLUMNS
    # The joined hotkeys are read first (MATERIALIZED): joined inline, DuckDB pushes the join's keys into
    # the `hotkeys` scan as a filter on the hotkey strings, which made a one-subnet read cost twice as
    # much (~40 ms against ~20 ms of CPU, cold, at 260 snapshots of 128 subnets). Same rows either way.
    sql = f"""
        WITH joined_hotkeys AS MATERIALIZED (SELECT * FROM hotkeys WHERE {where_j})
        SELECT * FROM (
            SELECT n.snapshot_id, n.netuid, n.uid, n.hotkey, coalesce(h.coldkey, n.coldkey) AS coldkey,
                n.is_owner, n.validator_permit, n.validator_trust, n.dividends AS dividends_u16,
                n.emission, n.alpha_stake, n.tao_stake, n.total_stake, {money}
            FROM neurons n LEFT JOIN joined_hotkeys h
                ON h.snapshot_id = n.snapshot_id AND h.netuid = n.netuid AND h.hotkey = n.hotkey
            WHERE {where_n}
            UNION ALL
            SELECT h.snapshot_id, h.netuid, NULL, h.hotkey, h.coldkey, false, false, NULL, NULL,
                NULL, NULL, NULL, NULL, {money}
            FROM hotkeys h
            WHERE {where_h}
        )
        ORDER BY snapshot_id, netuid, uid NULLS LAST, hotkey
    """
    return sql, params + params_n + params_h


def money_hotkeys(
    db_path: str | os.PathLike[str],
    snapshot_ids: list[int],
    netuids: list[int] | None = None,
    hotkey: str | None = None,
    *,
    validators_only: bool = False,
) -> pd.DataFrame:
    """Per (snapshot, netuid, hotkey): the neuron's permit, trust and stakes joined with its money row.

    Registered hotkeys come from `neurons` (money columns NULL where the snapshot predates schema 2);
    parents that are not registered on the subnet come from `hotkeys` alone (uid NULL). Ordered by
    snapshot, netuid, uid (parents last). validators_only keeps permit holders and hotkeys with
    recorded dividends (filtered in SQL).
    """
    return _read_df(db_path, *_money_hotkeys_sql(snapshot_ids, netuids, hotkey, validators_only))


# The subnet columns a return needs (epochs per day, the spot price, when): money_subnets' in its order,
# narrowed (a one-subnet read of all ~50 columns cost ~10 ms more, mostly building the frame).
_RETURN_TERMS_SQL = """
    SELECT s.snapshot_id, s.netuid, s.tempo, s.epoch_block, s.price_rao, s.epoch_spec_version,
        p.block, p.taken_at, p.spec_version
    FROM subnets s JOIN snapshots p USING (snapshot_id)
    WHERE {where}
    ORDER BY p.taken_at, s.snapshot_id, s.netuid
"""


def returns_frames(
    db_path: str | os.PathLike[str],
    snapshot_id: int | None = None,
    *,
    window_days: int = 1,
    netuids: list[int] | None = None,
    hotkey: str | None = None,
    trend_start: bool = False,
) -> dict[str, Any]:
    """Everything the returns table reads, through ONE read-only connection (a year of a whole
    network is millions of neuron rows: opening a connection per piece and moving every column of the
    window would cost seconds).

    Keys: 'snapshot_id' (the one asked for, or the latest; None for a database without snapshots),
    'snapshot_ids' (the window, oldest first: taken_at within `window_days` days up to and including
    it, same network), 'subnets' (money_subnets of the window: snapshot_id, netuid, tempo, epoch_block,
    price_rao, epoch_spec_version, block, taken_at, spec_version), 'latest' (money_hotkeys of the
    snapshot, validators only), 'window' (per window snapshot: snapshot_id, netuid, hotkey,
    alpha_dividends, pool = own alpha stake or else the neuron's stake, for the hotkeys in 'latest'),
    'relations' (per netuid and hotkey of the snapshot: parents, children). StoreError for an unknown
    snapshot. With ``trend_start``, also 'start_id': the snapshot a trend over the window starts from
    (the window's oldest taken before the snapshot; for a 1-day window the one taken just before it;
    None when there is none), whose 'subnets' and 'window' rows are read too (for a 1-day window they
    are the only rows outside 'snapshot_ids').
    """
    out: dict[str, Any] = {"snapshot_id": None, "snapshot_ids": []}
    with _reader(db_path) as con:
        if snapshot_id is None:
            row = con.execute(
                "SELECT snapshot_id FROM snapshots ORDER BY taken_at DESC, snapshot_id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return out
            snapshot_id = int(row[0])
        meta = con.execute(
            "SELECT network, taken_at FROM snapshots WHERE snapshot_id = ?", [int(snapshot_id)]
        ).fetchone()
        if meta is None:
            raise StoreError(f"no snapshot {snapshot_id} in {Path(db_path)}")
        ids = [int(snapshot_id)]
        read = ids
        if window_days > 1:
            window = con.execute(_WINDOW_SQL, [meta[0], meta[1], meta[1], int(window_days)]).fetchall()
            ids = read = [int(r[0]) for r in window]
        out["snapshot_id"], out["snapshot_ids"] = int(snapshot_id), ids
        if trend_start:
            out["start_id"] = _trend_start(con, meta, ids, window_days)
            if out["start_id"] is not None and out["start_id"] not in ids:
                read = [out["start_id"], *ids]
        where, params = _snapshots_and_subnets(read, netuids, "s.")
        out["subnets"] = _shown(con.execute(_RETURN_TERMS_SQL.format(where=where), params).df())
        out["latest"] = _shown(
            con.execute(*_money_hotkeys_sql([int(snapshot_id)], netuids, hotkey, True)).df()
        )
        # The window needs only the recorded amounts (a row without them has no rate), so it reads
        # `hotkeys` alone, for the snapshot's hotkeys, keyed by their row in 'latest' (no strings back).
        # The snapshot's own amounts are 'latest''s (its rows joined `hotkeys` already): read the others.
        # Rows in snapshot order, so a window's mean sums its epochs in one order on every run.
        own = _own_window(out["latest"], int(snapshot_id))
        others = sorted(i for i in read if i != int(snapshot_id))
        if others:
            rows = _window_rows(con, out["latest"], others).sort_values("snapshot_id", kind="stable")
            own = pd.concat([rows, own], ignore_index=True) if len(own) else rows.reset_index(drop=True)
        out["window"] = own
        marks, edge_params = _id_list([int(snapshot_id)])
        out["relations"] = con.execute(
            f"""
            SELECT netuid, hotkey, sum(parents) AS parents, sum(children) AS children FROM (
                SELECT netuid, child_hotkey AS hotkey, 1 AS parents, 0 AS children
                FROM child_keys WHERE snapshot_id IN ({marks}) AND NOT suspended
                UNION ALL
                SELECT netuid, parent_hotkey, 0, 1 FROM child_keys WHERE snapshot_id IN ({marks}) AND NOT suspended
            ) GROUP BY netuid, hotkey
            """,
            edge_params + edge_params,
        ).df()
        out["relations"] = _shown(out["relations"])
    return out


def _own_window(latest: pd.DataFrame, snapshot_id: int) -> pd.DataFrame:
    """returns_frames' 'window' of the snapshot alone, from 'latest' (its money columns are the
    snapshot's `hotkeys` row): the rows that hold an amount; what a read of `hotkeys` gives them."""
    known = (latest["alpha_dividends"].notna() | latest["alpha_stake_own"].notna()).to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            "k": np.flatnonzero(known).astype(np.int64),
            "snapshot_id": np.full(int(known.sum()), snapshot_id, dtype=np.int64),
            "alpha_dividends": latest["alpha_dividends"].to_numpy()[known],
            "pool": latest["alpha_stake_own"].to_numpy()[known],
        }
    )


def _window_rows(
    con: duckdb.DuckDBPyConnection, latest: pd.DataFrame, snapshot_ids: list[int]
) -> pd.DataFrame:
    """returns_frames' 'window': k (the row in ``latest``), snapshot_id, alpha_dividends, pool, of the
    ``latest`` hotkeys' `hotkeys` rows in ``snapshot_ids``."""
    keys = pa.table(
        {
            "k": pa.array(range(len(latest)), pa.int64()),
            "netuid": pa.array(latest["netuid"].to_numpy(), pa.int32()),
            "hotkey": pa.array(latest["hotkey"].astype(str).tolist(), pa.string()),
        }
    )
    con.register("incoming_returns_keys", keys)
    try:
        marks, id_params = _id_list(snapshot_ids)
        # the window's rows read first (MATERIALIZED), then joined: see _money_hotkeys_sql (the keys
        # pushed into the `hotkeys` scan cost a third more CPU here, and twice the wall time)
        return con.execute(
            f"""
            WITH window_hotkeys AS MATERIALIZED (
                SELECT snapshot_id, netuid, hotkey, alpha_dividends, alpha_stake_own FROM hotkeys
                WHERE snapshot_id IN ({marks})
            )
            SELECT l.k, h.snapshot_id, h.alpha_dividends, h.alpha_stake_own AS pool
            FROM window_hotkeys h JOIN incoming_returns_keys l ON l.netuid = h.netuid AND l.hotkey = h.hotkey
            """,
            id_params,
        ).df()
    finally:
        con.unregister("incoming_returns_keys")


def _trend_start(
    con: duckdb.DuckDBPyConnection, meta: tuple[Any, ...], window: list[int], window_days: int
) -> int | None:
    """returns_frames' 'start_id': of the snapshots of network ``meta[0]`` taken before ``meta[1]``, the
    oldest in the window (``window``, oldest first), or for a 1-day window the newest."""
    if window_days > 1:
        row = con.execute(
            f"SELECT snapshot_id FROM snapshots WHERE snapshot_id IN ({_id_list(window)[0]}) AND taken_at < ? "
            "ORDER BY taken_at, snapshot_id LIMIT 1",
            [*window, meta[1]],
        ).fetchone()
    else:
        row = con.execute(
            "SELECT snapshot_id FROM snapshots WHERE network = ? AND taken_at < ? "
            "ORDER BY taken_at DESC, snapshot_id DESC LIMIT 1",
            [meta[0], meta[1]],
        ).fetchone()
    return None if row is None else int(row[0])


def child_keys(
    db_path: str | os.PathLike[str], snapshot_ids: list[int], netuids: list[int] | None = None
) -> pd.DataFrame:
    """Parent/child relations of the given snapshots (and subnets), in the children's storage order."""
    where, params = _snapshots_and_subnets(snapshot_ids, netuids)
    return _read_df(
        db_path, f"SELECT * FROM child_keys WHERE {where} ORDER BY {_ORDER['child_keys']}", params
    )


_HOTKEY_SNAPSHOTS_SQL = """
    SELECT snapshot_id FROM snapshots
    WHERE snapshot_id IN (SELECT snapshot_id FROM neurons WHERE netuid = ? AND hotkey = ?)
       OR snapshot_id IN (SELECT snapshot_id FROM hotkeys WHERE netuid = ? AND hotkey = ?)
    ORDER BY taken_at, snapshot_id
"""


def hotkey_snapshots(db_path: str | os.PathLike[str], netuid: int, hotkey: str) -> list[int]:
    """Every snapshot in which `hotkey` is registered on `netuid` or earns there as a parent, oldest first."""
    df = _read_df(db_path, _HOTKEY_SNAPSHOTS_SQL, [int(netuid), hotkey, int(netuid), hotkey])
    return [int(v) for v in df["snapshot_id"]]


def hotkey_money_history(
    db_path: str | os.PathLike[str], netuid: int, hotkey: str
) -> dict[str, pd.DataFrame]:
    """One hotkey's money rows on a subnet across snapshots, through one connection: 'hotkeys'
    (money_hotkeys rows, validators only) and 'subnets' (money_subnets rows) of every snapshot that
    holds it; both empty when it never appears."""
    with _reader(db_path) as con:
        ids = [
            int(r[0])
            for r in con.execute(_HOTKEY_SNAPSHOTS_SQL, [int(netuid), hotkey, int(netuid), hotkey]).fetchall()
        ]
        return {
            "hotkeys": _shown(con.execute(*_money_hotkeys_sql(ids, [int(netuid)], hotkey, True)).df()),
            "subnets": _shown(con.execute(*_money_subnets_sql(ids, [int(netuid)])).df()),
        }


_HOTKEY_RETURN_SQL = """
    WITH h AS (
        SELECT snapshot_id, uid, alpha_stake_own, alpha_dividends FROM hotkeys WHERE netuid = ? AND hotkey = ?
    ), n AS (
        SELECT snapshot_id, validator_permit, validator_trust, alpha_stake FROM neurons WHERE netuid = ? AND hotkey = ?
    )
    SELECT * FROM (
        SELECT n.snapshot_id, n.validator_trust, n.alpha_stake, h.alpha_stake_own, h.alpha_dividends
        FROM n LEFT JOIN h USING (snapshot_id)
        WHERE n.validator_permit OR h.alpha_dividends > 0
        UNION ALL
        SELECT snapshot_id, NULL, NULL, alpha_stake_own, alpha_dividends FROM h WHERE uid IS NULL
    )
    ORDER BY snapshot_id
"""


_HOTKEY_RETURN_SUMMARY_SQL = """
    SELECT snapshot_id, validator_trust, alpha_stake, alpha_stake_own, alpha_dividends
    FROM validator_summary WHERE netuid = ? AND hotkey = ?
    ORDER BY snapshot_id
"""


def hotkey_return_history(
    db_path: str | os.PathLike[str], netuid: int, hotkey: str
) -> dict[str, pd.DataFrame]:
    """The columns a validator's return history needs, through one connection: 'hotkeys' (snapshot_id,
    netuid, validator_trust, alpha_stake, alpha_stake_own, alpha_dividends: the validators_only rows of
    :func:`hotkey_money_history`) and 'subnets' (money_subnets rows of those snapshots).

    Why not hotkey_money_history: the hotkey's rows lie in every row group (neurons are stored in
    snapshot, netuid order), so a cold read costs per column scanned. From migration 5 the rows come
    from `validator_summary` (the validators' rows only, these columns only: at 260 snapshots of 128
    subnets a cold read of ~0.1 s instead of ~0.8 s over `neurons` and `hotkeys`); a database not yet
    upgraded, or an older lake, gets one pass over the five columns of `neurons` and `hotkeys`."""
    key = [int(netuid), hotkey]
    with _reader(db_path) as con:
        if _has_table(con, "validator_summary"):  # migration 5: the same rows, one narrow table
            rows = con.execute(_HOTKEY_RETURN_SUMMARY_SQL, key).df()
        else:
            rows = con.execute(_HOTKEY_RETURN_SQL, key + key).df()
        rows.insert(1, "netuid", pd.Series(int(netuid), index=rows.index, dtype="int32"))
        ids = [int(v) for v in pd.unique(rows["snapshot_id"])]
        return {"hotkeys": rows, "subnets": _shown(con.execute(*_money_subnets_sql(ids, [int(netuid)])).df())}


# --------------------------------------------------------------------------------------------------
# Added for alerts (issue 18): the watchlist's reads and the remembered alerts (migration 4).


# The columns of a snapshot's neuron rows, as both watchlist reads return them.
_NEURON_ROW_COLUMNS = "netuid, uid, hotkey, coldkey, validator_permit, validator_trust, total_stake"


def snapshot_neurons(db_path: str | os.PathLike[str], snapshot_id: int) -> pd.DataFrame:
    """Every registered UID of one snapshot (all subnets): netuid, uid, hotkey, coldkey,
    validator_permit, validator_trust (u16), total_stake (rao); ordered by netuid, uid."""
    return _read_df(
        db_path,
        f"SELECT {_NEURON_ROW_COLUMNS} FROM neurons WHERE snapshot_id = ? ORDER BY netuid, uid",
        [int(snapshot_id)],
    )


def snapshot_neurons_of(
    db_path: str | os.PathLike[str],
    snapshot_id: int,
    *,
    hotkeys: Sequence[str] = (),
    coldkeys: Sequence[str] = (),
    netuids: Sequence[int] = (),
) -> pd.DataFrame:
    """:func:`snapshot_neurons` restricted to the UIDs whose hotkey is in ``hotkeys``, whose coldkey is in
    ``coldkeys`` or whose subnet is in ``netuids`` (any of the three): a watchlist's neurons without
    reading the whole network (32,768 rows at 128 subnets, twice per alerts run)."""
    return _read_df(
        db_path,
        f"""
        SELECT {_NEURON_ROW_COLUMNS}
        FROM neurons WHERE snapshot_id = ? AND (
            list_contains(?::VARCHAR[], hotkey) OR list_contains(?::VARCHAR[], coldkey)
            OR list_contains(?::INTEGER[], netuid))
        ORDER BY netuid, uid
        """,
        [int(snapshot_id), [str(h) for h in hotkeys], [str(c) for c in coldkeys], [int(n) for n in netuids]],
    )


def previous_snapshot_id(db_path: str | os.PathLike[str], snapshot_id: int) -> int | None:
    """The snapshot of the same network taken just before `snapshot_id`, or None."""
    with _reader(db_path) as con:
        row = con.execute(
            """
            SELECT p.snapshot_id FROM snapshots s JOIN snapshots p
              ON p.network = s.network AND (p.taken_at, p.snapshot_id) < (s.taken_at, s.snapshot_id)
            WHERE s.snapshot_id = ?
            ORDER BY p.taken_at DESC, p.snapshot_id DESC LIMIT 1
            """,
            [int(snapshot_id)],
        ).fetchone()
    return int(row[0]) if row else None


_ALERT_COLUMNS = (
    "alert_id",
    "rule",
    "key",
    "netuid",
    "hotkey",
    "snapshot_id",
    "event",
    "message",
    "details",
    "created_at",
    "resolved_snapshot_id",
)


def _has_alerts(con: duckdb.DuckDBPyConnection) -> bool:
    return "alerts" in _user_tables(con)


def open_alerts(db_path: str | os.PathLike[str]) -> pd.DataFrame:
    """Remembered alerts whose episode is open (state alerts not yet resolved); empty on a database
    older than schema version 4 (it has remembered nothing yet)."""
    with _reader(db_path) as con:
        if not _has_alerts(con):
            return pd.DataFrame(columns=list(_ALERT_COLUMNS))
        return con.execute("SELECT * FROM alerts WHERE resolved_snapshot_id IS NULL ORDER BY alert_id").df()


def alerts_on_snapshot(db_path: str | os.PathLike[str], snapshot_id: int) -> pd.DataFrame:
    """Remembered alerts that fired on one snapshot (events are remembered per snapshot)."""
    with _reader(db_path) as con:
        if not _has_alerts(con):
            return pd.DataFrame(columns=list(_ALERT_COLUMNS))
        return con.execute(
            "SELECT * FROM alerts WHERE snapshot_id = ? ORDER BY alert_id", [int(snapshot_id)]
        ).df()


def alert_history(db_path: str | os.PathLike[str], keys: list[str] | None = None) -> pd.DataFrame:
    """Remembered alerts, newest first, with their delivery state (destinations delivered / total,
    attempts, last error); only those of `keys` (hotkeys or 'subnet N') when given."""
    columns = [*_ALERT_COLUMNS, "destinations", "delivered", "attempts", "last_error"]
    with _reader(db_path) as con:
        if not _has_alerts(con):
            return pd.DataFrame(columns=columns)
        where, params = "", []
        if keys is not None:
            if not keys:
                return pd.DataFrame(columns=columns)
            where = f"WHERE a.key IN ({', '.join('?' * len(keys))})"
            params = list(keys)
        return con.execute(
            f"""
            SELECT a.*, count(d.destination) AS destinations, count(d.delivered_at) AS delivered,
                   coalesce(sum(d.attempts), 0) AS attempts, max(d.last_error) AS last_error
            FROM alerts a LEFT JOIN alert_deliveries d USING (alert_id)
            {where}
            GROUP BY ALL
            ORDER BY a.snapshot_id DESC, a.alert_id DESC
            """,
            params,
        ).df()


def record_alerts(
    db_path: str | os.PathLike[str],
    snapshot_id: int,
    new: list[dict[str, Any]],
    destinations: list[str],
    resolve: list[int],
) -> list[int]:
    """Remember new alerts (keys: rule, key, netuid, hotkey, event, message, details) fired on
    `snapshot_id`, one pending delivery per destination id each, and close the episodes `resolve`
    (alert ids), all in one transaction. Returns the new alert ids in order."""
    with _writer(db_path) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            next_id = int(_scalar(con, "SELECT coalesce(max(alert_id), 0) + 1 FROM alerts"))
            ids = []
            now = _utcnow()
            for offset, alert in enumerate(new):
                alert_id = next_id + offset
                event = bool(alert["event"])
                con.execute(
                    "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        alert_id,
                        alert["rule"],
                        alert["key"],
                        int(alert["netuid"]),
                        alert.get("hotkey"),
                        int(snapshot_id),
                        event,
                        alert["message"],
                        json.dumps(alert.get("details") or {}, sort_keys=True),
                        now,
                        int(snapshot_id) if event else None,
                    ],
                )
                for destination in destinations:
                    con.execute(
                        "INSERT INTO alert_deliveries VALUES (?, ?, 0, NULL, NULL)", [alert_id, destination]
                    )
                ids.append(alert_id)
            if resolve:
                con.execute(
                    f"UPDATE alerts SET resolved_snapshot_id = ? WHERE resolved_snapshot_id IS NULL "
                    f"AND alert_id IN ({', '.join('?' * len(resolve))})",
                    [int(snapshot_id), *[int(a) for a in resolve]],
                )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return ids


def pending_deliveries(db_path: str | os.PathLike[str], destinations: list[str]) -> pd.DataFrame:
    """Deliveries not made yet to the given destination ids, oldest alert first, with the alert's
    columns: what a run (re)sends. Empty on a database older than schema version 4."""
    columns = [*_ALERT_COLUMNS, "destination", "attempts"]
    if not destinations:
        return pd.DataFrame(columns=columns)
    with _reader(db_path) as con:
        if not _has_alerts(con):
            return pd.DataFrame(columns=columns)
        return con.execute(
            f"""
            SELECT a.*, d.destination, d.attempts
            FROM alert_deliveries d JOIN alerts a USING (alert_id)
            WHERE d.delivered_at IS NULL AND d.destination IN ({", ".join("?" * len(destinations))})
            ORDER BY a.alert_id, d.destination
            """,
            list(destinations),
        ).df()


def record_delivery(
    db_path: str | os.PathLike[str], alert_id: int, destination: str, *, ok: bool, error: str | None = None
) -> None:
    """Count one delivery attempt; mark it delivered when `ok` (else keep the error for the next run)."""
    with _writer(db_path) as con:
        con.execute(
            """
            UPDATE alert_deliveries
            SET attempts = attempts + 1,
                delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END,
                last_error = CASE WHEN ? THEN NULL ELSE ? END
            WHERE alert_id = ? AND destination = ?
            """,
            [ok, _utcnow(), ok, error, int(alert_id), destination],
        )


# --------------------------------------------------------------------------------------------------
# Reads for the Parquet lake export (analytics/data/lake.py): Arrow tables, every table discovered from
# the schema so tables and columns added by later migrations reach the lake unchanged.


def _key_order(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """ORDER BY for a table: its canonical key order, else netuid first when it has one (lake files
    are split by netuid), else every column."""
    if table in _ORDER:
        return _ORDER[table]
    names = list(_table_columns(con, table))
    return ", ".join(([c for c in ("snapshot_id", "netuid") if c in names] or names[:1]) or ["1"])


def lake_table_specs(db_path: str | os.PathLike[str]) -> dict[str, _lake.TableSpec]:
    """Every table of the database with its Arrow schema; per snapshot when snapshot_id is required."""
    with _reader(db_path) as con:
        if "snapshots" not in _user_tables(con):
            raise StoreError(f"database {db_path} is not a metagraph-lens database (no snapshots table)")
        keys = {
            name: list(cols)
            for name, cols in con.execute(
                "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                "WHERE constraint_type = 'PRIMARY KEY' AND database_name = current_database()"
            ).fetchall()
        }
        specs: dict[str, _lake.TableSpec] = {}
        for table in sorted(_user_tables(con)):
            columns = _table_columns(con, table)
            schema = con.sql(f'SELECT * FROM "{table}" LIMIT 0').to_arrow_table().schema
            per_snapshot = columns.get("snapshot_id") is False
            key = keys.get(table)
            one_per_subnet = key is not None and set(key) <= {"snapshot_id", "netuid"}
            by_netuid = per_snapshot and "netuid" in columns and not one_per_subnet
            specs[table] = _lake.TableSpec(
                name=table, schema=schema, per_snapshot=per_snapshot, by_netuid=by_netuid
            )
    return specs


def snapshot_arrow(
    db_path: str | os.PathLike[str], snapshot_id: int, tables: list[str]
) -> dict[str, pa.Table]:
    """One snapshot's rows of each table (all of them tables with a snapshot_id), in key order."""
    out: dict[str, pa.Table] = {}
    with _reader(db_path) as con:
        known = _user_tables(con)
        for table in tables:
            if table not in known:
                raise StoreError(f"unknown table {table!r} in {db_path}")
            out[table] = con.sql(
                f'SELECT * FROM "{table}" WHERE snapshot_id = $sid ORDER BY {_key_order(con, table)}',
                params={"sid": int(snapshot_id)},
            ).to_arrow_table()
    return out


def table_arrow(db_path: str | os.PathLike[str], table: str) -> pa.Table:
    """A whole table as Arrow, in key order."""
    with _reader(db_path) as con:
        if table not in _user_tables(con):
            raise StoreError(f"unknown table {table!r} in {db_path}")
        return con.sql(f'SELECT * FROM "{table}" ORDER BY {_key_order(con, table)}').to_arrow_table()
