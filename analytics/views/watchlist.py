"""The Watchlist page's tables: watched keys from the link, their state now, alerts, the TOML to write.

The page is read-only: it never writes the watchlist file nor the database. It shows what
`python -m analytics alerts` would find on a snapshot (the same rules, the same frames) and what the
alerts runs remembered, and the watchlist text the user would save as data/alerts.toml.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from analytics import ss58
from analytics.alerts import config, rules
from analytics.alerts.evaluate import findings, load_frames
from analytics.data import store

PARAM_WATCH = "watch"
PAGE_PATH = "Watchlist"  # the URL path Streamlit gives pages/*_Watchlist.py
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
MAX_WATCHED = 50  # a link holding more is cut here, with a warning
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


def watched_keys(values: Sequence[str]) -> tuple[list[str], list[str]]:
    """(accepted, refused) hotkeys from the link's `watch` values, in order, duplicates dropped.

    Accepted: valid SS58 addresses (Bittensor's prefix 42).
    """
    kept: list[str] = []
    refused: list[str] = []
    for raw in values:
        value = str(raw).strip()
        if not value or value in kept:
            continue
        if ss58.is_valid(value):
            kept.append(value)
        else:
            refused.append(value)
    return kept, refused


def watch_link(hotkey: str, watched: Sequence[str] = ()) -> str:
    """The relative link to the Watchlist page watching `watched` plus `hotkey` (URL-encoded)."""
    keys = [*dict.fromkeys([*watched, hotkey])]
    return f"{PAGE_PATH}?{urlencode([(PARAM_WATCH, k) for k in keys])}"


def watch_links(hotkeys: Sequence[str], watched: Sequence[str] = ()) -> list[str]:
    """One watch link per hotkey (a table's link column)."""
    return [watch_link(str(h), watched) for h in hotkeys]


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
            "stake_alpha": mine["total_stake"].astype(np.float64) / 1e9,
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


def alert_history(db_path: str | os.PathLike[str], hotkeys: Sequence[str]) -> pd.DataFrame:
    """What the alerts runs remembered for these hotkeys, newest first, with delivery state."""
    history = store.alert_history(db_path, list(hotkeys))
    columns = [
        "snapshot_id",
        "created_at",
        "rule",
        "netuid",
        "hotkey",
        "message",
        "open",
        "delivered",
        "destinations",
        "last_error",
    ]
    if history.empty:
        return pd.DataFrame(columns=columns)
    history = history.assign(open=history["resolved_snapshot_id"].isna() & ~history["event"].astype(bool))
    return history[columns].reset_index(drop=True)


def watchlist_toml(hotkeys: Sequence[str], rule_texts: Sequence[str] = DEFAULT_RULES) -> str:
    """The watchlist file watching `hotkeys`, as the user would save it (checked by config's parser)."""
    return config.toml_for(list(hotkeys), list(rule_texts))
