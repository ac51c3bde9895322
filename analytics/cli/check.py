"""`python -m analytics check`: recompute stored epochs with the engine and compare with what was stored.

For every epoch-aligned subnet of the chosen snapshot(s) it runs the engine on the stored inputs and
compares, uid by uid, C, Tv, D, stake weight, emission, active and permits (netuid level) and each
mechanism's incentive and bonds. Prints one line per subnet and a summary; exit 0 when every value
matches, 1 when any differs, 2 for bad input (missing / locked / corrupt database, unknown snapshot
or subnet). Read-only: it never writes to the database.
"""

from __future__ import annotations

import argparse

import pandas as pd

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


def _describe(diff: pd.DataFrame) -> str:
    """'C ok  Tv ok ... | mech 0: I ok bonds 2 uids (max |Δ| 1)'."""

    def cell(row: pd.Series) -> str:
        if row["note"]:
            return f"{SHORT[row['field']]} skipped ({row['note']})"
        if row["mismatches"] == 0:
            return f"{SHORT[row['field']]} ok"
        return f"{SHORT[row['field']]} {row['mismatches']}/{row['compared']} uids differ (max |Δ| {row['max_abs_diff']})"

    parts = ["  ".join(cell(r) for _, r in diff[diff["mechid"] == -1].iterrows())]
    for mechid, rows in diff[diff["mechid"] >= 0].groupby("mechid"):
        parts.append(f"mech {mechid}: " + "  ".join(cell(r) for _, r in rows.iterrows()))
    return " | ".join(parts)


def run(args: argparse.Namespace) -> int:
    from analytics.data import snapshot, store

    db = db_path(args)
    try:
        if args.all:
            snapshot_ids = sorted(int(s) for s in store.list_snapshots(db)["snapshot_id"])
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

        checked = differing = skipped = 0
        for sid in snapshot_ids:
            meta = store.snapshot_meta(db, sid)
            subnets = store.subnets(db, sid)
            if args.netuid is not None:
                subnets = subnets[subnets["netuid"] == args.netuid]
                if subnets.empty:
                    raise CliError(f"subnet {args.netuid} is not in snapshot {sid}")
            print(
                f"snapshot {sid} ({meta['network']}, block {meta['block']}, {meta['source']}): {len(subnets)} subnets"
            )
            aligned = [int(k) for k in subnets[subnets["aligned"].astype(bool)]["netuid"]]
            loaded = snapshot.load_snapshot(db, sid, aligned) if aligned else {}
            for _, row in subnets.iterrows():
                netuid = int(row["netuid"])
                if netuid not in loaded:
                    print(
                        f"  subnet {netuid:>3}: skipped (not epoch-aligned: inputs and outputs are from one block)"
                    )
                    skipped += 1
                    continue
                sub = loaded[netuid]
                try:
                    diff = snapshot.compare_outputs(sub)
                except ValueError as exc:
                    print(f"  subnet {netuid:>3}: DIFFERS - the engine rejected the stored inputs: {exc}")
                    differing += 1
                    continue
                bad = int(diff["mismatches"].sum()) > 0
                differing += bad
                checked += 1
                verdict = "DIFFERS" if bad else "ok"
                print(f"  subnet {netuid:>3}: {verdict:<7} {_describe(diff)}")
    except store.StoreError as exc:
        raise CliError(str(exc)) from None

    summary = f"{checked} subnet epochs recomputed, {differing} differ from the stored values"
    if skipped:
        summary += f", {skipped} not aligned (skipped)"
    print(summary)
    return 1 if differing else 0
