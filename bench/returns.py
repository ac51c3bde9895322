"""Time the staker returns over a whole network: one snapshot, and a year of weekly snapshots.

Builds (once, cached in bench/out/returns.duckdb) 52 weekly snapshots x 128 subnets x 256 UIDs with the
money path filled in (64 validators per subnet with takes, own stakes, recorded dividends and a pool
price; a few child keys), written through the store as the collector would. No weights or bonds: the
returns read only neurons, hotkeys, subnets and child_keys. Then times:

    returns_table(db)                   the full network's returns for the latest snapshot  (<= 0.2 s)
    returns_table(db, window_days=365)  every validator averaged over a year of snapshots  (<= 2 s)
    returns_history(db, netuid, hk)     one validator across the year

    python bench/returns.py [--db bench/out/returns.duckdb] [--weeks 52] [--subnets 128] [--force]

Prints the median of 5 runs of each (after one warm-up run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import ss58  # noqa: E402
from analytics.data import store  # noqa: E402
from analytics.views import returns  # noqa: E402

N_UIDS = 256
N_VALIDATORS = 64
START = datetime(2025, 11, 24)
START_BLOCK = 6_800_000
BLOCKS_PER_WEEK = 7 * 7200
RAO = 10**9


def _keys(netuid: int) -> tuple[list[str], list[str]]:
    hotkeys = [ss58.derive(f"bench:{netuid}:{uid}") for uid in range(N_UIDS)]
    coldkeys = [ss58.derive(f"bench:{netuid}:{uid % 40}:cold") for uid in range(N_UIDS)]
    return hotkeys, coldkeys


def snapshot(week: int, subnets: int, keys: dict[int, tuple[list[str], list[str]]]) -> store.SnapshotData:
    """One weekly snapshot of `subnets` subnets with the money columns filled in."""
    rng = np.random.default_rng([week, 7])
    block = START_BLOCK + week * BLOCKS_PER_WEEK
    sub_rows, neuron_parts, hot_parts, child_parts = [], [], [], []
    for netuid in range(1, subnets + 1):
        hotkeys, coldkeys = keys[netuid]
        e = block - 1 - (netuid * 37) % 360
        price = 0.002 + 0.001 * netuid
        alpha_reserve = (1_000_000 + 10_000 * netuid) * RAO
        sub_rows.append(
            {
                "netuid": netuid, "name": f"bench {netuid}", "symbol": "a", "owner_hotkey": hotkeys[0],
                "owner_coldkey": coldkeys[0], "n": N_UIDS, "tempo": 360, "kappa": 32767,
                "bonds_moving_avg": 900_000, "bonds_penalty": 65535, "activity_cutoff_factor_milli": 13889,
                "yuma3": True, "liquid_alpha": False, "alpha_low": 45875, "alpha_high": 58982,
                "alpha_sigmoid_steepness": 1000, "max_validators": 64, "commit_reveal": False,
                "tao_weight": 2**62, "stake_threshold": 0, "mechanism_count": 1, "emission_split": None,
                "epoch_emission": 100 * RAO, "aligned": True, "epoch_block": e, "inputs_block": e - 1,
                "weights_block": e - 1, "outputs_block": e, "last_mechanism_step_block": e - 360,
                "epoch_emission_source": "derived", "pending_server": 50 * RAO, "pending_validator": 40 * RAO,
                "pending_root": 10 * RAO, "owner_cut": 22 * RAO, "price_rao": int(price * RAO),
                "tao_reserve": int(alpha_reserve * price), "alpha_reserve": alpha_reserve,
                "epoch_spec_version": 459,
            }
        )  # fmt: skip
        stake = (rng.lognormal(9.5, 1.2, N_UIDS) * RAO).astype(np.int64)
        permit = np.arange(N_UIDS) < N_VALIDATORS
        zeros = np.zeros(N_UIDS, dtype=np.int64)
        neuron_parts.append(
            {
                "netuid": np.full(N_UIDS, netuid, dtype=np.int32), "uid": np.arange(N_UIDS, dtype=np.int32),
                "hotkey": hotkeys, "coldkey": coldkeys, "is_owner": np.arange(N_UIDS) == 0,
                "block_at_registration": zeros, "alpha_stake": stake.astype(np.uint64),
                "tao_stake": zeros.astype(np.uint64), "total_stake": stake.astype(np.uint64),
                "validator_permit_prev": permit, "prev_consensus": zeros.astype(np.uint16), "active": permit,
                "validator_permit": permit, "stake_weight": zeros.astype(np.uint16),
                "consensus": zeros.astype(np.uint16),
                "validator_trust": np.where(permit, rng.integers(60000, 65535, N_UIDS), 0).astype(np.uint16),
                "dividends": zeros.astype(np.uint16), "emission": zeros.astype(np.uint64),
            }
        )  # fmt: skip
        v = N_VALIDATORS
        own = stake[:v]
        divs = (own * rng.uniform(0.0003, 0.0009, v)).astype(np.int64)
        hot_parts.append(
            {
                "netuid": np.full(v, netuid, dtype=np.int32), "hotkey": hotkeys[:v],
                "uid": np.arange(v, dtype=np.int32), "coldkey": coldkeys[:v],
                "delegate_take": rng.choice([0, 3277, 11796], v).astype(np.uint16),
                "childkey_take": rng.choice([0, 655, 11796], v).astype(np.uint16),
                "alpha_stake_own": own.astype(np.uint64), "root_stake_own": np.zeros(v, dtype=np.uint64),
                "alpha_dividends": divs.astype(np.uint64), "root_alpha_dividends": np.zeros(v, dtype=np.uint64),
                "nominators": rng.integers(1, 500, v).astype(np.int32),
                "identity_name": pa.array([f"validator {netuid}.{k}" for k in range(v)]),
            }
        )  # fmt: skip
        child_parts.append(
            {
                "netuid": np.full(2, netuid, dtype=np.int32), "child_hotkey": hotkeys[5:7],
                "position": np.zeros(2, dtype=np.int32), "parent_hotkey": hotkeys[1:3],
                "proportion": pa.array([2**62, 2**63], pa.uint64()),
            }
        )  # fmt: skip
    types = {c: pa.uint64() for c in ("tao_weight", "stake_threshold", "epoch_emission", "pending_server",
             "pending_validator", "pending_root", "owner_cut", "price_rao", "tao_reserve", "alpha_reserve")}  # fmt: skip
    types["emission_split"] = pa.list_(pa.uint16())
    columns = {k: pa.array([r[k] for r in sub_rows], type=types.get(k)) for k in sub_rows[0]}
    meta = {
        "network": "bench", "block": block, "block_hash": None, "taken_at": START + timedelta(weeks=week),
        "spec_version": 459, "sdk_version": None, "source": "import", "note": "bench/returns.py",
    }  # fmt: skip
    tables = {
        "subnets": pa.table(columns),
        "neurons": pa.concat_tables([pa.table(p) for p in neuron_parts]),
        "hotkeys": pa.concat_tables([pa.table(p) for p in hot_parts]),
        "child_keys": pa.concat_tables([pa.table(p) for p in child_parts]),
    }
    return store.SnapshotData(meta=meta, tables=tables)


def build(db: Path, weeks: int, subnets: int) -> None:
    keys = {netuid: _keys(netuid) for netuid in range(1, subnets + 1)}
    started = time.perf_counter()
    for week in range(weeks):
        store.ingest_snapshot(db, snapshot(week, subnets, keys))
    print(f"built {weeks} snapshots x {subnets} subnets in {time.perf_counter() - started:.1f} s -> {db}")


def timed(label: str, fn, budget: float | None) -> None:
    """Median wall and CPU time of 5 runs. CPU time (all threads) is the figure to compare with the
    budget on a shared machine: wall time there mostly measures the wait for a free core."""
    fn()  # warm-up: the OS file cache, imports
    walls, cpus = [], []
    for _ in range(5):
        started, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    verdict = (
        "" if budget is None else ("  ok" if min(wall, cpu) <= budget else f"  OVER the {budget:g} s budget")
    )
    print(f"{label:<58} wall {wall * 1000:7.1f} ms  cpu {cpu * 1000:7.1f} ms  ({len(out)} rows){verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "returns.duckdb")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--subnets", type=int, default=128)
    parser.add_argument("--force", action="store_true", help="rebuild the database")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    if args.force and args.db.exists():
        args.db.unlink()
    if not args.db.exists():
        build(args.db, args.weeks, args.subnets)
    db = args.db
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f} (wall times stretch when load > cores)")
    hotkey = _keys(1)[0][3]
    timed("returns_table, full network, latest snapshot", lambda: returns.returns_table(db), 0.2)
    timed("returns_table, full network, 7-day window", lambda: returns.returns_table(db, window_days=7), None)
    timed(
        f"returns_table, full network, {args.weeks} weekly snapshots (365 d)",
        lambda: returns.returns_table(db, window_days=365),
        2.0,
    )
    timed(
        "returns_history, one validator over the year", lambda: returns.returns_history(db, 1, hotkey), None
    )


if __name__ == "__main__":
    main()
