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
    table_contents(db_path, table) -> DataFrame             a whole table in a canonical order (tests, audits)
    schema_version(db_path) -> int
    initialise(db_path) -> None                             create / migrate the schema, no data
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
read-write connection is open; a read-only connection takes a shared lock. So every call opens its
own connection and closes it before returning: a cached connection would lock out the cron writer.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics import config
from analytics.data import files
from analytics.data import lake as _lake
from analytics.errors import DatabaseLockedError, StoreError
from analytics.textsafe import safe_frame

__all__ = ["DatabaseLockedError", "StoreError"]  # re-exported: callers catch store.StoreError

log = logging.getLogger("analytics.data.store")

SCHEMA_FILE = Path(__file__).with_name("schema.sql")

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
    """Runtime history and fast history: each subnet row records the spec version of its epoch block
    and a note on items its runtime lacked (stored NULL, hence validator_trust and stake_weight may be
    NULL); `subnet_summary` holds one row per (snapshot, subnet), filled here for old snapshots and
    at every ingest after."""
    return (
        """
        ALTER TABLE subnets ADD COLUMN IF NOT EXISTS spec_version INTEGER;
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


MIGRATIONS: list[tuple[int, Callable[[], str]]] = [
    (1, lambda: SCHEMA_FILE.read_text()),
    (3, _migration_3),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]

# The tables a snapshot writes, in insert order; collection_runs is written by record_run.
TABLES: tuple[str, ...] = ("subnets", "neurons", "mechanism_neurons", "weights", "bonds", "bonds_after")

# The embedded demo database, and the environment variable naming the database to open instead
# (aliases of analytics.config, where paths and defaults live).
DEMO_DB_PATH = config.DEMO_DB_PATH
CHAIN_DB_PATH = config.CHAIN_DB_PATH
DB_ENV_VAR = config.DB_ENV_VAR

# Seconds a read or write waits, retrying with backoff, while another process holds the file's lock
# (the one retry layer for locks; a test or a caller may set it, a write may pass its own wait).
LOCK_WAIT_SECONDS = config.lock_wait_seconds()

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
    "collection_runs": "run_id",
    "schema_version": "version",
    "subnet_summary": "snapshot_id, netuid",
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
    """A fresh read-only connection for one call; closed on exit; errors become StoreError."""
    if is_lake(db_path):
        with _lake_reader(db_path) as con:
            yield con
        return
    path = Path(db_path)
    _check_readable(path)
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


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    if "schema_version" not in _user_tables(con):
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Bring the schema forward to SCHEMA_VERSION; refuse foreign or newer databases."""
    tables = _user_tables(con)
    version = _current_version(con)
    if version == 0 and tables - {"schema_version"}:
        raise StoreError(
            f"database {path} holds other tables ({', '.join(sorted(tables)[:3])}...) but no "
            "metagraph-lens schema: refusing to write into it"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database {path} has schema version {version}, newer than this code ({SCHEMA_VERSION}): upgrade metagraph-lens"
        )
    # Applied by number, not by "greater than the newest": migrations are pre-numbered per branch, so
    # a database may hold 3 before 2 exists; the missing one is applied when it does.
    applied = (
        {int(r[0]) for r in con.execute("SELECT version FROM schema_version").fetchall()}
        if "schema_version" in tables
        else set()
    )
    if all(number in applied for number, _ in MIGRATIONS):
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
        )
        for number, sql in MIGRATIONS:
            if number not in applied:
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
    if "schema_version" not in tables or _current_version(con) == 0:
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
    """The schema version of an existing database (0 when it has no metagraph-lens schema)."""
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

    con.execute("BEGIN TRANSACTION")
    try:
        exists = con.execute(
            "SELECT 1 FROM snapshots WHERE network = ? AND block = ?", [meta["network"], int(meta["block"])]
        ).fetchone()
        if exists:
            con.execute("ROLLBACK")
            return None
        snapshot_id = int(_scalar(con, "SELECT coalesce(max(snapshot_id), 0) + 1 FROM snapshots"))
        cols = list(SNAPSHOT_META_COLUMNS)
        con.execute(
            f"INSERT INTO snapshots (snapshot_id, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
            [snapshot_id, *[meta.get(c) for c in cols]],
        )
        _insert_plan(con, plan, snapshot_id)
        con.execute(_SUMMARY_INSERT.format(where=f"n.snapshot_id = {snapshot_id:d}"))
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    finally:
        for table, _, _ in plan:
            con.unregister(f"incoming_{table}")
    return snapshot_id


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
    with _writer(db_path, lock_wait) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            row = con.execute(
                "SELECT snapshot_id FROM snapshots WHERE network = ? AND block = ?",
                [meta["network"], int(meta["block"])],
            ).fetchone()
            if row:
                snapshot_id = int(row[0])
            else:
                snapshot_id = int(_scalar(con, "SELECT coalesce(max(snapshot_id), 0) + 1 FROM snapshots"))
                cols = list(SNAPSHOT_META_COLUMNS)
                con.execute(
                    f"INSERT INTO snapshots (snapshot_id, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
                    [snapshot_id, *[meta.get(c) for c in cols]],
                )
            stored = {
                int(r[0])
                for r in con.execute("SELECT netuid FROM subnets WHERE snapshot_id = ?", [snapshot_id]).fetchall()
            }
            new = [k for k in netuids if k not in stored]
            plan = []
            if new:
                keep = pa.array(new, pa.int32())
                for table in TABLES:
                    incoming = snapshot.tables.get(table)
                    if incoming is None or incoming.num_rows == 0:
                        continue
                    incoming = incoming.filter(pc.is_in(incoming.column("netuid"), value_set=keep))
                    if incoming.num_rows:
                        plan.append((table, incoming, _checked_columns(table, incoming, _table_columns(con, table))))
                _insert_plan(con, plan, snapshot_id)
                listed = ", ".join(str(k) for k in new)
                con.execute(
                    _SUMMARY_INSERT.format(where=f"n.snapshot_id = {snapshot_id:d} AND n.netuid IN ({listed})")
                )
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        finally:
            for table, _, _ in plan if "plan" in locals() else []:
                con.unregister(f"incoming_{table}")
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


def validator_history(db_path: str | os.PathLike[str], netuid: int, network: str | None = None) -> pd.DataFrame:
    """subnet_history's columns for the validator-permit holders only (a quarter of the rows or less)."""
    where = "n.netuid = ? AND n.validator_permit" + (" AND s.network = ?" if network is not None else "")
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


def record_run(db_path: str | os.PathLike[str], run: dict[str, Any], *, lock_wait: float | None = None) -> int:
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
    where = "snapshot_id = ?"
    params: list[Any] = [int(snapshot_id)]
    if netuids is not None:
        where += f" AND netuid IN ({', '.join('?' * len(netuids))})" if netuids else " AND false"
        params += [int(k) for k in netuids]
    out: dict[str, pd.DataFrame] = {}
    with _reader(db_path) as con:
        if not con.execute("SELECT 1 FROM snapshots WHERE snapshot_id = ?", params[:1]).fetchone():
            raise StoreError(f"no snapshot {snapshot_id} in {Path(db_path)}")
        out["subnet"] = _shown(
            con.execute(f"SELECT * FROM subnets WHERE {where} ORDER BY netuid", params).df()
        )
        for table in ("neurons", "mechanism_neurons", "weights", "bonds", "bonds_after"):
            out[table] = _shown(
                con.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY {_ORDER[table]}", params).df()
            )
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
    """Every validator-permit holder of every subnet in one snapshot: netuid, uid, validator_trust
    (u16), total_stake (rao); ordered by netuid, uid."""
    return _read_df(
        db_path,
        """
        SELECT netuid, uid, validator_permit, validator_trust, total_stake
        FROM neurons
        WHERE snapshot_id = ? AND validator_permit
        ORDER BY netuid, uid
        """,
        [int(snapshot_id)],
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


def snapshot_arrow(db_path: str | os.PathLike[str], snapshot_id: int, tables: list[str]) -> dict[str, pa.Table]:
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
