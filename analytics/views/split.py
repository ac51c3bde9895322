"""Emission split views shared by the Emission split page and `python -m analytics split`: a stored subnet's
per-mechanism incentive and dividends, and which UIDs belong to the subnet owner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.model import emission

if TYPE_CHECKING:
    from analytics.data.snapshot import SubnetSnapshot


@dataclass(frozen=True)
class StoredPayoutInputs:
    """What a stored subnet gives the payout maths: u16 (M, n) incentive and dividends, and why."""

    mechids: tuple[int, ...]
    incentive: np.ndarray  # (M, n) stored per-mechanism Incentive
    dividends: np.ndarray  # (M, n) per-mechanism dividends (see dividends_source)
    dividends_source: str  # 'stored' (M = 1), 'recomputed' (engine per mechanism) or 'netuid-level'
    note: str | None  # what the user should know about dividends_source


def stored_payout_inputs(snap: Any) -> StoredPayoutInputs:
    """Per-mechanism incentive and dividends of an ``analytics.data.snapshot.SubnetSnapshot``.

    The chain stores each mechanism's incentive but only the netuid-level dividends (a weighted sum
    over mechanisms). With one mechanism that is exact. With several, each mechanism's dividends are
    recomputed by the Yuma engine from the stored weights and bonds; if that is not possible the
    netuid-level dividends stand in for every mechanism, which the note says.
    """
    mechids = tuple(int(m.mechid) for m in snap.mechanisms) or (0,)
    n = int(snap.n)
    if snap.mechanisms:
        incentive = np.vstack([np.asarray(m.incentive, dtype=np.int64) for m in snap.mechanisms])
    else:
        incentive = np.zeros((1, n), dtype=np.int64)
    stored = np.broadcast_to(np.asarray(snap.dividends, dtype=np.int64), incentive.shape).copy()
    if len(mechids) == 1:
        return StoredPayoutInputs(mechids, incentive, stored, "stored", None)
    try:
        result = snap.recompute()
        dividends = np.vstack([np.asarray(m.dividends, dtype=np.int64) for m in result.mechanisms])
        if dividends.shape != incentive.shape:
            raise ValueError(f"engine returned dividends of shape {dividends.shape}")
    except Exception as exc:  # the engine is optional here: fall back, and say so
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        note = (
            "The chain stores dividends only summed over mechanisms; recomputing them per mechanism failed "
            f"({reason}), so every mechanism uses the netuid-level dividends: validator payouts are approximate."
        )
        return StoredPayoutInputs(mechids, incentive, stored, "netuid-level", note)
    note = (
        "The chain stores dividends only summed over mechanisms; per-mechanism dividends here are "
        "recomputed by the Yuma engine from the stored weights and bonds."
    )
    recomputed_incentive = np.vstack([np.asarray(m.incentive, dtype=np.int64) for m in result.mechanisms])
    off = int(np.count_nonzero(np.abs(recomputed_incentive - incentive).max(axis=0) > 1))
    if off:
        note += (
            f" Caution: the recomputed incentive differs from the stored one for {off} UID(s), so these "
            "dividends may not be what the chain computed."
        )
    return StoredPayoutInputs(mechids, incentive, dividends, "recomputed", note)


def load_stored_subnet(
    db_path: str | os.PathLike[str], snapshot_id: int, netuid: int
) -> tuple[Any, StoredPayoutInputs]:
    """A stored subnet and its payout inputs (the page caches this; StoreError when not stored)."""
    from analytics.data import snapshot

    snap = snapshot.load_subnet(db_path, int(snapshot_id), int(netuid))
    return snap, stored_payout_inputs(snap)


def owner_uids(snap: Any) -> np.ndarray:
    """(n,) bool: the owner hotkey and every hotkey of the owner's coldkey (their incentive is burned)."""
    owned = np.asarray(snap.is_owner, dtype=bool).copy()
    coldkey = snap.subnet.get("owner_coldkey")
    if isinstance(coldkey, str) and coldkey:
        owned |= np.asarray([str(c) == coldkey for c in snap.coldkeys], dtype=bool)
    return owned


def owner_burn_note(snap: Any, pay: emission.Payouts) -> str | None:
    """Say which UIDs' miner payout the chain burns or recycles instead of paying (subnet owner's keys)."""
    owned = owner_uids(snap)
    burned = pay.miner.sum(axis=0) * owned
    if not burned.any():
        return None
    uids = ", ".join(str(u) for u in np.flatnonzero(burned))
    amount = (Decimal(int(burned.sum())) / emission.RAO_PER_ALPHA).normalize()
    return (
        f"UID(s) {uids} belong to the subnet owner: the chain burns or recycles their miner payout "
        f"({amount:f} α here) instead of paying it."
    )


# Tables and the chart of the Emission split page.


def alpha(rao: np.ndarray | int) -> np.ndarray | float:
    """rao -> alpha for display (float; the exact rao are in the CLI's --json)."""
    return np.asarray(rao, dtype=np.float64) / emission.RAO_PER_ALPHA


def split_table(pools: emission.SubnetPools, mechids: tuple[int, ...]) -> pd.DataFrame:
    """One row per mechanism: the raw u16 (None when unset), its share and its pools in alpha."""
    split = pools.split
    return pd.DataFrame(
        {
            "mechanism": list(mechids),
            "u16": [None if not split else (split[k] if k < len(split) else 0) for k in range(len(mechids))],
            "share %": np.round(pools.shares * 100, 4),
            "emission α": alpha(pools.mechanism),
            "miners α": alpha(pools.miners),
            "validators α": alpha(pools.validators),
        }
    ).astype({"u16": "Int64"})


def mechanism_table(
    snap: SubnetSnapshot, inputs: StoredPayoutInputs, pay: emission.Payouts, k: int
) -> pd.DataFrame:
    """One mechanism's UIDs: stored incentive, dividends used, and the miner / validator payouts."""
    return pd.DataFrame(
        {
            "uid": np.arange(snap.n),
            "hotkey": [str(h) for h in snap.hotkeys],
            "owner": owner_uids(snap),
            "incentive u16": inputs.incentive[k],
            "dividends u16": inputs.dividends[k],
            "miner α": alpha(pay.miner[k]),
            "validator α": alpha(pay.validator[k]),
            "total α": alpha(pay.by_mechanism[k]),
        }
    )


def totals_table(snap: SubnetSnapshot, mechids: tuple[int, ...], pay: emission.Payouts) -> pd.DataFrame:
    """Every UID's payout per mechanism and in total, next to the stored Emission."""
    frame = pd.DataFrame({"uid": np.arange(snap.n), "hotkey": [str(h) for h in snap.hotkeys]})
    for k, mechid in enumerate(mechids):
        frame[f"mechanism {mechid} α"] = alpha(pay.by_mechanism[k])
    frame["payout α"] = alpha(pay.total)
    frame["stored Emission α"] = alpha(snap.emission)
    return frame


def comparison_table(
    snap: SubnetSnapshot, change: emission.PayoutChange, uids: np.ndarray | None = None
) -> pd.DataFrame:
    """Current vs edited payout per UID (all UIDs, or ``uids`` in that order)."""
    index = np.arange(snap.n) if uids is None else np.asarray(uids, dtype=np.int64)
    current, edited, delta = change.current[index], change.edited[index], change.delta[index]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(current > 0, delta / np.where(current > 0, current, 1) * 100, np.nan)
    return pd.DataFrame(
        {
            "uid": index,
            "change α": alpha(delta),
            "change %": np.round(pct, 2),
            "current α": alpha(current),
            "edited α": alpha(edited),
            "hotkey": [str(snap.hotkeys[i]) for i in index],
        }
    )


def payout_chart(snap: SubnetSnapshot, change: emission.PayoutChange) -> go.Figure:
    """Every UID's payout under the current and the edited split (grouped bars, hotkeys on hover)."""
    uids = np.arange(snap.n)
    hover = [str(h) for h in snap.hotkeys]
    figure = go.Figure()
    for name, values in (("current split", change.current), ("edited split", change.edited)):
        figure.add_bar(
            x=uids,
            y=alpha(values),
            name=name,
            hovertext=hover,
            hovertemplate="uid %{x}<br>%{hovertext}<br>%{y:.6f} α<extra>" + name + "</extra>",
        )
    figure.update_layout(
        barmode="group",
        xaxis_title="UID",
        yaxis_title="payout per epoch (α)",
        legend={"orientation": "h", "y": 1.1},
        margin={"t": 30, "b": 40},
    )
    return figure
