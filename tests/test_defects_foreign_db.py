"""Issue 12 items 2 and 4: another application's DuckDB file is never written: `collect` refuses it before
any chain read and `demo --force` refuses to replace it (one `error:` line, exit 2, the file untouched)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.data import demo, store
from tests.test_collector_cli import one_error_line


def foreign_db(path: Path, sql: str) -> Path:
    con = duckdb.connect(str(path))
    con.execute(sql)
    con.close()
    return path


FOREIGN = {
    "unrelated tables": "CREATE TABLE orders (id INTEGER, total DOUBLE); INSERT INTO orders VALUES (1, 2.5)",
    "a foreign snapshots table": "CREATE TABLE snapshots (id INTEGER, name VARCHAR); INSERT INTO snapshots VALUES (7, 'x')",
    "a foreign snapshots table and a schema_version": (
        "CREATE TABLE snapshots (id INTEGER, name VARCHAR); CREATE TABLE schema_version (version INTEGER);"
        "INSERT INTO schema_version VALUES (1)"
    ),
}


pytestmark = pytest.mark.usefixtures("token_symbol_cache")


@pytest.fixture
def chain_calls(fake_chain):
    """The fake chain, counting how often the collector asks for a client."""
    return fake_chain.calls


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_collect_refuses_a_foreign_database_before_the_chain(tmp_path, capsys, chain_calls, kind) -> None:
    db = foreign_db(tmp_path / "other.duckdb", FOREIGN[kind])
    before = db.read_bytes()
    assert main(["collect", "--db", str(db), "--netuid", "1", "--tries", "1"]) == 2
    assert "not a metagraph-lens database" in one_error_line(capsys.readouterr().err)
    assert chain_calls == []
    assert db.read_bytes() == before


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_demo_force_refuses_a_foreign_database(tmp_path, capsys, kind) -> None:
    db = foreign_db(tmp_path / "other.duckdb", FOREIGN[kind])
    before = db.read_bytes()
    assert main(["demo", "--db", str(db), "--force"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "not a metagraph-lens database" in line and "refusing to replace" in line
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    "content", [b"garbage", b"SQLite format 3\x00" + bytes(100)], ids=["garbage", "sqlite"]
)
def test_demo_force_refuses_a_file_that_is_not_duckdb(tmp_path, capsys, content: bytes) -> None:
    db = tmp_path / "demo.duckdb"
    db.write_bytes(content)
    assert main(["demo", "--db", str(db), "--force"]) == 2
    assert "refusing to replace" in one_error_line(capsys.readouterr().err)
    assert db.read_bytes() == content


def test_demo_force_refuses_an_empty_lens_database(tmp_path) -> None:
    db = tmp_path / "lens.duckdb"
    store.initialise(db)
    with pytest.raises(store.StoreError, match="no demo snapshot"):
        demo.build_demo(db, force=True)


def test_a_reader_names_a_foreign_snapshots_table(tmp_path) -> None:
    """Was a raw Binder Error, or a Python variable picked up by DuckDB's replacement scan."""
    db = foreign_db(tmp_path / "other.duckdb", FOREIGN["a foreign snapshots table"])
    for read in (store.list_snapshots, store.latest_snapshot_id):
        with pytest.raises(store.StoreError, match="not a metagraph-lens database"):
            read(db)
    with pytest.raises(store.StoreError, match="not a metagraph-lens database"):
        store.subnets(db, 1)


def test_a_new_or_lens_database_passes_the_check(tmp_path, demo_db) -> None:
    store.check_lens_database(tmp_path / "new.duckdb")
    store.check_lens_database(demo_db)
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    store.check_lens_database(empty)
