"""`python -m analytics backfill`: past epochs from an archive node, one snapshot per point.

For each point (--since/--start-block, then every epoch|day|week|N blocks up to --until/--end-block
or the head) every subnet is read at its last epoch at or before the point, exactly as `collect`
reads it. Resumable: subnets already stored are skipped, so rerunning after Ctrl-C or a kill
continues where the run stopped. Exit codes as `collect`: 0 all stored, 1 some subnet failed (the
rest is stored), 2 bad input (nothing written), 3 another run holds the lock.
Progress: a bar with ETA on a terminal, one log line per point otherwise (cron).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING

from analytics.cli import CliError, add_db_argument, db_path
from analytics.cli.collect import (
    EXIT_BUSY,
    EXIT_FAILED,
    add_recording_and_lake_arguments,
    append_to_lake,
    check_lake_argument,
    retry_policy,
    run_collector_step,
    run_with_collector,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

log = logging.getLogger("analytics.cli.backfill")

HELP = "Backfill past epochs (from an archive node) into a DuckDB file, one snapshot per point."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Exit codes: 0 every point stored; 1 some subnet failed (rerun to fill it in); 2 bad input, "
        "nothing written; 3 another collection run holds the lock."
    )
    start = parser.add_mutually_exclusive_group(required=True)
    start.add_argument("--since", help="first point: a UTC date YYYY-MM-DD (or YYYY-MM-DDTHH:MM)")
    start.add_argument("--start-block", type=int, help="first point: a block number")
    end = parser.add_mutually_exclusive_group()
    end.add_argument("--until", help="last point at or before this UTC date (default: the head)")
    end.add_argument("--end-block", type=int, help="last point at or before this block (default: the head)")
    parser.add_argument(
        "--every", default="week", help="epoch, day, week (default) or a number of blocks between points"
    )
    parser.add_argument("--netuid", default="all", help="'all' (default: every subnet but root) or 1,3,5")
    add_db_argument(parser, "collect")
    parser.add_argument(
        "--network", default="archive", help="archive (default), finney, test, local or a ws(s):// URL"
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per subnet per attempt")
    parser.add_argument("--tries", type=int, default=4, help="attempts per subnet (default 4)")
    parser.add_argument("--backoff", type=float, default=5.0, help="seconds before the first retry")
    add_recording_and_lake_arguments(parser)


def _date(text: str, flag: str, collector: ModuleType) -> datetime:
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise collector.CollectorError(f"{flag} {text!r} is not a date: use YYYY-MM-DD (UTC)")


class _Progress:
    """A rich bar with ETA over points on a terminal; a log line per point otherwise."""

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.last_point: int | None = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("points  ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.bar.start()
            # The bar says what the per-point info lines would; warnings and errors still print.
            self.logger = logging.getLogger("analytics")
            self.level = self.logger.level
            self.logger.setLevel(logging.WARNING)

    def __call__(self, done: int, total: int, point: int, subnets_done: int, subnets: int) -> None:
        if self.bar is None:
            return  # the collector logs one line per point
        if self.task is None:
            self.task = self.bar.add_task("backfill", total=total)
        self.bar.update(
            self.task, completed=done, description=f"block {point}: {subnets_done}/{subnets} subnets"
        )

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.logger.setLevel(self.level)
            self.bar = None


def run(args: argparse.Namespace) -> int:
    return run_with_collector(_run, args)


def _run(args: argparse.Namespace, collector: ModuleType) -> int:
    try:
        network = collector.check_network(args.network)
        netuids = collector.parse_netuids(args.netuid)
        collector.parse_every(args.every)
        since = _date(args.since, "--since", collector) if args.since else None
        until = _date(args.until, "--until", collector) if args.until else None
        for flag, value in (("--start-block", args.start_block), ("--end-block", args.end_block)):
            if value is not None and value < 0:
                raise collector.CollectorError(f"{flag} must be a block number, not {value}")
        if since and until and until < since:
            raise collector.CollectorError(f"--until {args.until} is before --since {args.since}")
        if args.start_block is not None and args.end_block is not None and args.end_block < args.start_block:
            raise collector.CollectorError(
                f"--end-block {args.end_block} is before --start-block {args.start_block}"
            )
        policy = retry_policy(args, collector)
        target = collector.check_db_path(db_path(args, "collect"))
        start, end = asyncio.run(
            collector.resolve_range(
                collector.client_for(network, record=args.record, replay=args.replay),
                since=since,
                until=until,
                start_block=args.start_block,
                end_block=args.end_block,
                policy=policy,
            )
        )
    except collector.CollectorError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # the node could not be asked
        raise CliError(f"cannot reach {args.network}: {collector._describe(exc)}") from None
    check_lake_argument(args)

    progress = _Progress()
    summary = run_collector_step(
        collector,
        args,
        progress,
        lambda client: collector.backfill(
            client,
            target,
            start_block=start,
            end_block=end,
            every=args.every,
            netuids=netuids,
            policy=policy,
            progress=progress,
        ),
    )
    if summary is None:
        return EXIT_BUSY

    written = sum(len(v) for v in summary.stored.values())
    log.info(
        "%d point(s) from block %d to %d: %d subnet snapshot(s) written, %d point(s) already stored",
        len(summary.points),
        start,
        end,
        written,
        len(summary.already),
    )
    if summary.ok:
        return append_to_lake(args, target)
    for point, failures in sorted(summary.failed.items()):
        for netuid, reason in sorted(failures.items()):
            log.error(
                "point %d, %s failed: %s", point, "the run" if netuid < 0 else f"subnet {netuid}", reason
            )
    log.error("some subnets failed; rerun the same command to fill them in: exit %d", EXIT_FAILED)
    return EXIT_FAILED
