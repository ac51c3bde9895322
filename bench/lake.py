"""Parquet lake speed and size: export a year of weekly snapshots, then the Overview and History page
queries on the local lake against the DuckDB file.

    python bench/lake.py [--db bench/out/history.duckdb] [--lake bench/out/lake] [--runs 5]

Make the database first with `python bench/history.py` (52 weekly snapshots x 128 subnets). Prints
the export time and size, a per-snapshot size and what a per-epoch deployment (20 snapshots a day)
stores per month, then per query the first call ("cold": the lake's commit opened, nothing cached) and
the median of the next runs on each, with the ratio lake / DuckDB (target <= 2x).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.data import lake, store  # noqa: E402
from analytics.views import export  # noqa: E402

EPOCHS_PER_DAY = 20  # 7200 blocks a day / tempo 360


def _size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def _time(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "history.duckdb")
    parser.add_argument("--lake", type=Path, default=ROOT / "bench" / "out" / "lake")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.db.exists():
        print(f"error: {args.db} does not exist: run `python bench/history.py` first", file=sys.stderr)
        return 2
    shutil.rmtree(args.lake, ignore_errors=True)

    snaps = store.list_snapshots(args.db)
    start = time.perf_counter()
    summary = lake.export(args.db, args.lake)
    took = time.perf_counter() - start
    size, files = _size(args.lake)
    start = time.perf_counter()
    again = lake.export(args.db, args.lake)
    noop = time.perf_counter() - start
    n = len(snaps)
    per_snapshot = size / n
    db_size = args.db.stat().st_size
    print(
        f"export: {n} snapshots in {took:.1f} s ({took / n:.2f} s each), {files} files, {size / 1e6:.0f} MB"
    )
    print(f"        again (nothing new): {noop:.2f} s, {len(again.exported)} snapshots written")
    print(
        f"size:   lake {per_snapshot / 1e6:.1f} MB per snapshot; DuckDB file {db_size / n / 1e6:.1f} MB per snapshot"
    )
    print(
        f"        per-epoch deployment ({EPOCHS_PER_DAY}/day): {per_snapshot * EPOCHS_PER_DAY * 30 / 1e9:.1f} GB "
        f"a month in the lake, {db_size / n * EPOCHS_PER_DAY * 30 / 1e9:.1f} GB as DuckDB"
    )
    assert summary.exported and not again.exported

    latest = int(snaps["snapshot_id"].iloc[0])
    network = str(snaps["network"].iloc[0])
    netuid = 1
    queries: dict[str, Callable[[str], object]] = {
        "Overview: snapshots": lambda db: store.list_snapshots(db),
        "Overview: subnets table": lambda db: export.subnets_table(db, latest),
        "History: subnet across snapshots": lambda db: export.history_tables(db, netuid, network),
        "Validators: one subnet's rows": lambda db: store.snapshot_tables(db, latest, [netuid]),
    }
    print(f"\n{'query':36s} {'DuckDB cold/warm':>18s} {'lake cold/warm':>18s} {'ratio (warm)':>13s}")
    worst = 0.0
    for name, query in queries.items():
        d_cold, d_warm = _time(lambda q=query: q(str(args.db)), args.runs)
        l_cold, l_warm = _time(lambda q=query: q(str(args.lake)), args.runs)
        ratio = l_warm / d_warm
        worst = max(worst, ratio)
        print(
            f"{name:36s} {d_cold * 1000:7.0f} /{d_warm * 1000:6.0f} ms {l_cold * 1000:7.0f} /{l_warm * 1000:6.0f} ms"
            f" {ratio:11.2f}x"
        )
    print(f"\nworst warm ratio lake / DuckDB: {worst:.2f}x (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
