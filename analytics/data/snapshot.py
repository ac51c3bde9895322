"""Stored rows -> dense numpy arrays and engine inputs: the ONE way to feed a stored subnet to the engine.

`load_subnet(db_path, snapshot_id, netuid)` reads one subnet of one snapshot through the store (no SQL
here) and returns a :class:`SubnetSnapshot` (`load_snapshot` does every subnet through one connection): arrays indexed by uid, one :class:`MechanismArrays` per
mechanism, and the stored hyperparameters. From it:

* ``.epoch_inputs(mechid)`` -> ``analytics.model.yuma.EpochInputs`` for that mechanism's epoch;
* ``.stored_outputs(mechid)`` -> :class:`StoredOutputs`, what the chain stored after that epoch;
* ``.mechanism_arguments()`` / ``.recompute()`` -> the multi-mechanism epoch as the chain runs it.

Integer conventions: u16 values and rao amounts become int64 arrays (rao fits: 2^63 rao is 9.2e9
TAO/alpha), so the engine never mixes uint64 with int64 (numpy would silently go to float64).
Weights and bonds are dense (n, n) int64 with row = the validator; ``weights_set`` marks the entries
that storage holds, explicit zeros included (they matter for Yuma3 bonds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.data import store

if TYPE_CHECKING:  # the engine is imported lazily so reading snapshots never depends on it
    from analytics.model.yuma import EpochInputs, EpochResult

# commit_block for "no unexpired commit" (the engine's convention: negative = none, never masked).
NO_COMMIT = -1


@dataclass(frozen=True)
class StoredOutputs:
    """What the chain stored after the epoch, as arrays indexed by uid.

    consensus, validator_trust, dividends, stake_weight, active, validator_permit and emission are
    netuid-level (aggregated over mechanisms by the chain); incentive and bonds are the mechanism's.
    """

    consensus: np.ndarray
    incentive: np.ndarray
    validator_trust: np.ndarray
    dividends: np.ndarray
    stake_weight: np.ndarray
    active: np.ndarray
    validator_permit: np.ndarray
    emission: np.ndarray
    bonds: np.ndarray  # (n, n) u16 as stored after the epoch


@dataclass(frozen=True)
class MechanismArrays:
    """One incentive mechanism of a subnet: its own weights, bonds, last_update, commits, incentive."""

    mechid: int
    weights: np.ndarray  # (n, n) raw u16
    weights_set: np.ndarray  # (n, n) bool, True where storage holds an entry
    bonds: np.ndarray  # (n, n) u16, the epoch's input
    bonds_after: np.ndarray  # (n, n) u16, what the epoch wrote
    last_update: np.ndarray
    commit_block: np.ndarray | None  # NO_COMMIT where none; None when no uid has a commit
    prev_incentive: np.ndarray
    incentive: np.ndarray


@dataclass(frozen=True)
class SubnetSnapshot:
    """One subnet of one stored snapshot as dense arrays (index = uid)."""

    snapshot_id: int
    netuid: int
    subnet: dict[str, Any]  # the `subnets` row: hyperparameters, blocks, split, name...
    neurons: pd.DataFrame  # the `neurons` rows ordered by uid (for tables and CSV)
    hotkeys: np.ndarray  # str per uid ('' for an empty slot)
    coldkeys: np.ndarray
    is_owner: np.ndarray
    block_at_registration: np.ndarray
    alpha_stake: np.ndarray
    tao_stake: np.ndarray
    total_stake: np.ndarray
    validator_permit_prev: np.ndarray
    prev_consensus: np.ndarray
    active: np.ndarray
    validator_permit: np.ndarray
    stake_weight: np.ndarray
    consensus: np.ndarray
    validator_trust: np.ndarray
    dividends: np.ndarray
    emission: np.ndarray
    mechanisms: tuple[MechanismArrays, ...] = field(default_factory=tuple)

    # -- scalars -----------------------------------------------------------------------------------

    @property
    def n(self) -> int:
        return len(self.hotkeys)

    @property
    def mechanism_count(self) -> int:
        return len(self.mechanisms)

    @property
    def owner_uid(self) -> int | None:
        owners = np.flatnonzero(self.is_owner)
        return int(owners[0]) if len(owners) else None

    @property
    def current_block(self) -> int:
        """The block the epoch ran in: e for an aligned snapshot, the read block B otherwise."""
        return int(self.subnet["outputs_block"])

    @property
    def aligned(self) -> bool:
        return bool(self.subnet["aligned"])

    @property
    def epoch_emission(self) -> int | None:
        """E passed to the epoch in rao, or None when the collector could not read it."""
        value = self.subnet.get("epoch_emission")
        return None if value is None or pd.isna(value) else int(value)

    @property
    def split(self) -> list[int] | None:
        """The raw u16 emission split, or None for an even split."""
        value = self.subnet.get("emission_split")
        if value is None or (not isinstance(value, list | np.ndarray) and pd.isna(value)):
            return None
        return [int(v) for v in value]

    def mechanism(self, mechid: int) -> MechanismArrays:
        for mech in self.mechanisms:
            if mech.mechid == mechid:
                return mech
        known = ", ".join(str(m.mechid) for m in self.mechanisms) or "none"
        raise store.StoreError(f"subnet {self.netuid} has no mechanism {mechid} (mechanisms: {known})")

    # -- engine glue -------------------------------------------------------------------------------

    def epoch_inputs(self, mechid: int = 0) -> EpochInputs:
        """The inputs of one mechanism's epoch, exactly as stored (hyperparameters, stake, permits...).

        `emission` is the whole subnet's E when the subnet has one mechanism; for several, pass the
        subnet through :meth:`recompute`, which splits E the chain's way.
        """
        from analytics.model.yuma import EpochInputs, hyperparameter_inputs

        mech = self.mechanism(mechid)
        s = self.subnet
        kwargs: dict[str, Any] = dict(
            weights=mech.weights,
            weights_set=mech.weights_set,
            bonds=mech.bonds,
            alpha_stake=self.alpha_stake,
            tao_stake=self.tao_stake,
            tao_weight=int(s["tao_weight"]),
            last_update=mech.last_update,
            block_at_registration=self.block_at_registration,
            validator_permit=self.validator_permit_prev,
            commit_block=mech.commit_block if bool(s["commit_reveal"]) else None,
            current_block=self.current_block,
            **hyperparameter_inputs(s),
            owner_uid=self.owner_uid,
            last_mechanism_step_block=int(s["last_mechanism_step_block"]),
        )
        if self.epoch_emission is not None:
            kwargs["emission"] = self.epoch_emission
        return EpochInputs(**kwargs)

    def stored_outputs(self, mechid: int = 0) -> StoredOutputs:
        """What the chain stored after the epoch (netuid-level values plus this mechanism's I and bonds)."""
        mech = self.mechanism(mechid)
        return StoredOutputs(
            consensus=self.consensus,
            incentive=mech.incentive,
            validator_trust=self.validator_trust,
            dividends=self.dividends,
            stake_weight=self.stake_weight,
            active=self.active,
            validator_permit=self.validator_permit,
            emission=self.emission,
            bonds=mech.bonds_after,
        )

    def mechanism_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``analytics.model.yuma.epoch_with_mechanisms`` for this subnet."""
        commit_reveal = bool(self.subnet["commit_reveal"])
        return dict(
            inputs=self.epoch_inputs(self.mechanisms[0].mechid),
            mechanism_weights=[m.weights for m in self.mechanisms],
            mechanism_bonds=[m.bonds for m in self.mechanisms],
            mechanism_last_update=[m.last_update for m in self.mechanisms],
            split=self.split,
            mechanism_weights_set=[m.weights_set for m in self.mechanisms],
            mechanism_commit_block=[m.commit_block if commit_reveal else None for m in self.mechanisms],
        )

    def recompute(self) -> EpochResult:
        """Run the engine as the chain does (``epoch_with_mechanisms``, also for one mechanism).

        The result's stored fields are the netuid-level aggregate; ``result.mechanisms[k]`` is
        mechanism ``self.mechanisms[k]``'s own epoch (its incentive and bonds).
        """
        from analytics.model.yuma import epoch_with_mechanisms

        return epoch_with_mechanisms(**self.mechanism_arguments())


def _dense(frame: pd.DataFrame, value: str, mechid: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Long-format (validator_uid, miner_uid, value) rows of one mechanism -> (values, present) (n, n)."""
    rows = frame[frame["mechid"] == mechid]
    matrix = np.zeros((n, n), dtype=np.int64)
    present = np.zeros((n, n), dtype=bool)
    if len(rows):
        i = rows["validator_uid"].to_numpy(dtype=np.int64)
        j = rows["miner_uid"].to_numpy(dtype=np.int64)
        keep = (i < n) & (j < n)  # the chain ignores entries beyond SubnetworkN
        matrix[i[keep], j[keep]] = rows[value].to_numpy(dtype=np.int64)[keep]
        present[i[keep], j[keep]] = True
    return matrix, present


def _by_uid(frame: pd.DataFrame, column: str, n: int, dtype: Any, fill: Any = 0) -> np.ndarray:
    out = np.full(n, fill, dtype=dtype)
    if len(frame):
        uids = frame["uid"].to_numpy(dtype=np.int64)
        keep = uids < n
        out[uids[keep]] = frame[column].to_numpy(dtype=dtype)[keep]
    return out


def load_subnet(db_path: str | os.PathLike[str], snapshot_id: int, netuid: int) -> SubnetSnapshot:
    """Read one subnet of one snapshot into dense arrays. StoreError if it is not stored."""
    return _build(int(snapshot_id), int(netuid), store.subnet_tables(db_path, snapshot_id, netuid))


def load_snapshot(
    db_path: str | os.PathLike[str], snapshot_id: int, netuids: list[int] | None = None
) -> dict[int, SubnetSnapshot]:
    """Every subnet of a snapshot (or the given ones) through one connection: {netuid: SubnetSnapshot}.

    StoreError when the snapshot is not stored or a requested netuid is not in it.
    """
    tables = store.snapshot_tables(db_path, snapshot_id, netuids)
    stored = [int(k) for k in tables["subnet"]["netuid"]]
    missing = sorted(set(netuids or []) - set(stored))
    if missing:
        raise store.StoreError(f"subnet {missing[0]} is not in snapshot {snapshot_id}")
    groups = {
        name: dict(tuple(frame.groupby("netuid", sort=False)))
        for name, frame in tables.items()
        if name != "subnet"
    }
    out = {}
    for k, netuid in enumerate(stored):
        part = {"subnet": tables["subnet"].iloc[[k]]}
        for name, frame in tables.items():
            if name != "subnet":
                part[name] = groups[name].get(netuid, frame.iloc[0:0])
        out[netuid] = _build(int(snapshot_id), netuid, part)
    return out


def _build(snapshot_id: int, netuid: int, t: dict[str, pd.DataFrame]) -> SubnetSnapshot:
    """Dense arrays from one subnet's rows (as returned by store.subnet_tables)."""
    subnet = t["subnet"].iloc[0].to_dict()
    nrn = t["neurons"]
    n = int(subnet["n"])
    if len(nrn):
        n = max(n, int(nrn["uid"].max()) + 1)

    mechids = sorted(set(t["mechanism_neurons"]["mechid"].astype(int))) or list(
        range(int(subnet["mechanism_count"]))
    )
    mechanisms = []
    for mechid in mechids:
        mn = t["mechanism_neurons"][t["mechanism_neurons"]["mechid"] == mechid]
        weights, weights_set = _dense(t["weights"], "weight", mechid, n)
        bonds, _ = _dense(t["bonds"], "bond", mechid, n)
        bonds_after, _ = _dense(t["bonds_after"], "bond", mechid, n)
        has_commit = mn["commit_block"].notna()
        commit_block = None
        if has_commit.any():
            commit_block = _by_uid(
                mn.assign(commit_block=mn["commit_block"].where(has_commit, NO_COMMIT)),
                "commit_block",
                n,
                np.int64,
                NO_COMMIT,
            )
        mechanisms.append(
            MechanismArrays(
                mechid=mechid,
                weights=weights,
                weights_set=weights_set,
                bonds=bonds,
                bonds_after=bonds_after,
                last_update=_by_uid(mn, "last_update", n, np.int64),
                commit_block=commit_block,
                prev_incentive=_by_uid(mn, "prev_incentive", n, np.int64),
                incentive=_by_uid(mn, "incentive", n, np.int64),
            )
        )

    def col(name: str, dtype: Any = np.int64) -> np.ndarray:
        return _by_uid(nrn, name, n, dtype, False if dtype is bool else 0)

    return SubnetSnapshot(
        snapshot_id=snapshot_id,
        netuid=netuid,
        subnet=subnet,
        neurons=nrn,
        hotkeys=_by_uid(nrn, "hotkey", n, object, ""),
        coldkeys=_by_uid(nrn, "coldkey", n, object, ""),
        is_owner=col("is_owner", bool),
        block_at_registration=col("block_at_registration"),
        alpha_stake=col("alpha_stake"),
        tao_stake=col("tao_stake"),
        total_stake=col("total_stake"),
        validator_permit_prev=col("validator_permit_prev", bool),
        prev_consensus=col("prev_consensus"),
        active=col("active", bool),
        validator_permit=col("validator_permit", bool),
        stake_weight=col("stake_weight"),
        consensus=col("consensus"),
        validator_trust=col("validator_trust"),
        dividends=col("dividends"),
        emission=col("emission"),
        mechanisms=tuple(mechanisms),
    )


# Fields compared by compare_outputs: netuid level (aggregated over mechanisms) and per mechanism.
NETUID_FIELDS = (
    "consensus",
    "validator_trust",
    "dividends",
    "stake_weight",
    "emission",
    "active",
    "validator_permit",
)
MECHANISM_FIELDS = ("incentive", "bonds")


def _diff(recomputed: np.ndarray, stored: np.ndarray) -> tuple[int, int, int]:
    """(mismatching uids, max |difference|, uids compared); a bonds row counts as one uid."""
    a = np.asarray(recomputed).astype(np.int64)
    b = np.asarray(stored).astype(np.int64)
    delta = np.abs(a - b)
    per_uid = delta.reshape(len(delta), -1).max(axis=1) if delta.size else delta
    return int(np.count_nonzero(per_uid)), int(per_uid.max()) if per_uid.size else 0, len(per_uid)


def compare_outputs(sub: SubnetSnapshot, result: EpochResult | None = None) -> pd.DataFrame:
    """Recomputed vs stored, one row per field (and mechanism): the "recomputed = chain" check.

    Columns: netuid, mechid (-1 for netuid-level fields), field, compared (uids), mismatches (uids
    whose value differs; for bonds, validators whose row differs), max_abs_diff, note. Emission is
    skipped (note) when the epoch's E is unknown.
    """
    if result is None:
        result = sub.recompute()
    rows = []
    for name in NETUID_FIELDS:
        ours = result.new_validator_permit if name == "validator_permit" else getattr(result, name)
        if name == "emission" and sub.epoch_emission is None:
            rows.append((sub.netuid, -1, name, 0, 0, 0, "epoch emission not stored"))
            continue
        mismatches, worst, compared = _diff(ours, getattr(sub, name))
        rows.append((sub.netuid, -1, name, compared, mismatches, worst, ""))
    mech_results = result.mechanisms or [result]
    for mech, mres in zip(sub.mechanisms, mech_results, strict=True):
        stored = sub.stored_outputs(mech.mechid)
        for name in MECHANISM_FIELDS:
            mismatches, worst, compared = _diff(getattr(mres, name), getattr(stored, name))
            rows.append((sub.netuid, mech.mechid, name, compared, mismatches, worst, ""))
    return pd.DataFrame(
        rows, columns=["netuid", "mechid", "field", "compared", "mismatches", "max_abs_diff", "note"]
    )
