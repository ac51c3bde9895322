"""`python -m analytics split`: what an emission split gives each mechanism, and each UID of a stored subnet.

    python -m analytics split --split 39321,19660,6554 --emission 100
    python -m analytics split --percent 60,30,10 --json
    python -m analytics split --netuid 3 [--snapshot ID] [--db PATH] [--split ...]

Without ``--netuid`` the split is applied to ``--emission`` alpha (default 100, so amounts read as
percent of what the subnet earns): the owner cut first, then the mechanisms, then miners / validators.
With ``--netuid`` the subnet's stored split (or ``--split``) is applied to its stored epoch emission and
to every UID's stored incentive and dividends. Exact amounts are in rao in ``--json``.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from analytics.cli import CliError, add_db_argument, chosen_snapshot, db_path
from analytics.model import emission
from analytics.views.split import StoredPayoutInputs, load_stored_subnet, owner_burn_note

HELP = "Apply an emission split (u16 vector or percent) to an amount or to a stored subnet's UIDs."
DEFAULT_EMISSION = "100"


def clean_text(value: object, limit: int = 48) -> str:
    """A chain string made safe for a terminal: control and format characters escaped, length capped."""
    text = "" if value is None else str(value)
    out = "".join(
        ch if unicodedata.category(ch)[0] not in "CZ" or ch == " " else ch.encode("unicode_escape").decode()
        for ch in text
    )
    return out if len(out) <= limit else out[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------------
# Arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    vector = parser.add_mutually_exclusive_group()
    vector.add_argument(
        "--split",
        metavar="U16,...",
        help="one u16 per mechanism summing to exactly 65535 (e.g. 39321,19660,6554); "
        "omit for the stored split or an even one",
    )
    vector.add_argument(
        "--percent",
        metavar="P,...",
        help="percentages instead (e.g. 60,30,10), converted to the u16 vector to submit "
        "(largest remainder; ties to the smaller share, then the lower mechanism)",
    )
    parser.add_argument(
        "--mechanisms", type=int, metavar="M", help="mechanism count (default: the number of split values)"
    )
    parser.add_argument(
        "--emission",
        metavar="ALPHA",
        help=f"the subnet's alpha emission before the owner cut (default {DEFAULT_EMISSION}; "
        "with --netuid: the stored epoch emission)",
    )
    parser.add_argument(
        "--owner-cut",
        type=int,
        default=emission.DEFAULT_OWNER_CUT,
        metavar="U16",
        help=f"SubnetOwnerCut as u16 (default {emission.DEFAULT_OWNER_CUT} ≈ 18%%)",
    )
    parser.add_argument(
        "--miner-fraction",
        default=str(emission.DEFAULT_MINER_FRACTION),
        metavar="F",
        help="miners' part of each mechanism after the owner cut (default 1/2; validators get the rest)",
    )
    parser.add_argument("--netuid", type=int, help="also apply the split to this stored subnet's UIDs")
    parser.add_argument("--snapshot", type=int, metavar="ID", help="snapshot id (default: the latest)")
    add_db_argument(parser, extra="; with --netuid")
    parser.add_argument(
        "--decimals",
        type=int,
        metavar="D",
        help="alpha decimals in the text output (default: 4 significant digits)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output with exact rao amounts")


def _miner_fraction(text: str) -> Fraction:
    try:
        value = Fraction(text.strip()) if "/" in text else Fraction(Decimal(text.strip()))
    except (ValueError, ArithmeticError, ZeroDivisionError):
        raise CliError(f"--miner-fraction {text!r} is not a number (use e.g. 0.5 or 1/2)") from None
    if not 0 <= value <= 1:
        raise CliError(f"--miner-fraction {text!r} must be between 0 and 1")
    return value


def _split_argument(args: argparse.Namespace, mechanism_count: int | None) -> tuple[object, int | None]:
    """The raw split the user gave (None = not given) and the mechanism count it implies."""
    if args.percent is not None:
        try:
            raw: object = emission.percent_to_split(
                [t for t in args.percent.replace(";", ",").replace(" ", ",").split(",") if t.strip()]
            )
        except emission.SplitError as exc:
            raise CliError(f"--percent {args.percent!r}: {exc}") from None
    elif args.split is not None:
        raw = args.split
    else:
        return None, mechanism_count
    if mechanism_count is None:
        mechanism_count = max(1, len(emission.split_tokens(raw)) if isinstance(raw, str) else len(raw))  # type: ignore[arg-type]
    return raw, mechanism_count


def _pools(
    raw_split: object, mechanism_count: int, amount_rao: int, owner_cut: int, fraction: Fraction
) -> emission.SubnetPools:
    try:
        return emission.subnet_pools(
            amount_rao,
            raw_split,  # type: ignore[arg-type]
            mechanism_count,
            owner_cut=owner_cut,
            miner_fraction=fraction,
        )
    except emission.SplitError as exc:
        raise CliError(f"invalid split: {exc}") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None


# --------------------------------------------------------------------------------------------------
# Stored subnet


def _load(args: argparse.Namespace) -> tuple[Any, StoredPayoutInputs]:
    from analytics.data import store

    db = db_path(args)
    try:
        snapshot_id = chosen_snapshot(db, args.snapshot)
        return load_stored_subnet(db, int(snapshot_id), int(args.netuid))
    except store.StoreError as exc:
        raise CliError(str(exc)) from None


# --------------------------------------------------------------------------------------------------
# Output


def _alpha(rao: int, decimals: int) -> str:
    value = (Decimal(int(rao)) / emission.RAO_PER_ALPHA).quantize(
        Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN
    )
    return f"{value:,f}"


def auto_decimals(emission_rao: int) -> int:
    """Alpha decimals that keep about four significant digits of the total: 2 for 100 α, 9 at most."""
    if emission_rao <= 0:
        return 2
    magnitude = len(str(int(emission_rao))) - 10  # floor(log10(amount in alpha))
    return max(2, min(9, 3 - magnitude))


def _table(headers: list[str], rows: list[list[str]], left: int = 0) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(headers), *(line(r) for r in rows)]


def _mechanism_rows(pools: emission.SubnetPools, mechids: tuple[int, ...]) -> list[dict[str, Any]]:
    split = pools.split
    return [
        {
            "mechid": mechid,
            "u16": None if not split else (int(split[k]) if k < len(split) else 0),
            "share": float(pools.shares[k]),
            "percent": float(pools.shares[k] * 100),
            "emission_rao": int(pools.mechanism[k]),
            "owner_rao": int(pools.owner_by_mechanism[k]),
            "miners_rao": int(pools.miners[k]),
            "validators_rao": int(pools.validators[k]),
            "total_rao": int(pools.total_by_mechanism[k]),
        }
        for k, mechid in enumerate(mechids)
    ]


def _summary_lines(
    pools: emission.SubnetPools, owner_cut: int, fraction: Fraction, d: int, stored: bool
) -> list[str]:
    count = pools.mechanism_count
    noun = "mechanism" if count == 1 else "mechanisms"
    lines = [f"Split {emission.format_split(pools.split)} over {count} {noun}"]
    if stored:
        lines.append(
            f"Epoch emission {_alpha(pools.epoch_emission, d)} α (stored; the owner cut was taken before the epoch)"
        )
    else:
        lines.append(
            f"Emission {_alpha(pools.emission, d)} α: owner cut {_alpha(pools.owner, d)} α ({owner_cut}/65535), "
            f"{_alpha(pools.epoch_emission, d)} α to the mechanisms"
        )
    lines.append(
        f"Each mechanism: miners {float(fraction) * 100:g}%, validators {float(1 - fraction) * 100:g}%"
    )
    return lines


def _mechanism_table(
    rows: list[dict[str, Any]], pools: emission.SubnetPools, d: int, owner: bool
) -> list[str]:
    body = [
        [
            str(r["mechid"]),
            "unset" if r["u16"] is None else str(r["u16"]),
            f"{r['percent']:.2f}%",
            _alpha(r["owner_rao"], d),
            _alpha(r["miners_rao"], d),
            _alpha(r["validators_rao"], d),
            _alpha(r["total_rao"], d),
        ]
        for r in rows
    ]
    body.append(
        [
            "all",
            "unset" if not pools.split else str(sum(pools.split)),
            f"{float(pools.shares.sum() * 100):.2f}%",
            _alpha(pools.owner, d),
            _alpha(int(pools.miners.sum()), d),
            _alpha(int(pools.validators.sum()), d),
            _alpha(int(pools.total_by_mechanism.sum()), d),
        ]
    )
    headers = ["mech", "u16", "share", "owner", "miners", "validators", "total"]
    if not owner:
        headers, body = headers[:3] + headers[4:], [r[:3] + r[4:] for r in body]
    return _table(headers, body)


def _uid_records(snap: Any, inputs: StoredPayoutInputs, pay: emission.Payouts) -> list[dict[str, Any]]:
    records = []
    for uid in range(int(snap.n)):
        records.append(
            {
                "uid": uid,
                "hotkey": str(snap.hotkeys[uid]),
                "incentive": [int(v) for v in inputs.incentive[:, uid]],
                "dividends": [int(v) for v in inputs.dividends[:, uid]],
                "miner_rao": [int(v) for v in pay.miner[:, uid]],
                "validator_rao": [int(v) for v in pay.validator[:, uid]],
                "total_rao": int(pay.total[uid]),
                "stored_emission_rao": int(snap.emission[uid]),
            }
        )
    return records


def _uid_table(records: list[dict[str, Any]], mechids: tuple[int, ...], d: int) -> list[str]:
    headers = ["uid", "hotkey"]
    for m in mechids:
        headers += [f"I{m}", f"miner{m}", f"D{m}", f"validator{m}"]
    headers += ["total", "stored Emission"]
    body = []
    for r in records:
        if not (r["total_rao"] or r["stored_emission_rao"] or any(r["incentive"]) or any(r["dividends"])):
            continue
        row = [str(r["uid"]), clean_text(r["hotkey"], 12)]
        for k in range(len(mechids)):
            row += [
                str(r["incentive"][k]),
                _alpha(r["miner_rao"][k], d),
                str(r["dividends"][k]),
                _alpha(r["validator_rao"][k], d),
            ]
        row += [_alpha(r["total_rao"], d), _alpha(r["stored_emission_rao"], d)]
        body.append(row)
    return _table(headers, body, left=2)


# --------------------------------------------------------------------------------------------------
# Command


def run(args: argparse.Namespace) -> int:
    if args.mechanisms is not None and not 1 <= args.mechanisms <= emission.MAX_MECHANISMS:
        raise CliError(f"--mechanisms must be from 1 to {emission.MAX_MECHANISMS}, got {args.mechanisms}")
    if not 0 <= args.owner_cut <= emission.U16_MAX:
        raise CliError(f"--owner-cut must be a u16 (0..65535), got {args.owner_cut}")
    if args.decimals is not None and not 0 <= args.decimals <= 9:
        raise CliError(f"--decimals must be from 0 to 9, got {args.decimals}")
    if args.netuid is None and args.snapshot is not None:
        raise CliError("--snapshot needs --netuid")
    fraction = _miner_fraction(args.miner_fraction)

    snap, inputs = _load(args) if args.netuid is not None else (None, None)
    count = args.mechanisms
    if snap is not None and inputs is not None:
        stored_count = len(inputs.mechids)
        if count is not None and count != stored_count:
            raise CliError(f"subnet {snap.netuid} has {stored_count} mechanisms, not {count}")
        count = stored_count
    raw_split, count = _split_argument(args, count)
    if raw_split is None and snap is not None and snap.split and count is not None:
        try:
            raw_split = emission.parse_split(snap.split, count)
        except emission.SplitError as exc:
            raise CliError(
                f"subnet {snap.netuid}'s stored split {emission.format_split(snap.split)} is not valid "
                f"({exc.problem}); pass --split or --percent"
            ) from None
    count = count or 1

    owner_cut = args.owner_cut
    stored_emission = False
    if args.emission is not None or snap is None:
        try:
            amount = emission.alpha_to_rao(args.emission if args.emission is not None else DEFAULT_EMISSION)
        except ValueError as exc:
            raise CliError(f"--emission: {exc}") from None
    else:
        amount = snap.epoch_emission
        if amount is None:
            raise CliError(f"subnet {snap.netuid} has no stored epoch emission; pass --emission ALPHA")
        owner_cut, stored_emission = 0, True

    pools = _pools(raw_split, count, amount, owner_cut, fraction)
    d = args.decimals if args.decimals is not None else auto_decimals(pools.emission)
    mechids = inputs.mechids if inputs is not None else tuple(range(count))
    notes: list[str] = []
    out: dict[str, Any] = {
        "split": None if pools.split is None else list(pools.split),
        "mechanism_count": count,
        "emission_rao": pools.emission,
        "emission_is_stored_epoch_emission": stored_emission,
        "owner_cut_u16": owner_cut,
        "miner_fraction": str(fraction),
        "owner_rao": pools.owner,
        "epoch_emission_rao": pools.epoch_emission,
        "mechanisms": _mechanism_rows(pools, mechids),
    }
    lines = _summary_lines(pools, owner_cut, fraction, d, stored_emission)
    lines += [""] + _mechanism_table(out["mechanisms"], pools, d, owner=not stored_emission)
    if not stored_emission and pools.owner:
        notes.append("owner: the chain takes the cut from the whole subnet before the split; shown pro rata")

    if snap is not None and inputs is not None:
        pay = emission.uid_payouts(
            pools, inputs.incentive, inputs.dividends, stake=np.asarray(snap.alpha_stake)
        )
        records = _uid_records(snap, inputs, pay)
        out["subnet"] = {
            "netuid": snap.netuid,
            "name": None if snap.subnet.get("name") is None else str(snap.subnet.get("name")),
            "snapshot_id": snap.snapshot_id,
            "stored_split": snap.split,
            "dividends_source": inputs.dividends_source,
            "unpaid_rao": [int(v) for v in pay.unpaid],
        }
        out["uids"] = records
        name = clean_text(snap.subnet.get("name") or "")
        lines += [
            "",
            f"Subnet {snap.netuid} {name} · snapshot {snap.snapshot_id} · stored split "
            f"{emission.format_split(snap.split)}",
        ]
        lines += _uid_table(records, mechids, d)
        notes += [
            n for n in (inputs.note, emission.stored_emission_note(count), owner_burn_note(snap, pay)) if n
        ]
        notes += list(pay.notes)
        if int(pay.unpaid.sum()):
            notes.append(
                f"{_alpha(int(pay.unpaid.sum()), 9)} α not paid to any UID (flooring or nobody to pay)"
            )
    out["notes"] = notes

    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        lines += [""] + [f"note: {n}" for n in notes] if notes else []
        print("\n".join(lines))
    return 0
