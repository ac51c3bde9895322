"""Backfill over the real SDK and an in-memory chain that holds many epochs.

Each point must hold its own epoch value for value; a rerun adds nothing; a run killed with SIGKILL
midway and rerun ends with the database an uninterrupted run writes; a runtime upgrade inside the
range decodes older points by their own rules or stores NULL with a note; bad input is one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import bittensor as bt
import duckdb
import numpy as np
import pytest

from analytics.cli import main
from analytics.data import collector, store
from tests.conftest import dump_tables
from tests.fakechain import expected_rows, fake_subtensor, history_network, point_epochs
from tests.test_collector_cli import one_error_line

ROOT = Path(__file__).resolve().parent.parent
FAST = collector.RetryPolicy(tries=1, timeout=20, concurrency=4)
# The data tables a backfill writes (the run log differs between runs by its clock, so it is left out).
DATA_TABLES = (
    "snapshots",
    *(t for t in store.TABLES if t not in ("hotkeys", "child_keys")),
    "subnet_summary",
)


pytestmark = pytest.mark.usefixtures("token_symbol_cache")


def dump(db: Path) -> dict[str, list[tuple]]:
    """Every data table in key order."""
    return dump_tables(db, DATA_TABLES)


def backfill_history(
    db: Path, *, end_block: int = 10_500, policy: collector.RetryPolicy = FAST, **options: Any
) -> collector.BackfillSummary:
    """Backfill the whole history network into ``db`` from block 4_500 every 2_000 blocks."""
    return collector.backfill(
        fake_subtensor(history_network()),
        db,
        start_block=4_500,
        end_block=end_block,
        every=2_000,
        policy=policy,
        **options,
    )


def test_each_point_stores_its_own_epoch_and_a_rerun_adds_nothing(tmp_path) -> None:
    chain = history_network()
    db = tmp_path / "lens.duckdb"
    summary = collector.backfill(
        fake_subtensor(chain), db, start_block=4_500, end_block=10_500, every=2_000, policy=FAST
    )
    assert summary.ok and summary.points == [4_500, 6_500, 8_500, 10_500]
    assert all(summary.stored[p] == [1, 2, 3] for p in summary.points)
    snaps = store.list_snapshots(db).sort_values("block")
    assert snaps["block"].tolist() == summary.points
    # The snapshot time is the point block's own, not the wall clock.
    assert [int(t.timestamp() * 1000) for t in snaps["taken_at"]] == [
        chain.timestamp_ms + p * 12_000 for p in summary.points
    ]
    epochs_seen = set()
    for sid, point in zip(snaps["snapshot_id"], snaps["block"], strict=True):
        epochs = point_epochs(chain, int(point), [1, 2, 3])
        expected = expected_rows(chain, epochs)
        got = store.snapshot_tables(db, int(sid))
        for table in ("neurons", "weights", "bonds", "bonds_after", "mechanism_neurons"):
            rows = got[table].drop(columns="snapshot_id").astype(object).where(got[table].notna(), None)
            assert sorted(
                map(tuple, rows.drop(columns=[], errors="ignore").to_dict("split")["data"])
            ) == sorted(tuple(r.values()) for r in expected[table]), (point, table)
        subnet_rows = got["subnet"].set_index("netuid")
        for netuid, ep in epochs.items():
            assert subnet_rows.loc[netuid, "epoch_block"] == ep.e <= point
            epochs_seen.add((netuid, ep.e))
    assert len(epochs_seen) == 12  # four points, three subnets: twelve different epochs

    before = dump(db)
    again = collector.backfill(
        fake_subtensor(chain), db, start_block=4_500, end_block=10_500, every=2_000, policy=FAST
    )
    assert again.ok and not any(again.stored.values())
    assert dump(db) == before


KILLED_RUN = """
import os, signal, sys
os.environ["BTCLI_TOKEN_SYMBOLS_CACHE"] = sys.argv[2]
from analytics.data import collector
from tests.fakechain import fake_subtensor, history_network
seen = [0]
def progress(done, total, point, subnets_done, subnets):
    seen[0] += 1
    if done == 2 and subnets_done == 2:  # third point, two of its subnets read: pull the plug
        os.kill(os.getpid(), signal.SIGKILL)
collector.backfill(fake_subtensor(history_network()), sys.argv[1], start_block=4_500, end_block=10_500,
                   every=2_000, policy=collector.RetryPolicy(tries=1, timeout=20, concurrency=1),
                   progress=progress, flush_seconds=0.0)
"""


def test_a_run_killed_midway_and_rerun_equals_an_uninterrupted_run(tmp_path) -> None:
    whole = tmp_path / "whole.duckdb"
    backfill_history(whole)
    killed = tmp_path / "killed.duckdb"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_RUN), str(killed), str(tmp_path / "sym.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
    partial = dump(killed)
    assert len(partial["snapshots"]) == 3 and 0 < len(partial["subnets"]) < 12  # stopped inside point 3
    resumed = backfill_history(killed)
    assert resumed.ok
    assert sum(len(v) for v in resumed.stored.values()) == 12 - len(partial["subnets"])
    assert dump(killed) == dump(whole)


def test_a_runtime_upgrade_inside_the_range(tmp_path) -> None:
    chain = history_network(subnets=(1, 2))
    upgrade = 7_000
    chain.upgrade_runtime(0, 400)
    chain.upgrade_runtime(upgrade, 425)
    chain.absent_before = {423: {"SubnetEpochIndex", "TimelockedWeightCommits", "StakeWeight"}}
    # Subnet 2 is commit-reveal: before the upgrade its WeightCommits hold the legacy layout
    # (hash, commit_block, first_reveal_block, last_reveal_block).
    sn2 = chain.subnet_at(2, 4_999)
    hotkey = sn2.hotkeys[3]
    legacy = {hotkey: [("0x" + "11" * 32, 4_800, 4_900, 6_000)]}
    for block, state in list(chain._subnets[2].items()):
        if state is not None and block < upgrade:
            state.mechanisms[0].weight_commits = legacy
    db = tmp_path / "lens.duckdb"
    summary = collector.backfill(
        fake_subtensor(chain), db, start_block=5_500, end_block=9_500, every=2_000, policy=FAST
    )
    assert summary.ok, summary.failed
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT s.block, b.netuid, b.epoch_spec_version, b.decode_note FROM subnets b JOIN snapshots s USING (snapshot_id) ORDER BY 1, 2"
    ).fetchall()
    old_stake_weight = con.execute(
        "SELECT count(*), count(stake_weight) FROM neurons JOIN snapshots s USING (snapshot_id) WHERE s.block = 5500"
    ).fetchone()
    new_stake_weight = con.execute(
        "SELECT count(*), count(stake_weight) FROM neurons JOIN snapshots s USING (snapshot_id) WHERE s.block = 9500"
    ).fetchone()
    commit = con.execute(
        "SELECT m.commit_block FROM mechanism_neurons m JOIN snapshots s USING (snapshot_id) "
        "WHERE s.block = 5500 AND m.netuid = 2 AND m.uid = 3"
    ).fetchone()[0]
    con.close()
    old = [r for r in rows if r[0] == 5_500]
    new = [r for r in rows if r[0] == 9_500]
    assert {r[2] for r in old} == {400} and {r[2] for r in new} == {425}
    assert all("stake_weight: not in this runtime" in r[3] for r in old)
    assert "WeightCommits layout" in dict((r[1], r[3]) for r in old)[2]
    assert all(r[3] is None for r in new)
    assert old_stake_weight[0] > 0 and old_stake_weight[1] == 0  # NULL, never a made-up 0
    assert new_stake_weight[0] == new_stake_weight[1]
    assert commit == 4_800  # the legacy tuple's commit block, not its first reveal block


def test_a_block_before_the_oldest_supported_runtime_is_refused(tmp_path) -> None:
    chain = history_network(subnets=(1,))
    chain.upgrade_runtime(0, 300)
    chain.upgrade_runtime(8_000, 425)
    db = tmp_path / "lens.duckdb"
    with pytest.raises(collector.CollectorError, match="older than the oldest"):
        collector.backfill(
            fake_subtensor(chain), db, start_block=5_000, end_block=9_000, every=2_000, policy=FAST
        )
    assert not store.list_snapshots(db).shape[0] if db.exists() else True


@pytest.fixture
def cli_chain(monkeypatch):
    chain = history_network(subnets=(1,))
    monkeypatch.setattr(collector, "subtensor_for", lambda network: bt.Subtensor("local", substrate=chain))
    return chain


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2099-01-01"], "is in the future"),
        (["--since", "2023-11-15", "--until", "2023-11-01"], "is before --since"),
        (["--start-block", "5000", "--end-block", "4000"], "is before --start-block"),
        (["--start-block", "5000", "--every", "fortnight"], "unknown --every 'fortnight'"),
        (["--since", "15/11/2023"], "is not a date"),
        (["--start-block", "99999999"], "beyond the chain head"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, cli_chain, args, message) -> None:
    db = tmp_path / "x.duckdb"
    assert main(["backfill", "--db", str(db), "--network", "local", *args]) == 2
    assert message in one_error_line(capsys.readouterr().err)
    assert not db.exists()


def test_cli_block_before_the_oldest_runtime(tmp_path, capsys, cli_chain) -> None:
    cli_chain.upgrade_runtime(0, 300)
    cli_chain.upgrade_runtime(8_000, 425)
    db = tmp_path / "x.duckdb"
    assert main(["backfill", "--db", str(db), "--network", "local", "--start-block", "5000"]) == 2
    assert f"oldest this collector decodes (spec {collector.OLDEST_SUPPORTED_SPEC})" in one_error_line(
        capsys.readouterr().err
    )
    assert not db.exists()


def test_cli_backfills_by_date_and_logs_a_line_per_point(tmp_path, capsys, cli_chain) -> None:
    db = tmp_path / "x.duckdb"
    start = np.datetime64(cli_chain.timestamp_ms + 5_000 * 12_000, "ms").astype(object)
    until = np.datetime64(cli_chain.timestamp_ms + 12_000 * 12_000, "ms").astype(object)
    code = main(
        [
            "backfill",
            "--db",
            str(db),
            "--network",
            "local",
            "--since",
            f"{start:%Y-%m-%dT%H:%M}",
            "--until",
            f"{until:%Y-%m-%dT%H:%M}",
            "--every",
            "3000",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    blocks = sorted(store.list_snapshots(db)["block"])
    assert blocks[0] in range(4_995, 5_001) and len(blocks) == 3  # the last block at or before --since
    assert err.count("subnet(s) written") == 3
    assert os.path.getsize(db) > 0


# The interrupt cancels reads in flight: their coroutines are dropped unawaited, as on a real Ctrl-C.
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_ctrl_c_keeps_every_subnet_already_read(tmp_path) -> None:
    db = tmp_path / "lens.duckdb"

    def progress(done, total, point, subnets_done, subnets) -> None:
        if done == 1 and subnets_done == 2:  # second point, two subnets read and not yet written
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill_history(
            db,
            end_block=8_500,
            policy=collector.RetryPolicy(tries=1, timeout=20, concurrency=1),
            progress=progress,
            flush_seconds=1_000.0,  # nothing flushed by time: only the interrupt writes them
        )
    assert len(dump(db)["subnets"]) == 3 + 2
