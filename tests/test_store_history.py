"""Migration 3 (subnet_summary, decode notes) on a database built at the previous version, and the
app's shared read-only connection: cheap reads that never lock the cron writer out for long."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from analytics.data import store
from tests.test_store import tiny_snapshot

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def previous_version_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> Path:
    """The demo database taken back to the schema before migration 3 (what a user has today)."""
    db = tmp_path / "old.duckdb"
    shutil.copy(demo_db, db)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE subnet_summary")
    con.execute("ALTER TABLE subnets DROP COLUMN decode_note")
    con.execute("DELETE FROM schema_version WHERE version = 3")
    con.close()
    return db


def test_an_existing_database_upgrades_in_place_and_old_snapshots_get_their_summary(
    previous_version_db: Path, demo_db: Path
) -> None:
    db = previous_version_db
    before = store.table_contents(db, "neurons")
    snapshot_count = len(store.list_snapshots(db))
    store.initialise(db)  # what the next collect does first
    assert 3 in set(store.table_contents(db, "schema_version")["version"])
    pd_summary = store.table_contents(db, "subnet_summary")
    assert len(pd_summary) == len(store.table_contents(db, "subnets")) > 0
    assert store.table_contents(db, "neurons").equals(before)  # data kept as it was
    assert len(store.list_snapshots(db)) == snapshot_count
    # The migration's figures are the ones ingest writes (the demo was ingested with migration 3).
    fresh = store.table_contents(demo_db, "subnet_summary")
    for column in fresh.columns:
        np.testing.assert_allclose(
            pd_summary[column].astype(float), fresh[column].astype(float), rtol=1e-12, err_msg=column
        )


def test_the_summary_is_written_with_each_ingest(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    store.ingest_snapshot(db, tiny_snapshot(200))
    summary = store.subnet_summary(db, 1)
    assert summary["block"].tolist() == [100, 200]
    neurons = store.neurons(db, 1, 1)
    assert summary["n"].iloc[0] == len(neurons)
    assert summary["validators"].iloc[0] == int(neurons["validator_permit"].sum())
    assert int(summary["total_stake"].iloc[0]) == int(neurons["total_stake"].astype(object).sum())


WRITER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from analytics.data import store
from tests.test_store import tiny_snapshot
t = time.monotonic()
store.LOCK_WAIT_SECONDS = 30
store.ingest_snapshot(sys.argv[1], tiny_snapshot(300))
print(f"{time.monotonic() - t:.2f}")
"""


def test_the_shared_reader_is_reused_lets_a_writer_in_and_reopens_on_change(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    reader = store.SHARED_READER
    opens = reader.opens
    store.keep_reader_open()
    try:
        for _ in range(5):
            assert len(store.list_snapshots(db)) == 1
            store.neurons(db, 1, 1)
        assert reader.opens == opens + 1 and reader.is_open  # one connection for ten reads
        # Another process writes meanwhile: it waits for the idle close, then gets the lock.
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), str(db), str(ROOT)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # the app keeps reading for a while
            store.list_snapshots(db)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert float(out) < 25
        # The file changed: the next read re-opens and sees the new snapshot.
        assert len(store.list_snapshots(db)) == 2
        assert reader.opens >= opens + 2
        # A write from this process closes the shared connection first (DuckDB would refuse it).
        assert reader.is_open
        store.ingest_snapshot(db, tiny_snapshot(400))
        assert len(store.list_snapshots(db)) == 3
    finally:
        store.keep_reader_open(False)
    assert not reader.is_open
