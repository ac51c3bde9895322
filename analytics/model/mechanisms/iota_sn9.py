"""Subnet 9 (IOTA, orchestrated training): who counts towards a merge, and what a score is worth over time.

The rules, as issue 8 states them, completed from the subnet's public code where the issue is silent.
Followed: github.com/macrocosm-os/iota at commit 56aee24fa581dc9e3012506ae72064553e8f8aad (2025-07-04):

- ``settings.py``: B_min is ``GLOBAL_OPTIMIZER_STEPS`` = 10 backward passes since the last merge; the merge
  fraction is ``MINERS_REQUIRED_FOR_WEIGHT_UPLOADING`` = 0.8; a score stays valid for
  ``SCORE_VALIDITY_PERIOD`` = 3000 blocks * 12 s = 36 000 s = 10 h (our default t_decay).
- ``orchestrator/orchestrator.py`` ``_can_upload_weights``: a miner counts once ``backwards_since_reset >=
  GLOBAL_OPTIMIZER_STEPS``; the merge starts once the counting miners are at least the fraction of all
  registered miners. Only counting miners may upload weights (``notify_weights_uploaded``).
- ``utils/partitions.py`` + ``miner/miner.py``: the merge is a weighted average whose weight per miner is
  ``1 + backwards_since_reset``; ``merge_weight`` below is that share.
- ``orchestrator/orchestrator.py`` ``submit_miner_scores`` / ``get_global_miner_scores``: each score is kept
  with its timestamp, dropped once older than the validity period, and a miner's incentive is the plain
  sum of the scores still held (a step decay: full weight, then nothing). The code also gives every
  registered miner a base score of 1 (``base_score`` below, 0 by default as in the issue's formula).
- ``gradient_validator/gradient_validator.py``: a validator adds 1 to a miner's score per full sync whose
  uploaded weights pass validation (our ``"per_sync"`` rule); the issue's calculator scores backward
  passes (our ``"backward_passes"`` rule, the default).

Differences kept on purpose: the issue counts a score while t - t0 <= t_decay (inclusive); the code keeps
it while t - t0 < period. The merge threshold ``fraction * n`` is rounded up with a 1e-9 tolerance so that
0.7 * 10 asks for 7 miners, not 8 as a bare float comparison would. Our own code; none copied.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from analytics.model.mechanisms import MechanismInputError, as_finite_array

DEFAULT_B_MIN = 10
DEFAULT_MERGE_FRACTION = 0.8
DEFAULT_T_DECAY_HOURS = 3000 * 12 / 3600  # SCORE_VALIDITY_PERIOD, 10 h
ScoreRule = Literal["backward_passes", "per_sync"]
SCORE_RULES: tuple[ScoreRule, ...] = ("backward_passes", "per_sync")
SCORE_RULE_LABELS: dict[str, str] = {
    "backward_passes": "backward passes (if ≥ B_min)",
    "per_sync": "1 per sync at B_min (public validator)",
}
CURVE_POINTS = 400  # evenly spaced instants of an incentive curve, besides the instants where a step sits


@dataclass(frozen=True)
class MergeReadiness:
    """Where each miner stands against B_min, and whether the orchestrator would start merging."""

    batch_counts: np.ndarray  # B_m, backward passes since the last merge
    qualifies: np.ndarray  # B_m >= B_min
    shortfall: np.ndarray  # backward passes still missing to reach B_min (0 when qualifying)
    merge_weight: np.ndarray  # share of each miner in the weighted merge, (1 + B_m) / sum over qualifying
    effective_batch_count: float  # B_eff = sum of B_m over qualifying miners
    qualifying_miners: int
    required_miners: int  # ceil(merge_fraction * number of miners)
    merge_triggered: bool


def _check_b_min(b_min: float) -> float:
    if not np.isfinite(b_min) or b_min < 0 or b_min != np.floor(b_min):
        raise MechanismInputError(
            f"B_min is {b_min!r}; it must be a whole number of backward passes, 0 or more."
        )
    return float(b_min)


def _check_fraction(merge_fraction: float) -> float:
    if not np.isfinite(merge_fraction) or not 0 < merge_fraction <= 1:
        raise MechanismInputError(
            f"The merge fraction is {merge_fraction!r}; it must be above 0 and at most 1 (0.8 = 80% of miners)."
        )
    return float(merge_fraction)


def _check_t_decay(t_decay: float) -> float:
    if not np.isfinite(t_decay) or t_decay <= 0:
        raise MechanismInputError(f"t_decay is {t_decay!r}; it must be a positive duration.")
    return float(t_decay)


def merge_readiness(
    batch_counts: Sequence[float] | np.ndarray,
    b_min: float = DEFAULT_B_MIN,
    merge_fraction: float = DEFAULT_MERGE_FRACTION,
) -> MergeReadiness:
    """B_eff = sum of B_m over miners with B_m >= B_min, who qualifies, and whether the merge triggers.

    The merge triggers once at least ``ceil(merge_fraction * n)`` of the n miners reach B_min. With no
    miner at B_min, B_eff is 0 and nothing merges.
    """
    counts = as_finite_array(batch_counts, "Batch counts", non_negative=True, whole=True)
    if counts.size == 0:
        raise MechanismInputError("Batch counts: add at least one miner.")
    b_min = _check_b_min(b_min)
    merge_fraction = _check_fraction(merge_fraction)
    qualifies = counts >= b_min
    factors = np.where(qualifies, 1.0 + counts, 0.0)
    total_factor = factors.sum()
    merge_weight = factors / total_factor if total_factor > 0 else np.zeros_like(counts)
    required = int(np.ceil(merge_fraction * counts.size - 1e-9))
    qualifying = int(qualifies.sum())
    return MergeReadiness(
        batch_counts=counts,
        qualifies=qualifies,
        shortfall=np.maximum(b_min - counts, 0.0),
        merge_weight=merge_weight,
        effective_batch_count=float(counts[qualifies].sum()),
        qualifying_miners=qualifying,
        required_miners=required,
        merge_triggered=qualifying >= required,
    )


@dataclass(frozen=True)
class BMinSweep:
    """B_eff, qualifying miners and the merge decision for a range of B_min values (one entry each)."""

    b_min: np.ndarray
    effective_batch_count: np.ndarray
    qualifying_miners: np.ndarray
    merge_triggered: np.ndarray


def b_min_sweep(
    batch_counts: Sequence[float] | np.ndarray,
    b_mins: Sequence[float] | np.ndarray | None = None,
    merge_fraction: float = DEFAULT_MERGE_FRACTION,
) -> BMinSweep:
    """How B_eff and the merge respond to B_min, for every value in ``b_mins``.

    Without ``b_mins``, the values where anything changes: 0, each count and each count + 1. Sorting
    once makes this O((miners + values) log miners), so uploaded tables of any size stay fast.
    """
    counts = merge_readiness(batch_counts, 0, merge_fraction).batch_counts
    if b_mins is None:
        thresholds = np.unique(np.concatenate([[0.0], counts, counts + 1]))
    else:
        thresholds = as_finite_array(b_mins, "B_min values", non_negative=True, whole=True)
    ordered = np.sort(counts)
    tail_sums = np.concatenate([np.cumsum(ordered[::-1])[::-1], [0.0]])  # sum of ordered[i:]
    first = np.searchsorted(ordered, thresholds, side="left")  # first count >= threshold
    qualifying = counts.size - first
    required = int(np.ceil(merge_fraction * counts.size - 1e-9))
    return BMinSweep(thresholds, tail_sums[first], qualifying, qualifying >= required)


def step_decay_weight(age: np.ndarray | float, t_decay: float) -> np.ndarray:
    """w = 1 while 0 <= age <= t_decay, else 0 (a score from the future, age < 0, does not count yet)."""
    t_decay = _check_t_decay(t_decay)
    age = np.asarray(age, dtype=np.float64)
    return ((age >= 0) & (age <= t_decay)).astype(np.float64)


def epoch_scores(
    backward_passes: Sequence[Sequence[float]] | np.ndarray,
    b_min: float = DEFAULT_B_MIN,
    rule: ScoreRule = "backward_passes",
) -> np.ndarray:
    """S_m^n per full-sync epoch n (rows) and miner m (columns) from backward-pass counts.

    ``"backward_passes"``: a miner that reached B_min in the epoch scores its backward passes, others 0.
    ``"per_sync"``: a miner that reached B_min scores 1 (the public validator's +1 per passing sync).
    """
    counts = as_finite_array(backward_passes, "Backward passes", ndim=2, non_negative=True, whole=True)
    b_min = _check_b_min(b_min)
    qualifies = counts >= b_min
    if rule == "backward_passes":
        return np.where(qualifies, counts, 0.0)
    if rule == "per_sync":
        return qualifies.astype(np.float64)
    raise MechanismInputError(f"Unknown score rule {rule!r}; choose one of {', '.join(SCORE_RULES)}.")


def incentive_over_time(
    scores: Sequence[Sequence[float]] | np.ndarray,
    epoch_times: Sequence[float] | np.ndarray,
    times: Sequence[float] | np.ndarray,
    t_decay: float = DEFAULT_T_DECAY_HOURS,
    base_score: float = 0.0,
) -> np.ndarray:
    """Raw incentive I_m(t) = base + sum_n S_m^n * w(t - t0_n) for every t in ``times``: shape (T, miners).

    ``scores`` is (epochs, miners), ``epoch_times`` the time t0_n each epoch's scores were assigned, in
    the same unit as ``times`` and ``t_decay``.
    """
    score_matrix = as_finite_array(scores, "Scores", ndim=2, non_negative=True)
    assigned = as_finite_array(epoch_times, "Epoch times")
    at = as_finite_array(times, "Times")
    if assigned.size != score_matrix.shape[0]:
        raise MechanismInputError(
            f"Got {assigned.size} epoch times for {score_matrix.shape[0]} epochs of scores; give one time per epoch."
        )
    if not np.isfinite(base_score) or base_score < 0:
        raise MechanismInputError(f"The base score is {base_score!r}; it must be 0 or more.")
    window = step_decay_weight(at[:, None] - assigned[None, :], t_decay)  # (T, epochs)
    return window @ score_matrix + base_score


def raw_incentive(
    scores: Sequence[Sequence[float]] | np.ndarray,
    epoch_times: Sequence[float] | np.ndarray,
    at_time: float,
    t_decay: float = DEFAULT_T_DECAY_HOURS,
    base_score: float = 0.0,
) -> np.ndarray:
    """I_m at one time ``at_time``: one value per miner."""
    return incentive_over_time(scores, epoch_times, [at_time], t_decay, base_score)[0]


def incentive_shares(raw: np.ndarray) -> np.ndarray:
    """Each miner's share of the total along the last axis (what normalised weights would give); 0 when none."""
    raw = np.asarray(raw, dtype=np.float64)
    total = raw.sum(axis=-1, keepdims=True)
    return np.divide(raw, total, out=np.zeros_like(raw), where=total > 0)


def pivot_timeline(
    epochs: Sequence[Hashable],
    times: Sequence[float] | np.ndarray,
    miners: Sequence[Hashable],
    counts: Sequence[float] | np.ndarray,
) -> tuple[list[Hashable], np.ndarray, list[Hashable], np.ndarray]:
    """Long rows (epoch, time, miner, backward passes) -> (epoch ids, epoch times, miner ids, (E, M) counts).

    Epochs are ordered by time, miners by first appearance; a miner missing from an epoch did 0 passes.
    An epoch must have one time, and a miner at most one row per epoch.
    """
    if not (len(epochs) == len(times) == len(miners) == len(counts)):
        raise MechanismInputError("Timeline: every row needs an epoch, a time, a miner and a count.")
    if len(epochs) == 0:
        raise MechanismInputError("Timeline: add at least one row (epoch, time, miner, backward passes).")
    time_values = as_finite_array(times, "Timeline times")
    count_values = as_finite_array(counts, "Timeline backward passes", non_negative=True, whole=True)
    for row, (epoch, miner) in enumerate(zip(epochs, miners, strict=True), start=1):
        for what, value in (("epoch", epoch), ("miner", miner)):
            if (
                value is None
                or (isinstance(value, float) and not np.isfinite(value))
                or str(value).strip() == ""
            ):
                raise MechanismInputError(f"Timeline: row {row} has no {what}; fill it in or delete the row.")
    epoch_time: dict[Hashable, float] = {}
    for row, (epoch, time) in enumerate(zip(epochs, time_values, strict=True), start=1):
        if epoch_time.setdefault(epoch, float(time)) != time:
            raise MechanismInputError(
                f"Timeline: row {row} gives epoch {epoch!r} the time {time:g}, but an earlier row gave "
                f"{epoch_time[epoch]:g}; one epoch has one time."
            )
    epoch_ids = sorted(epoch_time, key=lambda e: epoch_time[e])
    miner_ids = list(dict.fromkeys(miners))
    epoch_index = {e: i for i, e in enumerate(epoch_ids)}
    miner_index = {m: j for j, m in enumerate(miner_ids)}
    matrix = np.zeros((len(epoch_ids), len(miner_ids)))
    seen: set[tuple[int, int]] = set()
    for row, (epoch, miner, count) in enumerate(zip(epochs, miners, count_values, strict=True), start=1):
        cell = (epoch_index[epoch], miner_index[miner])
        if cell in seen:
            raise MechanismInputError(
                f"Timeline: row {row} repeats miner {miner!r} in epoch {epoch!r}; give one row per miner and epoch."
            )
        seen.add(cell)
        matrix[cell] = count
    return epoch_ids, np.array([epoch_time[e] for e in epoch_ids]), miner_ids, matrix


def parse_hours(text: str) -> list[float]:
    """'2, 6, 10' -> [2.0, 6.0, 10.0]; raises MechanismInputError naming the part that is not a duration."""
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise MechanismInputError(
                f"t_decay list: {part!r} is not a number of hours; write e.g. 2, 6, 10."
            ) from None
        if not np.isfinite(value) or value <= 0:
            raise MechanismInputError(f"t_decay list: {part!r} must be a positive number of hours.")
        values.append(value)
    if not values:
        raise MechanismInputError("t_decay list: give at least one duration in hours, e.g. 2, 6, 10.")
    return sorted(set(values))


def incentive_curves(
    scores: np.ndarray,
    epoch_times: np.ndarray,
    t_decays: Sequence[float],
    base_score: float = 0.0,
    points: int = CURVE_POINTS,
) -> list[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """Per t_decay: (t_decay, times, raw incentive (T, miners), shares (T, miners)) to draw as curves.

    The times run evenly from the first sync to one hour past the longest window, plus the instants where a
    score starts and stops counting under this t_decay (and just after), so each step sits where it happens.
    """
    times = np.asarray(epoch_times, dtype=np.float64)
    start, end = float(times.min()), float(times.max()) + max(t_decays)
    even = np.linspace(start, end + 1, points)
    curves = []
    for t_decay in t_decays:
        edges = np.concatenate([times, times + t_decay])
        grid = np.unique(np.concatenate([even, edges, edges + 1e-6]))
        raw = incentive_over_time(scores, times, grid, t_decay, base_score)
        curves.append((t_decay, grid, raw, incentive_shares(raw)))
    return curves
