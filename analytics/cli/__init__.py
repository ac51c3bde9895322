"""Command-line entry point: one module per sub-command under analytics/cli/.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
A command signals a user error by raising :class:`CliError`; it is printed as one line on stderr
and the process exits with code 2 (1 for other failures the command reports itself).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from analytics.textsafe import safe_text

# Sub-commands in the order `--help` lists them. A module missing here is simply not offered.
COMMANDS: tuple[str, ...] = ("demo", "collect", "backfill", "export", "check", "split", "simulate", "lake")


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as a CliError (one ``error:`` line, exit 2) instead of
    printing the whole usage block and raising SystemExit; ``--help`` still prints and exits 0."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _shown_path(name: object, limit: int = 80) -> str:
    text = safe_text(os.fsdecode(name) if isinstance(name, str | bytes) else str(name)) or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
