"""collect() into a real DuckDB file through the store's contract: contents, idempotence, failures.

Every test runs the real bittensor SDK over the fake chain with short deadlines and backoffs, so
the failure paths (refused connection, silent node, chain error, locked database, crashes) take
well under a second each.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import bittensor as bt
import duckdb
import pytest

from analytics.data import collector, store
from tests.conftest import assert_rows_equal
from tests.fakechain import FakeChain, expected_rows, sample_network, with_emission_shares

ROOT = Path(__file__).resolve().parent.parent
FAST = collector.RetryPolicy(
    tries=3, timeout=2.0, close_timeout=0.5, backoff=0.01, backoff_max=0.05, db_tries=3, db_backoff=0.01
)


pytestmark = pytest.mark.usefixtures("token_symbol_cache")


def subtensor(chain: FakeChain):
    return bt.Subtensor("local", substrate=chain)


def read(db: Path, sql: str, params: list | None = None) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def table_rows(db: Path, table: str, snapshot_id: int) -> list[dict]:
    rows = read(db, f"SELECT * EXCLUDE (snapshot_id) FROM {table} WHERE snapshot_id = ?", [snapshot_id])
    return rows


def assert_snapshot_equals(db: Path, snapshot_id: int, expected: dict[str, list]) -> None:
    """Every table of the stored snapshot equals the chain's rows value for value."""
    for table in store.TABLES:
        assert_rows_equal(table_rows(db, table, snapshot_id), expected[table], table)


def count_snapshots(db: Path) -> int:
    if not db.exists():
        return 0
    return read(db, "SELECT count(*) AS n FROM snapshots")[0]["n"]


def test_collect_stores_every_subnet_value_for_value(tmp_path) -> None:
    chain, epochs = sample_network()
    db = tmp_path / "lens.duckdb"
    seen = []
    summary = collector.collect(
        subtensor(chain),
        db,
        policy=FAST,
        progress=lambda done, total, s, ok: seen.append((done, total, s, ok)),
    )
    assert summary.ok and summary.status == "ok"
    assert summary.stored == [1, 2, 3, 5]  # root (0) skipped by "all"
    assert sorted(s for _, _, s, _ in seen) == [1, 2, 3, 5] and seen[-1][:2] == (4, 4)
    expected = with_emission_shares(expected_rows(chain, {s: epochs[s] for s in (1, 2, 3, 5)}))
    assert_snapshot_equals(db, summary.snapshot_id, expected)

    meta = read(db, "SELECT * FROM snapshots")[0]
    assert meta["network"] == "local" and meta["block"] == chain.head and meta["source"] == "chain"
    assert meta["spec_version"] == chain.spec and meta["sdk_version"] == "bittensor 11.3.0"
    assert meta["block_hash"].startswith("0x") and len(meta["block_hash"]) == 66
    run = read(db, "SELECT * FROM collection_runs")[0]
    assert run["status"] == "ok" and run["snapshot_id"] == summary.snapshot_id
    assert run["subnets_ok"] == [1, 2, 3, 5] and run["subnets_failed"] is None


def test_readers_see_the_snapshot_through_the_store(tmp_path) -> None:
    chain, epochs = sample_network()
    db = tmp_path / "lens.duckdb"
    summary = collector.collect(subtensor(chain), db, netuids=[1], policy=FAST)
    sid = store.latest_snapshot_id(db)
    assert sid == summary.snapshot_id
    neurons = store.neurons(db, sid, 1)
    assert neurons["hotkey"].tolist() == epochs[1].before.hotkeys
    weights = store.weights(db, sid, 1, 1)
    assert len(weights) == len(epochs[1].before.mechanisms[1].weights.entries())


def test_rerun_for_a_stored_block_is_a_no_op(tmp_path) -> None:
    chain, _ = sample_network()
    db = tmp_path / "lens.duckdb"
    block = chain.head - 3
    first = collector.collect(subtensor(chain), db, netuids=[1, 3], block=block, policy=FAST)
    assert first.ok and first.snapshot_id is not None
    reads_before = len(chain.requests)
    again = collector.collect(subtensor(chain), db, netuids=[1, 3], block=block, policy=FAST)
    assert again.ok and again.already_stored and again.snapshot_id is None
    assert count_snapshots(db) == 1
    # Nothing was fetched the second time: only the anchor reads (NetworksAdded).
    assert all(  # only the anchor: the subnet list and the runtime of the anchor block
        name.endswith("NetworksAdded") or kind == "spec_version_at"
        for kind, name, _, _ in chain.requests[reads_before:]
    )


def test_connection_refused_retries_on_fresh_clients_then_fails(tmp_path) -> None:
    chain, _ = sample_network()
    chain.refuse_connections = True
    db = tmp_path / "lens.duckdb"
    summary = collector.collect(subtensor(chain), db, netuids=[1, 2], policy=FAST)
    assert not summary.ok and summary.status == "failed"
    assert chain.connects == FAST.tries
    assert set(summary.failed) == {1, 2} and "refused" in summary.failed[1]
    assert count_snapshots(db) == 0
    run = read(db, "SELECT * FROM collection_runs")[0]
    assert run["status"] == "failed" and "refused" in json.loads(run["subnets_failed"])["1"]


def test_a_node_that_never_answers_hits_the_deadline(tmp_path) -> None:
    chain, _ = sample_network()
    chain.hang = True
    db = tmp_path / "lens.duckdb"
    policy = collector.RetryPolicy(tries=2, timeout=0.2, close_timeout=0.1, backoff=0.01)
    started = time.monotonic()
    summary = collector.collect(subtensor(chain), db, policy=policy)
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"the deadline did not fire ({elapsed:.1f} s)"
    assert not summary.ok and chain.connects == 2
    assert "timed out" in summary.failed[-1]
    assert count_snapshots(db) == 0
    run = read(db, "SELECT * FROM collection_runs")[0]
    assert run["status"] == "failed" and "timed out" in json.loads(run["subnets_failed"])["all"]


def test_a_chain_error_on_one_subnet_does_not_stop_the_others(tmp_path) -> None:
    chain, epochs = sample_network()
    chain.chain_errors[2] = "RuntimeApi execution failed: Subnet does not exist"
    db = tmp_path / "lens.duckdb"
    summary = collector.collect(subtensor(chain), db, netuids=[1, 2, 3], policy=FAST)
    assert not summary.ok and summary.status == "partial"
    assert summary.stored == [1, 3] and list(summary.failed) == [2]
    assert "RuntimeApi execution failed" in summary.failed[2]
    expected = expected_rows(chain, {1: epochs[1], 3: epochs[3]})
    assert_snapshot_equals(db, summary.snapshot_id, expected)  # subnet 2: no row anywhere
    run = read(db, "SELECT * FROM collection_runs")[0]
    assert run["status"] == "partial" and run["subnets_ok"] == [1, 3]
    assert list(json.loads(run["subnets_failed"])) == ["2"]


def interrupt_once(chain, netuid: int, interruption) -> None:
    """The chain's first runtime call about ``netuid`` awaits ``interruption()`` first (it raises or never returns)."""
    left = {"calls": 1}
    real_runtime_call = chain.runtime_call

    async def runtime_call(api, method, params, block_hash=None):
        if params and params[0] == netuid and left["calls"]:
            left["calls"] -= 1
            await interruption()
        return await real_runtime_call(api, method, params, block_hash)

    chain.runtime_call = runtime_call


def test_a_transient_failure_is_retried_on_a_fresh_client(tmp_path) -> None:
    chain, epochs = sample_network()

    async def reset_by_peer():
        raise bt.RpcConnectionError("connection reset by peer")

    interrupt_once(chain, 3, reset_by_peer)
    db = tmp_path / "lens.duckdb"
    summary = collector.collect(subtensor(chain), db, netuids=[1, 3], policy=FAST)
    assert summary.ok and summary.stored == [1, 3]
    assert chain.connects == 2  # subnet 3 was read again on a second client
    assert_snapshot_equals(db, summary.snapshot_id, expected_rows(chain, {1: epochs[1], 3: epochs[3]}))


def test_a_read_that_hangs_mid_fetch_hits_its_deadline_and_is_retried(tmp_path) -> None:
    chain, epochs = sample_network()
    interrupt_once(chain, 1, asyncio.Event().wait)  # the node accepted the request and went silent
    db = tmp_path / "lens.duckdb"
    # The deadline bounds every read, the honest retry's too: 2 s leaves a loaded machine room for
    # the retry (0.5 s once failed at load 12); the bound stays ten deadlines, far below "forever".
    policy = collector.RetryPolicy(tries=2, timeout=2.0, close_timeout=0.1, backoff=0.01)
    started = time.monotonic()
    summary = collector.collect(subtensor(chain), db, netuids=[1, 3], policy=policy)
    assert time.monotonic() - started < 20
    assert summary.ok and summary.stored == [1, 3] and chain.connects == 2
    assert_snapshot_equals(db, summary.snapshot_id, expected_rows(chain, {1: epochs[1], 3: epochs[3]}))


def test_write_waits_for_a_reader_holding_the_lock(tmp_path, monkeypatch, caplog) -> None:
    chain, _ = sample_network()
    db = tmp_path / "lens.duckdb"
    store.initialise(db) if hasattr(store, "initialise") else duckdb.connect(str(db)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('locked', flush=True); time.sleep(1.2); c.close()",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.1, raising=False)
        policy = collector.RetryPolicy(tries=2, timeout=5, backoff=0.01, db_tries=12, db_backoff=0.15)
        started = time.monotonic()
        summary = collector.collect(subtensor(chain), db, netuids=[3], policy=policy)
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=10)
    assert summary.ok and summary.stored == [3]
    assert waited > 0.5  # it did wait for the reader
    assert "database locked" in caplog.text
    assert count_snapshots(db) == 1


def test_two_runs_never_overlap(tmp_path) -> None:
    chain, _ = sample_network()
    db = tmp_path / "lens.duckdb"
    with collector.run_lock(db), pytest.raises(collector.CollectorBusy, match="another collection run"):
        collector.collect(subtensor(chain), db, netuids=[1], policy=FAST)
    assert chain.connects == 0 and count_snapshots(db) == 0
    assert collector.collect(subtensor(chain), db, netuids=[1], policy=FAST).ok  # lock released


def test_bad_input_writes_nothing(tmp_path) -> None:
    chain, _ = sample_network()
    db = tmp_path / "lens.duckdb"
    with pytest.raises(collector.CollectorError, match="netuid 99 does not exist on local"):
        collector.collect(subtensor(chain), db, netuids=[1, 99], policy=FAST)
    assert not db.exists()
    with pytest.raises(collector.CollectorError, match="does not exist"):
        collector.collect(subtensor(chain), tmp_path / "missing" / "x.duckdb", netuids=[1], policy=FAST)
    with pytest.raises(collector.CollectorError, match="beyond the chain head"):
        collector.collect(subtensor(chain), db, netuids=[1], block=chain.head + 1, policy=FAST)
    assert not db.exists()


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {root!r})
    os.environ["BTCLI_TOKEN_SYMBOLS_CACHE"] = {cache!r}
    import bittensor as bt
    from analytics.data import collector, store
    from tests.fakechain import sample_network

    mode = sys.argv[2]
    if mode == "before-write":
        store.ingest_snapshot = lambda *a, **k: os._exit(1)
    else:
        real_open = store._open

        class Dying:
            def __init__(self, con):
                self.con = con

            def execute(self, sql, *args):
                if sql.lstrip().upper().startswith("INSERT INTO BONDS"):
                    os._exit(1)  # killed half-way through the write transaction
                return self.con.execute(sql, *args)

            def __getattr__(self, name):
                return getattr(self.con, name)

        store._open = lambda *a, **k: Dying(real_open(*a, **k))
    chain, _ = sample_network()
    collector.collect(bt.Subtensor("local", substrate=chain), sys.argv[1], netuids=[2, 3])
    """
)


@pytest.mark.parametrize("mode", ["before-write", "inside-write"])
def test_a_crash_leaves_no_partial_snapshot(tmp_path, mode) -> None:
    db = tmp_path / "lens.duckdb"
    if mode == "inside-write" and not hasattr(store, "_open"):
        pytest.skip("store has no _open hook to crash inside the transaction")
    script = CRASH_SCRIPT.format(root=str(ROOT), cache=str(tmp_path / "symbols.json"))
    done = subprocess.run([sys.executable, "-c", script, str(db), mode], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr[-2000:]
    assert count_snapshots(db) == 0
    if db.exists():
        for table in store.TABLES:
            assert read(db, f"SELECT count(*) AS n FROM {table}")[0]["n"] == 0, table
    # The lock file died with the process: the next run goes ahead and stores everything.
    chain, epochs = sample_network()
    summary = collector.collect(subtensor(chain), db, netuids=[2, 3], policy=FAST)
    assert summary.ok
    assert_snapshot_equals(db, summary.snapshot_id, expected_rows(chain, {2: epochs[2], 3: epochs[3]}))
    assert os.path.exists(str(db) + ".lock")
