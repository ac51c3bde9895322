"""The alert rules: pure functions over two snapshots' frames -> findings (conditions that hold now).

A rule is written `name` or `name:argument` in the watchlist. Two kinds:

* state rules (out_of_consensus, tv_below, stale_weights, copier, subnet_tv_below) hold while a
  condition lasts; an alert is sent once per episode (the remembered open alert prevents repeats,
  so a validator already out on the first run is reported once);
* event rules (deregistered, uid_changed, return_drop, take_raised) compare the newest snapshot with
  the previous one; each event is sent once.

Nothing here reads the database or sends anything: `analytics.alerts.evaluate` loads the frames and
decides which findings are new, `analytics.alerts.deliver` sends them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import InputError
from analytics.model.units import U16_MAX
from analytics.views.subnet_tables import OUT_OF_CONSENSUS  # the severities that count as out

STALE_MAX_BLOCKS = 100_000_000


class RuleError(InputError):
    """A rule string that is not understood (unknown name, missing or out-of-range threshold)."""


@dataclass(frozen=True)
class Frames:
    """What the rules look at: the newest snapshot and the previous one of the same network.

    neurons / previous: netuid, uid, hotkey, coldkey, validator_permit, validator_trust (u16),
        total_stake (rao), one row per registered UID (load_frames: those a watch can cover).
    validators: analytics.views.subnet_tables.validators_table rows plus netuid, mechid and mechanisms (the
        subnet's mechanism count), for the subnets a watch needs; empty when no rule needs it.
    subnets: netuid, stake_weighted_tv (NaN when the subnet has no validator stake); empty unless a
        subnet rule needs it.
    returns / previous_returns: analytics.views.returns.returns_table rows (netuid, hotkey, uid,
        delegate_take, return_tao_per_1000_per_day) of both snapshots; empty unless a rule needs them.
    """

    snapshot_id: int
    previous_id: int | None
    neurons: pd.DataFrame
    previous: pd.DataFrame
    validators: pd.DataFrame
    subnets: pd.DataFrame
    returns: pd.DataFrame = field(default_factory=pd.DataFrame)
    previous_returns: pd.DataFrame = field(default_factory=pd.DataFrame)
    # The before/now pairs two rules each compare (deregistered and uid_changed; return_drop and
    # take_raised), built once per set of targets: each build is a few merges (~10 ms on the Watchlist).
    memo: dict[tuple[Any, ...], pd.DataFrame] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )


def _memo(
    frames: Frames, name: str, targets: pd.DataFrame, build: Callable[[], pd.DataFrame]
) -> pd.DataFrame:
    """``build()``, once per ``frames``, ``name`` and target pairs (by value); callers must not change it."""
    key = (name, tuple(zip(targets["netuid"].tolist(), targets["hotkey"].tolist(), strict=True)))
    if key not in frames.memo:
        frames.memo[key] = build()
    return frames.memo[key]


@dataclass(frozen=True)
class Finding:
    """A rule that holds for one subject now. key: the hotkey, or 'subnet N' for subnet rules."""

    rule: str
    netuid: int
    hotkey: str | None
    key: str
    message: str
    event: bool
    details: dict[str, Any] = field(default_factory=dict, compare=False)


Check = Callable[[Frames, pd.DataFrame, Any, str | None], list[Finding]]


@dataclass(frozen=True)
class RuleSpec:
    """One rule: its name, what its argument is, and the check."""

    name: str
    scope: str  # "validator" (per netuid x hotkey) or "subnet"
    event: bool
    needs_validators: bool  # needs the recomputed validators table (the Yuma engine)
    argument: str | None  # None, "fraction" (0 < x <= 1), "blocks" (int >= 1), "percent"
    help: str
    check: Check
    needs_returns: bool = False  # needs the returns table of both snapshots (the money path)


@dataclass(frozen=True)
class Rule:
    """A parsed rule: its spec and argument; `text` is how it is written (and remembered)."""

    spec: RuleSpec = field(compare=False)
    text: str
    value: float | int | None = None


def literal(value: object, limit: int = 80) -> str:
    """A chain string made plain for a message: control and invisible characters shown as escapes."""
    text = str(value)
    out = "".join(
        ch
        if ch.isprintable() and not (0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069)
        else f"\\u{ord(ch):04x}"
        for ch in text
    )
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _who(hotkey: str, label: str | None) -> str:
    return f"{label} ({literal(hotkey)})" if label else f"hotkey {literal(hotkey)}"


def _hotkey_finding(
    rule: str, netuid: Any, hotkey: Any, *, message: str, event: bool, details: dict[str, Any]
) -> Finding:
    """A finding about one validator (netuid, hotkey), remembered under its hotkey."""
    return Finding(
        rule=rule,
        netuid=int(netuid),
        hotkey=str(hotkey),
        key=str(hotkey),
        message=message,
        event=event,
        details=details,
    )


def _with(frame: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Rows of `frame` whose (netuid, hotkey) is a target, in frame order (an inner join on the pair:
    a set lookup per row, not a pandas merge, which cost ~3 ms a call for a handful of rows)."""
    if frame.empty or targets.empty:
        return frame.iloc[0:0]
    wanted = set(zip(targets["netuid"].tolist(), targets["hotkey"].tolist(), strict=True))
    keep = [pair in wanted for pair in zip(frame["netuid"].tolist(), frame["hotkey"].tolist(), strict=True)]
    return frame[np.asarray(keep, dtype=bool)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# State rules


def _out_of_consensus(frames: Frames, targets: pd.DataFrame, _: Any, label: str | None) -> list[Finding]:
    rows = _with(frames.validators, targets)
    rows = rows[rows["severity"].isin(OUT_OF_CONSENSUS)] if not rows.empty else rows
    out = []
    for (netuid, hotkey), group in rows.groupby(["netuid", "hotkey"], sort=True):
        group = group.sort_values("mechid")
        several = int(group["mechanisms"].max()) > 1
        first = group.iloc[0]
        if several:
            reason = "; ".join(
                f"mechanism {int(r.mechid)} ({r.severity}): {r.reason}" for r in group.itertuples()
            )
        else:
            reason = f"{first['severity']}: {first['reason']}"
        out.append(
            _hotkey_finding(
                "out_of_consensus",
                netuid,
                hotkey,
                message=f"{_who(hotkey, label)} (uid {int(first['uid'])}) on subnet {int(netuid)} is out of "
                f"consensus — {reason}",
                event=False,
                details={
                    "uid": int(first["uid"]),
                    "severity": str(first["severity"]),
                    "reason": "; ".join(str(r) for r in group["reason"]),
                    "reason_codes": sorted(
                        {c for codes in group["reason_codes"] for c in str(codes).split(", ") if c}
                    ),
                    "validator_trust": float(first["validator_trust"]),
                },
            )
        )
    return out


def _tv_below(frames: Frames, targets: pd.DataFrame, threshold: float, label: str | None) -> list[Finding]:
    rows = _with(frames.neurons, targets)
    if rows.empty:
        return []
    rows = rows[rows["validator_permit"].astype(bool)]
    tv = rows["validator_trust"].astype(np.float64) / U16_MAX
    rows = rows.assign(tv=tv)[tv < threshold]
    return [
        _hotkey_finding(
            f"tv_below:{threshold:g}",
            r.netuid,
            r.hotkey,
            message=f"{_who(r.hotkey, label)} (uid {int(r.uid)}) on subnet {int(r.netuid)}: validator trust "
            f"{r.tv:.4f} is below {threshold:g}",
            event=False,
            details={"uid": int(r.uid), "validator_trust": round(float(r.tv), 6)},
        )
        for r in rows.itertuples()
    ]


def _stale_weights(frames: Frames, targets: pd.DataFrame, blocks: int, label: str | None) -> list[Finding]:
    rows = _with(frames.validators, targets)
    if rows.empty:
        return []
    worst = rows.sort_values(["blocks_since_update", "mechid"], ascending=[False, True]).drop_duplicates(
        ["netuid", "hotkey"]
    )
    worst = worst[worst["blocks_since_update"] > blocks]
    return [
        _hotkey_finding(
            f"stale_weights:{blocks}",
            r.netuid,
            r.hotkey,
            message=f"{_who(r.hotkey, label)} (uid {int(r.uid)}) on subnet {int(r.netuid)}: weights last set "
            f"{int(r.blocks_since_update)} blocks ago"
            + (f" on mechanism {int(r.mechid)}" if int(r.mechanisms) > 1 else "")
            + f", more than {blocks}",
            event=False,
            details={"uid": int(r.uid), "blocks_since_update": int(r.blocks_since_update)},
        )
        for r in worst.sort_values(["netuid", "hotkey"]).itertuples()
    ]


def _copier(frames: Frames, targets: pd.DataFrame, _: Any, label: str | None) -> list[Finding]:
    rows = _with(frames.validators, targets)
    if rows.empty:
        return []
    rows = rows[rows["likely_copier"].astype(bool)].drop_duplicates(["netuid", "hotkey"])
    return [
        _hotkey_finding(
            "copier",
            r.netuid,
            r.hotkey,
            message=f"{_who(r.hotkey, label)} (uid {int(r.uid)}) on subnet {int(r.netuid)} shows the weight-copier "
            f"signal: its weights share {r.copier_overlap_previous:.1%} with the previous epoch's consensus, "
            f"{r.copier_overlap_current:.1%} with the current one, {r.copier_overlap_best_peer:.1%} with its "
            "closest peer",
            event=False,
            details={
                "uid": int(r.uid),
                "overlap_previous": float(r.copier_overlap_previous),
                "overlap_current": float(r.copier_overlap_current),
                "overlap_best_peer": float(r.copier_overlap_best_peer),
            },
        )
        for r in rows.itertuples()
    ]


def _subnet_tv_below(
    frames: Frames, netuids: pd.DataFrame, threshold: float, label: str | None
) -> list[Finding]:
    rows = frames.subnets.merge(netuids[["netuid"]].drop_duplicates(), on="netuid")
    out = []
    for r in rows.itertuples():
        tv = float(r.stake_weighted_tv)
        if math.isnan(tv) or tv >= threshold:
            continue
        name = f"{label}: subnet" if label else "subnet"
        out.append(
            Finding(
                rule=f"subnet_tv_below:{threshold:g}",
                netuid=int(r.netuid),
                hotkey=None,
                key=f"subnet {int(r.netuid)}",
                message=f"{name} {int(r.netuid)}: stake-weighted validator trust {tv:.4f} is below {threshold:g}",
                event=False,
                details={"stake_weighted_tv": round(tv, 6)},
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Event rules (newest against previous snapshot)


def _pairs(frames: Frames, targets: pd.DataFrame) -> pd.DataFrame:
    def build() -> pd.DataFrame:
        before = _with(frames.previous, targets)[["netuid", "hotkey", "uid"]]
        now = _with(frames.neurons, targets)[["netuid", "hotkey", "uid"]]
        return before.merge(now, on=["netuid", "hotkey"], how="left", suffixes=("_before", "_now"))

    return _memo(frames, "pairs", targets, build)


def _deregistered(frames: Frames, targets: pd.DataFrame, _: Any, label: str | None) -> list[Finding]:
    if frames.previous_id is None:
        return []
    pairs = _pairs(frames, targets)
    gone = pairs[pairs["uid_now"].isna()]
    return [
        _hotkey_finding(
            "deregistered",
            r.netuid,
            r.hotkey,
            message=f"{_who(r.hotkey, label)} was deregistered from subnet {int(r.netuid)}: uid "
            f"{int(r.uid_before)} in snapshot {frames.previous_id}, not registered in snapshot {frames.snapshot_id}",
            event=True,
            details={"uid_before": int(r.uid_before), "previous_snapshot_id": frames.previous_id},
        )
        for r in gone.itertuples()
    ]


def _uid_changed(frames: Frames, targets: pd.DataFrame, _: Any, label: str | None) -> list[Finding]:
    if frames.previous_id is None:
        return []
    pairs = _pairs(frames, targets).dropna(subset=["uid_now"])
    moved = pairs[pairs["uid_now"].astype(np.int64) != pairs["uid_before"].astype(np.int64)]
    return [
        _hotkey_finding(
            "uid_changed",
            r.netuid,
            r.hotkey,
            message=f"{_who(r.hotkey, label)} on subnet {int(r.netuid)} moved from uid {int(r.uid_before)} to uid "
            f"{int(r.uid_now)} (re-registered)",
            event=True,
            details={"uid_before": int(r.uid_before), "uid": int(r.uid_now)},
        )
        for r in moved.itertuples()
    ]


def _returns_pairs(frames: Frames, targets: pd.DataFrame) -> pd.DataFrame:
    """Both snapshots' returns rows of the targets, side by side (suffixes _now, _before)."""
    if frames.previous_id is None or frames.returns.empty or frames.previous_returns.empty:
        return pd.DataFrame()

    def build() -> pd.DataFrame:
        now = _with(frames.returns, targets)
        before = _with(frames.previous_returns, targets)
        columns = ["netuid", "hotkey", "uid", "delegate_take", "return_tao_per_1000_per_day"]
        return now[columns].merge(before[columns], on=["netuid", "hotkey"], suffixes=("_now", "_before"))

    return _memo(frames, "returns", targets, build)


def _returns_change(
    frames: Frames, targets: pd.DataFrame, column: str
) -> tuple[pd.DataFrame, pd.Series, pd.Series] | None:
    """The targets' returns rows of both snapshots side by side, and ``column`` before and now as
    floats; None when there is nothing to compare (no previous snapshot or no returns)."""
    pairs = _returns_pairs(frames, targets)
    if pairs.empty:
        return None
    return pairs, pairs[f"{column}_before"].astype(np.float64), pairs[f"{column}_now"].astype(np.float64)


def _uid(value: Any) -> str:
    return "" if pd.isna(value) else f" (uid {int(value)})"


def _return_drop(frames: Frames, targets: pd.DataFrame, percent: float, label: str | None) -> list[Finding]:
    change = _returns_change(frames, targets, "return_tao_per_1000_per_day")
    if change is None:
        return []
    pairs, before, now = change
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where(before > 0, (before - now) / before * 100.0, np.nan)
    hit = pairs.assign(drop=drop)[np.nan_to_num(drop, nan=-np.inf) > percent]
    return [
        _hotkey_finding(
            f"return_drop:{percent:g}%",
            r.netuid,
            r.hotkey,
            message=f"{_who(r.hotkey, label)}{_uid(r.uid_now)} on subnet {int(r.netuid)}: what 1000 TAO staked "
            f"earns per day after its take fell {r.drop:.1f}% (more than {percent:g}%), from "
            f"{r.return_tao_per_1000_per_day_before:.4f} to {r.return_tao_per_1000_per_day_now:.4f} TAO "
            f"since snapshot {frames.previous_id}",
            event=True,
            details={
                "return_tao_per_1000_per_day": float(r.return_tao_per_1000_per_day_now),
                "return_before": float(r.return_tao_per_1000_per_day_before),
                "drop_percent": round(float(r.drop), 4),
                "previous_snapshot_id": frames.previous_id,
            },
        )
        for r in hit.itertuples()
    ]


def _take_raised(frames: Frames, targets: pd.DataFrame, _: Any, label: str | None) -> list[Finding]:
    change = _returns_change(frames, targets, "delegate_take")
    if change is None:
        return []
    pairs, before, now = change
    raised = pairs[(now > before + 1e-9).fillna(False)]
    return [
        _hotkey_finding(
            "take_raised",
            r.netuid,
            r.hotkey,
            message=f"{_who(r.hotkey, label)}{_uid(r.uid_now)} on subnet {int(r.netuid)} raised its delegate take "
            f"from {r.delegate_take_before:.2%} to {r.delegate_take_now:.2%} since snapshot {frames.previous_id}",
            event=True,
            details={
                "delegate_take": float(r.delegate_take_now),
                "delegate_take_before": float(r.delegate_take_before),
                "previous_snapshot_id": frames.previous_id,
            },
        )
        for r in raised.itertuples()
    ]


# --------------------------------------------------------------------------------------------------
# Registry and parsing

RULES: dict[str, RuleSpec] = {
    spec.name: spec
    for spec in (
        RuleSpec("out_of_consensus", "validator", False, True, None,
                 "severity major or critical in analytics/model/consensus.py, with its reason", _out_of_consensus),
        RuleSpec("tv_below", "validator", False, False, "fraction",
                 "tv_below:X — stored validator trust below X (0 < X <= 1)", _tv_below),
        RuleSpec("stale_weights", "validator", False, True, "blocks",
                 "stale_weights:N — weights last set more than N blocks ago", _stale_weights),
        RuleSpec("copier", "validator", False, True, None,
                 "the weight-copier signal (weights track the previous epoch's consensus)", _copier),
        RuleSpec("deregistered", "validator", True, False, None,
                 "the hotkey left a subnet since the previous snapshot", _deregistered),
        RuleSpec("uid_changed", "validator", True, False, None,
                 "the hotkey holds another uid than in the previous snapshot", _uid_changed),
        RuleSpec("subnet_tv_below", "subnet", False, False, "fraction",
                 "subnet_tv_below:X — the subnet's stake-weighted validator trust below X", _subnet_tv_below),
        RuleSpec("return_drop", "validator", True, False, "percent",
                 "return_drop:X% — what 1000 TAO staked earns per day after the take fell by more than X %",
                 _return_drop, needs_returns=True),
        RuleSpec("take_raised", "validator", True, False, None,
                 "the validator raised its delegate take since the previous snapshot", _take_raised,
                 needs_returns=True),
    )
}  # fmt: skip


def register(spec: RuleSpec) -> None:
    """Add a rule (the returns rules register themselves when the returns model is present)."""
    RULES[spec.name] = spec


def parse_rule(text: str) -> Rule:
    """'tv_below:0.8' -> Rule; RuleError saying what is wrong and what is allowed."""
    raw = text.strip()
    name, sep, arg = raw.partition(":")
    name, arg = name.strip(), arg.strip()
    spec = RULES.get(name)
    if spec is None:
        raise RuleError(f"unknown rule {literal(raw, 40)!r}; known: {', '.join(sorted(RULES))}")
    if spec.argument is None:
        if sep:
            raise RuleError(f"rule {name} takes no threshold (write {name!r})")
        return Rule(spec, name)
    if not arg:
        raise RuleError(f"rule {name} needs a threshold: {spec.help}")
    if spec.argument == "blocks":
        try:
            blocks = int(arg.replace("_", ""))
        except ValueError:
            raise RuleError(
                f"{name}:{literal(arg, 20)}: the threshold must be a whole number of blocks"
            ) from None
        if not 1 <= blocks <= STALE_MAX_BLOCKS:
            raise RuleError(f"{name}:{blocks}: threshold out of range (1..{STALE_MAX_BLOCKS} blocks)")
        return Rule(spec, f"{name}:{blocks}", blocks)
    percent = spec.argument == "percent"
    number_text = arg[:-1].strip() if percent and arg.endswith("%") else arg
    try:
        value = float(number_text)
    except ValueError:
        raise RuleError(f"{name}:{literal(arg, 20)}: the threshold must be a number") from None
    if spec.argument == "fraction" and not (0.0 < value <= 1.0):
        raise RuleError(f"{name}:{arg}: threshold out of range (0 < X <= 1; Tv is a fraction)")
    if percent and not (0.0 < value <= 100.0):
        raise RuleError(f"{name}:{arg}: threshold out of range (0 < X <= 100 %)")
    return Rule(spec, f"{name}:{value:g}" + ("%" if percent else ""), value)


def evaluate(rule: Rule, frames: Frames, targets: pd.DataFrame, label: str | None = None) -> list[Finding]:
    """The findings of one rule over its targets (netuid, hotkey) — for subnet rules (netuid) only —
    each named by the rule as written canonically ('tv_below:0.8'), the name alerts are remembered by."""
    return [replace(f, rule=rule.text) for f in rule.spec.check(frames, targets, rule.value, label)]
