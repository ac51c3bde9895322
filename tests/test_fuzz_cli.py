"""CLI fuzz of every subcommand (issue 12): seeded garbage arguments, in process through
``analytics.cli.main``. Whatever the arguments, no traceback: exit 0 (they happened to be valid), 1 (a
command's own reported failure) or 2 with exactly one ``error:`` line.

Options and their kinds come from the real parser, so a new option or subcommand is fuzzed too. The run
is sandboxed: the working directory is a temp dir (relative paths land there), the databases are small
temp files, the demo is shrunk, and the chain is never contacted (collect's client factory refuses).
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import duckdb
import pytest

from analytics import config
from analytics.cli import build_parser, main
from analytics.data import collector, demo, store
from tests.test_store import tiny_snapshot

CASES_PER_COMMAND = 30
VALUES = [
    "", " ", "0", "-0", "1", "2", "-1", "65535", "65536", "9223372036854775808", "1e400", "-1e400", "1e-400",
    "inf", "-inf", "nan", "1.5", "0x10", "٣", "\x00", "\x1b[2J", "\u202e1", "😀", "1,2,3", "1,,", "all",
    "finney", "test", "ws://", "wss://[", "local", "9" * 5000, "a" * 300, "50,50", "39321,19660,6554",
    "stake:0*1e300", "weights:0=1:nan", "kappa=-0", "copy:1=1", "1/0", "1/2",
    "-", ".", "out.csv", "no/such/dir/x.csv", "tiny.duckdb", "foreign.duckdb", "garbage.duckdb",
    "empty.duckdb", "new.duckdb", "dir",
]  # fmt: skip


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp working directory holding the files the fuzzed paths name; nothing outside it is touched."""
    monkeypatch.chdir(tmp_path)
    store.ingest_snapshot(tmp_path / "tiny.duckdb", tiny_snapshot(100))
    con = duckdb.connect(str(tmp_path / "foreign.duckdb"))
    con.execute("CREATE TABLE snapshots (id INTEGER)")
    con.close()
    (tmp_path / "garbage.duckdb").write_bytes(b"not a database\n" * 10)
    (tmp_path / "empty.duckdb").write_bytes(b"")
    (tmp_path / "dir").mkdir()
    monkeypatch.setenv(store.DB_ENV_VAR, str(tmp_path / "tiny.duckdb"))
    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "token_symbols.json"))
    # `demo` without --db builds config.DEMO_DB_PATH: a sandboxed one, never the checkout's data/demo.duckdb
    # (a tiny fuzz demo there would be what `streamlit run app.py` then shows).
    for module in (store, config, demo):
        monkeypatch.setattr(module, "DEMO_DB_PATH", tmp_path / "demo.duckdb")
    # `alerts` without --config reads the default watchlist: a sandboxed one that watches subnet 1 and
    # notifies nobody, never the user's data/alerts.toml (which may hold real destinations).
    (tmp_path / "alerts.toml").write_text(
        '[[watch]]\nnetuid = 1\nrules = ["out_of_consensus", "deregistered"]\n'
    )
    monkeypatch.setattr(config, "ALERTS_CONFIG_PATH", tmp_path / "alerts.toml")
    monkeypatch.setattr(demo, "SUBNETS", (demo.SubnetSpec(1, "tiny", "a", n=16, validators=3, stakers=1),))
    monkeypatch.setattr(demo, "WEEKS", 1)
    tiny_demo = demo.generate(None)  # generated once: the fuzz is about arguments, not the demo's engine runs
    monkeypatch.setattr(demo, "generate", lambda progress=None: tiny_demo)

    def no_chain(network: str):
        raise collector.CollectorError(f"fuzz: no chain for {network!r}")

    monkeypatch.setattr(collector, "subtensor_for", no_chain)
    return tmp_path


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def fuzz_argv(name: str, sub: argparse.ArgumentParser, rng: random.Random) -> list[str]:
    """Random options of ``name`` (flags as they are, values hostile or a valid choice), sometimes junk."""
    options = [a for a in sub._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    argv = [name]
    for action in rng.sample(options, k=rng.randint(0, min(len(options), 5))):
        flag = rng.choice(action.option_strings)
        if action.nargs == 0:
            argv.append(flag)
            continue
        if action.choices and rng.random() < 0.5:
            value = str(rng.choice(list(action.choices)))
        else:
            value = rng.choice(VALUES)
        argv.append(f"{flag}={value}")  # '=' so a value starting with '-' stays a value
    if rng.random() < 0.15:
        argv.insert(rng.randint(1, len(argv)), rng.choice(["--bogus", "extra", "-x", "--db", "--"]))
    return argv


def cases(seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    out = [[], ["bogus"], ["--db", "x"], ["\x00"], ["-" * 3]]
    for name, sub in subcommands().items():
        out += [fuzz_argv(name, sub, rng) for _ in range(CASES_PER_COMMAND)]
    return out


def test_every_subcommand_is_fuzzed() -> None:
    assert {"demo", "collect", "export", "check", "split", "simulate", "returns", "alerts"} <= set(
        subcommands()
    )


def test_garbage_arguments_never_give_a_traceback(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkout_demo = Path(__file__).resolve().parent.parent / "data" / "demo.duckdb"
    before = checkout_demo.stat().st_mtime_ns if checkout_demo.exists() else None
    outcomes: dict[int, int] = {}
    for argv in cases():
        try:
            code = main(argv)
        except SystemExit as exc:  # only --help may leave through argparse's exit
            assert exc.code == 0, (argv, exc.code)
            code = 0
        except Exception as exc:  # the point: report which arguments escaped as what
            pytest.fail(f"{[a[:80] for a in argv]!r} raised {type(exc).__name__}: {str(exc)[:300]}")
        out, err = capsys.readouterr()
        assert "Traceback" not in err + out, argv
        assert code in (0, 1, 2), (argv, code)
        if code == 2:
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
        outcomes[code] = outcomes.get(code, 0) + 1
        shutil.rmtree(sandbox / "no", ignore_errors=True)
    assert outcomes.get(2, 0) > len(cases()) // 2, outcomes  # mostly bad input, as generated
    after = checkout_demo.stat().st_mtime_ns if checkout_demo.exists() else None
    assert after == before, "the fuzz wrote the checkout's data/demo.duckdb"
