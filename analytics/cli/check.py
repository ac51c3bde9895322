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

        netuids = None if args.netuid is None else [args.netuid]
        checked = differing = skipped = 0
        for loaded in snapshot.iter_snapshots(db, snapshot_ids, netuids, money=True):
            sid, meta, subnets = loaded.snapshot_id, loaded.meta, loaded.subnets
            if args.netuid is not None and subnets.empty:
                raise CliError(f"subnet {args.netuid} is not in snapshot {sid}")
            print(
                f"snapshot {sid} ({meta['network']}, block {meta['block']}, {meta['source']}): {len(subnets)} subnets"
            )
            for netuid in (int(k) for k in subnets["netuid"]):
                if netuid not in loaded.subnet:
                    print(
                        f"  subnet {netuid:>3}: skipped (not epoch-aligned: inputs and outputs are from one block)"
                    )
                    skipped += 1
                    continue
                sub = loaded.subnet[netuid]
                try:
                    result = sub.recompute()
                    rows = snapshot.output_rows(sub, result)
                except ValueError as exc:
                    print(f"  subnet {netuid:>3}: DIFFERS - the engine rejected the stored inputs: {exc}")
                    differing += 1
                    continue
                inputs = loaded.payout_inputs(netuid)
                money_rows = None if inputs is None else snapshot.payout_rows(sub, result, inputs)[0]
                money, money_bad = _describe_money(money_rows)
                bad = any(r[4] > 0 for r in rows) or money_bad
                differing += bad
                checked += 1
                verdict = "DIFFERS" if bad else "ok"
                print(f"  subnet {netuid:>3}: {verdict:<7} {_describe(rows)} | {money}")
    except store.StoreError as exc:
        raise CliError(str(exc)) from None

    summary = f"{checked} subnet epochs recomputed, {differing} differ from the stored values"
    if skipped:
        summary += f", {skipped} not aligned (skipped)"
    print(summary)
    return 1 if differing else 0
