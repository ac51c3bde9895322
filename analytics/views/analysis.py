"""One stored subnet with the engine's recomputation, memoised per DB file version, and the units the tables use."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analytics.data.files import db_version
from analytics.data.store import SNAPSHOT_META_COLUMNS, StoreError, db_exists
from analytics.model.units import U16_MAX

if TYPE_CHECKING:
    from analytics.data.snapshot import SubnetSnapshot
    from analytics.model.yuma import EpochInputs, EpochResult

BLOCKS_PER_DAY = 7200  # 12 s blocks
PROVENANCE_COLUMNS = ("snapshot_id", *SNAPSHOT_META_COLUMNS)


def epochs_per_day(tempo: int) -> float:
    """Since runtime spec 423 an epoch runs every `tempo` blocks (LastEpochBlock + tempo; before, the
    rule was every tempo + 1); 7200 blocks of 12 s make a day."""
    return BLOCKS_PER_DAY / max(int(tempo), 1)


def earnings_per_1000_per_day(
    validator_emission_rao: np.ndarray, stake_rao: np.ndarray, tempo: int
) -> np.ndarray:
    """What 1000 units staked on each validator earn per day, before the validator's take.

    validator emission per epoch (rao) / the validator's stake (rao) x 1000 x epochs per day, where
    epochs per day = 7200 / tempo. NaN where the validator has no stake.
    """
    emission = np.asarray(validator_emission_rao, dtype=np.float64)
    stake = np.asarray(stake_rao, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = emission / stake * 1000.0 * epochs_per_day(tempo)
    return np.where(stake > 0, out, np.nan)


@dataclass(frozen=True)
class SubnetAnalysis:
    """One stored subnet plus the engine's recomputation (netuid aggregate and each mechanism)."""

    snap: SubnetSnapshot
    aggregate: EpochResult
    per_mechanism: dict[int, EpochResult]
    per_inputs: dict[int, EpochInputs]  # what each mechanism's epoch ran on

    def result(self, mechid: int) -> EpochResult:
        if mechid not in self.per_mechanism:
            self.snap.mechanism(mechid)  # raises StoreError naming the mechanisms that exist
        return self.per_mechanism[mechid]


# Which version of the database (a file or a lake) a memoised analysis belongs to (one definition:
# analytics.data.files).
_file_token = db_version


@functools.lru_cache(maxsize=8)
def _analysis(db_path: str, token: str, snapshot_id: int, netuid: int) -> SubnetAnalysis:
    from analytics.data.snapshot import load_subnet  # the engine and loader only when a table is built

    snap = load_subnet(db_path, snapshot_id, netuid)
    aggregate = snap.recompute()  # netuid-level aggregate; .mechanisms[k] is mechanism k's own epoch
    results = aggregate.mechanisms or [aggregate]
    inputs = aggregate.mechanism_inputs or [snap.epoch_inputs(m.mechid) for m in snap.mechanisms]
    per_mechanism = {m.mechid: r for m, r in zip(snap.mechanisms, results, strict=True)}
    per_inputs = {m.mechid: i for m, i in zip(snap.mechanisms, inputs, strict=True)}
    return SubnetAnalysis(snap=snap, aggregate=aggregate, per_mechanism=per_mechanism, per_inputs=per_inputs)


def subnet_analysis(db_path: str | os.PathLike[str], snapshot_id: int, netuid: int) -> SubnetAnalysis:
    """Load one subnet and recompute its epoch (memoised per file version, snapshot and subnet)."""
    db = str(db_path)
    if not db_exists(db):
        raise StoreError(f"database {db} does not exist")
    return _analysis(db, _file_token(db), int(snapshot_id), int(netuid))


def _f(u16: np.ndarray) -> np.ndarray:
    return np.asarray(u16, dtype=np.float64) / U16_MAX


def _bits(bits: np.ndarray) -> np.ndarray:
    return np.asarray(bits, dtype=np.float64) / (1 << 32)
