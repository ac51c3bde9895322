"""The DuckDB store on real files: schema and migrations, atomic idempotent ingest, reads, bad files, locks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from analytics.data import store
from analytics.data.store import SnapshotData, StoreError

HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def tiny_snapshot(block: int = 100, network: str = "test", n: int = 4, netuid: int = 1) -> SnapshotData:
    """A small, complete snapshot: one subnet, n uids, uid 0 a validator weighting every other uid."""
    uids = list(range(n))
    subnet = pa.table(
        {
            "netuid": [netuid],
            "name": ["tiny"],
            "n": [n],
            "tempo": [360],
            "kappa": [32767],
            "bonds_moving_avg": [900_000],
            "bonds_penalty": [65535],
            "activity_cutoff_factor_milli": [13889],
            "yuma3": [True],
            "liquid_alpha": [False],
            "alpha_low": [45875],
            "alpha_high": [58982],
            "alpha_sigmoid_steepness": [1000],
            "max_validators": [64],
            "commit_reveal": [False],
            "tao_weight": pa.array([2**62], pa.uint64()),
            "stake_threshold": pa.array([0], pa.uint64()),
            "mechanism_count": [1],
            "emission_split": pa.array([None], pa.list_(pa.uint16())),
            "aligned": [True],
            "epoch_block": [block],
            "inputs_block": [block - 1],
            "weights_block": [block - 1],
            "outputs_block": [block],
            "last_mechanism_step_block": [0],
        }
    )
    neurons = pa.table(
        {
            "netuid": [netuid] * n,
            "uid": uids,
            "hotkey": [f"hk{u}-{block}" if u == n - 1 else f"hk{u}" for u in uids],
            "coldkey": [f"ck{u}" for u in uids],
            "is_owner": [False] * n,
            "block_at_registration": [0] * n,
            "alpha_stake": pa.array([10**12 if u == 0 else 0 for u in uids], pa.uint64()),
            "tao_stake": pa.array([0] * n, pa.uint64()),
            "total_stake": pa.array([10**12 if u == 0 else 0 for u in uids], pa.uint64()),
            "validator_permit_prev": [u == 0 for u in uids],
            "prev_consensus": pa.array([0] * n, pa.uint16()),
            "active": [True] * n,
            "validator_permit": [u == 0 for u in uids],
            "stake_weight": pa.array([65535 if u == 0 else 0 for u in uids], pa.uint16()),
            "consensus": pa.array([0] + [65535] * (n - 1), pa.uint16()),
            "validator_trust": pa.array([65534] + [0] * (n - 1), pa.uint16()),
            "dividends": pa.array([65535] + [0] * (n - 1), pa.uint16()),
            "emission": pa.array([500] * n, pa.uint64()),
        }
    )
    mech = pa.table(
        {
            "netuid": [netuid] * n,
            "mechid": [0] * n,
            "uid": uids,
            "last_update": [block - 10] * n,
            "commit_block": pa.array([None] * n, pa.int64()),
            "prev_incentive": pa.array([0] * n, pa.uint16()),
            "incentive": pa.array([0] + [21845] * (n - 1), pa.uint16()),
        }
    )
    weights = pa.table(
        {
            "netuid": [netuid] * (n - 1),
            "mechid": [0] * (n - 1),
            "validator_uid": [0] * (n - 1),
            "miner_uid": uids[1:],
            "weight": pa.array([65535] * (n - 2) + [0], pa.uint16()),  # an explicit zero, kept
        }
    )
    bonds = weights.rename_columns(["netuid", "mechid", "validator_uid", "miner_uid", "bond"])
    return SnapshotData(
        meta={
            "network": network,
            "block": block,
            "block_hash": f"0x{block:064x}",
            "taken_at": datetime(2026, 1, 1, 0, 0) if block == 100 else datetime(2026, 1, 1, 0, block % 60),
            "spec_version": 425,
            "sdk_version": "11.3.0",
            "source": "chain",
            "note": None,
        },
        tables={
            "subnets": subnet,
            "neurons": neurons,
            "mechanism_neurons": mech,
            "weights": weights,
            "bonds": bonds,
            "bonds_after": bonds,
        },
    )


def counts(db: Path) -> dict[str, int]:
    return {t: len(store.table_contents(db, t)) for t in ("snapshots", *store.TABLES)}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def short_lock_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.4)


def hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


# -- schema and ingest ---------------------------------------------------------------------------


def test_ingest_creates_the_schema_and_returns_sequential_ids(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    assert store.ingest_snapshot(db, tiny_snapshot(100)) == 1
    assert store.ingest_snapshot(db, tiny_snapshot(200)) == 2
    assert store.schema_version(db) == store.SCHEMA_VERSION
    assert counts(db) == {
        "snapshots": 2,
        "subnets": 2,
        "neurons": 8,
        "mechanism_neurons": 8,
        "weights": 6,
        "bonds": 6,
        "bonds_after": 6,
    }


def test_reingesting_the_same_network_and_block_is_a_no_op(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    assert store.ingest_snapshot(db, tiny_snapshot(100)) == 1
    before = {t: store.table_contents(db, t) for t in ("snapshots", *store.TABLES)}
    assert store.ingest_snapshot(db, tiny_snapshot(100)) is None
    for table, frame in before.items():
        assert store.table_contents(db, table).equals(frame), table
    # the same block on another network is a different snapshot
    assert store.ingest_snapshot(db, tiny_snapshot(100, network="finney")) == 2


def test_ingest_keeps_raw_integers_and_explicit_zero_weights(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    sid = store.ingest_snapshot(db, tiny_snapshot(100))
    w = store.weights(db, sid, 1, 0)
    assert w["miner_uid"].tolist() == [1, 2, 3]
    assert w["weight"].tolist() == [65535, 65535, 0]
    n = store.neurons(db, sid, 1)
    assert n["uid"].tolist() == [0, 1, 2, 3]
    assert int(n["alpha_stake"].iloc[0]) == 10**12
    assert int(n["validator_trust"].iloc[0]) == 65534
    sub = store.subnets(db, sid)
    assert int(sub["tao_weight"].iloc[0]) == 2**62
    assert sub["emission_split"].isna().all()


def test_a_failing_ingest_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    bad = tiny_snapshot(200)
    # a value that does not fit a u16 in the last table fails inside the transaction:
    # the snapshot row and every table inserted before it must be rolled back
    bad.tables["bonds_after"] = bad.tables["bonds_after"].set_column(
        4, "bond", pa.array([1, 70_000, 3], pa.int32())
    )
    with pytest.raises(StoreError, match="70000"):
        store.ingest_snapshot(db, bad)
    assert counts(db)["snapshots"] == 1
    assert counts(db)["weights"] == 3
    assert store.ingest_snapshot(db, tiny_snapshot(200)) == 2


def test_ingest_rejects_unknown_or_missing_columns(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    snap = tiny_snapshot(100)
    snap.tables["weights"] = snap.tables["weights"].append_column("colour", pa.array(["r", "g", "b"]))
    with pytest.raises(StoreError, match="unknown column"):
        store.ingest_snapshot(db, snap)
    snap = tiny_snapshot(100)
    snap.tables["neurons"] = snap.tables["neurons"].drop_columns(["hotkey"])
    with pytest.raises(StoreError, match="hotkey"):
        store.ingest_snapshot(db, snap)
    snap = tiny_snapshot(100)
    snap.tables["weights"] = snap.tables["weights"].set_column(
        4, "weight", pa.array([1, None, 3], pa.uint16())
    )
    with pytest.raises(StoreError, match="column weight has 1 empty value"):
        store.ingest_snapshot(db, snap)
    snap = tiny_snapshot(100)
    del snap.meta["network"]
    with pytest.raises(StoreError, match="network"):
        store.ingest_snapshot(db, snap)
    assert store.list_snapshots(db).empty


def test_incoming_data_cannot_be_shadowed_by_a_table_of_the_same_name(tmp_path: Path) -> None:
    """DuckDB's replacement scan loses to a real table: ingest must not read `weights` from the db."""
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    store.ingest_snapshot(db, tiny_snapshot(200, n=6))
    assert len(store.weights(db, 2, 1, 0)) == 5


def test_forward_migration_applies_new_versions_and_keeps_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    nxt = store.SCHEMA_VERSION + 1
    migrations = [*store.MIGRATIONS, (nxt, lambda: "ALTER TABLE snapshots ADD COLUMN operator VARCHAR")]
    monkeypatch.setattr(store, "MIGRATIONS", migrations)
    monkeypatch.setattr(store, "SCHEMA_VERSION", nxt)
    assert store.ingest_snapshot(db, tiny_snapshot(200)) == 2
    assert store.schema_version(db) == nxt
    snaps = store.list_snapshots(db)
    assert "operator" in snaps.columns and len(snaps) == 2
    versions = store.table_contents(db, "schema_version")["version"].tolist()
    assert versions == [v for v, _ in migrations]


def test_a_newer_schema_or_a_foreign_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version VALUES (99, now())")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        store.ingest_snapshot(db, tiny_snapshot(200))

    foreign = tmp_path / "other.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE accounts (id INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="refusing"):
        store.ingest_snapshot(foreign, tiny_snapshot(100))
    with pytest.raises(StoreError, match="not a metagraph-lens database"):
        store.list_snapshots(foreign)


# -- reads ---------------------------------------------------------------------------------------


def test_an_aware_timestamp_is_stored_as_naive_utc(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    snap = tiny_snapshot(100)
    snap.meta["taken_at"] = datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    store.ingest_snapshot(db, snap)
    assert store.snapshot_meta(db, 1)["taken_at"] == datetime(2026, 1, 1, 6, 0)


def test_named_reads_return_dataframes(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    store.ingest_snapshot(db, tiny_snapshot(130))
    snaps = store.list_snapshots(db)
    assert snaps["snapshot_id"].tolist() == [2, 1]  # newest first
    assert snaps["subnet_count"].tolist() == [1, 1]
    assert store.latest_snapshot_id(db) == 2
    assert store.snapshot_meta(db, 1)["block"] == 100
    assert len(store.mechanism_neurons(db, 1, 1, 0)) == 4
    assert store.mechanism_neurons(db, 1, 1, 1).empty
    assert store.bonds(db, 1, 1, 0)["bond"].tolist() == [65535, 65535, 0]
    assert len(store.bonds(db, 1, 1, 0, after=True)) == 3

    hist = store.subnet_history(db, 1)
    assert len(hist) == 8 and hist["snapshot_id"].tolist() == [1] * 4 + [2] * 4
    assert store.subnet_history(db, 1, network="finney").empty
    # the last uid gets a new hotkey in every snapshot: a hotkey's history follows the hotkey
    assert store.hotkey_history(db, 1, "hk0")["snapshot_id"].tolist() == [1, 2]
    assert store.hotkey_history(db, 1, "hk3-100")["snapshot_id"].tolist() == [1]

    tables = store.subnet_tables(db, 2, 1)
    assert set(tables) == {"subnet", "neurons", "mechanism_neurons", "weights", "bonds", "bonds_after"}
    assert len(tables["subnet"]) == 1 and len(tables["weights"]) == 3
    with pytest.raises(StoreError, match="subnet 7 is not in snapshot 2"):
        store.subnet_tables(db, 2, 7)
    with pytest.raises(StoreError, match="no snapshot 9"):
        store.subnet_tables(db, 9, 1)
    with pytest.raises(StoreError, match="no snapshot 9"):
        store.snapshot_meta(db, 9)


def test_record_run_appends_collection_runs(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    run = {
        "started_at": datetime(2026, 1, 1),
        "finished_at": datetime(2026, 1, 1, 0, 5),
        "network": "finney",
        "status": "partial",
        "snapshot_id": None,
        "subnets_ok": [1, 2],
        "subnets_failed": {3: "timeout"},
    }
    assert store.record_run(db, run) == 1
    assert store.record_run(db, {**run, "status": "ok"}) == 2
    runs = store.collection_runs(db)
    assert runs["run_id"].tolist() == [2, 1]
    assert runs["subnets_failed"].iloc[1] == '{"3": "timeout"}'
    assert list(runs["subnets_ok"].iloc[0]) == [1, 2]


def test_an_empty_database_has_no_latest_snapshot(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.initialise(db)
    assert store.latest_snapshot_id(db) is None
    assert store.list_snapshots(db).empty


# -- bad files -----------------------------------------------------------------------------------


def test_reading_a_missing_file_fails_clearly_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "missing.duckdb"
    with pytest.raises(StoreError, match="does not exist"):
        store.list_snapshots(db)
    with pytest.raises(StoreError, match="does not exist"):
        store.latest_snapshot_id(db)
    assert not db.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    db.touch()
    with pytest.raises(StoreError, match="empty"):
        store.list_snapshots(db)
    with pytest.raises(StoreError, match="empty"):
        store.ingest_snapshot(db, tiny_snapshot())
    assert db.stat().st_size == 0


def test_a_corrupt_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "corrupt.duckdb"
    db.write_bytes(os.urandom(64 * 1024))
    before = digest(db)
    with pytest.raises(StoreError, match="not a valid DuckDB file"):
        store.neurons(db, 1, 1)
    with pytest.raises(StoreError, match="not a valid DuckDB file"):
        store.ingest_snapshot(db, tiny_snapshot())
    assert digest(db) == before


def test_a_damaged_block_inside_a_valid_file_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "damaged.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100, n=200))
    size = db.stat().st_size
    with db.open("r+b") as f:  # keep the headers, scramble every data block
        f.seek(3 * 4096)
        f.write(os.urandom(size - 3 * 4096))
    with pytest.raises(StoreError, match=str(db)):
        store.neurons(db, 1, 1)


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        store.list_snapshots(tmp_path)
    with pytest.raises(StoreError, match="directory"):
        store.ingest_snapshot(tmp_path, tiny_snapshot())
    with pytest.raises(StoreError, match="does not exist"):
        store.ingest_snapshot(tmp_path / "no" / "such.duckdb", tiny_snapshot())


# -- locks ---------------------------------------------------------------------------------------


def test_a_lock_held_by_another_process_gives_a_clear_error(tmp_path: Path, short_lock_wait: None) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    holder = hold_lock(db, 30)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match=rf"locked by process {holder.pid}"):
            store.list_snapshots(db)
        assert time.monotonic() - started < 5
        with pytest.raises(StoreError, match="locked"):
            store.ingest_snapshot(db, tiny_snapshot(200))
    finally:
        holder.kill()
        holder.wait()
    assert store.latest_snapshot_id(db) == 1


def test_reads_and_writes_wait_for_a_short_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 20)
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    holder = hold_lock(db, 0.8)
    try:
        started = time.monotonic()
        assert store.latest_snapshot_id(db) == 1
        assert time.monotonic() - started > 0.3  # it really waited for the writer
    finally:
        holder.wait()
    holder = hold_lock(db, 0.8)
    try:
        assert store.ingest_snapshot(db, tiny_snapshot(200)) == 2
    finally:
        holder.wait()


def test_readers_hold_no_connection_between_calls(tmp_path: Path) -> None:
    """After a read returns, another process can open the file for writing at once."""
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    store.list_snapshots(db)
    store.subnet_tables(db, 1, 1)
    probe = "import sys, duckdb; duckdb.connect(sys.argv[1]).close(); print('ok')"
    out = subprocess.run([sys.executable, "-c", probe, str(db)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
