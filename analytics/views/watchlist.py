"""The Watchlist page's links and history: watched keys from the link, the watch links of the
Validators pages, and what the alerts runs remembered.

Read-only: nothing here writes the watchlist file nor the database. What `python -m analytics alerts`
would find on a snapshot (the same rules, the same frames) is built by :mod:`analytics.app.watch`, over
the alerts package, which sits above this layer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlencode

import pandas as pd

from analytics import ss58
from analytics.data import store

PARAM_WATCH = "watch"
PAGE_PATH = "Watchlist"  # the URL path Streamlit gives pages/*_Watchlist.py
MAX_WATCHED = 50  # a link holding more is cut here, with a warning


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
