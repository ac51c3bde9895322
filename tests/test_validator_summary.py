"""Migration 5 (`validator_summary`): a database at version 4 upgrades in place and its old snapshots get
the rows ingest writes; every write path fills it; and the history reads give the same frames from the
summary as from `neurons` and `hotkeys` (what a database not yet upgraded, or an older lake, reads)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics import ss58
from analytics.data import store
from analytics.views import returns, snapshot_tables
from tests.test_store import tiny_snapshot


def _at_version_4(source: Path, target: Path) -> Path:
    """``source`` copied and taken back to the schema before migration 5 (what a user has today)."""
    shutil.copy(source, target)
    con = duckdb.connect(str(target))
    con.execute("DROP TABLE validator_summary")
    con.execute("DELETE FROM schema_version WHERE version = 5")
    con.close()
    return target


@pytest.fixture
def version4_db(tmp_path: Path, demo_db: Path) -> Path:
    return _at_version_4(demo_db, tmp_path / "v4.duckdb")


def _validator_keys(db: Path) -> list[tuple[int, str]]:
    """A few (netuid, hotkey) of the summary: per subnet its first validator and a hotkey that was a
    validator in some snapshots only (UIDs are recycled), a parent that is not registered, and a hotkey
    never seen."""
    rows = store.table_contents(db, "validator_summary")
    parents = rows[rows["uid"].isna()]
    assert len(parents), "the demo should hold a parent that is not registered"
    keys = [(int(parents["netuid"].iloc[0]), str(parents["hotkey"].iloc[0])), (1, ss58.derive("nobody"))]
    count = rows.groupby(["netuid", "hotkey"]).size()
    for netuid, per_subnet in count.groupby(level="netuid"):
        keys.append((int(netuid), str(per_subnet.index[0][1])))
        if (per_subnet < per_subnet.max()).any():
            keys.append((int(netuid), str(per_subnet[per_subnet < per_subnet.max()].index[0][1])))
    return keys


def test_a_version_4_database_upgrades_in_place_with_the_rows_ingest_writes(
    version4_db: Path, demo_db: Path
) -> None:
    neurons = store.table_contents(version4_db, "neurons")
    snapshots = store.table_contents(version4_db, "snapshots")
    assert store.schema_version(version4_db) == 4
    store.initialise(version4_db)  # what the next collect does first
    assert store.schema_version(version4_db) == store.SCHEMA_VERSION >= 5
    pd.testing.assert_frame_equal(store.table_contents(version4_db, "neurons"), neurons)  # data kept
    pd.testing.assert_frame_equal(store.table_contents(version4_db, "snapshots"), snapshots)
    migrated = store.table_contents(version4_db, "validator_summary")
    written = store.table_contents(demo_db, "validator_summary")  # the demo was ingested at version 5
    assert len(migrated) > len(snapshots)
    pd.testing.assert_frame_equal(migrated, written)


def test_the_summary_holds_exactly_the_validators_money_rows(demo_db: Path) -> None:
    """Its rows are money_hotkeys(validators_only=True): permit holders, hotkeys with recorded
    dividends, and parents that are not registered (uid NULL), with their trust, stakes and dividends."""
    ids = [int(v) for v in store.list_snapshots(demo_db)["snapshot_id"]]
    money = store.money_hotkeys(demo_db, ids, validators_only=True)
    summary = store.table_contents(demo_db, "validator_summary")
    key = ["snapshot_id", "netuid", "hotkey"]
    columns = [
        *key,
        "uid",
        "validator_trust",
        "alpha_stake",
        "total_stake",
        "alpha_stake_own",
        "alpha_dividends",
    ]
    expected = money[columns].sort_values(key).reset_index(drop=True)
    got = summary[columns].sort_values(key).reset_index(drop=True)
    assert len(got) == len(expected) > 0
    for column in columns:
        pd.testing.assert_series_equal(
            got[column].astype("object").where(got[column].notna(), None),
            expected[column].astype("object").where(expected[column].notna(), None),
            check_names=False,
            obj=column,
        )
    registered = summary["uid"].notna()
    assert not summary.loc[~registered, "validator_permit"].any()


def test_the_history_reads_give_the_same_frames_before_and_after_the_upgrade(
    version4_db: Path, demo_db: Path
) -> None:
    """Read-only on version 4 (the app never migrates) the reads fall back to neurons and hotkeys; the
    frames equal the summary's, for every validator, a parent and a hotkey never seen."""
    for key in _validator_keys(demo_db):
        pd.testing.assert_frame_equal(
            returns.returns_history(version4_db, *key), returns.returns_history(demo_db, *key)
        )
    for netuid in sorted(set(store.subnets(demo_db, store.latest_snapshot_id(demo_db))["netuid"]))[:2]:
        old = snapshot_tables.history_tables(str(version4_db), int(netuid), "demo")
        new = snapshot_tables.history_tables(str(demo_db), int(netuid), "demo")
        assert len(new[1]) > 0
        for before, after in zip(old, new, strict=True):
            pd.testing.assert_frame_equal(before, after)
    assert store.schema_version(version4_db) == 4  # reading did not upgrade it


def test_every_write_path_fills_the_summary(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    sid, added = store.add_subnets(db, tiny_snapshot(100, netuid=2))  # a resumed run adds subnet 2
    assert added == [2]
    rows = store.table_contents(db, "validator_summary")
    assert rows[["snapshot_id", "netuid", "uid", "hotkey"]].values.tolist() == [
        [sid, 1, 0, "hk0"],
        [sid, 2, 0, "hk0"],
    ]
    assert rows["total_stake"].tolist() == [10**12, 10**12]
    store.add_subnets(db, tiny_snapshot(100, netuid=2))  # a rerun adds nothing, twice nothing
    assert len(store.table_contents(db, "validator_summary")) == 2


def _physical(db: Path) -> pd.DataFrame:
    """validator_summary in storage order (what a scan meets first)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * FROM validator_summary ORDER BY rowid").df()
    finally:
        con.close()


def test_ingest_keeps_the_summary_sorted_by_subnet_and_hotkey_once_its_tail_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appended snapshot by snapshot, every row group would hold every subnet; when the unsorted tail
    passes VALIDATOR_SUMMARY_TAIL rows the table is rewritten in (netuid, hotkey, snapshot) order, its
    rows unchanged."""
    monkeypatch.setattr(store, "VALIDATOR_SUMMARY_TAIL", 4)
    db = tmp_path / "lens.duckdb"
    order = ["netuid", "hotkey", "snapshot_id"]
    store.add_subnets(db, tiny_snapshot(100, netuid=2))  # one validator (uid 0) per subnet and snapshot
    store.add_subnets(db, tiny_snapshot(100, netuid=1))
    store.add_subnets(db, tiny_snapshot(200, netuid=2))
    assert _physical(db)["netuid"].tolist() == [2, 1, 2]  # 3 unsorted rows: appended as written
    store.add_subnets(db, tiny_snapshot(200, netuid=1))  # 4 unsorted rows: due
    rows = _physical(db)
    assert rows[order].values.tolist() == rows.sort_values(order)[order].values.tolist()
    assert rows["netuid"].tolist() == [1, 1, 2, 2] and rows["snapshot_id"].tolist() == [1, 2, 1, 2]
    for netuid in (2, 1):  # 2 more: a tail of 2 rows behind 4 sorted ones, appended only
        store.add_subnets(db, tiny_snapshot(300, netuid=netuid))
    assert _physical(db)["netuid"].tolist() == [1, 1, 2, 2, 2, 1]
    assert store.table_contents(db, "validator_summary")["snapshot_id"].tolist() == [1, 1, 2, 2, 3, 3]


def test_sorting_the_summary_changes_no_row_and_no_read(tmp_path: Path, demo_db: Path) -> None:
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, db)
    before = store.table_contents(db, "validator_summary")
    key = _validator_keys(demo_db)[-1]
    history = returns.returns_history(db, *key)
    assert store.sort_validator_summary(db)
    rows = _physical(db)
    order = ["netuid", "hotkey", "snapshot_id"]
    assert rows[order].values.tolist() == rows.sort_values(order)[order].values.tolist()
    pd.testing.assert_frame_equal(store.table_contents(db, "validator_summary"), before)
    pd.testing.assert_frame_equal(returns.returns_history(db, *key), history)
