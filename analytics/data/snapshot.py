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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from analytics.data import store

if TYPE_CHECKING:  # the engine is imported lazily so reading snapshots never depends on it
    from analytics.model.returns import Payout
    from analytics.model.yuma import EpochInputs, EpochResult

Columns = dict[str, np.ndarray]  # a table as {column: array}, all of one length

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


class MatrixRows(NamedTuple):
    """One mechanism's stored rows of a (validator, miner) table within the subnet's n, in storage
    order: the long format the dense (n, n) arrays are built from, on demand."""

    n: int
    validator: np.ndarray
    miner: np.ndarray
    value: np.ndarray

    @property
    def flat(self) -> np.ndarray:
        """validator * n + miner: the entries' flat indices in an (n, n) array."""
        return self.validator.astype(np.int64) * self.n + self.miner

    def dense(self) -> np.ndarray:
        """(n, n) int64 values, 0 where no row (a flat scatter: a 2-D fancy assignment costs more)."""
        matrix = np.zeros(self.n * self.n, dtype=np.int64)
        matrix[self.flat] = self.value.astype(np.int64)  # int64 in: numpy scatters u16 at half the speed
        return matrix.reshape(self.n, self.n)

    def present(self) -> np.ndarray:
        """(n, n) bool, True where a row is stored (explicit zeros included)."""
        entries = np.zeros(self.n * self.n, dtype=bool)
        entries[self.flat] = True
        return entries.reshape(self.n, self.n)


@dataclass(frozen=True)
class MechanismArrays:
    """One incentive mechanism of a subnet: its own weights, bonds, last_update, commits, incentive.

    ``weights_set`` and ``bonds_after`` are built from the stored rows on first use: the epoch reads
    the first only for Yuma3 with liquid alpha, and `check` compares the bonds written row by row
    (each is an (n, n) array: a fifth of the cost of building a subnet)."""

    mechid: int
    weights: np.ndarray  # (n, n) raw u16
    bonds: np.ndarray  # (n, n) u16, the epoch's input
    last_update: np.ndarray
    commit_block: np.ndarray | None  # NO_COMMIT where none; None when no uid has a commit
    prev_incentive: np.ndarray
    incentive: np.ndarray
    weight_rows: MatrixRows  # the stored weights (for weights_set)
    bonds_after_rows: MatrixRows  # the stored bonds the epoch wrote

    @cached_property
    def weights_set(self) -> np.ndarray:
        """(n, n) bool, True where storage holds a weight entry (explicit zeros included)."""
        return self.weight_rows.present()

    @cached_property
    def bonds_after(self) -> np.ndarray:
        """(n, n) u16, the bonds the epoch wrote."""
        return self.bonds_after_rows.dense()


@dataclass(frozen=True)
class SubnetSnapshot:
    """One subnet of one stored snapshot as dense arrays (index = uid)."""

    snapshot_id: int
    netuid: int
    subnet: dict[str, Any]  # the `subnets` row: hyperparameters, blocks, split, name...
    neuron_rows: pd.DataFrame | Columns  # the `neurons` rows ordered by uid, as read (see .neurons)
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

    @cached_property
    def neurons(self) -> pd.DataFrame:
        """The `neurons` rows ordered by uid (for tables and CSV); built on first use when they were
        read as arrays (check never needs the frame: 128 of them per snapshot cost a subnet's epoch)."""
        rows = self.neuron_rows
        return rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)

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

    def epoch_inputs(self, mechid: int = 0, *, weights_set: bool = True) -> EpochInputs:
        """The inputs of one mechanism's epoch, exactly as stored (hyperparameters, stake, permits...).

        `emission` is the whole subnet's E when the subnet has one mechanism; for several, pass the
        subnet through :meth:`recompute`, which splits E the chain's way.
        """
        from analytics.model.yuma import EpochInputs, hyperparameter_inputs

        mech = self.mechanism(mechid)
        s = self.subnet
        kwargs: dict[str, Any] = dict(
            weights=mech.weights,
            weights_set=mech.weights_set if weights_set else None,
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

    def mechanism_arguments(self, *, weights_set: bool = True) -> dict[str, Any]:
        """Keyword arguments of ``analytics.model.yuma.epoch_with_mechanisms`` for this subnet
        (without ``weights_set``: none passed, see ``recompute(lean=True)``)."""
        commit_reveal = bool(self.subnet["commit_reveal"])
        return dict(
            inputs=self.epoch_inputs(self.mechanisms[0].mechid, weights_set=weights_set),
            mechanism_weights=[m.weights for m in self.mechanisms],
            mechanism_bonds=[m.bonds for m in self.mechanisms],
            mechanism_last_update=[m.last_update for m in self.mechanisms],
            split=self.split,
            mechanism_weights_set=[m.weights_set if weights_set else None for m in self.mechanisms],
            mechanism_commit_block=[m.commit_block if commit_reveal else None for m in self.mechanisms],
        )

    def recompute(self, *, lean: bool = False) -> EpochResult:
        """Run the engine as the chain does (``epoch_with_mechanisms``, also for one mechanism).

        The result's stored fields are the netuid-level aggregate; ``result.mechanisms[k]`` is
        mechanism ``self.mechanisms[k]``'s own epoch (its incentive and bonds). ``lean`` (check):
        the same stored values without building ``weights_set`` where the epoch does not read it
        (everywhere but Yuma3 with liquid alpha, where explicit zero weights shape the bonds); the
        result's ``mechanism_inputs`` then hold no weights_set, so explanations of masked weights
        (``weight_masks``) want the default.
        """
        from analytics.model.yuma import epoch_with_mechanisms

        arguments = self.mechanism_arguments(weights_set=not lean or self.reads_weights_set)
        return epoch_with_mechanisms(**arguments)

    @property
    def reads_weights_set(self) -> bool:
        """Does the epoch read which weight entries are stored (Yuma3 with liquid alpha)?"""
        return bool(self.subnet["yuma3"]) and bool(self.subnet["liquid_alpha"])


def _columns(frame: pd.DataFrame | Columns) -> Columns:
    """A table as {column: numpy array} (a DataFrame converted once, not per subnet)."""
    if isinstance(frame, pd.DataFrame):
        return {name: frame[name].to_numpy() for name in frame.columns}
    return {name: np.asarray(values) for name, values in frame.items()}


def _missing(values: Any) -> np.ndarray:
    """pd.isna of a column, without its cost where the dtype answers it (integers hold no NULL)."""
    values = np.asarray(values)
    if values.dtype.kind in "iub":
        return np.zeros(len(values), dtype=bool)
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.asarray(pd.isna(values), dtype=bool)


def _rows(cols: Columns, keep: np.ndarray | slice) -> Columns:
    return {name: values[keep] for name, values in cols.items()}


def _netuid_ranges(netuid: np.ndarray) -> tuple[np.ndarray | None, dict[int, slice]]:
    """(the order that groups the rows by netuid, or None when they are already grouped, and each
    netuid's slice of the grouped rows): no pandas groupby over millions of weights."""
    netuid = np.asarray(netuid)
    order = None
    if len(netuid) > 1 and bool(np.any(netuid[1:] < netuid[:-1])):
        order = np.argsort(netuid, kind="stable")
        netuid = netuid[order]
    if not len(netuid):
        return order, {}
    starts = np.concatenate([[0], np.flatnonzero(netuid[1:] != netuid[:-1]) + 1])
    ends = [*starts[1:], len(netuid)]
    return order, {int(netuid[a]): slice(int(a), int(e)) for a, e in zip(starts, ends, strict=True)}


def _by_netuid(cols: Columns) -> dict[int, Columns]:
    """One table's rows split per netuid (views of one grouped copy)."""
    order, ranges = _netuid_ranges(cols["netuid"])
    if order is not None:
        cols = _rows(cols, order)
    return {netuid: _rows(cols, part) for netuid, part in ranges.items()}


def _matrix_rows(cols: Columns, value: str, mechid: int, n: int) -> MatrixRows:
    """Long-format (validator_uid, miner_uid, value) rows -> one mechanism's MatrixRows, without the
    entries beyond n (the chain ignores entries beyond SubnetworkN)."""
    mech = np.asarray(cols["mechid"])
    i = np.asarray(cols["validator_uid"])
    j = np.asarray(cols["miner_uid"])
    values = np.asarray(cols[value])
    if len(mech):
        if not bool((mech == mechid).all()):
            rows = mech == mechid
            i, j, values = i[rows], j[rows], values[rows]
        if len(i) and (int(i.max()) >= n or int(j.max()) >= n):
            keep = (i < n) & (j < n)
            i, j, values = i[keep], j[keep], values[keep]
    return MatrixRows(n, i, j, values)


def _uids_in_order(uids: np.ndarray, n: int) -> bool:
    """Are the rows uids 0..n-1 in order (then a column is already indexed by uid)?"""
    uids = np.asarray(uids)
    return bool(len(uids) == n and n and uids[0] == 0 and uids[-1] == n - 1 and (np.diff(uids) == 1).all())


def _by_uid(
    cols: Columns, column: str, n: int, dtype: Any, fill: Any = 0, *, in_order: bool | None = None
) -> np.ndarray:
    """One column indexed by uid (``fill`` where no row); ``in_order``: _uids_in_order, if known."""
    uids = np.asarray(cols["uid"])
    if in_order if in_order is not None else _uids_in_order(uids, n):
        return np.asarray(cols[column]).astype(dtype)  # rows are uids 0..n-1 in order: a copy, no scatter
    out = np.full(n, fill, dtype=dtype)
    if len(uids):
        uids = uids.astype(np.int64)
        keep = uids < n
        out[uids[keep]] = np.asarray(cols[column])[keep].astype(dtype)
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
    return _build_all(int(snapshot_id), tables, stored)


class SubnetBuilder(Mapping[int, SubnetSnapshot]):
    """{netuid: SubnetSnapshot} over one snapshot's tables (store.snapshot_tables or
    snapshot_batches), each table converted to arrays and split per netuid once; a subnet is built
    when it is looked up and only the last one is kept: a whole snapshot of 128 subnets of 256 UIDs
    built at once would hold ~200 MB of (n, n) matrices; `check` needs one subnet at a time.
    ``shared`` (iter_snapshots): a subnet's per-uid arrays are read-only views of arrays converted
    once for the snapshot (a subnet built twice shares them)."""

    def __init__(
        self, snapshot_id: int, tables: dict[str, Any], netuids: list[int], *, shared: bool = False
    ) -> None:
        self.snapshot_id = snapshot_id
        self._netuids = list(netuids)
        self._known = set(self._netuids)
        self._records = {int(r["netuid"]): r for r in tables["subnet"].to_dict("records")}
        frame = tables["neurons"]  # a DataFrame (snapshot_tables) or {column: array} (snapshot_batches)
        nrn = _columns(frame)
        order, self._nrn_ranges = _netuid_ranges(nrn["netuid"])
        self._nrn_frame = frame if not isinstance(frame, pd.DataFrame) or order is None else frame.iloc[order]
        self._nrn = nrn if order is None else _rows(nrn, order)
        names = ("mechanism_neurons", "weights", "bonds", "bonds_after")
        self._parts = {name: _by_netuid(_columns(tables[name])) for name in names}
        self._empty = {name: _rows(_columns(tables[name]), slice(0, 0)) for name in names}
        self._last: tuple[int, SubnetSnapshot] | None = None
        # shared: the per-uid fields converted once for the whole snapshot, each subnet's a read-only
        # view (19 conversions per subnet cost more than the epoch's masks)
        self._typed: Columns | None = None
        if shared:
            self._typed = {}
            for name, (column, dtype) in NEURON_FIELDS.items():
                values = np.asarray(self._nrn[column]).astype(dtype)
                values.flags.writeable = False
                self._typed[name] = values

    def __getitem__(self, netuid: int) -> SubnetSnapshot:
        if netuid not in self._known:
            raise KeyError(netuid)
        if self._last is not None and self._last[0] == netuid:
            return self._last[1]
        self._last = None  # drop the previous subnet's arrays before building the next
        rows = self._nrn_ranges.get(netuid, slice(0, 0))
        mechanism_neurons, weights, bonds, bonds_after = (
            self._parts[name].get(netuid, self._empty[name]) for name in self._parts
        )
        sub = _build_columns(
            self.snapshot_id,
            netuid,
            self._records[netuid],
            self._nrn_frame.iloc[rows] if isinstance(self._nrn_frame, pd.DataFrame) else None,
            _rows(self._nrn, rows),
            mechanism_neurons,
            weights,
            bonds,
            bonds_after,
            None if self._typed is None else {name: a[rows] for name, a in self._typed.items()},
        )
        self._last = (netuid, sub)
        return sub

    def __contains__(self, netuid: object) -> bool:
        return netuid in self._known

    def __iter__(self) -> Iterator[int]:
        return iter(self._netuids)

    def __len__(self) -> int:
        return len(self._netuids)


def _build_all(snapshot_id: int, tables: dict[str, Any], netuids: list[int]) -> dict[int, SubnetSnapshot]:
    """The given subnets of one snapshot's tables, all built (load_snapshot)."""
    return dict(SubnetBuilder(snapshot_id, tables, netuids).items())


@dataclass(frozen=True)
class LoadedSnapshot:
    """One snapshot as iter_snapshots yields it: its `snapshots` row, every subnet row, the
    epoch-aligned subnets as SubnetSnapshots and (with money) each one's payout inputs on demand."""

    snapshot_id: int
    meta: dict[str, Any]
    subnets: pd.DataFrame  # every stored subnet (aligned or not), by netuid
    subnet: Mapping[int, SubnetSnapshot]  # the epoch-aligned ones (built on lookup): recomputable
    money: dict[str, Any] = field(default_factory=dict, repr=False)

    def payout_inputs(self, netuid: int) -> dict[str, Any] | None:
        """payout_inputs for one aligned subnet from the rows already read (None without payout data)."""
        if not self.money:
            raise store.StoreError("this snapshot was read without its money rows")
        sub = self.subnet[netuid]
        return payout_inputs_from(
            sub,
            self.money["subnets"].get(netuid),
            _joined_money_rows(sub, self.money["rows"].get(netuid, self.money["no_rows"])),
            self.money["child_keys"].get(netuid, self.money["no_child_keys"]),
        )


def _joined_money_rows(sub: SubnetSnapshot, rows: Columns) -> Columns:
    """store.money_hotkeys' rows that hold a stake, from the subnet's `hotkeys` rows (store.snapshot_batches'
    'money_rows') and its neurons, in its order: registered hotkeys by uid, then every row without a
    uid (an unregistered parent) by hotkey."""
    hotkeys = rows["hotkey"].tolist()
    if _one_row_per_uid(hotkeys, sub.hotkeys.tolist()) and not _missing(rows["uid"]).any():
        return rows  # the rows are the registered hotkeys by uid, and no parent: that order already
    uid_of = dict(zip(sub.hotkeys.tolist(), range(sub.n), strict=True))
    uid_of.pop("", None)  # '' marks a uid without a neuron row
    registered = sorted((uid_of[h], k) for k, h in enumerate(hotkeys) if h in uid_of)
    parents = sorted((hotkeys[k], k) for k in np.flatnonzero(_missing(rows["uid"])).tolist())
    return _rows(rows, np.array([k for _, k in registered] + [k for _, k in parents], dtype=np.int64))


def _one_row_per_uid(row_hotkeys: list[Any], hotkeys: list[Any]) -> bool:
    """Are the rows' hotkeys the subnet's, uid by uid, all distinct and registered (not '')? Then
    a row's key index is its uid (the usual layout: the collector writes a subnet's rows by uid)."""
    return row_hotkeys == hotkeys and "" not in hotkeys and len(set(hotkeys)) == len(hotkeys)


def iter_snapshots(
    db_path: str | os.PathLike[str],
    snapshot_ids: list[int],
    netuids: list[int] | None = None,
    *,
    money: bool = False,
) -> Iterator[LoadedSnapshot]:
    """The given snapshots (only ``netuids``, when given) one after the other, read through ONE
    connection (store.snapshot_batches) and built into arrays per snapshot with no per-subnet query
    or DataFrame: what `check --all` walks. StoreError for an unknown snapshot."""
    for batch in store.snapshot_batches(db_path, snapshot_ids, netuids, money=money):
        snapshot_id = int(batch["snapshot"]["snapshot_id"])
        subnets = batch["subnet"]
        aligned = [int(k) for k, ok in zip(subnets["netuid"], subnets["aligned"], strict=True) if bool(ok)]
        extra: dict[str, Any] = {}
        if money:
            money_rows = _columns(batch["money_rows"])
            edges = _columns(batch["child_keys"])
            extra = {
                "subnets": {int(r["netuid"]): r for r in batch["money_subnets"].to_dict("records")},
                "rows": _by_netuid(money_rows),
                "child_keys": _by_netuid(edges),
                "no_rows": _rows(money_rows, slice(0, 0)),
                "no_child_keys": _rows(edges, slice(0, 0)),
            }
        yield LoadedSnapshot(
            snapshot_id=snapshot_id,
            meta=batch["snapshot"],
            subnets=subnets,
            subnet=SubnetBuilder(snapshot_id, batch, aligned, shared=True),
            money=extra,
        )


def _build(snapshot_id: int, netuid: int, t: dict[str, pd.DataFrame]) -> SubnetSnapshot:
    """Dense arrays from one subnet's rows (as returned by store.subnet_tables)."""
    return _build_columns(
        snapshot_id,
        netuid,
        t["subnet"].iloc[0].to_dict(),
        t["neurons"],
        _columns(t["neurons"]),
        *(_columns(t[name]) for name in ("mechanism_neurons", "weights", "bonds", "bonds_after")),
    )


def _build_columns(
    snapshot_id: int,
    netuid: int,
    subnet: dict[str, Any],
    neurons: pd.DataFrame | None,
    nrn: Columns,
    mechanism_neurons: Columns,
    weights: Columns,
    bonds: Columns,
    bonds_after: Columns,
    typed: Columns | None = None,
) -> SubnetSnapshot:
    """Dense arrays from one subnet's rows as columns; ``neurons`` is the same rows as a DataFrame
    (None: built from the columns when first asked for); ``typed``: the NEURON_FIELDS of the same
    rows already in their types (used when the rows are uids 0..n-1 in order)."""
    n = int(subnet["n"])
    if len(nrn["uid"]):
        n = max(n, int(nrn["uid"].max()) + 1)

    mech_ids = np.asarray(mechanism_neurons["mechid"]).astype(np.int64)
    mechids = sorted(set(mech_ids.tolist())) or list(range(int(subnet["mechanism_count"])))
    single = len(set(mech_ids.tolist())) <= 1
    mechanisms = []
    for mechid in mechids:
        mn = mechanism_neurons if single else _rows(mechanism_neurons, mech_ids == mechid)
        weight_rows = _matrix_rows(weights, "weight", mechid, n)
        mn_in_order = _uids_in_order(mn["uid"], n)
        has_commit = ~_missing(mn["commit_block"])
        commit_block = None
        if has_commit.any():
            commit_block = _by_uid(
                {"uid": mn["uid"], "commit_block": np.where(has_commit, mn["commit_block"], NO_COMMIT)},
                "commit_block",
                n,
                np.int64,
                NO_COMMIT,
            )
        mechanisms.append(
            MechanismArrays(
                mechid=mechid,
                weights=weight_rows.dense(),
                bonds=_matrix_rows(bonds, "bond", mechid, n).dense(),
                last_update=_by_uid(mn, "last_update", n, np.int64, in_order=mn_in_order),
                commit_block=commit_block,
                prev_incentive=_by_uid(mn, "prev_incentive", n, np.int64, in_order=mn_in_order),
                incentive=_by_uid(mn, "incentive", n, np.int64, in_order=mn_in_order),
                weight_rows=weight_rows,
                bonds_after_rows=_matrix_rows(bonds_after, "bond", mechid, n),
            )
        )

    in_order = _uids_in_order(nrn["uid"], n)
    per_uid = {}
    for name, (column, dtype) in NEURON_FIELDS.items():
        if in_order and typed is not None:
            per_uid[name] = typed[name]
        else:
            fill = "" if dtype is object else False if dtype is bool else 0
            per_uid[name] = _by_uid(nrn, column, n, dtype, fill, in_order=in_order)
    return SubnetSnapshot(
        snapshot_id=snapshot_id,
        netuid=netuid,
        subnet=subnet,
        neuron_rows=nrn if neurons is None else neurons,
        mechanisms=tuple(mechanisms),
        **per_uid,
    )


# SubnetSnapshot's per-uid fields: the `neurons` column each is read from (the field's own name, but for
# hotkeys and coldkeys) and its type (a uid without a row holds '', False or 0).
_FLAG_FIELDS = ("is_owner", "validator_permit_prev", "active", "validator_permit")
_BLOCK_AND_RAO_FIELDS = ("block_at_registration", "alpha_stake", "tao_stake", "total_stake", "emission")
_U16_FIELDS = ("prev_consensus", "stake_weight", "consensus", "validator_trust", "dividends")
NEURON_FIELDS: dict[str, tuple[str, Any]] = {
    "hotkeys": ("hotkey", object),
    "coldkeys": ("coldkey", object),
    **{name: (name, bool) for name in _FLAG_FIELDS},
    **{name: (name, np.int64) for name in _BLOCK_AND_RAO_FIELDS + _U16_FIELDS},
}


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
    a = np.asarray(recomputed, dtype=np.int64)
    b = np.asarray(stored, dtype=np.int64)
    if a.shape == b.shape and a.size and np.array_equal(a, b):  # the usual case: no copy, no |a - b|
        return 0, 0, len(a)
    delta = np.abs(a - b)
    per_uid = delta.reshape(len(delta), -1).max(axis=1) if delta.size else delta
    return int(np.count_nonzero(per_uid)), int(per_uid.max()) if per_uid.size else 0, len(per_uid)


COMPARE_COLUMNS = ["netuid", "mechid", "field", "compared", "mismatches", "max_abs_diff", "note"]


def output_rows(sub: SubnetSnapshot, result: EpochResult) -> list[tuple[int, int, str, int, int, int, str]]:
    """compare_outputs' rows as tuples (netuid, mechid, field, compared, mismatches, max_abs_diff,
    note): what `check` prints from, without building a DataFrame per subnet."""
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
        for name in MECHANISM_FIELDS:
            if name == "bonds":  # compared from the stored rows: no (n, n) bonds_after built
                mismatches, worst, compared = _diff_bonds(mres, mech.bonds_after_rows)
            else:
                mismatches, worst, compared = _diff(getattr(mres, name), getattr(mech, name))
            rows.append((sub.netuid, mech.mechid, name, compared, mismatches, worst, ""))
    return rows


def _diff_bonds(result: EpochResult, stored: MatrixRows) -> tuple[int, int, int]:
    """_diff of the (n, n) bonds the epoch wrote and the stored ones, from the rows that hold any:
    the epoch's bonds_rows and the stored rows. Every other row is zero on both sides, so only the
    rows named by either are built (most stored rows are the validators the epoch computed)."""
    n = stored.n
    index = np.asarray(result.bonds_index, dtype=np.int64)
    ours = np.asarray(result.bonds_rows, dtype=np.int64).reshape(len(index), n)
    at = np.full(n, -1, dtype=np.int64)
    at[index] = np.arange(len(index))
    validator = stored.validator.astype(np.intp)  # numpy gathers by u16 indices at a third of the speed
    place = at[validator]
    if bool((place < 0).any()):  # stored rows the epoch left empty: give them rows of their own
        rows = np.union1d(index, validator)
        at[rows] = np.arange(len(rows))
        padded = np.zeros((len(rows), n), dtype=np.int64)
        padded[at[index]] = ours
        ours, place = padded, at[validator]
    theirs = np.zeros(ours.size, dtype=np.int64)
    theirs[place * n + stored.miner] = stored.value.astype(np.int64)
    theirs = theirs.reshape(ours.shape)
    if n and np.array_equal(ours, theirs):
        return 0, 0, n
    per_row = np.abs(ours - theirs).max(axis=1) if ours.size else np.zeros(0, dtype=np.int64)
    return int(np.count_nonzero(per_row)), int(per_row.max()) if per_row.size else 0, n


def compare_outputs(sub: SubnetSnapshot, result: EpochResult | None = None) -> pd.DataFrame:
    """Recomputed vs stored, one row per field (and mechanism): the "recomputed = chain" check.

    Columns: netuid, mechid (-1 for netuid-level fields), field, compared (uids), mismatches (uids
    whose value differs; for bonds, validators whose row differs), max_abs_diff, note. Emission is
    skipped (note) when the epoch's E is unknown.
    """
    if result is None:
        result = sub.recompute()
    return pd.DataFrame(output_rows(sub, result), columns=COMPARE_COLUMNS)


# --------------------------------------------------------------------------------------------------
# The money path: the stored payout inputs -> analytics.model.returns.distribute, compared with the
# dividends the chain recorded (AlphaDividendsPerSubnet / RootAlphaDividendsPerSubnet).

PAYOUT_FIELDS = ("alpha_dividends", "root_alpha_dividends")


PENDING_COLUMNS = ("pending_server", "pending_validator", "pending_root")


def payout_inputs(db_path: str | os.PathLike[str], sub: SubnetSnapshot) -> dict[str, Any] | None:
    """Arguments for ``returns.distribute`` (minus the epoch's amounts) from the stored money rows,
    plus 'hotkeys' (key index -> hotkey) and 'recorded' (PAYOUT_FIELDS -> {key index: rao}).

    None when the snapshot holds no payout data for the subnet (stored before schema 2, or the
    collector could not read the pending emission)."""
    money = store.money_subnets(db_path, [sub.snapshot_id], [sub.netuid])
    row = None if money.empty else money.iloc[0].to_dict()
    if not _has_payout(row):
        return None
    rows = store.money_hotkeys(db_path, [sub.snapshot_id], [sub.netuid])
    edges = store.child_keys(db_path, [sub.snapshot_id], [sub.netuid])
    return payout_inputs_from(sub, row, _columns(rows), _columns(edges))


class Recorded(Mapping[int, int]):
    """What the chain recorded for one payout field: {key index: rao}, as dict(zip(keys, amounts))
    would hold it (a repeated key keeps its last amount), stored as arrays sorted by key so that
    payout_rows compares them with the payout in one step."""

    def __init__(self, keys: np.ndarray, amounts: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        amounts = np.asarray(amounts)
        if amounts.dtype.kind == "u" and amounts.size and int(amounts.max()) >= 1 << 63:
            raise OverflowError("a recorded amount does not fit in int64 rao")
        if amounts.dtype.kind not in "iu":  # floats (a column with NULLs read through pandas)
            amounts = np.array([int(v) for v in amounts.tolist()], dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        keys, amounts = keys[order], amounts[order].astype(np.int64)
        last = np.ones(len(keys), dtype=bool)  # the last of each run of one key
        last[:-1] = keys[1:] != keys[:-1]
        self.keys_array: np.ndarray = keys[last]
        self.amounts: np.ndarray = amounts[last]

    def __getitem__(self, key: int) -> int:
        at = int(np.searchsorted(self.keys_array, key))
        if at < len(self.keys_array) and self.keys_array[at] == key:
            return int(self.amounts[at])
        raise KeyError(key)

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys_array.tolist())

    def __len__(self) -> int:
        return len(self.keys_array)

    def __repr__(self) -> str:
        return f"Recorded({dict(self.items())!r})"


def _has_payout(row: dict[str, Any] | None) -> bool:
    return row is not None and not any(pd.isna(row[c]) for c in PENDING_COLUMNS)


def payout_inputs_from(
    sub: SubnetSnapshot, row: dict[str, Any] | None, rows: Columns, edges: Columns
) -> dict[str, Any] | None:
    """payout_inputs from rows already read: the subnet's money_subnets row (a dict, None when absent),
    its money_hotkeys and child_keys rows as {column: array}."""
    from analytics.model.returns import Keys

    if row is None or not _has_payout(row):
        return None
    staked = ~_missing(rows["alpha_stake_own"])
    if not staked.all():
        rows = _rows(rows, staked)
    if not len(rows["hotkey"]):
        return None
    # Keys: the uids, then hotkeys with money rows (unregistered parents), then children known only
    # as a proportion of a validator's stake (they matter for its own share). Suspended edges are inert.
    suspended = np.asarray(edges["suspended"], dtype=bool)
    if suspended.any():
        edges = _rows(edges, ~suspended)
    row_hotkeys = np.asarray(rows["hotkey"]).tolist()
    names = list(map(str, sub.hotkeys.tolist()))
    by_uid = _one_row_per_uid(row_hotkeys, names)  # then row k is key k: no lookups
    if not by_uid:
        names = list(dict.fromkeys(names + row_hotkeys))
    known = set(names)
    names += [h for h in dict.fromkeys([*edges["child_hotkey"], *edges["parent_hotkey"]]) if h not in known]
    index = {h: k for k, h in enumerate(names)}
    size = len(names)
    alpha, root = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
    take = np.full(size, 11796, dtype=np.int64)
    child_take = np.zeros(size, dtype=np.int64)
    coldkeys = list(map(str, sub.coldkeys.tolist())) + [""] * (size - sub.n)
    at = np.arange(len(row_hotkeys)) if by_uid else np.array([index[h] for h in row_hotkeys], dtype=np.int64)
    alpha[at] = np.asarray(rows["alpha_stake_own"]).astype(np.int64)
    root[at] = np.asarray(rows["root_stake_own"]).astype(np.int64)
    for column, target in (("delegate_take", take), ("childkey_take", child_take)):
        given = ~_missing(rows[column])
        target[at[given]] = np.asarray(rows[column])[given].astype(np.int64)
    for k, coldkey in zip(at.tolist(), np.asarray(rows["coldkey"]).tolist(), strict=True):
        if isinstance(coldkey, str) and coldkey:
            coldkeys[k] = coldkey
    recorded: dict[str, Recorded] = {}
    for f in PAYOUT_FIELDS:
        given = ~_missing(rows[f])
        recorded[f] = Recorded(at[given], np.asarray(rows[f])[given])
    owner_ids = {c: i for i, c in enumerate(dict.fromkeys(coldkeys))}
    parents: dict[int, list[tuple[int, int]]] = {}
    for child, proportion, parent in zip(
        edges["child_hotkey"], edges["proportion"].tolist(), edges["parent_hotkey"], strict=True
    ):
        parents.setdefault(index[child], []).append((int(proportion), index[parent]))
    owner_coldkey = sub.subnet.get("owner_coldkey")
    immune = np.array([c == owner_coldkey for c in coldkeys], dtype=bool)
    owner_uids = np.flatnonzero(sub.is_owner)
    immune[owner_uids[owner_uids < size]] = True
    return {
        "keys": Keys(
            alpha_stake=alpha,
            root_stake=root,
            delegate_take=take,
            childkey_take=child_take,
            owner=np.array([owner_ids[c] for c in coldkeys], dtype=np.int64),
        ),
        "pending_server": int(row["pending_server"]),
        "pending_validator": int(row["pending_validator"]),
        "pending_root": int(row["pending_root"]),
        "owner_cut": 0 if pd.isna(row["owner_cut"]) else int(row["owner_cut"]),
        "tao_weight": int(sub.subnet["tao_weight"]),
        "ck_burn": 0 if pd.isna(row["ck_burn"]) else int(row["ck_burn"]),
        "parents": parents,
        "owner_immune": immune,
        "hotkeys": names,
        "recorded": recorded,
        "epoch_emission": None if pd.isna(row["epoch_emission"]) else int(row["epoch_emission"]),
        "source": row["epoch_emission_source"],
    }


def compare_payout(
    db_path: str | os.PathLike[str],
    sub: SubnetSnapshot,
    result: EpochResult | None = None,
    *,
    inputs: dict[str, Any] | None = None,
) -> pd.DataFrame | None:
    """Recompute the epoch's payout and compare it, hotkey by hotkey and to the rao, with the
    dividends the chain recorded; plus E against its stored parts. None without payout data.

    Columns as compare_outputs (field, mechid = -1, compared, mismatches, max_abs_diff, note).
    ``inputs``: payout_inputs already read (then nothing is read from ``db_path``).
    """
    args = inputs if inputs is not None else payout_inputs(db_path, sub)
    if args is None:
        return None
    rows, hotkeys, payout = payout_rows(sub, result if result is not None else sub.recompute(), args)
    frame = pd.DataFrame(rows, columns=["field", "compared", "mismatches", "max_abs_diff", "note"])
    frame.insert(1, "mechid", -1)
    frame.attrs["hotkeys"] = hotkeys
    frame.attrs["payout"] = payout
    return frame


def payout_rows(
    sub: SubnetSnapshot, result: EpochResult, inputs: dict[str, Any]
) -> tuple[list[tuple[str, int, int, int, str]], list[str], Payout]:
    """compare_payout's rows as tuples (field, compared, mismatches, max_abs_diff, note), the key
    index's hotkeys and the payout, from payout_inputs (not modified)."""
    from analytics.model.returns import distribute

    args = dict(inputs)
    hotkeys, recorded = args.pop("hotkeys"), args.pop("recorded")
    stored_e, _source = args.pop("epoch_emission"), args.pop("source")
    payout = distribute(np.arange(sub.n), result.server_emission, result.validator_emission, **args)
    rows = []
    for field_name, computed in (
        ("alpha_dividends", payout.alpha_nominators),
        ("root_alpha_dividends", payout.root_nominators),
    ):
        known = recorded[field_name]
        if not known:
            rows.append((field_name, 0, 0, 0, "not recorded"))
            continue
        if isinstance(known, Recorded):
            keys, stored = known.keys_array, known.amounts
        else:  # a plain {key index: rao}
            ordered = sorted(known)
            keys = np.array(ordered, dtype=np.int64)
            stored = np.array([known[k] for k in ordered], dtype=np.int64)
        mismatches, max_abs, compared = _diff(computed[keys], stored)
        rows.append((field_name, compared, mismatches, max_abs, ""))
    if stored_e is not None:
        parts = payout.epoch_emission
        rows.append(("epoch_emission", 1, int(parts != stored_e), abs(parts - stored_e), ""))
    return rows, hotkeys, payout
