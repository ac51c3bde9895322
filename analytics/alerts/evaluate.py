"""Evaluate a watchlist on the newest snapshot against the previous one, and decide what is new.

`load_frames` reads what the rules need (the watched neurons of both snapshots, the recomputed
validators table for the watched subnets only, the subnets' stake-weighted Tv when a subnet rule
asks); `findings` runs every watch's rules over those frames; `plan` compares the findings with the
remembered alerts: a state finding is new when no open alert of the same (rule, key, netuid) exists,
an event when none was remembered for this snapshot; open state alerts whose condition is over are
resolved, which ends their episode.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.alerts.config import Watch, Watchlist
from analytics.alerts.rules import Finding, Frames, evaluate
from analytics.data import store
from analytics.views.snapshot_tables import subnets_table
from analytics.views.subnet_tables import VALIDATOR_COLUMNS, validators_table

Key = tuple[str, int, str]  # (rule, netuid, key)
log = logging.getLogger("analytics.alerts")


def validator_targets(watch: Watch, frames: Frames) -> pd.DataFrame:
    """The (netuid, hotkey) pairs a watch covers, in the newest or the previous snapshot.

    hotkey: wherever it is registered (only `netuid` when given); coldkey: every hotkey it owns;
    netuid alone: every validator-permit holder of the subnet.
    """
    both = pd.concat([frames.neurons, frames.previous], ignore_index=True)
    if both.empty:
        return pd.DataFrame(columns=["netuid", "hotkey"])
    if watch.hotkey:
        rows = both[both["hotkey"] == watch.hotkey]
    elif watch.coldkey:
        rows = both[both["coldkey"] == watch.coldkey]
    else:
        rows = both[both["validator_permit"].astype(bool)]
    if watch.netuid is not None:
        rows = rows[rows["netuid"] == watch.netuid]
    return (
        rows[["netuid", "hotkey"]].drop_duplicates().sort_values(["netuid", "hotkey"]).reset_index(drop=True)
    )


def subnet_targets(watch: Watch, frames: Frames) -> pd.DataFrame:
    """The subnets a watch's subnet rules look at: its netuid, else where its keys are registered now."""
    if watch.netuid is not None:
        return pd.DataFrame({"netuid": [watch.netuid]})
    pairs = validator_targets(watch, frames)
    now = pairs.merge(frames.neurons[["netuid", "hotkey"]], on=["netuid", "hotkey"])
    return pd.DataFrame({"netuid": sorted(set(now["netuid"].astype(int)))})


def _needs_validators(watchlist: Watchlist) -> bool:
    return any(r.spec.needs_validators for w in watchlist.watches for r in w.rules)


def _watched_neurons(db: str, watchlist: Watchlist, snapshot_id: int) -> pd.DataFrame:
    """The neurons of one snapshot that any watch can cover (:func:`validator_targets`): its hotkey's,
    its coldkey's, or, for a watch of a subnet alone, the subnet's; every neuron when a watch names none."""
    if any(not (w.hotkey or w.coldkey or w.netuid is not None) for w in watchlist.watches):
        return store.snapshot_neurons(db, snapshot_id)
    return store.snapshot_neurons_of(
        db,
        snapshot_id,
        hotkeys=sorted({w.hotkey for w in watchlist.watches if w.hotkey}),
        coldkeys=sorted({w.coldkey for w in watchlist.watches if w.coldkey}),
        netuids=sorted(
            {w.netuid for w in watchlist.watches if w.netuid is not None and not (w.hotkey or w.coldkey)}
        ),
    )


def load_frames(
    db_path: str | os.PathLike[str], watchlist: Watchlist, snapshot_id: int | None = None
) -> Frames:
    """Everything the watchlist's rules read, for `snapshot_id` (default the newest) and the one before."""
    db = str(db_path)
    if snapshot_id is None:
        snapshot_id = store.latest_snapshot_id(db)
        if snapshot_id is None:
            raise store.StoreError(f"database {db} holds no snapshot yet: run `python -m analytics collect`")
    previous_id = store.previous_snapshot_id(db, snapshot_id)
    neurons = _watched_neurons(db, watchlist, snapshot_id)
    previous = _watched_neurons(db, watchlist, previous_id) if previous_id is not None else neurons.iloc[0:0]
    empty = pd.DataFrame(columns=["netuid", "hotkey"])
    frames = Frames(snapshot_id, previous_id, neurons, previous, empty, pd.DataFrame(columns=["netuid"]))

    from analytics.views.returns import returns_table  # the money path (validators_table reads it too)

    subnets = store.subnets(db, snapshot_id)
    mechanisms = dict(zip(subnets["netuid"].astype(int), subnets["mechanism_count"].astype(int), strict=True))
    validators = pd.DataFrame(columns=[*VALIDATOR_COLUMNS, "netuid", "mechid", "mechanisms"])
    # The subnets the returns rules look at (the money path: both snapshots' returns tables).
    nets: set[int] = set()
    if previous_id is not None:
        for watch in watchlist.watches:
            if any(r.spec.needs_returns for r in watch.rules):
                nets |= set(validator_targets(watch, frames)["netuid"].astype(int))
    columns = ["netuid", "hotkey", "uid", "delegate_take", "return_tao_per_1000_per_day"]
    returns: pd.DataFrame | None = None
    if _needs_validators(watchlist):
        wanted: set[int] = set()
        for watch in watchlist.watches:
            if any(r.spec.needs_validators for r in watch.rules):
                wanted |= set(validator_targets(watch, frames)["netuid"].astype(int))
        tabled = sorted(wanted & set(mechanisms))
        # The snapshot's returns, read once for the validators tables and the returns rules: a row of
        # returns_table depends on its own subnet alone, so one read of every subnet is each one's.
        money = returns_table(db, snapshot_id, netuids=sorted(set(tabled) | nets)) if tabled else None
        parts = [
            validators_table(db, snapshot_id, netuid, mechid, money=money).assign(
                netuid=netuid, mechid=mechid, mechanisms=mechanisms[netuid]
            )
            for netuid in tabled
            for mechid in range(mechanisms[netuid])
        ]
        parts = [p for p in parts if not p.empty]
        if parts:
            validators = pd.concat(parts, ignore_index=True)
        if money is not None and nets:
            returns = money[money["netuid"].isin(sorted(nets))][columns].reset_index(drop=True)
    previous_returns = pd.DataFrame()
    if nets:
        try:
            if returns is None:
                returns = returns_table(db, snapshot_id, netuids=sorted(nets))[columns]
            previous_returns = returns_table(db, previous_id, netuids=sorted(nets))[columns]
        except store.StoreError as exc:  # a database not yet upgraded to the money tables (read-only)
            log.warning("return_drop and take_raised skipped: no returns in this database (%s)", exc)
            returns = previous_returns = pd.DataFrame()
    if returns is None:
        returns = pd.DataFrame()
    subnet_tv = pd.DataFrame(
        {"netuid": pd.Series(dtype=np.int64), "stake_weighted_tv": pd.Series(dtype=np.float64)}
    )
    if any(r.spec.scope == "subnet" for w in watchlist.watches for r in w.rules):  # the Overview's table
        summary = subnets_table(db, snapshot_id)
        if not summary.empty:
            subnet_tv = summary[["netuid", "stake_weighted_tv"]].astype({"stake_weighted_tv": np.float64})
    return Frames(
        snapshot_id, previous_id, neurons, previous, validators, subnet_tv, returns, previous_returns
    )


@dataclass(frozen=True)
class Evaluation:
    """Every finding that holds now, and every (rule, netuid, key) that was looked at."""

    snapshot_id: int
    findings: list[Finding]
    evaluated: set[Key]


def findings(watchlist: Watchlist, frames: Frames) -> Evaluation:
    """Run every watch's rules; one finding per (rule, netuid, key) even if two watches overlap."""
    seen: dict[Key, Finding] = {}
    evaluated: set[Key] = set()
    for watch in watchlist.watches:
        pairs = validator_targets(watch, frames)
        nets = subnet_targets(watch, frames) if any(r.spec.scope == "subnet" for r in watch.rules) else None
        for rule in watch.rules:
            if rule.spec.scope == "subnet":
                assert nets is not None
                targets = nets
                evaluated |= {(rule.text, int(n), f"subnet {int(n)}") for n in targets["netuid"]}
            else:
                targets = pairs
                evaluated |= {
                    (rule.text, int(n), str(h)) for n, h in zip(pairs["netuid"], pairs["hotkey"], strict=True)
                }
            for finding in evaluate(rule, frames, targets, watch.label):
                seen.setdefault((finding.rule, finding.netuid, finding.key), finding)
    ordered = sorted(seen.values(), key=lambda f: (f.netuid, f.key, f.rule))
    return Evaluation(frames.snapshot_id, ordered, evaluated)


@dataclass(frozen=True)
class Plan:
    """What a run does: alerts to remember and send, and open episodes to close."""

    new: list[Finding]
    resolve: list[int]


def plan(evaluation: Evaluation, open_alerts: pd.DataFrame, on_snapshot: pd.DataFrame) -> Plan:
    """New findings and resolved episodes, given the open alerts and those already on this snapshot."""

    def keys(df: pd.DataFrame) -> dict[Key, int]:
        return {(str(r.rule), int(r.netuid), str(r.key)): int(r.alert_id) for r in df.itertuples()}

    open_state = keys(open_alerts[~open_alerts["event"].astype(bool)]) if not open_alerts.empty else {}
    events_here = keys(on_snapshot[on_snapshot["event"].astype(bool)]) if not on_snapshot.empty else {}
    current = {(f.rule, f.netuid, f.key) for f in evaluation.findings}
    new = [
        f
        for f in evaluation.findings
        if (f.rule, f.netuid, f.key) not in (events_here if f.event else open_state)
    ]
    resolve = sorted(
        alert_id for key, alert_id in open_state.items() if key in evaluation.evaluated and key not in current
    )
    return Plan(new, resolve)
