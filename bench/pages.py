"""Time every page's script run (Streamlit AppTest) on the demo and on years of history.

    python bench/pages.py [--db PATH ...] [--runs 5] [--cold-runs 3] [--page NAME ...]

Default databases: a copy of the demo in bench/out/demo.duckdb (built if missing) and
bench/out/history.duckdb when it exists (make it with `python bench/history.py`: 52 weekly snapshots
x 128 subnets; `--weeks 260 --generate 4` for issue 16's five years). For each page it prints the
cold run ("cold": st.cache_data, the analysis memo and the app's shared DuckDB connection cleared,
modules already imported, plotly.express included, which app.py does not import: a user's first view of
the page after an idle second, in a server that has run for a while), as the minimum and
the median of ``--cold-runs`` such runs, and the median of the following runs ("warm", what a user
gets on every click after the first), with the load average before and after (the machine may be
shared: a figure over target with a high load is worth a rerun). Targets: issue 16, every page
<= 0.5 s cold at 260 weekly snapshots of 128 subnets.
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

import plotly.express  # noqa: E402,F401  (imported once per server process: not part of a page's view)
import streamlit as st  # noqa: E402
from streamlit.logger import set_log_level  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from analytics import ss58  # noqa: E402
from analytics.data import demo, store  # noqa: E402
from analytics.views import export  # noqa: E402
from bench.common import load, run, verdict  # noqa: E402

PAGES = {
    "Overview": None,
    "Stake": "pages/0_Stake.py",
    "Validators": "pages/1_Validators.py",
    "Miner": "pages/2_Miner.py",
    "Validator detail": "pages/3_Validator_detail.py",
    "Weight matrix": "pages/4_Weight_matrix.py",
    "History": "pages/5_History.py",
    "Emission split": "pages/6_Emission_split.py",
    "What-if": "pages/7_What_if.py",
    "Mechanism lab": "pages/8_Mechanism_lab.py",
    "Watchlist": "pages/9_Watchlist.py",
}
# pages/overview.py only re-runs app.py (the Overview, timed as "Overview"): every other page is timed.
assert {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")} - {"pages/overview.py"} == {
    v for v in PAGES.values() if v
}, "bench/pages.py: a page in pages/ is not timed; add it to PAGES"
TARGET_S = 0.5  # issue 16: every page <= 0.5 s cold at 260 weekly snapshots of 128 subnets
PAGE_TARGET_S: dict[str, float] = {}
ALL_SUBNETS = {"Stake"}  # pages whose default view spans every subnet


def clear_caches() -> None:
    """What a first view after an idle second finds: no cached results, no open DuckDB connection (the
    app's shared reader closes after a second idle)."""
    # Clearing caches outside a script run logs two warnings: noise between the figures. Set here, not
    # once at import: each AppTest run sets Streamlit's log level back from its config.
    set_log_level("error")
    st.cache_data.clear()
    export._analysis.cache_clear()
    store.SHARED_READER.close()


def time_page(page: str | None, params: dict[str, str], runs: int) -> tuple[float, list[float]]:
    """(cold seconds, warm seconds of each following run) of one page's script run."""
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
    return cold, warm


def page_params(db: Path) -> tuple[dict[str, str], str]:
    """The query parameters every page gets: the newest snapshot and a subnet in the middle of the list
    (plus, for the Watchlist, its first validator's hotkey when it is an SS58 address)."""
    snaps = store.list_snapshots(db)
    snapshot_id = int(snaps.iloc[0]["snapshot_id"])
    subnets = store.subnets(db, snapshot_id)
    netuid = int(subnets["netuid"].iloc[len(subnets) // 2])
    params = {"snapshot": str(snapshot_id), "netuid": str(netuid)}
    neurons = store.neurons(db, snapshot_id, netuid)
    validators = neurons[neurons["validator_permit"]]
    hotkey = str(validators["hotkey"].iloc[0]) if len(validators) else ""
    if ss58.is_valid(hotkey):
        params["watch"] = hotkey
    return params, f"{len(snaps)} snapshots, {len(subnets)} subnets in the newest; subnet {netuid}"


def bench(
    db: Path, runs: int, cold_runs: int = 1, only: set[str] | None = None
) -> list[tuple[str, float, float, float]]:
    """Per page: (name, cold min, cold median, warm median) in seconds."""
    os.environ["METAGRAPH_LENS_DB"] = str(db)
    params, about = page_params(db)
    print(f"\n{db}: {about}\n{load()}")
    print(f"{'page':<18}{'cold min':>10}{'cold med':>10}{'warm med':>10}")
    rows = []
    for name, page in PAGES.items():
        if only and name not in only:
            continue
        # the Stake page's netuid filters its all-subnet table: time its default view (every subnet)
        keep = (
            {"snapshot"}
            if name in ALL_SUBNETS
            else set(params) - ({"watch"} if name != "Watchlist" else set())
        )
        colds, warms = [], []
        for _ in range(max(cold_runs, 1)):
            cold, warm = time_page(page, {k: v for k, v in params.items() if k in keep}, runs)
            colds.append(cold)
            warms.extend(warm)
        cold_min, cold_med = min(colds), statistics.median(colds)
        warm_med = statistics.median(warms) if warms else float("nan")
        target = PAGE_TARGET_S.get(name, TARGET_S)
        flag = "" if max(cold_med, warm_med if warms else 0.0) <= target else f"   over the {target} s target"
        print(f"{name:<18}{cold_min:>10.3f}{cold_med:>10.3f}{warm_med:>10.3f}{flag}", flush=True)
        rows.append((name, cold_min, cold_med, warm_med))
    print(load())
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, action="append", help="database(s) to time (repeatable)")
    parser.add_argument("--runs", type=int, default=5, help="warm runs per page (median printed)")
    parser.add_argument(
        "--cold-runs", type=int, default=1, help="cold runs per page, each in a new session (min and median)"
    )
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
        for _, _, cold_med, warm_med in bench(Path(db), args.runs, args.cold_runs, set(args.page or [])):
            worst = max(worst, cold_med, warm_med)
    print(f"\nslowest page (median): {worst:.3f} s" + verdict(worst <= TARGET_S, f"<= {TARGET_S} s"))
    return 0


if __name__ == "__main__":
    run(main)
