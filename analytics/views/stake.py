"""The Stake page's tables: every validator of every subnet, ranked by what 1000 TAO staked earns.

Built on :mod:`analytics.views.returns` (issue 14's money path: returns after every take, in alpha and
in TAO at the pool price) and :mod:`analytics.views.health` (the consensus vocabulary of every page),
from stored values only, so a year of weekly snapshots of 128 subnets stays under a second.

* :func:`stake_table` — one row per (subnet, validator hotkey) of a snapshot, best return first, with
  its health level and reason and the trend of its return over the window.
* :class:`Filters` and :func:`apply_filters` — subnets, minimum stake, in consensus only, one hotkey,
  free-text search over hotkey, coldkey and name. Pure pandas: the page shows and downloads exactly
  what :func:`apply_filters` returns.
* :func:`bubble_figure` — the page's return-against-stake chart of those rows (one trace per health
  level, WebGL beyond 1,000 points, built from numpy columns: 8,000 validators draw in ~40 ms).
* :func:`validator_history` — one validator's return, Tv, stake and dividends across snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import ss58
from analytics.data import store
from analytics.model.units import RAO_PER_UNIT, U16_MAX
from analytics.textsafe import plot_text
from analytics.views import health, returns
from analytics.views.display import WEBGL_FROM

WINDOWS = (1, 7, 30)  # days: 1 = the last epoch of the snapshot
DEFAULT_WINDOW = 7

# Every column of the table, in the order a staker reads them (the CSV keeps this order).
COLUMNS = (
    "netuid",
    "name",
    "hotkey",
    "return_tao_per_1000_per_day",
    "delegate_take",
    "health",
    "stake_tao",
    "validator_trust",
    "trend",
    "return_alpha_per_1000_per_day",
    "stake_alpha",
    "alpha_price_tao",
    "childkey_take",
    "reason",
    "uid",
    "coldkey",
    "window_epochs",
)


def parse_hotkey(raw: str) -> str:
    """A ``?hotkey=`` value, stripped; ValueError unless it is the SS58 address of a Bittensor key."""
    if not ss58.is_valid(raw.strip()):
        raise ValueError(raw)
    return raw.strip()


PARENT_REASON = "earns through its child keys; not registered on this subnet"


def stake_table(db_path: str, snapshot_id: int, window_days: int = DEFAULT_WINDOW) -> pd.DataFrame:
    """Every validator of every subnet in ``snapshot_id``, best return after take first.

    ``return_*`` columns are the returns over ``window_days`` (returns.returns_table); ``trend`` is the
    relative change of the last-epoch TAO return from the window's first snapshot to this one (for a
    1-day window: from the previous snapshot; NaN without an older snapshot or a zero start).
    ``health``/``reason`` come from the stored validator trust, permit and activity
    (analytics.views.health); stake in TAO is alpha stake x pool price.
    """
    db = str(db_path)
    # the window's table and the trend's end and start (last-epoch returns), from one read of the store
    tables = returns.returns_tables(db, snapshot_id, windows=(int(window_days),), trend_start=True)
    table = tables[int(window_days)]
    if table.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    neurons = store.snapshot_validators(db, snapshot_id)[["netuid", "uid", "validator_permit", "active"]]
    neurons = neurons.astype({"uid": "Int64"})
    # no row: no permit (or no uid); joined on the keys alone (the text columns are not copied)
    flags = table[["netuid", "uid"]].merge(neurons, on=["netuid", "uid"], how="left")
    permit = flags["validator_permit"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    active = flags["active"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    trust_u16 = (table["validator_trust"].astype(float).fillna(0.0) * U16_MAX).round().to_numpy()
    table["health"] = health.health_levels(trust_u16, permit, active)
    table["reason"] = np.where(
        table["uid"].isna().to_numpy(), PARENT_REASON, health.health_reasons(trust_u16, permit, active)
    )
    table["stake_alpha"] = table["stake_alpha_rao"].astype(float) / RAO_PER_UNIT
    table["stake_tao"] = table["stake_alpha"] * table["alpha_price_tao"].astype(float)
    table["trend"] = _trend(table, tables[returns.END], tables.get(returns.START))
    order = table[list(COLUMNS)].sort_values(
        ["return_tao_per_1000_per_day", "stake_tao", "netuid", "uid"],
        ascending=[False, False, True, True],
        na_position="last",
    )
    return order.reset_index(drop=True)


def _trend(table: pd.DataFrame, now: pd.DataFrame, then: pd.DataFrame | None) -> np.ndarray:
    """Relative change of each row's last-epoch TAO return (``now``: the snapshot's, returns.END)
    from the window's first snapshot to this one (``then``: the start's returns,
    :data:`analytics.views.returns.START`; None when there is no older snapshot: NaN)."""
    if then is None:
        return np.full(len(table), np.nan)
    key = ["netuid", "hotkey"]
    value = "return_tao_per_1000_per_day"
    # each row's return then and now, by position (returns.key_rows: a left merge's rows, no copies)
    a, b = (
        np.append(ends[value].to_numpy(dtype=np.float64), np.nan)[returns.key_rows(table, ends, key)]
        for ends in (now, then)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b - 1.0, np.nan)


@dataclass(frozen=True)
class Filters:
    """What the Stake page shows; every field is one URL parameter."""

    netuids: tuple[int, ...] = ()  # empty: every subnet
    min_stake_tao: float = 0.0
    in_consensus_only: bool = False
    hotkey: str | None = None  # exactly this hotkey, on every subnet it validates
    query: str = ""  # case-insensitive part of a hotkey, coldkey or name


def apply_filters(table: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows of ``table`` (from :func:`stake_table`) that ``filters`` keep, in the same order."""
    keep = pd.Series(True, index=table.index)
    if filters.netuids:
        keep &= table["netuid"].isin(filters.netuids)
    if filters.min_stake_tao > 0:
        keep &= table["stake_tao"].fillna(0) >= filters.min_stake_tao
    if filters.in_consensus_only:
        keep &= ~table["health"].isin([*health.OUT_OF_CONSENSUS, health.NO_PERMIT])
    if filters.hotkey:
        keep &= table["hotkey"] == filters.hotkey
    if filters.query.strip():
        q = filters.query.strip().casefold()
        text = (
            table["hotkey"].astype(str)
            + "\n"
            + table["coldkey"].astype(str)
            + "\n"
            + table["name"].fillna("").astype(str)
        )
        keep &= text.str.casefold().str.contains(q, regex=False)
    return table[keep].reset_index(drop=True)


BUBBLE_MAX_PX = 28  # the largest bubble's diameter (the validator with the most stake)
X_TITLE = "stake (TAO at the pool price, log scale)"
Y_TITLE = "return: TAO a day per 1,000 TAO, after take"
BUBBLE_HOVER = (
    "subnet %{customdata[0]} · %{text}<br>take %{customdata[1]:.0%} · stake %{customdata[2]:,.0f} TAO"
    f"<br>{Y_TITLE}: %{{y:.3f}}<extra>%{{fullData.name}}</extra>"
)


def bubble_figure(shown: pd.DataFrame) -> go.Figure:
    """Return against stake of every row of ``shown`` (:func:`apply_filters` output): x the stake in TAO
    (log scale; a zero stake sits at 0.001), y the return after take, bubble area proportional to
    the stake, one trace (legend entry, colour) per health level in :data:`health.ORDER`. Hover: subnet,
    name, hotkey (chain strings made literal: :func:`analytics.textsafe.plot_text`), take and stake.

    Built from numpy columns (no plotly.express, no per-point Python objects but the hover text), so
    every point is drawn at a cost a page can pay on every view."""
    stake_tao = shown["stake_tao"].astype(float).fillna(0.0).to_numpy(dtype=np.float64)
    x = np.maximum(stake_tao, 1e-3)
    size = np.sqrt(np.maximum(stake_tao, 0.0))
    y = shown["return_tao_per_1000_per_day"].astype(float).to_numpy(dtype=np.float64)
    text = (plot_text(shown["name"].fillna("")) + "<br>hotkey " + plot_text(shown["hotkey"])).to_numpy(
        dtype=object
    )
    custom = np.column_stack(
        [
            shown["netuid"].astype(float).to_numpy(dtype=np.float64),
            shown["delegate_take"].astype(float).to_numpy(dtype=np.float64),
            stake_tao,
        ]
    )
    levels = shown["health"].to_numpy(dtype=object)
    # plotly.express's sizing: the largest bubble BUBBLE_MAX_PX across, areas proportional to size
    peak = float(size.max()) if len(size) and size.max() > 0 else 1.0
    sizeref = 2.0 * peak / BUBBLE_MAX_PX**2
    kind = "scattergl" if len(shown) > WEBGL_FROM else "scatter"
    # Traces as dicts, validated once by the Figure (add_trace validates a trace object, then deep-copies
    # it, text arrays cell by cell); the hover text as an object array, not a list (plotly checks a
    # list's cells one Python call each: ~20 ms a trace of 8,000 points). The same figure either way.
    traces = [
        {
            "type": kind,
            "x": x[rows],
            "y": y[rows],
            "mode": "markers",
            "name": level,
            "legendgroup": level,
            "text": text[rows],
            "customdata": custom[rows],
            "hovertemplate": BUBBLE_HOVER,
            "marker": {
                "size": size[rows],
                "sizemode": "area",
                "sizeref": sizeref,
                "color": health.COLOURS[level],
            },
        }
        for level in health.ORDER
        if (rows := levels == level).any()
    ]
    fig = go.Figure(data=traces)
    fig.update_xaxes(type="log", dtick=1, title_text=X_TITLE)  # log axis: a tick per power of ten
    fig.update_yaxes(title_text=Y_TITLE)
    return fig


def validator_history(db_path: str, netuid: int, hotkey: str) -> pd.DataFrame:
    """One validator's return, Tv, stake and dividends on one subnet across snapshots, oldest first
    (:func:`analytics.views.returns.returns_history`), with stake in alpha."""
    hist = returns.returns_history(str(db_path), int(netuid), hotkey)
    if hist.empty:
        return hist
    hist = hist.sort_values(["taken_at", "snapshot_id"]).reset_index(drop=True)
    return hist.assign(stake_alpha=hist["stake_alpha_rao"].astype(float) / RAO_PER_UNIT)
