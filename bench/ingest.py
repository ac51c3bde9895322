"""Ingest rate of a full-network snapshot through Arrow (targets: >= 5 M rows/s, write transaction < 1 s).

A synthetic mainnet-sized snapshot: 128 subnets x 256 UIDs, 64 validators per subnet each weighting
all 256 UIDs (128 x 64 x 256 = 2,097,152 weight rows), the same number of input bonds and of output
bonds, plus the per-uid rows. Prints, for a fresh file and for a file that already holds snapshots:
  * the write transaction alone (BEGIN .. COMMIT: what blocks readers),
  * the whole ingest_snapshot call (open, schema check, transaction, close + checkpoint),
and the rows per second of each. Run: python bench/ingest.py [--subnets 128] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.data import store

N = 256
VALIDATORS = 64


def full_network(block: int, subnets: int, seed: int = 0) -> store.SnapshotData:
    """A complete snapshot of `subnets` subnets (every table the collector writes)."""
    rng = np.random.default_rng(seed)
    netuids = np.arange(1, subnets + 1, dtype=np.int32)
    per_uid = len(netuids) * N
    uid = np.tile(np.arange(N, dtype=np.int32), len(netuids))
    net_u = np.repeat(netuids, N)
    u16 = lambda size: rng.integers(0, 65536, size, dtype=np.int64).astype(np.uint16)  # noqa: E731
    rao = lambda size: rng.integers(0, 10**15, size, dtype=np.int64).astype(np.uint64)  # noqa: E731

    pairs = len(netuids) * VALIDATORS * N
    net_p = np.repeat(netuids, VALIDATORS * N)
    validator = np.tile(np.repeat(np.arange(VALIDATORS, dtype=np.int32), N), len(netuids))
    miner = np.tile(np.arange(N, dtype=np.int32), len(netuids) * VALIDATORS)
    mech0 = np.zeros(pairs, dtype=np.int32)

    def long(value: str) -> pa.Table:
        return pa.table(
            {
                "netuid": net_p,
                "mechid": mech0,
                "validator_uid": validator,
                "miner_uid": miner,
                value: u16(pairs),
            }
        )

    subnet_cols = {
        "netuid": netuids,
        "name": [f"subnet {k}" for k in netuids],
        "n": np.full(len(netuids), N, dtype=np.int32),
        "tempo": np.full(len(netuids), 360, dtype=np.int32),
        "kappa": np.full(len(netuids), 32767, dtype=np.int32),
        "bonds_moving_avg": np.full(len(netuids), 900_000, dtype=np.int64),
        "bonds_penalty": np.full(len(netuids), 65535, dtype=np.int32),
        "activity_cutoff_factor_milli": np.full(len(netuids), 13889, dtype=np.int32),
        "yuma3": np.ones(len(netuids), dtype=bool),
        "liquid_alpha": np.zeros(len(netuids), dtype=bool),
        "alpha_low": np.full(len(netuids), 45875, dtype=np.int32),
        "alpha_high": np.full(len(netuids), 58982, dtype=np.int32),
        "alpha_sigmoid_steepness": np.full(len(netuids), 1000, dtype=np.int32),
        "max_validators": np.full(len(netuids), 64, dtype=np.int32),
        "commit_reveal": np.ones(len(netuids), dtype=bool),
        "tao_weight": np.full(len(netuids), 2**61, dtype=np.uint64),
        "stake_threshold": np.zeros(len(netuids), dtype=np.uint64),
        "mechanism_count": np.ones(len(netuids), dtype=np.int32),
        "aligned": np.ones(len(netuids), dtype=bool),
        "epoch_block": np.full(len(netuids), block - 5, dtype=np.int64),
        "inputs_block": np.full(len(netuids), block - 6, dtype=np.int64),
        "weights_block": np.full(len(netuids), block - 5, dtype=np.int64),
        "outputs_block": np.full(len(netuids), block - 5, dtype=np.int64),
        "last_mechanism_step_block": np.full(len(netuids), block - 365, dtype=np.int64),
    }
    neurons = {
        "netuid": net_u,
        "uid": uid,
        "hotkey": [f"5hotkey{k:08d}" for k in range(per_uid)],
        "coldkey": [f"5coldkey{k:08d}" for k in range(per_uid)],
        "is_owner": uid == 0,
        "block_at_registration": rng.integers(0, block, per_uid),
        "alpha_stake": rao(per_uid),
        "tao_stake": rao(per_uid),
        "total_stake": rao(per_uid),
        "validator_permit_prev": uid < VALIDATORS,
        "prev_consensus": u16(per_uid),
        "active": np.ones(per_uid, dtype=bool),
        "validator_permit": uid < VALIDATORS,
        "stake_weight": u16(per_uid),
        "consensus": u16(per_uid),
        "validator_trust": u16(per_uid),
        "dividends": u16(per_uid),
        "emission": rao(per_uid),
    }
    mech = {
        "netuid": net_u,
        "mechid": np.zeros(per_uid, dtype=np.int32),
        "uid": uid,
        "last_update": rng.integers(0, block, per_uid),
        "commit_block": pa.nulls(per_uid, pa.int64()),
        "prev_incentive": u16(per_uid),
        "incentive": u16(per_uid),
    }
    return store.SnapshotData(
        meta={
            "network": "bench",
            "block": block,
            "block_hash": None,
            "taken_at": datetime(2026, 1, 1),
            "spec_version": 425,
            "sdk_version": None,
            "source": "import",
            "note": "bench/ingest.py",
        },
        tables={
            "subnets": pa.table(subnet_cols),
            "neurons": pa.table(neurons),
            "mechanism_neurons": pa.table(mech),
            "weights": long("weight"),
            "bonds": long("bond"),
            "bonds_after": long("bond"),
        },
    )


def timed_ingest(db: Path, snap: store.SnapshotData) -> tuple[float, float, float]:
    """(wall s of the write transaction, CPU s of it, wall s of the whole ingest_snapshot-equivalent call).

    CPU time (all threads) is printed too because a busy machine inflates wall time.
    """
    started = time.perf_counter()
    with store._writer(db) as con:  # the same steps as store.ingest_snapshot, timed inside
        tx_start, cpu_start = time.perf_counter(), time.process_time()
        assert store._ingest_on(con, snap) is not None
        tx, cpu = time.perf_counter() - tx_start, time.process_time() - cpu_start
    return tx, cpu, time.perf_counter() - started


def scenario(label: str, snaps: list[store.SnapshotData]) -> None:
    rows = sum(t.num_rows for t in snaps[0].tables.values())
    print(f"{label}: {rows:,} rows per snapshot")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        for k, snap in enumerate(snaps):
            tx, cpu, whole = timed_ingest(db, snap)
            state = "fresh file" if k == 0 else f"after {k} snapshot(s)"
            print(
                f"  #{k + 1} ({state}): write transaction {tx:.3f} s wall = {rows / tx / 1e6:.1f} M rows/s "
                f"(CPU {cpu:.3f} s over all threads); whole call incl. open + checkpoint {whole:.3f} s"
            )
        again = time.perf_counter()
        assert store.ingest_snapshot(db, snaps[0]) is None
        print(f"  re-ingest of the same (network, block): no-op in {time.perf_counter() - again:.3f} s")
        print(f"  database size: {db.stat().st_size / 1e6:.0f} MB")
        read = time.perf_counter()
        w = store.weights(db, 1, 1, 0)
        print(
            f"  one subnet's weights ({len(w):,} rows) through a fresh read-only connection: {time.perf_counter() - read:.3f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subnets", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3, help="snapshots ingested one after another")
    args = parser.parse_args()

    snaps = [full_network(8_000_000 + k * 50_400, args.subnets, seed=k) for k in range(args.repeat)]
    print(
        f"synthetic full network: {args.subnets} subnets x {VALIDATORS} validators x {N} uids; load average {os.getloadavg()[0]:.1f}"
    )
    weights_only = [
        store.SnapshotData(
            meta=s.meta, tables={k: v for k, v in s.tables.items() if k not in ("bonds", "bonds_after")}
        )
        for s in snaps
    ]
    scenario("weights + per-uid tables (the target case)", weights_only)
    scenario("complete with dense input and output bonds (worst case)", snaps)


if __name__ == "__main__":
    main()
