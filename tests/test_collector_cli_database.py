"""`collect` checks the database before it touches the chain: a corrupt or empty file, or the demo
network's file, is one `error:` line and exit 2 (no retries against the node, nothing written)."""

from __future__ import annotations

import shutil

import pytest

from analytics.cli import main
from analytics.data import store
from tests.test_collector_cli import one_error_line

pytestmark = pytest.mark.usefixtures("token_symbol_cache")


@pytest.fixture
def chain_calls(fake_chain):
    """The fake chain, counting how often the collector asks for a client."""
    return fake_chain.calls


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a database at all\n" * 10, "not a valid DuckDB file"), (b"", "empty (0 bytes)")],
)
def test_corrupt_or_empty_database_is_refused_before_the_chain(
    tmp_path, capsys, chain_calls, content, message
):
    db = tmp_path / "lens.duckdb"
    db.write_bytes(content)
    assert main(["collect", "--db", str(db), "--netuid", "1", "--tries", "1"]) == 2
    assert message in one_error_line(capsys.readouterr().err)
    assert chain_calls == []
    assert db.read_bytes() == content


def test_demo_database_is_never_collected_into(tmp_path, capsys, chain_calls, demo_db):
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, db)
    before = store.list_snapshots(db)
    assert main(["collect", "--db", str(db), "--netuid", "1", "--tries", "1"]) == 2
    assert "demo" in one_error_line(capsys.readouterr().err)
    assert chain_calls == []
    assert store.list_snapshots(db).equals(before)
    assert store.collection_runs(db).empty
