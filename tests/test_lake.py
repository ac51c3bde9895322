"""The Parquet lake: export to a directory and to S3 (moto in server mode on a free localhost port),
incremental export, reading back through the store and the pages, kill -9 mid-export, bad input."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from analytics.cli import main
from analytics.data import files, lake, store
from analytics.views import export
from tests.test_collector_cli import ROOMY, one_error_line

ROOT = Path(__file__).resolve().parent.parent
SECRET = "lens-test-secret-9f2c"  # must never appear in any output
BUCKET = "lens"
TABLES = ("snapshots", "subnets", "neurons", "mechanism_neurons", "weights", "bonds", "bonds_after")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on a free localhost port, with the standard AWS variables pointing at it."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        mp.setenv("AWS_REGION", "us-east-1")
        mp.setenv("AWS_ENDPOINT_URL", endpoint)
        fs = pafs.S3FileSystem(endpoint_override=f"{host}:{port}", scheme="http", allow_bucket_creation=True)
        fs.create_dir(BUCKET)
        yield {"endpoint": endpoint, "fs": fs}
    server.stop()


def _trimmed_copy(demo_db: Path, dest: Path, snapshots: int, netuids: tuple[int, ...] = (1, 4)) -> Path:
    """The demo cut to its first `snapshots` snapshots and a few subnets (small, fast tests)."""
    shutil.copy(demo_db, dest)
    con = duckdb.connect(str(dest))
    columns = con.execute(
        "SELECT table_name, list(column_name) FROM information_schema.columns GROUP BY table_name"
    ).fetchall()
    for table, names in columns:  # every table a migration added too
        if "snapshot_id" in names and table != "collection_runs":
            con.execute(f"DELETE FROM {table} WHERE snapshot_id > ?", [snapshots])
        if "netuid" in names and table != "snapshots":
            con.execute(f"DELETE FROM {table} WHERE netuid NOT IN ({', '.join(map(str, netuids))})")
    con.execute(
        "INSERT INTO collection_runs VALUES (1, '2026-01-05 03:00', '2026-01-05 03:02', 'demo', 'ok', 1, [1, 4], '{}')"
    )
    con.close()
    return dest


@pytest.fixture(scope="module")
def small_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _trimmed_copy(demo_db, tmp_path_factory.mktemp("lake") / "small.duckdb", snapshots=4)


@pytest.fixture(scope="module")
def small_lake(small_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """small_db exported to a local lake once for the module's tests that only read it (a lake is
    read-only through the store; each such test checks that its attempt to write changed nothing)."""
    root = tmp_path_factory.mktemp("small-lake") / "lake"
    lake.export(small_db, root)
    return root


def assert_same_reads(db: Path, lake_location: str) -> None:
    """Every table and the page reads are identical on the DuckDB file and on the lake."""
    tables = store.lake_table_specs(db)  # every table, whatever the migrations added
    assert set(TABLES) | {"collection_runs", "schema_version"} <= set(tables)
    for table in tables:
        pd.testing.assert_frame_equal(
            store.table_contents(db, table), store.table_contents(lake_location, table)
        )
    pd.testing.assert_frame_equal(store.list_snapshots(db), store.list_snapshots(lake_location))
    sid = store.latest_snapshot_id(db)
    assert store.latest_snapshot_id(lake_location) == sid
    for key, frame in store.snapshot_tables(db, sid, [4]).items():
        pd.testing.assert_frame_equal(frame, store.snapshot_tables(lake_location, sid, [4])[key])
    pd.testing.assert_frame_equal(store.subnet_history(db, 1), store.subnet_history(lake_location, 1))
    for name in ("subnets", "validators", "history"):
        pd.testing.assert_frame_equal(
            export.build_table(str(db), name, sid, 1, 0), export.build_table(lake_location, name, sid, 1, 0)
        )


def _keys(fs: pafs.FileSystem, root: str) -> dict[str, int]:
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    return {i.path: i.mtime_ns for i in infos if i.type == pafs.FileType.File}


def test_export_to_s3_reads_back_the_same(s3, small_db: Path, capsys) -> None:
    uri = f"s3://{BUCKET}/full"
    assert main(["lake", "export", "--db", str(small_db), "--to", uri, "--endpoint-url", s3["endpoint"]]) == 0
    out = capsys.readouterr()
    assert "4 new snapshot(s)" in out.err and SECRET not in out.err + out.out
    keys = _keys(s3["fs"], f"{BUCKET}/full")
    assert f"{BUCKET}/full/{lake.MANIFEST}" in keys
    neuron_file = f"{BUCKET}/full/table=neurons/network=demo/netuid=4/date=2026-01-05/block-7200000.parquet"
    assert neuron_file in keys
    meta = pq.ParquetFile(neuron_file, filesystem=s3["fs"]).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert "netuid" not in meta.schema.names  # the partition lives in the path (Hive convention)
    assert not any("netuid=" in k for k in keys if "table=subnets/" in k)  # one small file per snapshot
    assert_same_reads(small_db, uri)


def test_incremental_export_writes_only_new_snapshots(s3, demo_db: Path, small_db: Path, tmp_path) -> None:
    uri = f"s3://{BUCKET}/incremental"
    first = _trimmed_copy(demo_db, tmp_path / "first.duckdb", snapshots=2)
    summary = lake.export(first, uri)
    assert len(summary.exported) == 2
    before = _keys(s3["fs"], f"{BUCKET}/incremental")
    time.sleep(0.01)
    summary = lake.export(small_db, uri)
    assert summary.already == 2 and [b for _, b in summary.exported] == [7300800, 7351200]
    after = _keys(s3["fs"], f"{BUCKET}/incremental")
    untouched = {k: v for k, v in before.items() if "table=" in k and "table=collection_runs" not in k}
    assert untouched and all(after[k] == v for k, v in untouched.items())
    assert lake.export(small_db, uri).exported == []  # nothing new: nothing written
    assert_lake_equals_db(small_db, uri)


def test_pages_read_an_s3_lake(s3, small_db: Path, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    uri = f"s3://{BUCKET}/pages"
    lake.export(small_db, uri)
    shown = {}
    for db in (str(small_db), uri):
        monkeypatch.setenv("METAGRAPH_LENS_DB", db)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        overview = at.dataframe[0].value
        at.switch_page("pages/5_History.py")
        at.query_params = {"netuid": "1"}
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        shown[db] = (overview, [f.value for f in at.dataframe])
    pd.testing.assert_frame_equal(shown[str(small_db)][0], shown[uri][0])
    assert len(shown[uri][1]) == len(shown[str(small_db)][1]) > 0
    for a, b in zip(shown[str(small_db)][1], shown[uri][1], strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_a_lake_is_read_only_through_the_store(small_lake: Path) -> None:
    target = small_lake
    assert store.is_lake(target)
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    with pytest.raises(store.StoreError, match="read-only"):
        store.record_run(target, {"started_at": pd.Timestamp("2026-01-01"), "network": "x", "status": "ok"})
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before  # nothing written


def test_one_version_token_for_files_and_lakes(demo_db: Path, small_db: Path, tmp_path) -> None:
    """The cache key of every reader (files.db_version and its aliases) follows a lake's commits."""
    from analytics.app import ui
    from analytics.views import analysis

    assert store.db_token is ui._db_token is analysis._file_token is files.db_version
    root = tmp_path / "lake"
    assert files.db_version(root) == "-/-" and not store.db_exists(root)  # nothing there yet
    lake.export(_trimmed_copy(demo_db, tmp_path / "one.duckdb", snapshots=1), root)
    first = files.db_version(root)
    assert store.db_exists(root) and first not in ("-", "-/-") and "/" not in first  # the manifest's
    assert files.db_version(root) == first  # stable while nothing is committed
    lake.export(small_db, root)  # three more snapshots: a new commit
    assert files.db_version(root) != first


def _uncommitted(root: Path) -> list[Path]:
    committed = lake.load_manifest(lake.target_for(root))
    blocks = committed.keys() if committed else set()
    return [
        p
        for p in root.glob("table=*/network=*/**/block-*.parquet")
        if ("demo", int(p.stem.split("-")[1])) not in blocks
    ]


def test_kill_9_mid_export_leaves_a_readable_lake(demo_db: Path, tmp_path) -> None:
    root = tmp_path / "lake"
    # Six snapshots: the kill lands inside the first snapshot written after the first commit (the loop
    # below waits for both), and the rest is exported in this process after it; more snapshots would
    # only lengthen that second export.
    snapshots = 6
    demo_db = _trimmed_copy(demo_db, tmp_path / "six.duckdb", snapshots=snapshots, netuids=(1, 2, 4))
    cmd = [sys.executable, "-m", "analytics", "lake", "export", "--db", str(demo_db), "--to", str(root)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (root / lake.MANIFEST).exists() and _uncommitted(root):
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the export finished before it could be killed"
    partial = _uncommitted(root)
    assert partial, "no half-written snapshot on disk: the kill landed between commits"

    visible = store.list_snapshots(root)
    assert 0 < len(visible) < snapshots
    ids = set(visible["snapshot_id"])
    for table in TABLES:  # every visible snapshot is whole; the half-written one is invisible
        expected = store.table_contents(demo_db, table)
        expected = expected[expected["snapshot_id"].isin(ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(store.table_contents(root, table), expected)

    summary = lake.export(demo_db, root)  # the next export completes the lake
    assert len(summary.exported) == snapshots - len(ids)
    assert not _uncommitted(root)
    pd.testing.assert_frame_equal(
        store.table_contents(root, "weights"), store.table_contents(demo_db, "weights")
    )


@pytest.mark.parametrize("case", ["unreachable", "no bucket", "foreign prefix", "not a database"])
def test_bad_input_is_one_error_line_and_writes_nothing(s3, small_db: Path, tmp_path, capsys, case) -> None:
    fs = s3["fs"]
    with fs.open_output_stream(f"{BUCKET}/other/notes.txt") as fh:
        fh.write(b"someone else's data")
    before = _keys(fs, BUCKET)
    db, endpoint, to = str(small_db), s3["endpoint"], f"s3://{BUCKET}/fresh"
    if case == "unreachable":
        endpoint = f"http://127.0.0.1:{_free_port()}"
    elif case == "no bucket":
        to = "s3://no-such-bucket/lake"
    elif case == "foreign prefix":
        to = f"s3://{BUCKET}/other"
    else:
        db = str(tmp_path / "missing.duckdb")
    rc = main(["lake", "export", "--db", db, "--to", to, "--endpoint-url", endpoint])
    out = capsys.readouterr()
    assert rc == 2
    line = one_error_line(out.err)
    assert {
        "unreachable": "cannot be reached",
        "no bucket": "does not exist",
        "foreign prefix": "other files",
    }.get(case, "does not exist") in line
    assert SECRET not in out.err + out.out
    assert _keys(fs, BUCKET) == before


def test_local_directory_holding_other_files_is_refused(small_db: Path, tmp_path, capsys) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    assert main(["lake", "export", "--db", str(small_db), "--to", str(tmp_path / "photos")]) == 2
    assert "other files" in one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["cat.jpg"]


def test_collect_appends_to_the_lake(tmp_path, capsys, monkeypatch) -> None:
    import bittensor as bt

    from analytics.data import collector
    from tests.fakechain import sample_network

    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "token_symbols.json"))
    chain, _epochs = sample_network()
    monkeypatch.setattr(collector, "subtensor_for", lambda network: bt.Subtensor("local", substrate=chain))
    db, root = tmp_path / "lens.duckdb", tmp_path / "lake"

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.csv").write_text("a\n")
    argv = ["collect", "--db", str(db), "--netuid", "all", *ROOMY, "--lake", str(tmp_path / "busy")]
    assert main(argv) == 2  # checked before the chain is read: nothing written anywhere
    assert "other files" in one_error_line(capsys.readouterr().err) and not db.exists()

    assert main(["collect", "--db", str(db), "--netuid", "all", *ROOMY, "--lake", str(root)]) == 0
    assert "1 new snapshot(s)" in capsys.readouterr().err
    assert_lake_equals_db(db, root)


def assert_lake_equals_db(db: Path, root: Path | str) -> None:
    for table in store.lake_table_specs(db):
        pd.testing.assert_frame_equal(store.table_contents(db, table), store.table_contents(root, table))


def test_a_snapshot_that_gains_subnets_gains_them_in_the_lake(
    demo_db: Path, small_db: Path, tmp_path
) -> None:
    """backfill (and a collect rerun) fills a snapshot subnet by subnet: the lake follows."""
    partial = _trimmed_copy(demo_db, tmp_path / "partial.duckdb", snapshots=2, netuids=(1,))
    root = tmp_path / "lake"
    lake.export(partial, root)
    grown_tables = [t for t, spec in store.lake_table_specs(partial).items() if spec.per_snapshot]
    con = duckdb.connect(str(partial))
    con.execute(f"ATTACH '{small_db}' AS full_db (READ_ONLY)")
    for table in [t for t in grown_tables if t != "snapshots"]:
        con.execute(f"INSERT INTO {table} SELECT * FROM full_db.{table} WHERE snapshot_id = 2 AND netuid = 4")
    con.close()
    summary = lake.export(partial, root)
    assert summary.exported == [] and summary.grown == [("demo", 7250400)]
    for table in store.lake_table_specs(partial):
        pd.testing.assert_frame_equal(store.table_contents(partial, table), store.table_contents(root, table))
    subnet_files = sorted(p.name for p in root.glob("table=subnets/network=demo/*/*.parquet"))
    assert subnet_files == ["block-7200000.parquet", "block-7250400-g1.parquet"]  # no stale generation
    assert lake.export(partial, root).grown == []


def test_cli_commands_read_a_lake_as_a_file(small_db: Path, small_lake: Path, tmp_path, capsys) -> None:
    root = small_lake
    outputs = {}
    for db in (small_db, root):
        csv = tmp_path / f"{db.name}.csv"
        assert (
            main(["export", "--db", str(db), "--table", "validators", "--netuid", "1", "--out", str(csv)])
            == 0
        )
        assert main(["check", "--db", str(db), "--all"]) == 0
        assert main(["simulate", "--db", str(db), "--netuid", "4", "--epochs", "2", "--json"]) == 0
        outputs[db] = (csv.read_bytes(), capsys.readouterr().out)
    assert outputs[small_db] == outputs[root]
    assert main(["demo", "--db", str(root)]) == 2  # a lake is read-only: nothing written
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [lake.MANIFEST, *{p.name for p in root.glob("table=*")}]
    )
