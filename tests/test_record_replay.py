"""`--record DIR` / `--replay DIR`: a run recorded from the in-memory chain through the real SDK
replays offline into the same database, for collect and backfill; a broken recording is one line."""

from __future__ import annotations

import json
from pathlib import Path

import bittensor as bt
import pytest

from analytics.cli import main
from analytics.data import collector, store
from tests.conftest import dump_tables
from tests.fakechain import history_network, sample_network

TABLES = (*store.TABLES, "subnet_summary")
SNAPSHOT_COLUMNS = "snapshot_id, network, block, block_hash, spec_version, note"  # not the clock's taken_at


pytestmark = pytest.mark.usefixtures("token_symbol_cache")


def dump(db: Path) -> dict[str, list[tuple]]:
    """Every data table and the snapshots' chain columns, in key order."""
    return dump_tables(db, TABLES, SNAPSHOT_COLUMNS)


def test_collect_recorded_from_the_chain_replays_offline(tmp_path, monkeypatch, capsys) -> None:
    chain, _ = sample_network()
    monkeypatch.setattr(collector, "subtensor_for", lambda network: bt.Subtensor("local", substrate=chain))
    rec = tmp_path / "rec"
    live, offline = tmp_path / "live.duckdb", tmp_path / "offline.duckdb"
    assert (
        main(["collect", "--network", "local", "--db", str(live), "--record", str(rec), "--netuid", "1,2,3"])
        == 0
    )
    lines = [json.loads(x) for x in (rec / "requests.jsonl").read_text().splitlines()]
    assert lines[0]["network"] == "local" and len(lines) > 10
    assert any(json.loads(x["call"])[0] == "runtime_call" for x in lines[1:])

    def no_chain(network):
        raise AssertionError("a replay must not reach a node")

    monkeypatch.setattr(collector, "subtensor_for", no_chain)
    assert (
        main(
            ["collect", "--network", "local", "--db", str(offline), "--replay", str(rec), "--netuid", "1,2,3"]
        )
        == 0
    )
    assert dump(offline) == dump(live)
    assert len(dump(live)["subnets"]) == 3


def test_backfill_replays_and_a_missing_answer_fails_that_subnet(tmp_path, monkeypatch) -> None:
    chain = history_network(subnets=(1, 2))
    monkeypatch.setattr(collector, "subtensor_for", lambda network: bt.Subtensor("local", substrate=chain))
    rec = tmp_path / "rec"
    live, offline = tmp_path / "live.duckdb", tmp_path / "offline.duckdb"
    args = [
        "backfill",
        "--network",
        "local",
        "--start-block",
        "5000",
        "--end-block",
        "9000",
        "--every",
        "2000",
    ]
    assert main([*args, "--db", str(live), "--record", str(rec)]) == 0
    assert main([*args, "--db", str(offline), "--replay", str(rec)]) == 0
    assert dump(offline) == dump(live)
    # A recording without the answers for one subnet's metagraph: that subnet fails, exit 1.
    cut = tmp_path / "cut"
    cut.mkdir()
    kept = [
        x
        for x in (rec / "requests.jsonl").read_text().splitlines()
        if not (
            "get_metagraph" in x and json.loads(json.loads(x).get("call", "[0,[0,0,[0]]]"))[1][2][:1] == [2]
        )
    ]
    (cut / "requests.jsonl").write_text("\n".join(kept) + "\n")
    assert main([*args, "--db", str(tmp_path / "cut.duckdb"), "--replay", str(cut), "--tries", "1"]) == 1


def test_a_missing_or_broken_recording_is_one_error_line(tmp_path, capsys) -> None:
    db = tmp_path / "x.duckdb"
    assert main(["collect", "--db", str(db), "--replay", str(tmp_path / "nothing")]) == 2
    assert "no recording at" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "requests.jsonl").write_text("{not json\n")
    assert main(["collect", "--db", str(db), "--replay", str(bad)]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "is not JSON" in err[0]
    assert not db.exists()
