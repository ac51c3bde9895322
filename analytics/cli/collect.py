"""`python -m analytics collect`: snapshot subnets from the chain into a DuckDB file.

Exit codes: 0 every requested subnet is stored (or that block was already stored); 1 the chain or
the database failed for at least one subnet (the others are stored; see collection_runs); 2 bad
input (nothing written); 3 another collection run holds the database's lock file. With
`--alerts FILE` a successful collect then runs the watchlist and returns the alerts' exit code
(0 delivered, 1 some delivery failed); a bad watchlist is refused before collecting (exit 2).
Progress: a bar on a terminal, one log line per subnet otherwise (cron), all on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from analytics import config
from analytics.cli import CliError, add_db_argument, db_path, stderr_log
from analytics.textsafe import safe_text

if TYPE_CHECKING:
    from analytics.data.collector import RetryPolicy

log = logging.getLogger("analytics.cli.collect")

HELP = "Snapshot subnets from the chain into a DuckDB file (epoch-aligned by default; fit for cron)."

EXIT_OK, EXIT_FAILED, EXIT_BUSY = 0, 1, 3

T = TypeVar("T")


# The app's database ($METAGRAPH_LENS_DB) when set, else data/lens.duckdb: never the demo file.
default_db_path = config.chain_db_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Exit codes: 0 every requested subnet stored (or that block already was); 1 some subnet "
        "failed (the others are stored, see the log and collection_runs); 2 bad input, nothing "
        "written; 3 another collection run holds the lock. Logs go to stderr, one UTC line per event. "
        "With --alerts FILE the exit code after a successful collect is the alerts run's."
    )
    parser.add_argument(
        "--network",
        default="finney",
        help="finney (default), test, archive, local, or a ws:// / wss:// endpoint URL",
    )
    parser.add_argument(
        "--netuid", default="all", help="'all' (default: every subnet but root) or a list like 1,3,5"
    )
    add_db_argument(parser, "collect")
    parser.add_argument(
        "--block",
        type=int,
        default=None,
        help="read everything at block B (not epoch-aligned); default: each subnet's last epoch",
    )
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds allowed per subnet per attempt (default 180)"
    )
    parser.add_argument("--tries", type=int, default=4, help="attempts per subnet (default 4)")
    parser.add_argument(
        "--backoff", type=float, default=5.0, help="seconds before the first retry; doubles each time"
    )
    parser.add_argument(
        "--alerts",
        type=Path,
        default=None,
        metavar="FILE",
        help="after a successful collect, run `alerts --config FILE` on the database (exit code: the alerts')",
    )
    add_recording_and_lake_arguments(parser)


def add_recording_and_lake_arguments(parser: argparse.ArgumentParser) -> None:
    """`--record DIR` | `--replay DIR`, `--concurrency` and the lake options: shared with backfill."""
    recording = parser.add_mutually_exclusive_group()
    recording.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="DIR",
        help="write every JSON-RPC frame sent to the node and received (runtime metadata included) to DIR/rpc.jsonl",
    )
    recording.add_argument(
        "--replay",
        type=Path,
        default=None,
        metavar="DIR",
        help="run against a recording made with --record instead of a node (offline reproduction, no network)",
    )
    parser.add_argument("--concurrency", type=int, default=128, help="subnets read at once (default 128)")
    add_lake_arguments(parser)


def add_lake_arguments(parser: argparse.ArgumentParser) -> None:
    """`--lake DIR|s3://...` and `--endpoint-url`: shared with backfill."""
    parser.add_argument(
        "--lake",
        default=None,
        metavar="DIR|s3://bucket/prefix",
        help="after a successful run, append the database's new snapshots to this Parquet lake",
    )
    parser.add_argument(
        "--endpoint-url", default=None, help="S3-compatible endpoint for --lake (default: $AWS_ENDPOINT_URL)"
    )


def append_to_lake(args: argparse.Namespace, db: Path) -> int:
    """The --lake step after a run that stored (or already had) its snapshot: EXIT_OK, or EXIT_FAILED
    with one log line when the lake cannot take it (the database keeps the data; re-run to retry)."""
    if not getattr(args, "lake", None):
        return EXIT_OK
    from analytics.cli import lake as lake_cli

    try:
        lake_cli.export_to_lake(db, args.lake, args.endpoint_url)
    except CliError as exc:
        log.error("the snapshot is in %s but the lake export failed: %s", db, exc)
        return EXIT_FAILED
    return EXIT_OK


def check_lake_argument(args: argparse.Namespace) -> None:
    """Before a run: CliError (exit 2, nothing written) when --lake cannot take a lake."""
    if getattr(args, "lake", None):
        from analytics.cli import lake as lake_cli

        lake_cli.check_lake_target(args.lake, args.endpoint_url)


class _Progress:
    """A rich progress bar on a terminal; plain log lines when stderr is a file (cron)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int, netuid: int, ok: bool) -> None:
        if not self.tty:
            if ok:
                log.info("subnet %d read (%d/%d)", netuid, done, total)
            return
        if self.bar is None:
            self.bar = Progress(
                TextColumn("collecting"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TextColumn("subnets"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[last]}"),
                console=Console(file=sys.stderr),
            )
            self.bar.start()
            self.task = self.bar.add_task("collect", total=total, last="")
        assert self.task is not None
        self.bar.update(
            self.task, completed=done, total=total, last=f"sn{netuid}" + ("" if ok else " failed, will retry")
        )

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def run(args: argparse.Namespace) -> int:
    return run_with_collector(_run, args)


def run_with_collector(
    body: Callable[[argparse.Namespace, ModuleType], int], args: argparse.Namespace
) -> int:
    """``body(args, collector)`` with log lines on stderr; the collector module is imported only here,
    when a command really collects (it imports bittensor, which is slow). Shared with backfill."""
    from analytics.data import collector

    with stderr_log():
        return body(args, collector)


class _Finishable(Protocol):
    def finish(self) -> None: ...


def run_collector_step(
    collector: ModuleType, args: argparse.Namespace, progress: _Finishable, work: Callable[[Any], T]
) -> T | None:
    """``work(client)`` (a collect or backfill writing the database) with the chain client the
    options ask for (`--network`, checked by the caller, `--record`, `--replay`), then the progress display closed.
    None when another process holds the database (its `error:` line printed: the caller exits
    EXIT_BUSY); a CliError on any other collector error. Shared with backfill."""
    try:
        result = work(collector.client_for(args.network, record=args.record, replay=args.replay))
    except collector.CollectorBusy as exc:
        progress.finish()
        print(f"error: {safe_text(str(exc))}", file=sys.stderr)
        return None
    except collector.CollectorError as exc:
        progress.finish()
        raise CliError(str(exc)) from None
    progress.finish()
    return result


def retry_policy(args: argparse.Namespace, collector: ModuleType) -> RetryPolicy:
    """The collector's RetryPolicy from `--tries`, `--timeout`, `--backoff` and `--concurrency`; a
    CollectorError when one of them is out of range. Shared with backfill."""
    if args.tries < 1 or args.timeout <= 0 or args.concurrency < 1 or args.backoff < 0:
        raise collector.CollectorError("--tries, --timeout and --concurrency must be positive")
    return collector.RetryPolicy(
        tries=args.tries, timeout=args.timeout, backoff=args.backoff, concurrency=args.concurrency
    )


def _run(args: argparse.Namespace, collector: ModuleType) -> int:
    try:
        network = collector.check_network(args.network)
        netuids = collector.parse_netuids(args.netuid)
        if args.block is not None and args.block < 0:
            raise collector.CollectorError(f"--block must be a block number, not {args.block}")
        policy = retry_policy(args, collector)
        target = collector.check_db_path(db_path(args, "collect"))
    except collector.CollectorError as exc:
        raise CliError(str(exc)) from None
    check_lake_argument(args)
    watchlist = None
    if args.alerts is not None:  # a bad watchlist fails before the long collect, not after it
        from analytics.cli import alerts as alerts_cli

        watchlist = alerts_cli.load_watchlist(args.alerts.expanduser(), None)

    progress = _Progress()
    summary = run_collector_step(
        collector,
        args,
        progress,
        lambda client: collector.collect(
            client,
            target,
            netuids=netuids,
            block=args.block,
            policy=policy,
            progress=progress,
        ),
    )
    if summary is None:
        return EXIT_BUSY

    if summary.already_stored:
        log.info("%s block %s is already in %s: nothing written", network, summary.block, target)
        return _after_success(args, target, watchlist)
    for netuid, reason in sorted(summary.failed.items()):
        log.error("%s failed: %s", "the run" if netuid < 0 else f"subnet {netuid}", reason)
    if summary.snapshot_id is not None:
        unaligned = sorted(s for s, a in summary.aligned.items() if not a and s in summary.stored)
        log.info(
            "stored snapshot %d: %d subnet(s) at anchor block %s%s",
            summary.snapshot_id,
            len(summary.stored),
            summary.block,
            f" (not epoch-aligned: {unaligned})" if unaligned and args.block is None else "",
        )
    if summary.ok:
        return _after_success(args, target, watchlist)
    log.error(
        "%d subnet(s) stored, %d failed: exit %d",
        len(summary.stored),
        len([s for s in summary.failed if s >= 0]) or 1,
        EXIT_FAILED,
    )
    return EXIT_FAILED


def _after_success(args: argparse.Namespace, target: Path, watchlist: Any) -> int:
    """After a successful collect: the lake append (`--lake`), then the watchlist (`--alerts`); the
    worse exit code of the two (the snapshot is stored either way)."""
    return max(append_to_lake(args, target), _alerts_after(target, watchlist))


def _alerts_after(target: Path, watchlist: Any) -> int:
    """After a successful collect: run the watchlist (`--alerts FILE`) and return its exit code."""
    if watchlist is None:
        return EXIT_OK
    from analytics.cli import alerts as alerts_cli

    log.info("running the watchlist %s", watchlist.path)
    return alerts_cli.execute(target, watchlist, dry_run=False, as_json=False)
