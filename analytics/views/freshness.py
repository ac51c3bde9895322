"""How old the data shown is, in words every page uses: "block 7,754,400 · 3 days ago".

Snapshots are collected weekly (the README's cron line), so a newest snapshot older than
STALE_AFTER_DAYS means a run was missed: pages warn about it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

STALE_AFTER_DAYS = 8  # one weekly run plus a day of slack


def utc(value: object) -> pd.Timestamp:
    """A stored time (naive = UTC, as the store writes it) as an aware UTC timestamp."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def now_utc() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC))


def age_text(taken_at: object, now: object | None = None) -> str:
    """'just now', '5 minutes ago', '7 hours ago', '3 days ago', '5 months ago', '2 years ago'."""
    seconds = ((now_utc() if now is None else utc(now)) - utc(taken_at)).total_seconds()
    if seconds < 0:
        return "in the future (check the clock)"
    day = 86400.0
    for limit, size, unit in (
        (60, 1, None),
        (3600, 60, "minute"),
        (2 * day, 3600, "hour"),
        (60 * day, day, "day"),
        (730.5 * day, 30.44 * day, "month"),
        (float("inf"), 365.25 * day, "year"),
    ):
        if seconds < limit:
            if unit is None:
                return "just now"
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    raise AssertionError("unreachable")


def freshness_text(block: int, taken_at: object, now: object | None = None) -> str:
    """'block 7,754,400 · 3 days ago' for a snapshot."""
    return f"block {int(block):,} · {age_text(taken_at, now)}"


def is_stale(newest_taken_at: object, now: object | None = None, days: float = STALE_AFTER_DAYS) -> bool:
    """Whether the newest snapshot is older than ``days`` (a missed weekly collection)."""
    reference = now_utc() if now is None else utc(now)
    return bool((reference - utc(newest_taken_at)).total_seconds() > days * 86400)
