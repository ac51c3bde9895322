"""`python -m analytics check`: recompute == stored on the demo, mismatches found, bad input refused."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.data import store
from tests.conftest import run_cli
from tests.test_store import hold_lock


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tampered(demo_db: Path, tmp_path: Path) -> Path:
    """A copy of the demo where the chain 'stored' something the engine does not compute."""
    db = tmp_path / "tampered.duckdb"
    shutil.copy(demo_db, db)
    con = duckdb.connect(str(db))
    con.execute(
        "UPDATE neurons SET validator_trust = validator_trust - 7 "
        "WHERE snapshot_id = 12 AND netuid = 1 AND uid = (SELECT min(uid) FROM neurons "
        "WHERE snapshot_id = 12 AND netuid = 1 AND validator_trust > 100)"
    )
    con.execute(
        "UPDATE bonds_after SET bond = bond + 1 WHERE snapshot_id = 12 AND netuid = 4 AND mechid = 1 AND bond < 60000"
    )
    con.execute("UPDATE subnets SET aligned = false WHERE snapshot_id = 12 AND netuid = 8")
    con.close()
    return db


def test_the_demo_recomputes_exactly(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(demo_db)]) == 0
    out = capsys.readouterr().out
    assert "snapshot 12 (demo" in out
    assert out.count(": ok ") == 8 and "DIFFERS" not in out
    assert "mech 1: I ok  bonds ok" in out
    assert out.strip().endswith("8 subnet epochs recomputed, 0 differ from the stored values")


def test_one_subnet_of_one_snapshot(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(demo_db), "--snapshot", "3", "--netuid", "2"]) == 0
    out = capsys.readouterr().out
    assert "snapshot 3 " in out and "subnet   2: ok" in out and "subnet   1" not in out


def test_mismatches_are_counted_and_fail_the_run(tampered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(tampered)]) == 1
    lines = capsys.readouterr().out.splitlines()
    line1 = next(x for x in lines if "subnet   1:" in x)
    assert "DIFFERS" in line1 and "Tv 1/256 uids differ (max |Δ| 7)" in line1 and "C ok" in line1
    line4 = next(x for x in lines if "subnet   4:" in x)
    assert (
        "mech 0: I ok  bonds ok" in line4
        and "mech 1: I ok  bonds " in line4
        and "differ (max |Δ| 1)" in line4
    )
    assert any("subnet   8: skipped (not epoch-aligned" in x for x in lines)
    assert lines[-1] == "7 subnet epochs recomputed, 2 differ from the stored values, 1 not aligned (skipped)"


def test_bad_databases_give_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.duckdb"
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(os.urandom(20_000))
    before = digest(corrupt)
    for db, words in ((missing, "does not exist"), (empty, "empty"), (corrupt, "not a valid DuckDB file")):
        assert main(["check", "--db", str(db)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and words in err and "\n" not in err
    assert not missing.exists() and empty.stat().st_size == 0 and digest(corrupt) == before


def test_unknown_snapshot_or_subnet(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(demo_db), "--snapshot", "99"]) == 2
    assert capsys.readouterr().err.strip() == f"error: no snapshot 99 in {demo_db}"
    assert main(["check", "--db", str(demo_db), "--netuid", "77"]) == 2
    assert "subnet 77 is not in snapshot 12" in capsys.readouterr().err


def test_an_empty_store_has_nothing_to_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "new.duckdb"
    store.initialise(db)
    assert main(["check", "--db", str(db)]) == 2
    assert "holds no snapshots" in capsys.readouterr().err


def test_a_locked_database_exits_2_after_waiting(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "locked.duckdb"
    shutil.copy(demo_db, db)
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.3)
    holder = hold_lock(db, 30)
    try:
        assert main(["check", "--db", str(db)]) == 2
    finally:
        holder.kill()
        holder.wait()
    assert "is locked by process" in capsys.readouterr().err


def test_the_real_command_line_and_the_env_default(demo_db: Path) -> None:
    env = {**os.environ, "METAGRAPH_LENS_DB": str(demo_db)}
    done = run_cli("check", "--netuid", "4", env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "subnet   4: ok" in done.stdout


@pytest.mark.slow  # recomputes all 96 stored epochs of the demo
def test_all_snapshots(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(demo_db), "--all"]) == 0
    out = capsys.readouterr().out
    assert out.count("snapshot ") == 12
    assert out.strip().endswith("96 subnet epochs recomputed, 0 differ from the stored values")


def test_worker_processes_print_what_one_process_prints(
    tampered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jobs 2 checks the snapshots in worker processes (each with its own connection): the same
    lines, byte for byte and in snapshot order, the same counts and exit code; a worker's error is
    the one `error:` line a single process gives."""
    runs = []
    for jobs in ("1", "2"):
        assert main(["check", "--db", str(tampered), "--all", "--netuid", "4", "--jobs", jobs]) == 1
        runs.append(capsys.readouterr().out)
    assert runs[0] == runs[1]
    assert runs[0].count("snapshot ") == 12 and runs[0].count("DIFFERS") == 1
    assert runs[0].strip().endswith("12 subnet epochs recomputed, 1 differ from the stored values")
    assert main(["check", "--db", str(tampered), "--all", "--netuid", "77", "--jobs", "2"]) == 2
    assert capsys.readouterr().err.strip() == "error: subnet 77 is not in snapshot 1"
    for bad in ("0", "two"):
        assert main(["check", "--db", str(tampered), "--all", "--jobs", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "--jobs" in err and "\n" not in err
