"""`python -m analytics collect`: bad input, exit codes, log lines, and real sockets.

The network failure cases use the real SDK transport against local sockets: a port nobody listens
on (connection refused) and a server that accepts and never answers (the deadline must fire).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from analytics.cli import main
from analytics.data import collector, store

FAST = ["--timeout", "1", "--tries", "2", "--backoff", "0.01"]
# Against the in-memory chain, where no deadline is under test: a read of a whole subnet can take more
# than a second on a loaded machine, and a deadline firing then would fail a test about something else.
ROOMY = ["--timeout", "60", "--tries", "2", "--backoff", "0.01"]


pytestmark = pytest.mark.usefixtures("token_symbol_cache")


@pytest.fixture
def fake_network(fake_chain):
    """The sample fake chain and its epochs, served to the collector."""
    return fake_chain.chain, fake_chain.epochs


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--network", "mainnet"], "unknown network 'mainnet'"),
        (["--netuid", "1,x"], "malformed netuid list"),
        (["--netuid", "1;3"], "malformed netuid list"),
        (["--block", "-5"], "--block must be a block number"),
        (["--db", "/nonexistent-dir/lens.duckdb"], "directory /nonexistent-dir does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message) -> None:
    argv = ["collect", *args] if "--db" in args else ["collect", "--db", str(tmp_path / "x.duckdb"), *args]
    assert main(argv) == 2
    assert message in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "x.duckdb").exists()


def test_unwritable_database_path(tmp_path, capsys) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        # As root, permission bits do not stop writes; /proc refuses new files for everyone.
        target = Path("/proc/lens.duckdb") if _root_bypasses_permissions(ro) else ro / "lens.duckdb"
        assert main(["collect", "--db", str(target)]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith(f"error: cannot write database {target}: ")
        assert not target.exists()
    finally:
        ro.chmod(0o700)


def _root_bypasses_permissions(directory: Path) -> bool:
    try:
        (directory / ".probe").touch()
    except PermissionError:
        return False
    (directory / ".probe").unlink()
    return True


def test_database_path_that_is_a_directory(tmp_path, capsys) -> None:
    assert main(["collect", "--db", str(tmp_path)]) == 2
    assert "is a directory" in one_error_line(capsys.readouterr().err)


def test_netuid_not_on_chain_writes_nothing(tmp_path, capsys, fake_network) -> None:
    db = tmp_path / "lens.duckdb"
    assert main(["collect", "--db", str(db), "--netuid", "1,42", *ROOMY]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == "error: netuid 42 does not exist on local at block 50000 (subnets there: 0-3, 5)"
    assert not db.exists()


def test_success_logs_plain_lines_and_exits_0(tmp_path, capsys, fake_network) -> None:
    db = tmp_path / "lens.duckdb"
    assert main(["collect", "--db", str(db), "--netuid", "all", *ROOMY]) == 0
    err = capsys.readouterr().err
    assert "local: reading 4 subnet(s) (1-3, 5) anchored at block 50000, each at its last epoch" in err
    for netuid in (1, 2, 3, 5):
        assert f"subnet {netuid} read" in err
    assert "stored snapshot 1: 4 subnet(s)" in err
    assert "not epoch-aligned: [5]" in err
    # Re-running for the same block (pinned) is a no-op with exit 0.
    block = str(fake_network[0].head - 1)
    assert main(["collect", "--db", str(db), "--netuid", "3", "--block", block, *ROOMY]) == 0
    assert main(["collect", "--db", str(db), "--netuid", "3", "--block", block, *ROOMY]) == 0
    assert "already in" in capsys.readouterr().err
    assert len(store.list_snapshots(db)) == 2


def test_one_failed_subnet_exits_1(tmp_path, capsys, fake_network) -> None:
    chain, _ = fake_network
    chain.chain_errors[3] = "RuntimeApi execution failed"
    db = tmp_path / "lens.duckdb"
    assert main(["collect", "--db", str(db), "--netuid", "1,3", *ROOMY]) == 1
    err = capsys.readouterr().err
    assert "subnet 3 failed: ChainError: RuntimeApi execution failed" in err
    assert "1 subnet(s) stored, 1 failed: exit 1" in err


def test_lock_held_exits_3(tmp_path, capsys, fake_network) -> None:
    db = tmp_path / "lens.duckdb"
    with collector.run_lock(db):
        assert main(["collect", "--db", str(db), "--netuid", "1", *ROOMY]) == 3
    assert "another collection run" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_real_socket(tmp_path, capsys) -> None:
    db = tmp_path / "lens.duckdb"
    url = f"ws://127.0.0.1:{free_port()}"
    started = time.monotonic()
    assert main(["collect", "--network", url, "--db", str(db), "--netuid", "1", *FAST]) == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "refused" in err or "could not connect" in err
    assert store.collection_runs(db)["status"].tolist() == ["failed"]
    assert len(store.list_snapshots(db)) == 0


def test_silent_node_real_socket_hits_the_deadline(tmp_path, capsys) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)  # never read, never answer
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    try:
        db = tmp_path / "lens.duckdb"
        url = f"ws://127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        code = main(
            [
                "collect",
                "--network",
                url,
                "--db",
                str(db),
                "--timeout",
                "0.5",
                "--tries",
                "2",
                "--backoff",
                "0.01",
            ]
        )
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        server.close()
    assert code == 1
    assert elapsed < 10, f"deadline did not fire ({elapsed:.1f} s)"
    assert len(accepted) >= 2  # a fresh connection per attempt
    assert "timed out" in capsys.readouterr().err


def test_help_lists_collect(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["collect", "--help"])
    out = capsys.readouterr().out
    for option in ("--network", "--netuid", "--db", "--block"):
        assert option in out


@pytest.mark.slow  # a real process imports bittensor (several seconds)
def test_module_entry_point_runs(tmp_path) -> None:
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analytics",
            "collect",
            "--network",
            "nope",
            "--db",
            str(tmp_path / "x.duckdb"),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "error: unknown network 'nope': use one of finney, test, archive, local or a ws(s):// URL"
    )


def test_default_database_is_the_apps_never_the_demo(monkeypatch) -> None:
    from analytics.cli import collect as cli

    monkeypatch.setenv(store.DB_ENV_VAR, "/srv/lens/chain.duckdb")
    assert cli.default_db_path() == Path("/srv/lens/chain.duckdb")
    monkeypatch.delenv(store.DB_ENV_VAR)
    assert cli.default_db_path() == Path(__file__).resolve().parent.parent / "data" / "lens.duckdb"
    assert cli.default_db_path() != store.DEMO_DB_PATH
