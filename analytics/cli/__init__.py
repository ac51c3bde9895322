"""Command-line entry point: one module per sub-command under analytics/cli/.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
A command signals a user error by raising :class:`CliError`; it is printed as one line on stderr
and the process exits with code 2 (1 for other failures the command reports itself).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, NoReturn, overload

from analytics import config
from analytics.errors import CliError
from analytics.textsafe import safe_text

__all__ = [
    "COMMANDS",
    "CliError",
    "add_db_argument",
    "build_parser",
    "chosen_snapshot",
    "db_path",
    "main",
    "stderr_log",
]

# Sub-commands in the order `--help` lists them. A module missing here is simply not offered.
COMMANDS: tuple[str, ...] = (
    "demo",
    "collect",
    "backfill",
    "export",
    "check",
    "split",
    "simulate",
    "returns",
    "alerts",
    "lake",
)


# The help of --db for each kind of command (one definition: see add_db_argument).
DB_HELP = {
    "read": f"DuckDB file or Parquet lake (directory or s3://bucket/prefix) to read (default: {config.DEFAULT_DB_WORDING})",
    "collect": f"DuckDB file to write (default: {config.CHAIN_DB_WORDING})",
    "demo": "database file to create (default: data/demo.duckdb)",
    "export": f"DuckDB file to export (default: {config.DEFAULT_DB_WORDING})",
}


Role = Literal["read", "collect", "demo", "export"]
_LOCATIONS = ("read", "export")  # roles whose --db may name a lake: an s3:// URI stays a string


def add_db_argument(parser: argparse.ArgumentParser, role: Role = "read", *, extra: str = "") -> None:
    """The ``--db PATH`` option every command takes, defined once. ``role``: 'read' (the dashboard's
    database, which may be a Parquet lake: a directory or an s3:// URI), 'collect' (the chain database,
    never the demo), 'demo' (the demo file) or 'export' (the DuckDB file `lake export` reads, the
    dashboard's by default; given a lake, the command says so)."""
    parser.add_argument(
        "--db",
        type=config.db_location if role in _LOCATIONS else Path,
        default=None,
        metavar="PATH",
        help=DB_HELP[role] + extra,
    )


@overload
def db_path(args: argparse.Namespace, role: Literal["read", "export"] = "read") -> config.DbLocation: ...
@overload
def db_path(args: argparse.Namespace, role: Literal["collect", "demo"]) -> Path: ...
def db_path(args: argparse.Namespace, role: Role = "read") -> config.DbLocation:
    """The database a command uses: ``--db`` (user-expanded; for 'read' an s3:// lake stays a string),
    else the role's default from analytics.config."""
    if args.db is not None:
        return config.db_location(args.db) if role in _LOCATIONS else Path(args.db).expanduser()
    if role == "collect":
        return config.chain_db_path()
    if role == "demo":
        return config.DEMO_DB_PATH
    return config.default_db_path()


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as a CliError (one ``error:`` line, exit 2) instead of
    printing the whole usage block and raising SystemExit; ``--help`` still prints and exits 0."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _shown_path(name: object, limit: int = 80) -> str:
    text = safe_text(os.fsdecode(name) if isinstance(name, str | bytes) else str(name)) or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _StderrHandler(logging.StreamHandler):
    """A log handler writing to whatever sys.stderr is now, so that log lines printed while a rich
    progress bar runs go through rich (which redirects stderr) and land above the bar."""

    lens_stderr = True  # marks the one handler stderr_log installs

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def chosen_snapshot(db: config.DbLocation, snapshot: int | None) -> int:
    """The `--snapshot` id when given, else the database's latest; a CliError when it holds none.
    (The store's own errors, e.g. an unreadable file, reach the caller as StoreError.)"""
    from analytics.data import store  # imports duckdb and pandas: only for commands that read

    snapshot_id = snapshot if snapshot is not None else store.latest_snapshot_id(db)
    if snapshot_id is None:
        raise CliError(f"database {db} holds no snapshot yet (run `python -m analytics demo` or `collect`)")
    return int(snapshot_id)


@contextmanager
def stderr_log() -> Iterator[None]:
    """Timestamped (UTC) lines on stderr for the analytics loggers while a command runs (the cron log
    is this stream). A command run by another (collect --alerts) shares the one handler."""
    logger = logging.getLogger("analytics")
    if any(getattr(h, "lens_stderr", False) for h in logger.handlers):
        yield
        return
    handler = _StderrHandler()
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available sub-command."""
    parser = _Parser(
        prog="python -m analytics",
        description="metagraph-lens: snapshot Bittensor subnets, recompute Yuma consensus, export CSV.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"analytics.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"analytics.cli.{name}":
                continue
            raise
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # --help prints and raises SystemExit(0), as argparse does
        return int(args._run(args) or 0)
    except CliError as exc:
        print(f"error: {safe_text(str(exc))}", file=sys.stderr)  # one line, whatever it quotes
        return 2
    except OSError as exc:
        # A path the system refuses (name too long, permission denied, read-only, not a directory):
        # the user's to fix, named in one line. Commands turn the errors they expect into CliError.
        where = f" {_shown_path(exc.filename)}" if exc.filename is not None else ""
        print(f"error: cannot use{where}: {safe_text(exc.strerror or str(exc))}", file=sys.stderr)
        return 2
    except ValueError as exc:
        if "null byte" not in str(exc):  # os functions refuse a path holding NUL with a ValueError
            raise
        print("error: a path argument contains a NUL byte", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
