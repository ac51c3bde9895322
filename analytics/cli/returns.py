"""`python -m analytics returns`: what 1000 TAO staked with each validator earns per day, after takes.

    python -m analytics returns [--db PATH] [--netuid N|all] [--hotkey SS58] [--window 1|7|30] [--json]

One row per (netuid, validator hotkey), best return first (see ``analytics.views.returns`` for the
maths: recorded nominator dividends over the hotkey's own alpha pool, at the pool's spot price of the
snapshot's epoch block). ``--window 7`` / ``30`` averages the per-epoch rates of the snapshots taken in
that many days (``window_epochs`` says how many). Bad input (unknown netuid, malformed hotkey, a window
with no data, a missing or outdated database) is one ``error:`` line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import pandas as pd

from analytics import ss58
from analytics.cli import CliError, add_db_argument, chosen_snapshot, db_path
from analytics.data import store
from analytics.views import returns

HELP = "What 1000 TAO staked with each validator earns per day after takes, in alpha and TAO, best first."

_NOT_PRINTED = {"coldkey", "validator_trust", "snapshot_id", "taken_at", "epoch_block"}
# The terminal table: the view's columns up to the block (the CSV has them all), then the age.
TABLE_COLUMNS = (
    *(
        c
        for c in returns.RETURNS_COLUMNS[: returns.RETURNS_COLUMNS.index("block") + 1]
        if c not in _NOT_PRINTED
    ),
    "age",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser)
    parser.add_argument("--netuid", default="all", help="a subnet's netuid, or 'all' (default)")
    parser.add_argument("--hotkey", default=None, help="only this validator hotkey (SS58 address)")
    parser.add_argument(
        "--window", default="1", help="days of snapshots to average: 1 (the last epoch, default), 7 or 30"
    )
    parser.add_argument("--snapshot", type=int, default=None, help="snapshot id (default: the latest)")
    parser.add_argument("--json", action="store_true", help="JSON records on stdout instead of a table")


def _netuids(text: str) -> list[int] | None:
    text = (text or "").strip()
    if text.lower() == "all":
        return None
    if not text.isdigit() or int(text) > 65535:
        raise CliError(f"malformed --netuid {text!r}: use a subnet number such as 3, or 'all'")
    return [int(text)]


def _window(text: str) -> int:
    if text.strip() not in {str(w) for w in returns.WINDOWS}:
        raise CliError(f"--window must be one of {', '.join(map(str, returns.WINDOWS))} (days), not {text!r}")
    return int(text)


def _age(taken_at: pd.Series) -> pd.Series:
    """How long ago the snapshot was taken, e.g. '3 h' or '12 d' (store times are naive UTC)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    hours = (now - pd.to_datetime(taken_at)).dt.total_seconds() / 3600
    return hours.map(lambda h: f"{h:.0f} h" if h < 48 else f"{h / 24:.0f} d")


def run(args: argparse.Namespace) -> int:
    netuids = _netuids(args.netuid)
    window = _window(args.window)
    if args.hotkey is not None and not ss58.is_valid(args.hotkey.strip()):
        raise CliError(f"malformed --hotkey {args.hotkey!r}: not an SS58 address of a Bittensor key")
    hotkey = args.hotkey.strip() if args.hotkey is not None else None
    db = db_path(args)
    try:
        if store.schema_version(db) < 2:
            raise CliError(
                f"database {db} predates takes and dividends (schema version {store.schema_version(db)}): "
                "collect into it once (or rebuild the demo) to upgrade it in place"
            )
        snapshot_id = chosen_snapshot(db, args.snapshot)
        store.snapshot_meta(db, snapshot_id)  # StoreError naming an unknown snapshot
        if netuids is not None:
            stored = set(store.subnets(db, snapshot_id)["netuid"].astype(int))
            if netuids[0] not in stored:
                known = ", ".join(str(k) for k in sorted(stored)) or "none"
                raise CliError(
                    f"netuid {netuids[0]} is not in snapshot {snapshot_id} (subnets there: {known})"
                )
        table = returns.returns_table(db, snapshot_id, netuids=netuids, hotkey=hotkey, window_days=window)
    except store.StoreError as exc:
        raise CliError(str(exc)) from None
    if table.empty:
        where = f" on subnet {netuids[0]}" if netuids else ""
        who = f"hotkey {hotkey} is not a validator{where}" if hotkey else f"no validator{where}"
        raise CliError(f"{who} in snapshot {snapshot_id}")
    if int(table["window_epochs"].max()) == 0:
        raise CliError(
            f"no recorded dividends in the {window}-day window up to snapshot {snapshot_id}: nothing to average"
        )
    table = table.assign(age=_age(table["taken_at"]))
    if args.json:
        out = table.drop(columns=["taken_at"]).assign(taken_at=table["taken_at"].astype(str))
        sys.stdout.write(out.to_json(orient="records", double_precision=15) + "\n")
        return 0
    shown = table[list(TABLE_COLUMNS)].copy()
    shown["uid"] = shown["uid"].astype("string").fillna("-")
    for col in ("delegate_take", "childkey_take"):
        shown[col] = (shown[col] * 100).map(lambda v: f"{v:.2f}%" if pd.notna(v) else "-")
    shown["stake_alpha_rao"] = shown["stake_alpha_rao"].astype("string").fillna("-")
    print(
        f"returns per 1000 TAO per day after takes, snapshot {snapshot_id}, window {window} d, "
        "TAO at each pool's spot price at its epoch block"
    )
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    return 0
