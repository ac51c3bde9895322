"""`--record DIR` / `--replay DIR` at the SDK's transport: a collect (and a backfill) run by the real SDK
against an in-memory node (tests/fakenode.py: a local websocket JSON-RPC server, SCALE for finney spec
343) writes every JSON-RPC frame, metadata included; with the node stopped, the replay runs the same
SDK over the recording into the same database. A cut recording fails its subnet; a broken one is one
line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import bittensor as bt
import duckdb
import pytest

from analytics.cli import main
from analytics.data import collector, store
from tests.conftest import dump_tables
from tests.fakechain import FakeChain, account, epoch_timeline, history_network, random_subnet
from tests.fakenode import serving

TABLES = (*store.TABLES, "subnet_summary")
SNAPSHOT_COLUMNS = "snapshot_id, network, block, block_hash, spec_version, note"  # not the clock's taken_at


pytestmark = pytest.mark.usefixtures("token_symbol_cache")


def dump(db: Path) -> dict[str, list[tuple]]:
    """Every data table and the snapshots' chain columns, in key order."""
    return dump_tables(db, TABLES, SNAPSHOT_COLUMNS)


def frames(rec: Path) -> list[dict]:
    return [json.loads(x) for x in (rec / collector.RECORDING_FILE).read_text().splitlines()]


def requests(lines: list[dict]) -> list[dict]:
    """Every request frame sent, batches flattened."""
    sent = [x["sent"] for x in lines if "sent" in x]
    return [f for s in sent for f in (s if isinstance(s, list) else [s])]


def small_network() -> FakeChain:
    """Two small subnets (one commit-reveal) at their epochs; validator uid k has k + 1 stakers."""
    chain = FakeChain(head=10_000)
    for netuid in (1, 2):
        sn = random_subnet(netuid, n=16, validators=4, commit_reveal=netuid == 2, seed=netuid)
        sn.money.stakers = {
            hk: [account(f"staker-{netuid}-{uid}-{k}") for k in range(uid + 1)]
            for uid, hk in enumerate(sn.hotkeys[:4])
        }
        for state in epoch_timeline(chain, sn, epoch_block=10_000 - 40 * netuid):
            state.money.stakers = sn.money.stakers
    return chain


def test_collect_recorded_against_a_node_replays_offline(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(collector, "KEYS_PAGE", 2)  # the stake scans page on, in batches
    rec = tmp_path / "rec"
    live, offline = tmp_path / "live.duckdb", tmp_path / "offline.duckdb"
    with serving(small_network()) as node:
        url = node.url
        args = ["collect", "--network", url, "--tries", "1"]
        assert main([*args, "--db", str(live), "--record", str(rec)]) == 0
    assert node.node.frames > 20  # the real SDK talked to the node over the socket

    lines = frames(rec)
    assert lines[0]["recording"] == "json-rpc" and lines[0]["endpoint"] == url
    sent = requests(lines)
    methods = {f["method"] for f in sent}
    assert {
        "state_getRuntimeVersion",
        "chain_getHeader",
        "state_getKeysPaged",
        "state_queryStorageAt",
    } <= methods
    # the runtime metadata the SDK decoded with rides in the recording
    asked = {
        f["id"]
        for f in sent
        if f["method"] == "state_call" and f["params"][0] == "Metadata_metadata_at_version"
    }
    got = [
        x["got"] for x in lines if "got" in x and isinstance(x["got"], dict) and x["got"].get("id") in asked
    ]
    assert got and all(len(g["result"]) > 500_000 for g in got)
    # the batched stake scans went out as JSON-RPC batch frames (spec 343: the legacy Alpha map)
    batches = [x["sent"] for x in lines if isinstance(x.get("sent"), list)]
    assert any(len(b) > 1 and all(f["method"] == "state_getKeysPaged" for f in b) for b in batches)

    # The node is gone: the replay runs the SDK over the recording alone.
    assert main([*args, "--db", str(offline), "--replay", str(rec)]) == 0
    assert dump(offline) == dump(live)
    stored = dump(live)
    assert len(stored["subnets"]) == 2 and len(stored["neurons"]) == 32
    assert {row[4] for row in stored["snapshots"]} == {343}  # the node's runtime, read from its metadata
    con = duckdb.connect(str(offline), read_only=True)
    try:
        nominators = dict(con.execute("SELECT hotkey, nominators FROM hotkeys").fetchall())
        runtimes = con.execute(
            "SELECT netuid, epoch_spec_version, decode_note FROM subnets ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    # spec 343 is a runtime before 423: subnet 2's commits were decoded with that runtime's layout
    assert runtimes[0] == (1, 343, None)
    assert runtimes[1][:2] == (2, 343) and "WeightCommits layout of runtimes before 423" in runtimes[1][2]
    for netuid in (1, 2):
        for uid, hk in enumerate(random_subnet(netuid, n=16, validators=4, seed=netuid).hotkeys[:4]):
            assert nominators[hk] == uid + 1


def test_backfill_replays_and_a_cut_recording_fails_that_subnet(tmp_path, capsys) -> None:
    chain = history_network(subnets=(1, 2), n=8)
    rec = tmp_path / "rec"
    live, offline = tmp_path / "live.duckdb", tmp_path / "offline.duckdb"
    with serving(chain) as node:
        args = [
            "backfill",
            "--network",
            node.url,
            "--start-block",
            "5000",
            "--end-block",
            "9000",
            "--every",
            "4000",
        ]
        assert main([*args, "--db", str(live), "--record", str(rec)]) == 0
    assert main([*args, "--db", str(offline), "--replay", str(rec)]) == 0
    assert dump(offline) == dump(live)
    assert len(dump(live)["subnets"]) == 4  # 2 points x 2 subnets

    # Every connection downloads the runtime's metadata again; the recording holds each once, and the
    # later copies name it (the replay above was answered from those references).
    lines = frames(rec)
    assert len({x["url"] for x in lines if "url" in x} | {x["conn"] for x in lines if "url" in x}) > 2
    long = [x for x in lines if "result_of" in x]
    full = [x["result_of"] for x in long if "result" in x["got"]]
    assert len(full) == len(set(full)) >= 1  # the first copy of each, in full
    assert {x["result_of"] for x in long} == set(full) and len(long) > len(full)  # later ones: references
    assert all(len(x["got"]["result"]) >= collector.SHARED_RESULT_CHARS for x in long if "result" in x["got"])

    # Without the node's answers to subnet 2's metagraph calls, subnet 2 fails (exit 1), 1 is stored.
    def subnet_2_metagraph(frame: dict) -> bool:
        method, data = (frame["params"] + [None, None])[:2]
        return (
            frame["method"] == "state_call"
            and "graph" in str(method)
            and str(data).removeprefix("0x").startswith("0200")
        )

    cut = tmp_path / "cut"
    cut.mkdir()
    kept = []
    for line in frames(rec):
        sent = line.get("sent")
        if isinstance(sent, dict) and subnet_2_metagraph(sent):
            continue
        kept.append(json.dumps(line))
    assert len(kept) < len(frames(rec))
    (cut / collector.RECORDING_FILE).write_text("\n".join(kept) + "\n")
    capsys.readouterr()
    cut_db = tmp_path / "cut.duckdb"
    # the retry runs on a fresh client over the same recording (no node to fall back to)
    assert main([*args, "--db", str(cut_db), "--replay", str(cut), "--tries", "2", "--backoff", "0"]) == 1
    err = capsys.readouterr().err
    assert "SubnetInfoRuntimeApi_get_metagraph" in err and "is not in the recording" in err
    assert "subnet 2: attempt 2 failed" in err
    assert {row[1] for row in dump(cut_db)["subnets"]} == {1}

    # A retry's client closes at once after its subnet fails: the replay hangs up its connections first,
    # so the SDK's receive loop ends cleanly. Without that hang-up the loop ignores its cancel (Python
    # 3.11's wait_for drops it when a reply is queued, as one always is in a replay) and each such close
    # silently waits out close_timeout: two points here, 2 x 20 s; the run takes about a second.
    policy = collector.RetryPolicy(tries=2, close_timeout=20.0, backoff=0)
    started = time.monotonic()
    summary = collector.backfill(
        collector.replayed(cut),
        tmp_path / "api.duckdb",
        start_block=5000,
        end_block=9000,
        every=4000,
        policy=policy,
    )
    assert set(summary.failed) == {5000, 9000} and all(set(f) == {2} for f in summary.failed.values())
    assert time.monotonic() - started < policy.close_timeout  # no close waited out its deadline


def test_a_long_result_written_once_answers_every_copy_and_format_1_still_replays(tmp_path, capsys) -> None:
    """Format 2 names a long result written before by its digest; a format-1 file (every result in full)
    replays as it did; a reference whose first copy is missing is one error line."""
    url, meta = "ws://node", ["Metadata_metadata_at_version", "0x0f000000", "0xa1"]
    big = "0x" + "ab" * collector.SHARED_RESULT_CHARS

    def recording(name: str, fmt: int, second: dict) -> collector.Recording:
        lines = [
            {"recording": "json-rpc", "format": fmt, "network": url, "endpoint": url},
            {"conn": "c1", "url": url},
            {"conn": "c1", "sent": {"jsonrpc": "2.0", "id": 1, "method": "state_call", "params": meta}},
            {"conn": "c1", "got": {"jsonrpc": "2.0", "id": 1, "result": big}, "result_of": "d1"},
            {"conn": "c2", "url": url},
            {"conn": "c2", "sent": {"jsonrpc": "2.0", "id": 1, "method": "state_call", "params": meta}},
            second,
        ]
        if fmt == 1:
            lines[3] = {k: v for k, v in lines[3].items() if k != "result_of"}
        (tmp_path / name).mkdir()
        (tmp_path / name / collector.RECORDING_FILE).write_text(
            "\n".join(json.dumps(x) for x in lines) + "\n"
        )
        return collector.Recording(tmp_path / name)

    ask = {"jsonrpc": "2.0", "id": 7, "method": "state_call", "params": meta}
    referenced = {"conn": "c2", "got": {"jsonrpc": "2.0", "id": 1}, "result_of": "d1"}
    for name, fmt, second in (
        ("v2", 2, referenced),
        ("v1", 1, {"conn": "c2", "got": {"jsonrpc": "2.0", "id": 1, "result": big}}),
    ):
        replay = recording(name, fmt, second)
        assert (
            replay.answer(url, ask) == replay.answer(url, ask) == {"jsonrpc": "2.0", "id": 7, "result": big}
        )
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / collector.RECORDING_FILE).write_text(
        json.dumps({"recording": "json-rpc", "format": 2, "network": url, "endpoint": url})
        + "\n"
        + json.dumps({"conn": "c2", "url": url})
        + "\n"
        + json.dumps(referenced)
        + "\n"
    )
    assert main(["collect", "--db", str(tmp_path / "x.duckdb"), "--replay", str(tmp_path / "cut")]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "line 3 is not a recorded JSON-RPC frame" in err[0]

    # A second run appending to a recording names what the first wrote in full.
    header = {"network": url, "endpoint": url}
    for run in (1, 2):
        recorder = collector._Recorder(tmp_path / "appended", header)
        recorder.write({"conn": f"c{run}", "url": url})
        recorder.write(
            {"conn": f"c{run}", "sent": {"jsonrpc": "2.0", "id": 1, "method": "state_call", "params": meta}}
        )
        recorder.got(f"c{run}", {"jsonrpc": "2.0", "id": 1, "result": big})
        recorder._file.close()
    text = (tmp_path / "appended" / collector.RECORDING_FILE).read_text()
    assert text.count(big) == 1 and text.count('"result_of"') == 2
    assert collector.Recording(tmp_path / "appended").answer(url, ask)["result"] == big


def test_a_missing_or_broken_recording_is_one_error_line(tmp_path, capsys) -> None:
    db = tmp_path / "x.duckdb"
    assert main(["collect", "--db", str(db), "--replay", str(tmp_path / "nothing")]) == 2
    assert "no recording at" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    for text, says in (
        ("{not json\n", "is not a recorded JSON-RPC frame"),
        ('{"conn": "a", "sent": {"id": 1, "method": "chain_getHead", "params": []}}\n', "is not a recorded"),
        ('{"call": "[\\"query\\"]", "result": 1}\n', "is not a recorded"),  # the old substrate-level lines
        ("", "has no header line"),
        ("\udcff\n", "is not a recorded JSON-RPC frame"),  # not UTF-8
    ):
        (bad / collector.RECORDING_FILE).write_bytes(text.encode("utf-8", "surrogateescape"))
        assert main(["collect", "--db", str(db), "--replay", str(bad)]) == 2
        err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
        assert len(err) == 1 and says in err[0] and err[0].startswith("error:")
    assert not db.exists()


def test_record_needs_a_node(tmp_path, monkeypatch, capsys) -> None:
    """The in-memory substrate has no JSON-RPC to record: one clear line, nothing written."""
    chain = small_network()
    real = collector.subtensor_for
    monkeypatch.setattr(collector, "subtensor_for", lambda network: bt.Subtensor("local", substrate=chain))
    db = tmp_path / "x.duckdb"
    assert main(["collect", "--db", str(db), "--record", str(tmp_path / "rec")]) == 2
    assert "--record writes a node's JSON-RPC frames" in capsys.readouterr().err
    assert not db.exists()
    # a recording place that cannot be written: one line, before any node is dialled
    monkeypatch.setattr(collector, "subtensor_for", real)
    (tmp_path / "a-file").write_text("")
    args = ["collect", "--network", "ws://127.0.0.1:9", "--db", str(db), "--record", str(tmp_path / "a-file")]
    assert main(args) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "cannot write a recording in" in err[0]
    assert not db.exists()


def test_a_runtime_s_metadata_answers_whichever_of_its_blocks_asks_first(tmp_path) -> None:
    """The SDK downloads a runtime's metadata at the first block of that runtime it meets, which
    concurrent reads need not repeat offline: a metadata request is answered from the recording by
    runtime version; one for a runtime never recorded is not."""
    url = "ws://node"

    def sent(i: int, method: str, params: list) -> dict:
        return {"conn": "c", "sent": {"jsonrpc": "2.0", "id": i, "method": method, "params": params}}

    def got(i: int, result: object) -> dict:
        return {"conn": "c", "got": {"jsonrpc": "2.0", "id": i, "result": result}}

    meta = ["Metadata_metadata_at_version", "0x0f000000"]
    lines = [
        {"recording": "json-rpc", "format": collector.RECORDING_FORMAT, "network": url, "endpoint": url},
        {"conn": "c", "url": url},
        sent(1, "state_getRuntimeVersion", ["0xa1"]),
        sent(2, "state_getRuntimeVersion", ["0xa2"]),
        sent(3, "state_getRuntimeVersion", ["0xb1"]),
        got(1, {"specVersion": 400}),
        got(2, {"specVersion": 400}),
        got(3, {"specVersion": 401}),
        sent(4, "state_call", [*meta, "0xa1"]),
        got(4, "0x400400"),
    ]
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / collector.RECORDING_FILE).write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    recording = collector.Recording(rec)

    def ask(params: list) -> dict:
        return recording.answer(url, {"jsonrpc": "2.0", "id": 9, "method": "state_call", "params": params})

    assert ask([*meta, "0xa2"]) == {"jsonrpc": "2.0", "id": 9, "result": "0x400400"}  # same runtime
    assert "not in the recording" in ask([*meta, "0xb1"])["error"]["message"]  # runtime 401: never fetched
    assert "not in the recording" in ask([*meta, "0xc1"])["error"]["message"]  # a block never seen


def test_reads_a_lite_node_sends_to_the_archive_replay_from_the_archive_s_answers(tmp_path) -> None:
    """The SDK retries a read of discarded state on its archive endpoint: both connections are in the
    recording, each request matched to the endpoint that answered it, so the replay does the same."""
    rec = tmp_path / "rec"
    live, offline = tmp_path / "live.duckdb", tmp_path / "offline.duckdb"
    policy = collector.RetryPolicy(tries=1, timeout=60)
    with serving(small_network(), pruned_below=9_990) as lite, serving(small_network()) as archive:
        client = bt.Subtensor(lite.url, fallback_endpoints=[], archive_endpoints=[archive.url])
        assert collector.collect(collector.recorded(client, rec), live, policy=policy).ok
    assert archive.node.frames > 0  # the epoch blocks (9,920 and 9,960) were read there
    lines = frames(rec)
    urls = {x["url"] for x in lines if "url" in x}
    assert urls == {lite.url, archive.url}
    discarded = [x for x in lines if "State already discarded" in json.dumps(x.get("got", ""))]
    assert discarded

    summary = collector.collect(collector.replayed(rec), offline, policy=policy)
    assert summary.ok, summary.failed
    assert dump(offline) == dump(live)
    assert len(dump(live)["subnets"]) == 2
