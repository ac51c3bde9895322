"""`python -m analytics check`: recompute stored epochs with the engine and compare with what was stored.

For every epoch-aligned subnet of the chosen snapshot(s) it runs the engine on the stored inputs and
compares, uid by uid, C, Tv, D, stake weight, emission, active and permits (netuid level) and each
mechanism's incentive and bonds. Where the snapshot holds the money path (schema 2), it also pays the
epoch out with ``analytics.model.returns`` and compares, hotkey by hotkey in rao, the nominators'
alpha and root dividends with the amounts the chain recorded, and E with its stored parts: "verified
to the rao", or which values differ. Prints one line per subnet and a summary; exit 0 when every value
matches, 1 when any differs, 2 for bad input (missing / locked / corrupt database, unknown snapshot
or subnet). Read-only: it never writes to the database.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import signal
import sys
from collections.abc import Callable

from analytics.cli import CliError, add_db_argument, db_path

HELP = "Recompute stored epochs with the Yuma engine and report where they differ from the stored values."

SHORT = {
    "consensus": "C",
    "validator_trust": "Tv",
    "dividends": "D",
    "stake_weight": "S",
    "emission": "E",
    "active": "active",
    "validator_permit": "permit",
    "incentive": "I",
    "bonds": "bonds",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--snapshot", type=int, default=None, help="snapshot id (default: the latest)")
    which.add_argument("--all", action="store_true", help="check every snapshot")
    parser.add_argument("--netuid", type=int, default=None, help="only this subnet")
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=0,
        metavar="N",
        help="processes checking snapshots side by side (default: auto, every core once the run holds "
        f"{PARALLEL_FROM_EPOCHS} subnet epochs or more; the output is the same, in the same order)",
    )


MONEY_NAMES = {
    "alpha_dividends": "alpha dividends",
    "root_alpha_dividends": "root dividends",
    "epoch_emission": "E",
}


def _describe_money(rows: list[tuple[str, int, int, int, str]] | None) -> tuple[str, bool]:
    """('money: verified to the rao (...)' or what differs, differs?) for one subnet's payout, from
    snapshot.payout_rows (field, compared, mismatches, max_abs_diff, note)."""
    if rows is None:
        return "money: not stored (snapshot predates the money path)", False
    bad = [r for r in rows if r[2] > 0]
    hotkeys = max(r[1] for r in rows if r[0] != "epoch_emission")
    if not bad:
        return f"money: verified to the rao ({hotkeys} hotkeys' dividends, E)", False
    parts = []
    for name, compared, mismatches, max_abs, _note in bad:
        if name == "epoch_emission":
            parts.append(f"{MONEY_NAMES[name]} differs by {max_abs} rao")
        else:
            parts.append(
                f"{MONEY_NAMES[name]} {mismatches}/{compared} hotkeys differ (max |Δ| {max_abs} rao)"
            )
    return "money: DIFFERS - " + ", ".join(parts), True


def _describe(rows: list[tuple[int, int, str, int, int, int, str]]) -> str:
    """'C ok  Tv ok ... | mech 0: I ok bonds 2 uids (max |Δ| 1)', from snapshot.output_rows."""

    def cell(row: tuple[int, int, str, int, int, int, str]) -> str:
        _netuid, _mechid, name, compared, mismatches, max_abs, note = row
        if note:
            return f"{SHORT[name]} skipped ({note})"
        if mismatches == 0:
            return f"{SHORT[name]} ok"
        return f"{SHORT[name]} {mismatches}/{compared} uids differ (max |Δ| {max_abs})"

    parts = ["  ".join(cell(r) for r in rows if r[1] == -1)]
    for mechid in sorted({r[1] for r in rows if r[1] >= 0}):
        parts.append(f"mech {mechid}: " + "  ".join(cell(r) for r in rows if r[1] == mechid))
    return " | ".join(parts)


def _jobs(text: str) -> int:
    """--jobs: a positive number of processes, or 'auto'."""
    if text == "auto":
        return 0
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a number of processes: {text!r} (a number >= 1 or 'auto')"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs must be at least 1, not {value}")
    return value


# With --jobs auto, check in parallel from this many subnet epochs on: below it starting the worker
# processes costs more than it saves (the demo's 8 epochs run in one process).
PARALLEL_FROM_EPOCHS = 512


def _cores() -> int:
    """The processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


Counts = tuple[int, int, int]  # (checked, differing, skipped)


def check_snapshots(
    db: str | os.PathLike[str], snapshot_ids: list[int], netuid: int | None, emit: Callable[[str], None]
) -> Counts:
    """Check the given snapshots in order, passing each output line to ``emit``; the counts.
    CliError / StoreError as run reports them."""
    from analytics.data import snapshot

    netuids = None if netuid is None else [netuid]
    checked = differing = skipped = 0
    for loaded in snapshot.iter_snapshots(db, snapshot_ids, netuids, money=True):
        sid, meta, subnets = loaded.snapshot_id, loaded.meta, loaded.subnets
        if netuid is not None and subnets.empty:
            raise CliError(f"subnet {netuid} is not in snapshot {sid}")
        emit(
            f"snapshot {sid} ({meta['network']}, block {meta['block']}, {meta['source']}): {len(subnets)} subnets"
        )
        for key in (int(k) for k in subnets["netuid"]):
            if key not in loaded.subnet:
                emit(f"  subnet {key:>3}: skipped (not epoch-aligned: inputs and outputs are from one block)")
                skipped += 1
                continue
            sub = loaded.subnet[key]
            try:
                result = sub.recompute(lean=True)
                rows = snapshot.output_rows(sub, result)
            except ValueError as exc:
                emit(f"  subnet {key:>3}: DIFFERS - the engine rejected the stored inputs: {exc}")
                differing += 1
                continue
            inputs = loaded.payout_inputs(key)
            money_rows = None if inputs is None else snapshot.payout_rows(sub, result, inputs)[0]
            money, money_bad = _describe_money(money_rows)
            bad = any(r[4] > 0 for r in rows) or money_bad
            differing += bad
            checked += 1
            verdict = "DIFFERS" if bad else "ok"
            emit(f"  subnet {key:>3}: {verdict:<7} {_describe(rows)} | {money}")
    return checked, differing, skipped


def _worker_start() -> None:
    """A worker leaves Ctrl-C to the parent, which stops the pool (no traceback per worker), reads
    with one DuckDB thread (the workers already keep every core busy), keeps its connection open
    from task to task (store.SHARED_READER: opening one costs as much as a few subnets' epochs) and
    keeps the garbage collector off what it inherited."""
    from analytics.data import store

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store.READ_THREADS = 1
    store.keep_reader_open()
    # The modules imported so far are permanent: the garbage collector's full passes need not walk them
    # (measured: a few percent of a worker's CPU). The worker exits at the end of the run.
    gc.collect()
    gc.freeze()


def _check_part(db: str, snapshot_ids: list[int], netuid: int | None) -> tuple[list[str], Counts]:
    """check_snapshots in a worker process: its lines and counts, for the parent to print in order."""
    lines: list[str] = []
    counts = check_snapshots(db, snapshot_ids, netuid, lines.append)
    return lines, counts


def _parts(snapshot_ids: list[int], jobs: int) -> list[list[int]]:
    """The run cut into tasks, in order, each a (2 x jobs)-th of the snapshots left (guided
    scheduling): long tasks first (each reads its small tables once), then shorter ones down to
    one snapshot, so the workers finish within a snapshot of each other (equal tasks of six per
    worker left one worker idle for up to half a task at the end)."""
    parts = []
    start = 0
    while start < len(snapshot_ids):
        size = max(1, math.ceil((len(snapshot_ids) - start) / (2 * jobs)))
        parts.append(snapshot_ids[start : start + size])
        start += size
    return parts


def _check_parallel(db: str, snapshot_ids: list[int], netuid: int | None, jobs: int) -> Counts:
    """check_snapshots over ``jobs`` worker processes, each with its own read-only connection; the
    lines are printed in snapshot order, as one process prints them. Ctrl-C or an error stops the
    workers at once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    parts = _parts(snapshot_ids, jobs)
    method = "fork" if sys.platform == "linux" else "spawn"  # fork: no re-import per worker
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(parts)),
        mp_context=multiprocessing.get_context(method),
        initializer=_worker_start,
    )
    total = [0, 0, 0]
    done = False
    try:
        futures = [pool.submit(_check_part, db, part, netuid) for part in parts]
        for future in futures:
            lines, counts = future.result()
            if lines:
                print("\n".join(lines))
            total = [a + b for a, b in zip(total, counts, strict=True)]
        done = True
    finally:
        if not done:  # interrupted or failed: stop the workers now, not after their running tasks
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
    return total[0], total[1], total[2]


def run(args: argparse.Namespace) -> int:
    from analytics.data import store

    db = db_path(args)
    try:
        epochs = 0
        if args.all:
            listed = store.list_snapshots(db)
            snapshot_ids = sorted(int(s) for s in listed["snapshot_id"])
            epochs = int(listed["subnet_count"].sum())
            if not snapshot_ids:
                raise CliError(f"{db} holds no snapshots")
        elif args.snapshot is not None:
            store.snapshot_meta(db, args.snapshot)  # StoreError when unknown
            snapshot_ids = [args.snapshot]
        else:
            latest = store.latest_snapshot_id(db)
            if latest is None:
                raise CliError(f"{db} holds no snapshots")
            snapshot_ids = [latest]

        jobs = args.jobs
        if jobs == 0:  # auto: every core for a long run, one process for a short one
            jobs = _cores() if args.netuid is None and epochs >= PARALLEL_FROM_EPOCHS else 1
        if jobs > 1 and len(snapshot_ids) > 1:
            checked, differing, skipped = _check_parallel(str(db), snapshot_ids, args.netuid, jobs)
        else:
            checked, differing, skipped = check_snapshots(db, snapshot_ids, args.netuid, print)
    except store.StoreError as exc:
        raise CliError(str(exc)) from None

    summary = f"{checked} subnet epochs recomputed, {differing} differ from the stored values"
    if skipped:
        summary += f", {skipped} not aligned (skipped)"
    print(summary)
    return 1 if differing else 0
