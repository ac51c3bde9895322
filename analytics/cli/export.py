"""`python -m analytics export`: write a table the pages show as CSV, byte for byte the same file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.cli import CliError, add_db_argument, chosen_snapshot, db_path
from analytics.data import files, store
from analytics.views import export

HELP = "write a table the app shows (neurons, weights, validators, consensus, subnets, history) as CSV, byte for byte"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", required=True, choices=list(export.TABLES), help="which table")
    parser.add_argument("--netuid", type=int, help="subnet (every table but subnets)")
    parser.add_argument("--mechid", type=int, default=0, help="incentive mechanism (default 0)")
    parser.add_argument(
        "--snapshot", type=int, help="snapshot id (default: the newest; for history: whose network to follow)"
    )
    add_db_argument(parser)
    parser.add_argument("--miner", type=int, help="weights only: keep one miner's column")
    parser.add_argument("--validator", help="weights only: keep one validator's row (hotkey or uid)")
    parser.add_argument("--out", required=True, help="output file, or - for stdout")


def _validator_uid(db: str, snapshot_id: int, netuid: int, value: str) -> int:
    if value.strip().isdigit():
        return int(value)
    neurons = store.neurons(db, snapshot_id, netuid)
    match = neurons.loc[neurons["hotkey"] == value, "uid"]
    if match.empty:
        raise CliError(f"hotkey {value} is not registered on subnet {netuid} in snapshot {snapshot_id}")
    return int(match.iloc[0])


def _write_atomically(out: str, data: bytes) -> None:
    """Write to a temporary file next to `out`, then rename: never a half-written CSV."""
    target = Path(out)
    if target.is_dir():
        raise CliError(f"--out {out} is a directory")
    if not target.parent.exists():
        raise CliError(f"directory {target.parent} does not exist")
    files.atomic_write(target, data)


def run(args: argparse.Namespace) -> int:
    db = str(db_path(args))
    try:
        snapshot_id = chosen_snapshot(db, args.snapshot)
        subnets = store.subnets(db, snapshot_id)
        if subnets.empty and args.snapshot is not None:
            raise CliError(f"no snapshot {snapshot_id} in {db} (or it holds no subnet)")
        if args.netuid is None and args.table not in export.SNAPSHOT_TABLES:
            raise CliError(f"--netuid is required for --table {args.table}")
        if args.netuid is not None and args.netuid not in set(subnets["netuid"].astype(int)):
            known = ", ".join(str(n) for n in sorted(subnets["netuid"].astype(int))) or "none"
            raise CliError(f"subnet {args.netuid} is not in snapshot {snapshot_id} (subnets: {known})")
        filters: dict[str, int] = {}
        if args.table != "weights" and (args.miner is not None or args.validator is not None):
            raise CliError("--miner and --validator apply to --table weights only")
        if args.miner is not None:
            filters["miner"] = args.miner
        if args.validator is not None:
            filters["validator"] = _validator_uid(db, snapshot_id, args.netuid, args.validator)
        df = export.build_table(db, args.table, snapshot_id, args.netuid, args.mechid, **filters)
    except store.StoreError as exc:
        raise CliError(str(exc)) from None
    data = export.csv_bytes(df)
    if args.out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        _write_atomically(args.out, data)
        print(f"wrote {len(df)} rows to {args.out}", file=sys.stderr)
    return 0
