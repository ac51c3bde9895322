"""`python -m analytics demo [--db PATH] [--force]`: build the deterministic demo database."""

from __future__ import annotations

import argparse
import sys
import time

from analytics.cli import CliError, add_db_argument, db_path

HELP = "Build the deterministic demo network (12 weekly snapshots of 8 subnets) into a DuckDB file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser, "demo")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing demo database (any other file is refused: chain snapshots, another application's DuckDB file, a corrupt file)",
    )


def run(args: argparse.Namespace) -> int:
    from analytics.data import demo, store

    started = time.perf_counter()
    try:
        path = demo.build_demo(
            db_path(args, "demo"), force=args.force, progress=lambda msg: print(msg, file=sys.stderr)
        )
    except store.StoreError as exc:
        raise CliError(str(exc)) from None
    print(
        f"demo database written to {path}: {demo.WEEKS} weekly snapshots of {len(demo.SUBNETS)} subnets "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0
