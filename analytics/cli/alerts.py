"""`python -m analytics alerts`: check a watchlist against the newest snapshot and send new alerts.

Exit codes: 0 every alert delivered (or nothing to send); 1 some delivery failed (it is remembered
and retried on the next run); 2 bad watchlist or database (one `error:` line, nothing sent).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analytics import config as lens_config
from analytics.alerts import config
from analytics.alerts.run import RunResult
from analytics.alerts.run import run as run_alerts
from analytics.cli import CliError, add_db_argument, db_path, stderr_log
from analytics.data import store

HELP = "Check a watchlist (TOML) against the newest snapshot and send each new alert once through Apprise."

EXIT_OK, EXIT_FAILED = 0, 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Rules: out_of_consensus, tv_below:X, stale_weights:N, copier, deregistered, uid_changed, "
        "subnet_tv_below:X, return_drop:X%, take_raised. Exit codes: 0 all delivered (or nothing new); 1 some delivery failed "
        "(retried on the next run); 2 bad config or database, nothing sent. See the README for the file."
    )
    add_db_argument(parser, "read", extra="; a real run also records the alerts in it")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"watchlist TOML file (default: {lens_config.ALERTS_CONFIG_WORDING})",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the new alerts; remember and send nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the alerts as a JSON list on stdout")


def load_watchlist(path: Path, db: lens_config.DbLocation | None) -> config.Watchlist:
    """The checked watchlist; CliError (one line naming the file's line) when it is bad."""
    try:
        return config.load(path)
    except config.ConfigError as exc:
        raise CliError(str(exc)) from None
    except store.StoreError as exc:
        raise CliError(str(exc)) from None


def execute(db: lens_config.DbLocation, watchlist: config.Watchlist, *, dry_run: bool, as_json: bool) -> int:
    """Run the watchlist and print the alerts; the exit code (0 delivered, 1 some failed)."""
    try:
        with stderr_log():
            result = run_alerts(db, watchlist, dry_run=dry_run)
    except store.StoreError as exc:
        raise CliError(str(exc)) from None
    _print(result, as_json=as_json, dry_run=dry_run)
    return EXIT_OK if result.ok else EXIT_FAILED


def _print(result: RunResult, *, as_json: bool, dry_run: bool) -> None:
    if as_json:
        print(json.dumps(result.alerts, indent=2, ensure_ascii=False))
        return
    for alert in result.alerts:
        state = "" if dry_run else (" [sent]" if alert.get("delivered") else " [not delivered]")
        print(f"{alert['rule']}: {alert['message']}{state}")
    what = "would send" if dry_run else "handled"
    print(
        f"snapshot {result.snapshot_id}: {what} {len(result.alerts)} alert(s)"
        + ("" if dry_run else f", {result.delivered} delivered, {result.failed} failed")
        + (f", {result.resolved} episode(s) over" if result.resolved else ""),
        file=sys.stderr,
    )


def run(args: argparse.Namespace) -> int:
    target = db_path(args)
    if store.is_lake(target) and not args.dry_run:
        raise CliError(
            f"{target} is a Parquet lake, read-only: alerts remember what they sent in a DuckDB file "
            "(give --db a DuckDB file, or use --dry-run on the lake)"
        )
    try:
        store.schema_version(target)  # a missing, empty, corrupt or locked file: one line, exit 2
    except store.StoreError as exc:
        raise CliError(str(exc)) from None
    path = Path(args.config).expanduser() if args.config is not None else lens_config.ALERTS_CONFIG_PATH
    watchlist = load_watchlist(path, target)
    return execute(target, watchlist, dry_run=args.dry_run, as_json=args.json)
