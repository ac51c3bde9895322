"""Generate a year of history for the page and check benchmarks: 52 weekly snapshots x 128 subnets.

Each subnet has 256 UIDs, 64 validator permits, takes, a pool price, three childkey relations and the
money path of schema 2 (the pending amounts of one tempo and the dividends
``analytics.model.returns.distribute`` pays), and sparse weights (every validator weights about 90%
of the miners around a shared quality vector, a few far from it); UIDs are recycled between
weeks (new hotkeys). Outputs (C, I, Tv, D, stake weight, permits, bonds, emission) come from the
project's own engine, `analytics.model.yuma.epoch`, so the pages read data shaped like the chain's
and `python -m analytics check --all` recomputes every stored epoch, money included, exactly.

    python bench/history.py [--db bench/out/history.duckdb] [--weeks 52] [--subnets 128] [--force]
        [--generate 4 [--light-copies]]

Prints the rows written and the time taken; `bench/pages.py` then times every page on it and
`bench/check.py` times `check --all`. ``--generate 4`` generates 4 weeks and copies them back to 52,
blocks shifted, weights and bonds included, so the copies check clean too (2-core dev machine: ~1 min,
~0.95 GB); ``--light-copies`` leaves the copies' weights and bonds out (pages only: ~4x smaller, but
the copies then fail `check`). Generating all 52 weeks: ~230 M rows in ~7 minutes, ~0.9 GB.
"""

from __future__ import annotations

import argparse
import functools
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
from analytics.model import returns  # noqa: E402
from analytics.model.yuma import EpochInputs, epoch  # noqa: E402

N_UIDS = 256
N_VALIDATORS = 64
TEMPO = 360
BLOCKS_PER_WEEK = 7 * 7200
START = datetime(2025, 11, 24, 0, 0, 0)
START_BLOCK = 6_800_000
RECYCLED_PER_WEEK = 4  # UIDs per subnet that get a new hotkey each week
OWNER_CUT = 11796  # SubnetOwnerCut, u16 (18%)
CHILD_EDGES = 3  # validators per subnet that take a share of another validator's stake (childkeys)
CHILD_PROPORTION = (2**64 - 1) // 4  # u64: a quarter of the parent's stake
BLOCK_ALPHA_OUT = int(2e9 * 0.41 / 0.5 / (1 - OWNER_CUT / 65535))  # rao of alpha emitted per block


def pending_amounts() -> dict[str, int]:
    """The epoch's pending amounts (rao): the coinbase's per-block split over one tempo, as on chain."""
    split = returns.block_split(BLOCK_ALPHA_OUT, owner_cut_u16=OWNER_CUT)
    return {
        "pending_server": split.server * TEMPO,
        "pending_validator": split.validator * TEMPO,
        "pending_root": split.root * TEMPO,
        "owner_cut": split.owner_cut * TEMPO,
    }


PENDING = pending_amounts()
EPOCH_EMISSION = PENDING["pending_server"] + PENDING["pending_validator"] + PENDING["pending_root"]


@functools.cache
def _key(seed: str) -> str:
    """A valid SS58 address per seed, as on the chain (the Watchlist and Stake's ?hotkey= take only those)."""
    return ss58.derive(f"bench-history:{seed}")


class SubnetState:
    """What carries over from one week to the next on one subnet: hotkeys, bonds, permits, C."""

    def __init__(self, netuid: int, rng: np.random.Generator) -> None:
        self.netuid = netuid
        self.generation = np.zeros(N_UIDS, dtype=np.int64)
        self.registered = np.full(N_UIDS, START_BLOCK - 100_000, dtype=np.int64)
        self.stake = np.zeros(N_UIDS, dtype=np.int64)
        self.stake[:N_VALIDATORS] = (rng.lognormal(9.5, 1.2, N_VALIDATORS) * 1e9).astype(np.int64)
        self.stake[N_VALIDATORS:] = (rng.lognormal(2.0, 1.0, N_UIDS - N_VALIDATORS) * 1e9).astype(np.int64)
        self.quality = rng.random(N_UIDS) ** 3
        self.bonds = np.zeros((N_UIDS, N_UIDS), dtype=np.int64)
        self.permit = np.zeros(N_UIDS, dtype=bool)
        self.permit[:N_VALIDATORS] = True
        self.prev_consensus = np.zeros(N_UIDS, dtype=np.int64)
        self.outliers = rng.choice(N_VALIDATORS, size=3, replace=False)
        self.stale = int(rng.integers(0, N_VALIDATORS))
        self.take = rng.choice([0, 3277, 5898, 11796], size=N_UIDS).astype(np.int64)  # u16 delegate takes
        self.price_rao = int(rng.lognormal(np.log(0.02), 0.8) * 1e9)  # TAO per alpha, in rao

    def hotkeys(self) -> list[str]:
        return [_key(f"hist{self.netuid:03d}u{uid:03d}g{g:03d}") for uid, g in enumerate(self.generation)]


def week_of_subnet(
    state: SubnetState, week: int, block: int, rng: np.random.Generator
) -> dict[str, pa.Table]:
    """One subnet's rows for one week, outputs from the engine."""
    n, netuid = N_UIDS, state.netuid
    # recycle a few miner UIDs: new hotkey, registration now, its bonds and old weights gone
    recycled = rng.choice(np.arange(N_VALIDATORS, n), size=RECYCLED_PER_WEEK, replace=False)
    state.generation[recycled] += 1
    state.registered[recycled] = block - int(rng.integers(1, 3000))
    state.bonds[:, recycled] = 0
    state.quality[recycled] = rng.random(RECYCLED_PER_WEEK) ** 3
    state.stake = (state.stake * rng.lognormal(0.0, 0.05, n)).astype(np.int64)
    state.quality = np.clip(state.quality + rng.normal(0, 0.02, n), 0, 1)

    # sparse weights: each validator scores ~90% of the miners around the shared quality
    scores = state.quality[None, :] * rng.lognormal(0.0, 0.15, (N_VALIDATORS, n))
    scores[state.outliers] = rng.random((len(state.outliers), n)) ** 2
    mask = rng.random((N_VALIDATORS, n)) < 0.9
    mask[:, :N_VALIDATORS] = False
    scores = np.where(mask, scores, 0.0)
    row_max = scores.max(axis=1, keepdims=True)
    row_max[row_max == 0] = 1.0
    w_u16 = np.rint(scores / row_max * 65535).astype(np.int64)
    weights = np.zeros((n, n), dtype=np.int64)
    weights[:N_VALIDATORS] = w_u16
    weights_set = np.zeros((n, n), dtype=bool)
    weights_set[:N_VALIDATORS] = mask

    last_update = np.full(n, block - 50, dtype=np.int64)
    last_update[:N_VALIDATORS] = block - rng.integers(1, 400, N_VALIDATORS)
    last_update[state.stale] = block - 9000  # beyond the activity cutoff: inactive
    last_update = np.maximum(last_update, state.registered)

    inputs = EpochInputs(
        weights=weights,
        weights_set=weights_set,
        bonds=state.bonds,
        alpha_stake=state.stake,
        last_update=last_update,
        block_at_registration=state.registered,
        validator_permit=state.permit,
        current_block=block,
        tempo=TEMPO,
        max_allowed_validators=N_VALIDATORS,
        emission=EPOCH_EMISSION,
    )
    out = epoch(inputs)

    hotkeys = state.hotkeys()
    uid = np.arange(n, dtype=np.int32)
    neurons = pa.table(
        {
            "netuid": np.full(n, netuid, dtype=np.int32),
            "uid": uid,
            "hotkey": hotkeys,
            "coldkey": [_key(f"cold{netuid:03d}{u % 97:03d}") for u in range(n)],
            "is_owner": np.zeros(n, dtype=bool),
            "block_at_registration": state.registered,
            "alpha_stake": state.stake.astype(np.uint64),
            "tao_stake": np.zeros(n, dtype=np.uint64),
            "total_stake": state.stake.astype(np.uint64),
            "validator_permit_prev": state.permit,
            "prev_consensus": state.prev_consensus.astype(np.uint16),
            "active": out.active.astype(bool),
            "validator_permit": out.new_validator_permit.astype(bool),
            "stake_weight": out.stake_weight.astype(np.uint16),
            "consensus": out.consensus.astype(np.uint16),
            "validator_trust": out.validator_trust.astype(np.uint16),
            "dividends": out.dividends.astype(np.uint16),
            "emission": out.emission.astype(np.uint64),
        }
    )
    mechanism_neurons = pa.table(
        {
            "netuid": np.full(n, netuid, dtype=np.int32),
            "mechid": np.zeros(n, dtype=np.int32),
            "uid": uid,
            "last_update": last_update,
            "commit_block": pa.nulls(n, pa.int64()),
            "prev_incentive": np.zeros(n, dtype=np.uint16),
            "incentive": out.incentive.astype(np.uint16),
        }
    )

    def long(matrix: np.ndarray, present: np.ndarray, column: str, dtype: type) -> pa.Table:
        i, j = np.nonzero(present)
        return pa.table(
            {
                "netuid": np.full(len(i), netuid, dtype=np.int32),
                "mechid": np.zeros(len(i), dtype=np.int32),
                "validator_uid": i.astype(np.int32),
                "miner_uid": j.astype(np.int32),
                column: matrix[i, j].astype(dtype),
            }
        )

    # the money path (schema 2): takes, own stake, a few childkey relations and the dividends the model
    # pays (analytics.model.returns.distribute), so `check` verifies this money to the rao too
    coldkeys = neurons["coldkey"].to_pylist()
    owner_ids = {c: k for k, c in enumerate(dict.fromkeys(coldkeys))}
    keys = returns.Keys(
        alpha_stake=state.stake,
        root_stake=np.zeros(n, dtype=np.int64),
        delegate_take=state.take,
        childkey_take=np.zeros(n, dtype=np.int64),
        owner=np.array([owner_ids[c] for c in coldkeys], dtype=np.int64),
    )
    edges = [(child, N_VALIDATORS - 1 - child) for child in range(1, CHILD_EDGES + 1)]  # (child, parent)
    payout = returns.distribute(
        np.arange(n),
        out.server_emission,
        out.validator_emission,
        keys,
        **PENDING,
        tao_weight=0,
        parents={child: [(CHILD_PROPORTION, parent)] for child, parent in edges},
    )
    hotkey_rows = pa.table(
        {
            "netuid": np.full(n, netuid, dtype=np.int32),
            "hotkey": hotkeys,
            "uid": uid,
            "coldkey": neurons["coldkey"],
            "delegate_take": state.take.astype(np.uint16),
            "childkey_take": np.zeros(n, dtype=np.uint16),
            "alpha_stake_own": state.stake.astype(np.uint64),
            "root_stake_own": np.zeros(n, dtype=np.uint64),
            "alpha_dividends": payout.alpha_nominators.astype(np.uint64),
            "root_alpha_dividends": payout.root_nominators.astype(np.uint64),
            "nominators": rng.integers(0, 500, n).astype(np.int32),
            "identity_name": [f"validator {netuid}.{u}" if u < N_VALIDATORS else None for u in range(n)],
        }
    )
    child_rows = pa.table(
        {
            "netuid": np.full(len(edges), netuid, dtype=np.int32),
            "child_hotkey": [hotkeys[c] for c, _ in edges],
            "parent_hotkey": [hotkeys[p] for _, p in edges],
            "proportion": pa.array([CHILD_PROPORTION] * len(edges), type=pa.uint64()),
            "suspended": np.zeros(len(edges), dtype=bool),
        }
    )
    tables = {
        "neurons": neurons,
        "mechanism_neurons": mechanism_neurons,
        "hotkeys": hotkey_rows,
        "child_keys": child_rows,
        "weights": long(weights, weights_set, "weight", np.uint16),
        "bonds": long(state.bonds, state.bonds > 0, "bond", np.uint16),
        "bonds_after": long(out.bonds, out.bonds > 0, "bond", np.uint16),
    }
    state.bonds = out.bonds.astype(np.int64)
    state.permit = out.new_validator_permit.astype(bool)
    state.prev_consensus = out.consensus.astype(np.int64)
    return tables


def subnet_row(netuid: int, block: int, price_rao: int) -> dict[str, object]:
    alpha_reserve = 2_000_000 * 10**9
    return {
        "netuid": netuid,
        "name": f"history-{netuid}",
        "symbol": "α",
        "owner_hotkey": _key(f"owner{netuid:03d}"),
        "owner_coldkey": _key(f"ownercold{netuid:03d}"),
        "n": N_UIDS,
        "tempo": TEMPO,
        "kappa": 32767,
        "bonds_moving_avg": 900_000,
        "bonds_penalty": 65535,
        "activity_cutoff_factor_milli": 13889,
        "yuma3": False,
        "liquid_alpha": False,
        "alpha_low": 45875,
        "alpha_high": 58982,
        "alpha_sigmoid_steepness": 1000,
        "max_validators": N_VALIDATORS,
        "commit_reveal": False,
        "tao_weight": 0,
        "stake_threshold": 0,
        "mechanism_count": 1,
        "emission_split": None,
        "epoch_emission": EPOCH_EMISSION,
        **PENDING,
        "block_alpha_out": BLOCK_ALPHA_OUT,
        "subnet_owner_cut": OWNER_CUT,
        "ck_burn": 0,
        "aligned": True,
        "epoch_block": block,
        "inputs_block": block - 1,
        "weights_block": block - 1,
        "outputs_block": block,
        "last_mechanism_step_block": block - TEMPO - 1,
        "epoch_emission_source": "model",
        "tao_reserve": alpha_reserve * price_rao // 10**9,
        "alpha_reserve": alpha_reserve,
        "price_rao": price_rao,
        "epoch_spec_version": 425,
    }


def generate(db: Path, weeks: int, subnet_count: int, seed: int = 52) -> int:
    """Write `weeks` snapshots of `subnet_count` subnets; return the number of rows written."""
    rng = np.random.default_rng(seed)
    states = [SubnetState(netuid, rng) for netuid in range(1, subnet_count + 1)]
    rows = 0
    for week in range(weeks):
        t0 = time.perf_counter()
        block = START_BLOCK + week * BLOCKS_PER_WEEK
        parts: dict[str, list[pa.Table]] = {}
        for state in states:
            for name, tbl in week_of_subnet(state, week, block, rng).items():
                parts.setdefault(name, []).append(tbl)
        tables = {name: pa.concat_tables(tbls) for name, tbls in parts.items()}
        for state in states:  # the pool price drifts week to week
            state.price_rao = max(int(state.price_rao * rng.lognormal(0.0, 0.05)), 1)
        tables["subnets"] = pa.Table.from_pylist([subnet_row(s.netuid, block, s.price_rao) for s in states])
        meta = {
            "network": "history-bench",
            "block": block,
            "block_hash": f"0x{block:064x}",
            "taken_at": START + timedelta(weeks=week),
            "spec_version": 425,
            "sdk_version": "bench",
            "source": "import",
            "note": "bench/history.py: synthetic year of history",
        }
        t1 = time.perf_counter()
        store.ingest_snapshot(db, store.SnapshotData(meta=meta, tables=tables))
        written = sum(t.num_rows for t in tables.values())
        rows += written
        print(
            f"week {week + 1:2d}/{weeks}: {written:,} rows, generated in {t1 - t0:.1f} s, "
            f"ingested in {time.perf_counter() - t1:.2f} s",
            flush=True,
        )
    return rows


# Block-valued columns: a copy moved back in time moves these by the same number of blocks, so its
# stored epoch stays the one its inputs compute (the epoch only uses differences between blocks).
BLOCK_COLUMNS = {
    "subnets": ("epoch_block", "inputs_block", "weights_block", "outputs_block", "last_mechanism_step_block"),
    "neurons": ("block_at_registration",),
    "mechanism_neurons": ("last_update", "commit_block"),
}
COPIED_TABLES = (
    "subnets",
    "neurons",
    "mechanism_neurons",
    "hotkeys",
    "child_keys",
    "subnet_summary",
    "validator_summary",
    "weights",
    "bonds",
    "bonds_after",
)


def copy_older_weeks(db: Path, generated: int, total: int, *, matrices: bool = True) -> None:
    """Prepend ``total - generated`` older weeks by copying the generated ones (issue 16: "build that
    database by copying generated weeks").

    A copy is a whole snapshot moved back in time: every table (weights and bonds included, unless
    ``matrices`` is False) with its blocks shifted by the same amount, so `check --all` recomputes every
    copy to exactly what it stores, as it does the generated weeks. Without the matrices the file is
    about 4x smaller (no page reads weights or bonds across snapshots) but the copies no longer check.
    The newest snapshots stay the generated ones, so single-snapshot pages read real data."""
    import duckdb

    con = duckdb.connect(str(db))
    try:
        wanted = (
            COPIED_TABLES
            if matrices
            else tuple(t for t in COPIED_TABLES if t not in ("weights", "bonds", "bonds_after"))
        )
        tables = [
            t
            for t in wanted
            if con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [t]
            ).fetchone()[0]
        ]
        columns = {
            t: [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall() if r[0] != "snapshot_id"]
            for t in tables
        }
        first = int(con.execute("SELECT min(snapshot_id) FROM snapshots").fetchone()[0])
        next_id = int(con.execute("SELECT max(snapshot_id) FROM snapshots").fetchone()[0]) + 1
        for k in range(total - generated):
            t0 = time.perf_counter()
            source = first + k % generated
            weeks_back = total - generated - k
            block = START_BLOCK - weeks_back * BLOCKS_PER_WEEK
            source_block = int(
                con.execute("SELECT block FROM snapshots WHERE snapshot_id = ?", [source]).fetchone()[0]
            )
            shift = block - source_block
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "INSERT INTO snapshots SELECT ? AS snapshot_id, network, ? AS block, block_hash || ?,"
                " ? AS taken_at, spec_version, sdk_version, source, note"
                " FROM snapshots WHERE snapshot_id = ?",
                [next_id, block, f"-copy{k}", START - timedelta(weeks=weeks_back), source],
            )
            for t in tables:
                moved = BLOCK_COLUMNS.get(t, ())
                select = ", ".join(f"{c} + {shift}" if c in moved else c for c in columns[t])
                con.execute(
                    f"INSERT INTO {t} (snapshot_id, {', '.join(columns[t])}) SELECT ?, {select} FROM {t} WHERE snapshot_id = ?",
                    [next_id, source],
                )
            con.execute("COMMIT")
            print(
                f"copy {k + 1}/{total - generated}: week {source} -> block {block} in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            next_id += 1
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "history.duckdb")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--subnets", type=int, default=128)
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument(
        "--generate",
        type=int,
        default=None,
        help="generate only this many weeks with the engine and copy them back to --weeks (fast)",
    )
    parser.add_argument(
        "--light-copies",
        action="store_true",
        help="copies without weights and bonds (~4x smaller; pages only: the copies then fail `check`)",
    )
    args = parser.parse_args(argv)
    if args.db.exists():
        if not args.force:
            print(f"{args.db} exists; pass --force to replace it", file=sys.stderr)
            return 2
        args.db.unlink()
        Path(str(args.db) + ".wal").unlink(missing_ok=True)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    generated = min(args.generate or args.weeks, args.weeks)
    rows = generate(args.db, generated, args.subnets)
    if generated < args.weeks:
        copy_older_weeks(args.db, generated, args.weeks, matrices=not args.light_copies)
        # the copies bypass ingest, which re-sorts validator_summary whenever its unsorted tail is due:
        # sort it once, the layout a backfill of these weeks through ingest settles into
        store.sort_validator_summary(args.db)
        print(f"copied to {args.weeks} weeks")
    elapsed = time.perf_counter() - t0
    size = args.db.stat().st_size / 1e6
    print(f"{args.weeks} snapshots x {args.subnets} subnets: {rows:,} rows in {elapsed:.0f} s, {size:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
