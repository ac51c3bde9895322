"""The Watchlist page's builders that run the alerts rules: the watched hotkeys' state now, the alerts
that hold on a snapshot, and the watchlist file to save.

They sit in the app layer (over analytics.alerts, which sits over analytics.views) because they use the
alerts package; the page's link helpers and the remembered-alerts table stay in
:mod:`analytics.views.watchlist`. Read-only: nothing here writes the watchlist file nor the database.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.alerts import config, rules
from analytics.alerts.evaluate import findings, load_frames
from analytics.model.units import RAO_PER_UNIT

# The rules the page suggests (and evaluates for "alerts now"), as a user would write them.
DEFAULT_RULES = (
    "out_of_consensus",
    "tv_below:0.8",
    "stale_weights:1000",
    "copier",
    "deregistered",
    "uid_changed",
    "return_drop:20%",
    "take_raised",
)
STATE_COLUMNS = (
    "hotkey",
    "netuid",
    "uid",
    "validator_permit",
    "validator_trust",
    "stake_alpha",
    "severity",
    "reason",
    "blocks_since_update",
    "likely_copier",
)


def _watchlist(hotkeys: Sequence[str], rule_texts: Sequence[str]) -> config.Watchlist:
    parsed = tuple(rules.parse_rule(r) for r in rule_texts)
    watches = tuple(config.Watch(hotkey=h, coldkey=None, netuid=None, rules=parsed) for h in hotkeys)
    return config.Watchlist(path=config.DEFAULT_CONFIG, watches=watches, destinations=())


def watch_state(
    db_path: str | os.PathLike[str], snapshot_id: int, hotkeys: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(state, alerts now) of the watched hotkeys on one snapshot.

    state: one row per subnet a hotkey is registered on (STATE_COLUMNS; severity and reason from the
    consensus explanation, the worst mechanism first; empty for a UID that is not a validator), plus a
    row with netuid NaN for a hotkey registered nowhere. alerts now: the DEFAULT_RULES that hold, as
    `python -m analytics alerts` would find them (rule, netuid, hotkey, message).
    """
    if not hotkeys:
        return pd.DataFrame(columns=list(STATE_COLUMNS)), pd.DataFrame(
            columns=["rule", "netuid", "hotkey", "message"]
        )
    watch = _watchlist(hotkeys, DEFAULT_RULES)
    frames = load_frames(db_path, watch, snapshot_id)
    mine = frames.neurons[frames.neurons["hotkey"].isin(list(hotkeys))]
    state = pd.DataFrame(
        {
            "hotkey": mine["hotkey"].astype(str),
            "netuid": mine["netuid"].astype(int),
            "uid": mine["uid"].astype(int),
            "validator_permit": mine["validator_permit"].astype(bool),
            "validator_trust": mine["validator_trust"].astype(np.float64) / rules.U16_MAX,
            "stake_alpha": mine["total_stake"].astype(np.float64) / RAO_PER_UNIT,
        }
    )
    v = frames.validators
    if not v.empty:
        rank = {s: i for i, s in enumerate(("critical", "major", "minor", "info", "ok"))}
        worst = (
            v.assign(_rank=v["severity"].map(rank))
            .sort_values(["_rank", "mechid"])
            .drop_duplicates(["netuid", "hotkey"])[
                ["netuid", "hotkey", "severity", "reason", "blocks_since_update", "likely_copier"]
            ]
        )
        state = state.merge(worst, on=["netuid", "hotkey"], how="left")
    for column in STATE_COLUMNS:
        if column not in state:
            state[column] = None
    missing = [h for h in hotkeys if h not in set(state["hotkey"])]
    if missing:
        state = pd.concat(
            [state, pd.DataFrame({"hotkey": missing, "reason": "not registered on any subnet"})]
        )
    state = state.astype({"netuid": "Int64", "uid": "Int64", "blocks_since_update": "Int64"})
    order = {h: i for i, h in enumerate(hotkeys)}
    state = state.assign(_o=state["hotkey"].map(order)).sort_values(["_o", "netuid"]).drop(columns="_o")
    found = findings(watch, frames).findings
    now = pd.DataFrame(
        [{"rule": f.rule, "netuid": f.netuid, "hotkey": f.hotkey, "message": f.message} for f in found],
        columns=["rule", "netuid", "hotkey", "message"],
    )
    return state[list(STATE_COLUMNS)].reset_index(drop=True), now


def watchlist_toml(hotkeys: Sequence[str], rule_texts: Sequence[str] = DEFAULT_RULES) -> str:
    """The watchlist file watching `hotkeys`, as the user would save it (checked by config's parser)."""
    return config.toml_for(list(hotkeys), list(rule_texts))
