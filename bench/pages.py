"""Time every page's script run (Streamlit AppTest) on the demo and on a year of history.

    python bench/pages.py [--db PATH ...] [--runs 5]

Default databases: a copy of the demo in bench/out/demo.duckdb (built if missing) and
bench/out/history.duckdb when it exists (make it with `python bench/history.py`: 52 weekly snapshots
x 128 subnets). For each page it prints the first run with empty caches ("cold": st.cache_data and
the analysis memo cleared, modules already imported) and the median of the following runs ("warm",
what a user gets on every click after the first). Target from issue 6: <= 1 s per run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from analytics.data import demo, store  # noqa: E402
from analytics.views import export  # noqa: E402

PAGES = {
    "Overview": None,
    "Stake": "pages/0_Stake.py",
    "Validators": "pages/1_Validators.py",
    "Miner": "pages/2_Miner.py",
    "Validator detail": "pages/3_Validator_detail.py",
    "Weight matrix": "pages/4_Weight_matrix.py",
    "History": "pages/5_History.py",
}
TARGET_S = 0.5  # issue 16: every page <= 0.5 s cold at 260 weekly snapshots of 128 subnets
PAGE_TARGET_S = {"Stake": 1.0}  # issue 15: the Stake page spans every subnet, <= 1 s cold
ALL_SUBNETS = {"Stake"}  # pages whose default view spans every subnet


def clear_caches() -> None:
    st.cache_data.clear()
    export._analysis.cache_clear()


def time_page(page: str | None, params: dict[str, str], runs: int) -> tuple[float, float]:
    """(cold seconds, warm median seconds) of one page's script run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()  # the entry page once: navigation registered, imports done
    if page is not None:
        at.switch_page(page)
    clear_caches()
    at.query_params = dict(params)
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    if at.exception or at.error:
        problems = [e.value for e in [*at.exception, *at.error]]
        raise SystemExit(f"{page or 'app.py'} failed: {problems}")
    warm = []
    for _ in range(runs):
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm)


def bench(db: Path, runs: int, only: set[str] | None = None) -> list[tuple[str, float, float]]:
    os.environ["METAGRAPH_LENS_DB"] = str(db)
    snaps = store.list_snapshots(db)
    subnets = store.subnets(db, int(snaps.iloc[0]["snapshot_id"]))
    netuid = str(int(subnets["netuid"].iloc[len(subnets) // 2]))  # a subnet in the middle of the list
    params = {"snapshot": str(int(snaps.iloc[0]["snapshot_id"])), "netuid": netuid}
    print(f"\n{db}: {len(snaps)} snapshots, {len(subnets)} subnets in the newest; subnet {netuid}")
    print(f"{'page':<18}{'cold (s)':>10}{'warm (s)':>10}")
    rows = []
    for name, page in PAGES.items():
        if only and name not in only:
            continue
        # the Stake page's netuid filters its all-subnet table: time its default view (every subnet)
        page_params = {"snapshot": params["snapshot"]} if name in ALL_SUBNETS else params
        cold, warm = time_page(page, page_params, runs)
        target = PAGE_TARGET_S.get(name, TARGET_S)
        flag = "" if max(cold, warm) <= target else f"   over the {target} s target"
        print(f"{name:<18}{cold:>10.3f}{warm:>10.3f}{flag}", flush=True)
        rows.append((name, cold, warm))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, action="append", help="database(s) to time (repeatable)")
    parser.add_argument("--runs", type=int, default=5, help="warm runs per page (median printed)")
    parser.add_argument(
        "--page", action="append", choices=list(PAGES), help="time only these pages (repeatable)"
    )
    args = parser.parse_args(argv)
    dbs = args.db
    if not dbs:
        out = ROOT / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        dbs = [demo.ensure_demo_db(out / "demo.duckdb")]
        history = out / "history.duckdb"
        if history.exists():
            dbs.append(history)
        else:
            print(f"({history} missing: run `python bench/history.py` for the year-of-history figures)")
    worst = 0.0
    for db in dbs:
        for _, cold, warm in bench(Path(db), args.runs, set(args.page or [])):
            worst = max(worst, cold, warm)
    print(f"\nslowest run: {worst:.3f} s (target {TARGET_S} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
