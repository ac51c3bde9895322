"""What staking with each validator pays: the tables behind the `returns` CLI and the Stake page.

One row per (netuid, validator hotkey): what 1000 TAO staked today earns per day after every take
(delegate take, and childkey take where the hotkey validates through children), in alpha and in TAO.
The maths is :mod:`analytics.model.returns`; this module reads the store and shapes the rows.

* The amount per epoch is the nominators' dividend the chain recorded (``AlphaDividendsPerSubnet``,
  after the take) divided by the hotkey's own alpha pool on the subnet (``TotalHotkeyAlpha``): what each
  staked alpha earned. The demo's recorded amounts are produced by the same model.
* Price: the pool's **spot price at the snapshot's epoch block** (``price_rao`` / 1e9 TAO per alpha,
  no slippage or fees) converts 1000 TAO into alpha and the alpha earned back into TAO. Over a window
  the per-epoch rates of the window's snapshots are averaged and converted at the latest spot price.
* Per day: 7200 blocks / tempo epochs (tempo + 1 before runtime spec 423).
* ``window_epochs``: how many stored epochs the figure averages (one per snapshot holding the hotkey).
* Hotkeys listed: validator-permit holders and every hotkey with recorded dividends, including
  parents that are not registered on the subnet (uid <NA>) but earn through a child key there.
* ``name`` is the coldkey's on-chain identity: an untrusted chain string. Show it as text only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics.data import store
from analytics.errors import InputError
from analytics.model import returns as model
from analytics.model.units import RAO_PER_UNIT, U16_MAX
from analytics.views.analysis import BLOCKS_PER_DAY

DYNAMIC_TEMPO_SPEC = 423  # from this runtime on an epoch runs every `tempo` blocks (before: tempo + 1)
WINDOWS = (1, 7, 30)

RETURNS_COLUMNS = (
    "netuid",
    "uid",
    "hotkey",
    "coldkey",
    "name",
    "delegate_take",
    "childkey_take",
    "stake_alpha_rao",
    "alpha_price_tao",
    "return_alpha_per_1000_per_day",
    "return_tao_per_1000_per_day",
    "window_epochs",
    "validator_trust",
    "snapshot_id",
    "block",
    "taken_at",
    "epoch_block",
    "nominators",
    "alpha_dividends_rao",
    "root_alpha_dividends_rao",
    "parents",
    "children",
)

HISTORY_COLUMNS = (
    "snapshot_id",
    "block",
    "taken_at",
    "return_alpha_per_1000_per_day",
    "return_tao_per_1000_per_day",
    "validator_trust",
    "stake_alpha_rao",
    "dividends",
    "alpha_price_tao",
)


class ReturnsError(InputError):
    """A request the stored data cannot answer (unknown netuid or hotkey, a window with no data)."""


def epochs_per_day(tempo: pd.Series | np.ndarray, spec_version: pd.Series | np.ndarray) -> np.ndarray:
    """7200 / tempo from runtime spec 423 on (an epoch every `tempo` blocks), 7200 / (tempo + 1) before;
    an unknown spec is taken as a current runtime."""
    tempo = np.asarray(tempo, dtype=np.float64)
    spec = np.asarray(pd.to_numeric(pd.Series(spec_version), errors="coerce"), dtype=np.float64)
    period = np.where(spec < DYNAMIC_TEMPO_SPEC, tempo + 1, tempo)
    return BLOCKS_PER_DAY / np.maximum(period, 1)


def _subnet_terms(subnets: pd.DataFrame) -> pd.DataFrame:
    """Per (snapshot, netuid): epochs per day and the spot price (TAO per alpha)."""
    spec = subnets["epoch_spec_version"].where(subnets["epoch_spec_version"].notna(), subnets["spec_version"])
    return pd.DataFrame(
        {
            "snapshot_id": subnets["snapshot_id"],
            "netuid": subnets["netuid"],
            "epochs_per_day": epochs_per_day(subnets["tempo"], spec),
            "price": pd.to_numeric(subnets["price_rao"], errors="coerce") / RAO_PER_UNIT,
            "block": subnets["block"],
            "taken_at": subnets["taken_at"],
            "epoch_block": subnets["epoch_block"],
        }
    )


def _pool(rows: pd.DataFrame) -> pd.Series:
    """The stake a hotkey's dividends are shared over: its own alpha stake, else the neuron's."""
    own = pd.to_numeric(rows["alpha_stake_own"], errors="coerce")
    return own.fillna(pd.to_numeric(rows["alpha_stake"], errors="coerce"))


def _with_rates(rows: pd.DataFrame, subnets: pd.DataFrame) -> pd.DataFrame:
    """Money rows joined with their subnet's terms, with the pool and the per-epoch staker rate."""
    rows = rows.merge(_subnet_terms(subnets), on=["snapshot_id", "netuid"], how="inner")
    if "pool" not in rows:
        rows["pool"] = _pool(rows)
    rows["rate"] = model.staker_rate(
        pd.to_numeric(rows["alpha_dividends"], errors="coerce").to_numpy(dtype=np.float64),
        pd.to_numeric(rows["pool"], errors="coerce").to_numpy(dtype=np.float64),
    )
    return rows


def returns_table(
    db_path: str | os.PathLike[str],
    snapshot_id: int | None = None,
    *,
    netuids: Sequence[int] | None = None,
    hotkey: str | None = None,
    window_days: int = 1,
) -> pd.DataFrame:
    """One row per (netuid, validator hotkey) of the snapshot (default: the latest), best return first.

    window_days 1 = the snapshot's epoch alone; 7 or 30 = the mean per-epoch rate of the snapshots
    taken in that many days up to the snapshot (where history allows: see ``window_epochs``). Takes
    are fractions 0..1; validator_trust 0..1 (NaN for unregistered parents). StoreError for a missing
    database or an unknown snapshot; an empty frame when nothing matches (the CLI makes that an error).
    """
    return returns_tables(db_path, snapshot_id, netuids=netuids, hotkey=hotkey, windows=(int(window_days),))[
        int(window_days)
    ]


def returns_tables(
    db_path: str | os.PathLike[str],
    snapshot_id: int | None = None,
    *,
    netuids: Sequence[int] | None = None,
    hotkey: str | None = None,
    windows: Sequence[int] = (1,),
    start_id: int | None = None,
    trend_start: bool = False,
) -> dict[int, pd.DataFrame]:
    """:func:`returns_table` for a window (days) and, if asked too, the last epoch (1) of one snapshot,
    from ONE read of the store (the window's rows hold the last epoch's): what the Stake page's table
    and its trend need, without reading the snapshot twice. Keys: the windows asked for, and
    :data:`START` when ``start_id`` is one of the window's snapshots: its last-epoch
    return_tao_per_1000_per_day per (netuid, hotkey) of the snapshot's validators, the trend's start.
    ``trend_start``: the start is the one the store finds (``store.returns_frames``' 'start_id': the
    window's oldest snapshot taken before this one, for a 1-day window the previous snapshot), read in
    the same pass; :data:`START` is then present whenever that snapshot exists, and :data:`END` holds
    the snapshot's own last-epoch returns in the same form (what the 1-day table gives them)."""
    asked = sorted({int(w) for w in windows})
    if not asked or asked[0] < 1:
        raise ReturnsError(f"window must be at least 1 day, not {asked[0] if asked else None}")
    if len(asked) > 2 or (len(asked) == 2 and asked[0] != 1):
        raise ValueError(f"one window and the last epoch (1) at most, not {asked}")
    wanted = None if netuids is None else [int(k) for k in netuids]
    frames = store.returns_frames(
        db_path,
        None if snapshot_id is None else int(snapshot_id),
        window_days=asked[-1],
        netuids=wanted,
        hotkey=hotkey,
        trend_start=trend_start,
    )
    if frames["snapshot_id"] is None or frames["latest"].empty:
        return {days: pd.DataFrame(columns=list(RETURNS_COLUMNS)) for days in asked}
    if trend_start:
        start_id = frames["start_id"]
    out = {}
    rows = frames["window"]
    if start_id is not None and int(start_id) not in frames["snapshot_ids"]:
        rows = rows[rows["snapshot_id"].isin(frames["snapshot_ids"])]  # the start was read besides
    for days in asked:
        window = rows
        if days < asked[-1]:  # the last epoch: the snapshot's own rows of the window
            window = window[window["snapshot_id"] == frames["snapshot_id"]]
        out[days] = _returns_from_frames(frames, window)
    if start_id is not None and (trend_start or int(start_id) in frames["snapshot_ids"]):
        out[START] = _start_returns(frames, int(start_id))
    if trend_start:  # the trend's end: the snapshot's own last-epoch returns, from the same rows
        out[END] = _start_returns(frames, int(frames["snapshot_id"]))
    return out


START = -1  # returns_tables' key of the window's first snapshot's last-epoch returns (start_id)
END = -2  # with trend_start: the snapshot's last-epoch returns (netuid, hotkey, TAO return), START's form


def _start_returns(frames: dict[str, Any], start_id: int) -> pd.DataFrame:
    """netuid, hotkey, return_tao_per_1000_per_day at ``start_id`` (one of the window's snapshots) of the
    snapshot's validators: what :func:`returns_table` of that snapshot (window 1) gives for them, from the
    window's rows. A hotkey that was no validator then has no dividends then, so no positive return in
    either; one without a row then (or without its subnet's terms) has none in either."""
    window = frames["window"]
    rows = window[window["snapshot_id"] == start_id]
    latest = frames["latest"]
    k = rows["k"].to_numpy(dtype=np.int64)
    netuid, hotkey = latest["netuid"].to_numpy()[k], latest["hotkey"].to_numpy()[k]
    # the rows with their subnet's terms (_with_rates' inner join, by position: see key_rows)
    terms = _subnet_terms(frames["subnets"])
    at = key_rows(
        {"snapshot_id": np.full(len(k), start_id), "netuid": netuid}, terms, ["snapshot_id", "netuid"]
    )
    found = at >= 0
    rate = model.staker_rate(
        pd.to_numeric(rows["alpha_dividends"], errors="coerce").to_numpy(dtype=np.float64)[found],
        pd.to_numeric(rows["pool"], errors="coerce").to_numpy(dtype=np.float64)[found],
    )
    _, tao = model.staker_returns(
        rate,
        terms["epochs_per_day"].to_numpy(dtype=np.float64)[at[found]],
        terms["price"].to_numpy(dtype=np.float64)[at[found]],
    )
    return pd.DataFrame(
        {"netuid": netuid[found], "hotkey": hotkey[found], "return_tao_per_1000_per_day": tao}
    )


def key_rows(rows: pd.DataFrame | dict[str, Any], table: pd.DataFrame, key: list[str]) -> np.ndarray:
    """For each row of ``rows``, the position of the row of ``table`` with the same ``key`` values
    (-1 for none); ``key`` is unique in ``table``. What a left merge finds, without carrying the other
    columns through it: a MultiIndex lookup for numeric keys, a merge of the keys and a position when
    one is text (the cheapest of the two measured, for 64 and for 8,000 rows)."""
    if table.empty or not len(rows[key[0]]):
        return np.full(len(rows[key[0]]), -1, dtype=np.int64)
    left = {c: np.asarray(rows[c]) for c in key}
    right = {c: np.asarray(table[c]) for c in key}
    if all(v.dtype.kind in "iu" for v in (*left.values(), *right.values())):
        index = pd.MultiIndex.from_arrays(list(right.values()))
        return index.get_indexer(pd.MultiIndex.from_arrays(list(left.values()))).astype(np.int64)
    positions = pd.DataFrame(right).assign(_position=np.arange(len(table)))
    found = pd.DataFrame(left).merge(positions, on=key, how="left")["_position"]
    return found.fillna(-1).to_numpy(dtype=np.int64)


def _relation_counts(latest: pd.DataFrame, edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's parents and children (``edges``: one row per netuid and hotkey; 0 where none)."""
    linked = key_rows(latest, edges, ["netuid", "hotkey"])
    counts = []
    for column in ("parents", "children"):
        values = np.append(edges[column].fillna(0).to_numpy(dtype=np.int64), 0)  # [-1]: no edge, 0
        counts.append(values[linked])
    return counts[0], counts[1]


def _returns_from_frames(frames: dict[str, Any], window: pd.DataFrame) -> pd.DataFrame:
    """The returns table of :func:`store.returns_frames` output (a snapshot with validators), averaging
    the per-epoch rates of ``window`` (frames['window'], or its rows of the snapshot alone)."""
    sid = frames["snapshot_id"]
    size = len(frames["latest"])
    # Each row's subnet terms (_with_rates' inner join) by position, not by a merge: (snapshot, netuid)
    # is the subnets' key; a merge of the keys cost ~5 ms even for one subnet's 64 rows.
    at = key_rows(frames["latest"], frames["subnets"], ["snapshot_id", "netuid"])
    found = at >= 0
    if not found.any():
        return pd.DataFrame(columns=list(RETURNS_COLUMNS))
    latest = frames["latest"] if found.all() else frames["latest"][found].reset_index(drop=True)
    terms = _subnet_terms(frames["subnets"]).take(at[found]).reset_index(drop=True)
    pool = _pool(latest)
    # k = the hotkey's row in frames["latest"]
    rate = model.staker_rate(
        pd.to_numeric(window["alpha_dividends"], errors="coerce").to_numpy(dtype=np.float64),
        pd.to_numeric(window["pool"], errors="coerce").to_numpy(dtype=np.float64),
    )
    known = ~np.isnan(rate)
    k = window["k"].to_numpy(dtype=np.int64)[known]
    count = np.bincount(k, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(k, weights=rate[known], minlength=size) / count
    rows = np.flatnonzero(found)
    parents, children = _relation_counts(latest, frames["relations"])
    alpha, tao = model.staker_returns(
        mean[rows],
        terms["epochs_per_day"].to_numpy(dtype=np.float64),
        terms["price"].to_numpy(dtype=np.float64),
    )
    out = pd.DataFrame(
        {
            "netuid": latest["netuid"].to_numpy(dtype=np.int64),
            "uid": pd.array(latest["uid"], dtype="Int64"),
            "hotkey": latest["hotkey"],
            "coldkey": latest["coldkey"],
            "name": latest["identity_name"],
            "delegate_take": pd.to_numeric(latest["delegate_take"], errors="coerce").to_numpy() / U16_MAX,
            "childkey_take": pd.to_numeric(latest["childkey_take"], errors="coerce").to_numpy() / U16_MAX,
            "stake_alpha_rao": pd.array(pool, dtype="Int64"),
            "alpha_price_tao": terms["price"].to_numpy(dtype=np.float64),
            "return_alpha_per_1000_per_day": alpha,
            "return_tao_per_1000_per_day": tao,
            "window_epochs": count[rows].astype(np.int64),
            "validator_trust": pd.to_numeric(latest["validator_trust"], errors="coerce").to_numpy() / U16_MAX,
            "snapshot_id": sid,
            "block": terms["block"].to_numpy(dtype=np.int64),
            "taken_at": terms["taken_at"].to_numpy(),
            "epoch_block": pd.array(terms["epoch_block"], dtype="Int64"),
            "nominators": pd.array(latest["nominators"], dtype="Int64"),
            "alpha_dividends_rao": pd.array(latest["alpha_dividends"], dtype="Int64"),
            "root_alpha_dividends_rao": pd.array(latest["root_alpha_dividends"], dtype="Int64"),
            "parents": parents,
            "children": children,
        }
    )
    out = out.sort_values(
        ["return_tao_per_1000_per_day", "stake_alpha_rao", "netuid", "hotkey"],
        ascending=[False, False, True, True],
        na_position="last",
        kind="stable",
    )
    return out.reset_index(drop=True)[list(RETURNS_COLUMNS)]


def returns_history(db_path: str | os.PathLike[str], netuid: int, hotkey: str) -> pd.DataFrame:
    """One row per stored snapshot holding the hotkey on the subnet (oldest first): that epoch's
    return per 1000 TAO per day (alpha and TAO, at that snapshot's spot price), trust, pool stake and
    the nominators' dividend (alpha rao) the chain recorded. Empty when the hotkey never appears."""
    frames = store.hotkey_return_history(db_path, netuid, hotkey)
    if frames["hotkeys"].empty:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    rows = _with_rates(frames["hotkeys"], frames["subnets"])
    if rows.empty:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    rows = rows.sort_values(["taken_at", "snapshot_id"], kind="stable")
    alpha, tao = model.staker_returns(
        rows["rate"].to_numpy(dtype=np.float64),
        rows["epochs_per_day"].to_numpy(dtype=np.float64),
        rows["price"].to_numpy(dtype=np.float64),
    )
    return pd.DataFrame(
        {
            "snapshot_id": rows["snapshot_id"].to_numpy(dtype=np.int64),
            "block": rows["block"].to_numpy(dtype=np.int64),
            "taken_at": rows["taken_at"].to_numpy(),
            "return_alpha_per_1000_per_day": alpha,
            "return_tao_per_1000_per_day": tao,
            "validator_trust": pd.to_numeric(rows["validator_trust"], errors="coerce").to_numpy() / U16_MAX,
            "stake_alpha_rao": pd.array(rows["pool"], dtype="Int64"),
            "dividends": pd.array(rows["alpha_dividends"], dtype="Int64"),
            "alpha_price_tao": rows["price"].to_numpy(dtype=np.float64),
        }
    ).reset_index(drop=True)
