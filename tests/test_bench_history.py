"""bench/history.py builds the bench year by copying generated weeks: the copies must check clean
(`check --all` then times a check that passes), money included."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _history_module():  # a script, not a package: loaded from its file
    spec = importlib.util.spec_from_file_location("bench_history", ROOT / "bench" / "history.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_copied_weeks_recompute_to_what_they_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "year.duckdb"
    history = _history_module()
    assert history.main(["--db", str(db), "--weeks", "3", "--generate", "1", "--subnets", "2"]) == 0
    capsys.readouterr()
    con = duckdb.connect(str(db), read_only=True)
    blocks = con.execute(
        "SELECT s.netuid, p.block, s.epoch_block, count(DISTINCT w.validator_uid) FROM snapshots p "
        "JOIN subnets s USING (snapshot_id) JOIN weights w USING (snapshot_id, netuid) "
        "GROUP BY ALL ORDER BY p.block"
    ).fetchall()
    con.close()
    assert len(blocks) == 3 * 2 and all(b == e and v == history.N_VALIDATORS for _, b, e, v in blocks)
    assert main(["check", "--db", str(db), "--all"]) == 0
    out = capsys.readouterr().out
    assert out.count("money: verified to the rao (256 hotkeys' dividends, E)") == 6
    assert out.strip().endswith("6 subnet epochs recomputed, 0 differ from the stored values")
