"""One way to do each thing: one error base, one config module, one --db definition, one atomic write,
one DB version token. Real files and a real second process holding a DuckDB lock."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from analytics import config, errors
from analytics.cli import DB_HELP, build_parser, db_path
from analytics.cli import CliError as CliErrorFromCli
from analytics.data import collector, files, lake, store
from analytics.model.emission import SplitError
from analytics.model.mechanisms import MechanismInputError
from analytics.model.simulate import ScenarioError
from tests.test_store import hold_lock, tiny_snapshot


def test_every_error_we_raise_derives_from_one_base_and_keeps_its_old_name() -> None:
    assert store.StoreError is errors.StoreError and collector.CollectorError is errors.CollectorError
    assert CliErrorFromCli is errors.CliError and collector.CollectorBusy is errors.CollectorBusy
    assert issubclass(errors.DatabaseLockedError, store.StoreError)
    assert issubclass(errors.CollectorBusy, errors.CollectorError)
    assert lake.LakeError is errors.LakeError and issubclass(lake.LakeError, store.StoreError)
    for cls in (store.StoreError, collector.CollectorError, errors.CliError, ScenarioError, SplitError):
        assert issubclass(cls, errors.LensError), cls
    for cls in (ScenarioError, SplitError, MechanismInputError):  # were ValueErrors: callers catch those
        assert issubclass(cls, errors.InputError) and issubclass(cls, ValueError), cls


def test_a_lock_is_a_typed_error_from_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot())
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.2)
    holder = hold_lock(db, 30)
    try:
        with pytest.raises(errors.DatabaseLockedError, match="is locked"):
            store.list_snapshots(db)
        with pytest.raises(errors.DatabaseLockedError, match=r"waited 0\.1 s"):
            store.ingest_snapshot(db, tiny_snapshot(block=101), lock_wait=0.1)  # a write's own wait
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(store.StoreError) as other:  # not a lock: a plain StoreError
        store.list_snapshots(tmp_path / "missing.duckdb")
    assert not isinstance(other.value, errors.DatabaseLockedError)


def test_the_collector_sizes_its_write_wait_from_its_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 10.0)
    assert collector.RetryPolicy().write_lock_wait() == 10.0 + 2 + 4 + 8 + 16
    assert collector.RetryPolicy(db_tries=1).write_lock_wait() == 10.0
    assert (
        collector.RetryPolicy(db_tries=3, db_backoff=100, backoff_max=120).write_lock_wait() == 10 + 100 + 120
    )


def test_config_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(config.DB_ENV_VAR, "~/lens.duckdb")
    assert config.default_db_path() == Path("~/lens.duckdb").expanduser()
    assert store.default_db_path() == config.default_db_path()
    monkeypatch.setenv(config.DB_ENV_VAR, "s3://bucket/lens")  # a lake on S3: kept a string
    assert store.default_db_path() == config.default_db_path() == "s3://bucket/lens"
    monkeypatch.setenv(config.DB_ENV_VAR, "  ")
    chain, demo = tmp_path / "lens.duckdb", tmp_path / "demo.duckdb"
    assert config.default_db_path(chain=chain, demo=demo) == demo  # blank = unset; no chain file yet
    chain.touch()
    assert config.default_db_path(chain=chain, demo=demo) == chain
    for raw, wait in (("2.5", 2.5), ("0", 0.0), ("-1", 10.0), ("soon", 10.0)):
        monkeypatch.setenv(config.LOCK_WAIT_ENV_VAR, raw)
        assert config.lock_wait_seconds() == wait, raw


def _db_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: next(a for a in cmd._actions if "--db" in a.option_strings)
        for name, cmd in sub.choices.items()
        if any("--db" in a.option_strings for a in cmd._actions)
    }


def test_every_command_takes_the_same_db_option() -> None:
    actions = _db_actions(build_parser())
    assert {"demo", "collect", "export", "check", "split", "simulate"} <= set(actions)
    for name, action in actions.items():
        assert action.metavar == "PATH" and action.default is None, name
        # the writers take a DuckDB file; every reader also a Parquet lake (s3:// kept a string)
        assert action.type is (Path if name in ("demo", "collect", "backfill") else config.db_location), name
        assert any(action.help.startswith(h) for h in DB_HELP.values()), (name, action.help)


def test_a_lake_uri_survives_every_reading_db_option() -> None:
    parser = build_parser()
    for command in (["check"], ["export", "--table", "subnets", "--out", "-"], ["simulate", "--netuid", "1"]):
        args = parser.parse_args([*command, "--db", "s3://bucket/lake"])
        assert db_path(args) == "s3://bucket/lake", command  # a Path would fold the '//'
    args = parser.parse_args(["check", "--db", "~/lens.duckdb"])
    assert db_path(args) == Path("~/lens.duckdb").expanduser()
    args = parser.parse_args(["collect", "--db", "~/lens.duckdb"])
    assert db_path(args, "collect") == Path("~/lens.duckdb").expanduser()


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.csv"
    files.atomic_write(target, b"a,b\n1,2\n")
    assert target.read_bytes() == b"a,b\n1,2\n"

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        files.atomic_write(target, b"new")
    assert target.read_bytes() == b"a,b\n1,2\n"  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temporary file left


def test_atomic_path_leaves_nothing_when_the_build_fails(tmp_path: Path) -> None:
    target = tmp_path / "demo.duckdb"
    with pytest.raises(RuntimeError), files.atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        tmp.with_name(tmp.name + ".wal").write_bytes(b"wal")
        raise RuntimeError("generator failed")
    assert list(tmp_path.iterdir()) == []
    with files.atomic_path(target) as tmp:
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]


def test_db_version_changes_with_every_write(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    assert files.db_version(db) == "-/-"
    store.ingest_snapshot(db, tiny_snapshot())
    first = files.db_version(db)
    assert first != "-/-" and files.db_version(db) == first  # stable while nothing changes
    store.ingest_snapshot(db, tiny_snapshot(block=101))
    assert files.db_version(db) != first
