"""Issue 12 item 3: a write that fails for lack of space reports its own cause, not the failing ROLLBACK's
"no transaction is active", and leaves nothing half written.

A real failure, not a mock: a child process lowers RLIMIT_FSIZE (the largest file it may write) below what
the snapshot needs, so DuckDB's write of the WAL fails with EFBIG ("File too large") exactly as a full disk
fails with ENOSPC; SIGXFSZ is ignored so the write returns the error instead of killing the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from analytics.data import store
from tests.test_store import tiny_snapshot

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import resource, signal, sys
from analytics.data import store
from tests.test_store import tiny_snapshot

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    store.ingest_snapshot(sys.argv[1], tiny_snapshot(200, n=400))
except store.StoreError as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_write_that_runs_out_of_space_reports_why(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    before = {t: store.table_contents(db, t) for t in ("snapshots", "neurons", "weights")}
    limit = 16 * 1024  # far less than the WAL of 400 neurons needs (the file itself is only read)

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(limit)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 3, child.stdout + child.stderr
    assert "File too large" in child.stdout, child.stdout
    assert "no transaction is active" not in child.stdout

    for table, frame in before.items():  # nothing half written
        assert store.table_contents(db, table).equals(frame), table
    assert store.ingest_snapshot(db, tiny_snapshot(200, n=400)) == 2  # and the database still takes writes
