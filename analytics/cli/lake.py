"""`python -m analytics lake export`: append a database's snapshots to a Parquet lake (a directory or S3).

Exit codes: 0 the lake holds every snapshot of the database; 2 bad input (database, location,
endpoint, bucket, a prefix holding something else), nothing written. Progress on stderr, one line per
snapshot. Credentials come from the standard AWS environment/config and are never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.cli import CliError, add_db_argument, db_path
from analytics.data import lake, store

HELP = "Export every table as zstd Parquet, hive-partitioned, to a directory or s3://bucket/prefix (incremental)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lake_command", metavar="ACTION")
    sub.required = True
    export = sub.add_parser(
        "export",
        help="append the snapshots the lake lacks (each committed whole: readers never see a partial one)",
        description=(
            "Append every snapshot of --db that the lake lacks, each committed whole (manifest last), "
            "then the tables not keyed by snapshot. Exit 0 when done, 2 on bad input (nothing written)."
        ),
    )
    add_db_argument(export, "export")
    export.add_argument("--to", required=True, help="lake: a directory or s3://bucket/prefix")
    export.add_argument(
        "--endpoint-url",
        default=None,
        help="S3-compatible endpoint such as http://127.0.0.1:9000 (default: $AWS_ENDPOINT_URL, else AWS)",
    )


def export_to_lake(db: str | Path, to: str, endpoint_url: str | None = None) -> lake.ExportSummary:
    """Append ``db`` to the lake at ``to`` with progress lines on stderr; LakeError/StoreError as CliError.

    The reusable step behind `lake export` and `collect|backfill --lake`."""

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        summary = lake.export(db, to, endpoint_url=endpoint_url, progress=say)
    except (lake.LakeError, store.StoreError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # storage failing mid-export: what was committed stays readable
        raise CliError(
            f"{to}: writing failed ({str(exc).strip().splitlines()[0]}); re-run to resume"
        ) from None
    say(
        f"lake {summary.target}: {len(summary.exported)} new snapshot(s), {summary.already} already there; "
        f"{summary.files} file(s), {summary.bytes / 1e6:.1f} MB written"
    )
    return summary


def check_lake_target(to: str, endpoint_url: str | None = None) -> None:
    """Fail early (CliError) when ``to`` cannot take a lake, before a long collect runs; writes nothing."""
    try:
        lake.open_for_export(to, endpoint_url)
    except lake.LakeError as exc:
        raise CliError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    db = db_path(args, "export")
    if store.is_lake(db):
        raise CliError(f"--db {db} is a lake; export from a DuckDB file")
    if not Path(db).is_file():
        raise CliError(
            f"database {db} does not exist (create it with `python -m analytics demo` or `collect`)"
        )
    export_to_lake(db, args.to, args.endpoint_url)
    return 0
