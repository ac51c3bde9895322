"""Emission split views shared by the Emission split page and `python -m analytics split`: a stored subnet's
per-mechanism incentive and dividends, and which UIDs belong to the subnet owner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from analytics.model import emission


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
