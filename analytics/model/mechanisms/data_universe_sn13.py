"""Subnet 13 (data universe): a miner's score from its data buckets, and credibility over validations.

Scaled score = sum over buckets of DSW * LSF * ASF * SB, times credibility ** 2.5 (issue 8). Where the issue
is silent we followed github.com/macrocosm-os/data-universe at commit
e5ddd00045289f079853b2d33f1ac52c222f9037 (2025-09-29, the last release whose default label scale factor
is the issue's 0.3):

- ``common/data.py`` ``DataSource.weight``: data-source weights (DSW) reddit 0.58, x 0.37, youtube 0.05;
  ``rewards/data.py``: the weights must sum to 1.
- ``dynamic_desirability/constants.py``: ``DEFAULT_SCALE_FACTOR`` = 0.3 for labels no job lists (LSF);
  ``rewards/data.py`` ``Job.job_weight`` allows listed labels up to 5 (negative penalty weights, which that
  model also allows, are not modelled here). Several jobs matching one bucket add up; give their sum.
- ``rewards/data_value_calculator.py`` ``_scale_factor_for_age``: ASF falls linearly from 1 for fresh
  data to 0.5 at the age limit and is 0 beyond it; ``common/constants.py``: the limit is
  ``DATA_ENTITY_BUCKET_AGE_LIMIT_DAYS`` = 30 days = 720 h (age counted in whole hour buckets there).
  The validator clamps future-dated buckets to age 0; here a negative age is rejected as a typo.
- ``storage/validator/sqlite_memory_validator_storage.py`` ``read_miner_index``: a bucket's scorable
  bytes are own_bytes ** 2 / (bytes all miners hold in that bucket), so duplicated data pays less.
- ``rewards/miner_scorer.py``: credibility starts at 0; ``_update_credibility``: V = valid bytes /
  validated bytes (0 when nothing was validated), C_new = 0.15 * V + 0.85 * C_old; the score is
  multiplied by C ** 2.5 (``_CREDIBILITY_EXP``). Not modelled: the S3 boost added before scaling, and
  the "prove it" cut of credibility when the raw score grows between evaluations.

Our own code; none copied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analytics.model.mechanisms import MechanismInputError, as_finite_array

DEFAULT_SOURCE_WEIGHTS: dict[str, float] = {"reddit": 0.58, "x": 0.37, "youtube": 0.05}
DEFAULT_LABEL_SCALE_FACTOR = 0.3
MAX_LABEL_SCALE_FACTOR = 5.0
MAX_AGE_HOURS = 30 * 24
CREDIBILITY_ALPHA = 0.15
CREDIBILITY_EXPONENT = 2.5
STARTING_CREDIBILITY = 0.0
WEIGHT_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class BucketScores:
    """Each bucket's factors and its score DSW * LSF * ASF * SB; ``raw_score`` is their sum."""

    source_weight: np.ndarray  # DSW
    label_scale_factor: np.ndarray  # LSF
    age_scale_factor: np.ndarray  # ASF
    scorable_bytes: np.ndarray  # SB
    score: np.ndarray

    @property
    def raw_score(self) -> float:
        return float(self.score.sum())


def validate_source_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Data-source weights as a plain dict, each in [0, 1] and summing to 1 (within 1e-6)."""
    if not weights:
        raise MechanismInputError("Data-source weights: give at least one source and its weight.")
    checked: dict[str, float] = {}
    for source, weight in weights.items():
        value = float(weight)
        if not math.isfinite(value) or not 0 <= value <= 1:
            raise MechanismInputError(
                f"Data-source weight of {source!r} is {weight!r}; it must be between 0 and 1."
            )
        checked[str(source)] = value
    total = sum(checked.values())
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        raise MechanismInputError(
            f"Data-source weights sum to {total:.6g}; they must sum to 1 (they are shares of the reward)."
        )
    return checked


def age_scale_factor(
    age_hours: Sequence[float] | np.ndarray, max_age_hours: float = MAX_AGE_HOURS
) -> np.ndarray:
    """ASF: 1 - age / (2 * max_age) for 0 <= age <= max_age (1 down to 0.5), 0 for older data."""
    if not math.isfinite(max_age_hours) or max_age_hours <= 0:
        raise MechanismInputError(
            f"The age limit is {max_age_hours!r} h; it must be a positive number of hours."
        )
    age = as_finite_array(age_hours, "Age", non_negative=True)
    return np.where(age <= max_age_hours, 1.0 - age / (2.0 * max_age_hours), 0.0)


def scorable_bytes(
    own_bytes: Sequence[float] | np.ndarray, bucket_total_bytes: Sequence[float] | np.ndarray | None = None
) -> np.ndarray:
    """SB = own ** 2 / total, total = bytes every miner (this one included) holds in the bucket.

    Without totals the data is taken as unique to this miner (SB = own bytes).
    """
    own = as_finite_array(own_bytes, "Bytes", non_negative=True)
    if bucket_total_bytes is None:
        return own
    total = as_finite_array(bucket_total_bytes, "Bytes all miners hold", non_negative=True)
    if total.shape != own.shape:
        raise MechanismInputError("Give one 'bytes all miners hold' value per bucket.")
    short = total < own
    if short.any():
        row = int(np.argmax(short)) + 1
        raise MechanismInputError(
            f"Row {row}: bytes all miners hold ({total[row - 1]:g}) is less than this miner's bytes "
            f"({own[row - 1]:g}); the total includes this miner."
        )
    return np.divide(own * own, total, out=np.zeros_like(own), where=total > 0)


def label_scale_factors(
    sources: Sequence[str],
    labels: Sequence[str | None],
    listed: Mapping[tuple[str, str], float],
    default: float = DEFAULT_LABEL_SCALE_FACTOR,
) -> np.ndarray:
    """LSF per bucket: the listed factor for (source, label), else ``default``. Labels match case-blind."""
    if len(sources) != len(labels):
        raise MechanismInputError("Give one label (or none) per bucket source.")
    for name, value in (
        ("default label scale factor", default),
        *((f"scale factor of {k!r}", v) for k, v in listed.items()),
    ):
        if not math.isfinite(float(value)) or not 0 <= float(value) <= MAX_LABEL_SCALE_FACTOR:
            raise MechanismInputError(
                f"The {name} is {value!r}; it must be a number between 0 and {MAX_LABEL_SCALE_FACTOR:g}."
            )
    lookup = {
        (str(s).strip().lower(), str(label).strip().lower()): float(v) for (s, label), v in listed.items()
    }
    return np.array(
        [
            lookup.get((str(s).strip().lower(), str(label or "").strip().lower()), float(default))
            for s, label in zip(sources, labels, strict=True)
        ],
        dtype=np.float64,
    )


def score_buckets(
    sources: Sequence[str | None],
    label_scale: Sequence[float] | np.ndarray,
    age_hours: Sequence[float] | np.ndarray,
    bucket_scorable_bytes: Sequence[float] | np.ndarray,
    source_weights: Mapping[str, float] | None = None,
    max_age_hours: float = MAX_AGE_HOURS,
) -> BucketScores:
    """Score each bucket DSW * LSF * ASF * SB; sources are matched case-blind against ``source_weights``."""
    weights = validate_source_weights(DEFAULT_SOURCE_WEIGHTS if source_weights is None else source_weights)
    by_name = {name.strip().lower(): w for name, w in weights.items()}
    lsf = as_finite_array(label_scale, "Label scale factors", non_negative=True)
    asf = age_scale_factor(age_hours, max_age_hours)
    sb = as_finite_array(bucket_scorable_bytes, "Scorable bytes", non_negative=True)
    if not (len(sources) == lsf.size == asf.size == sb.size):
        raise MechanismInputError("Every bucket needs a source, a label scale factor, an age and its bytes.")
    dsw = np.empty(len(sources))
    for row, source in enumerate(sources):
        key = str(source).strip().lower() if source is not None else ""
        if not key:
            raise MechanismInputError(f"Row {row + 1} has no source; fill it in or delete the row.")
        if key not in by_name:
            known = ", ".join(sorted(by_name))
            raise MechanismInputError(
                f"Row {row + 1}: source {source!r} has no data-source weight; use one of: {known}."
            )
        dsw[row] = by_name[key]
    return BucketScores(dsw, lsf, asf, sb, dsw * lsf * asf * sb)


def _check_unit(value: float, name: str) -> float:
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise MechanismInputError(f"{name} is {value!r}; it must be between 0 and 1.")
    return float(value)


def _check_alpha(alpha: float) -> float:
    if not math.isfinite(alpha) or not 0 < alpha <= 1:
        raise MechanismInputError(f"The credibility alpha is {alpha!r}; it must be above 0 and at most 1.")
    return float(alpha)


def scaled_score(
    raw_score: float | np.ndarray, credibility: float | np.ndarray, exponent: float = CREDIBILITY_EXPONENT
) -> float | np.ndarray:
    """Raw score times credibility ** exponent (credibility in [0, 1])."""
    cred = np.asarray(credibility, dtype=np.float64)
    if (~np.isfinite(cred)).any() or (cred < 0).any() or (cred > 1).any():
        raise MechanismInputError("Credibility must be between 0 and 1.")
    raw = np.asarray(raw_score, dtype=np.float64)
    if (~np.isfinite(raw)).any() or (raw < 0).any():
        raise MechanismInputError("The raw score must be a number, 0 or more.")
    result = raw * cred**exponent
    return float(result) if result.ndim == 0 else result


def validation_shares(
    valid_bytes: Sequence[float] | np.ndarray, validated_bytes: Sequence[float] | np.ndarray
) -> np.ndarray:
    """V per evaluation: valid bytes / validated bytes, 0 when nothing was validated."""
    valid = as_finite_array(valid_bytes, "Valid bytes", non_negative=True)
    validated = as_finite_array(validated_bytes, "Validated bytes", non_negative=True)
    if valid.shape != validated.shape:
        raise MechanismInputError("Give valid and validated bytes for every evaluation.")
    over = valid > validated
    if over.any():
        row = int(np.argmax(over)) + 1
        raise MechanismInputError(
            f"Evaluation {row}: {valid[row - 1]:g} valid bytes out of {validated[row - 1]:g} validated; "
            "valid bytes cannot exceed the bytes validated."
        )
    return np.divide(valid, validated, out=np.zeros_like(valid), where=validated > 0)


def credibility_path(
    shares: Sequence[float] | np.ndarray,
    alpha: float = CREDIBILITY_ALPHA,
    start: float = STARTING_CREDIBILITY,
) -> np.ndarray:
    """Credibility before and after each evaluation: C_k = alpha * V_k + (1 - alpha) * C_(k-1), length n + 1."""
    v = as_finite_array(shares, "Validation shares", non_negative=True)
    if (v > 1).any():
        row = int(np.argmax(v > 1)) + 1
        raise MechanismInputError(
            f"Evaluation {row}: share {v[row - 1]:g} is above 1; a share of bytes is at most 1."
        )
    alpha = _check_alpha(alpha)
    path = np.empty(v.size + 1)
    path[0] = _check_unit(start, "The starting credibility")
    for k, share in enumerate(v, start=1):
        path[k] = credibility_update(path[k - 1], share, alpha)
    return path


def credibility_update(credibility: float, share: float, alpha: float = CREDIBILITY_ALPHA) -> float:
    """Credibility after one evaluation: the moving average alpha * V + (1 - alpha) * C_old."""
    return alpha * share + (1 - alpha) * credibility


def recovery_validations(
    credibility: float, alpha: float = CREDIBILITY_ALPHA, failure_share: float = 0.0
) -> int | None:
    """Clean validations (V = 1) needed after one evaluation with ``failure_share`` to get back to ``credibility``.

    0 when the failure cost nothing (credibility 0, or a share at least the credibility); None when it
    can never be regained exactly (credibility 1 is only approached).
    """
    credibility = _check_unit(credibility, "The credibility before the failure")
    failure_share = _check_unit(failure_share, "The share validated in the failed evaluation")
    alpha = _check_alpha(alpha)
    current = credibility_update(credibility, failure_share, alpha)
    if current >= credibility:
        return 0
    if credibility >= 1:
        return None
    # 1 - C_n = (1 - alpha) ** n * (1 - C_0): solve, then settle float rounding by stepping.
    n = (
        max(0, math.ceil(math.log((1 - credibility) / (1 - current)) / math.log(1 - alpha)) - 1)
        if alpha < 1
        else 1
    )
    value = current
    for _ in range(n):
        value = credibility_update(value, 1.0, alpha)
    while value < credibility:
        value = credibility_update(value, 1.0, alpha)
        n += 1
    return n


RECOVERY_LEVELS = np.round(np.arange(0.0, 0.995, 0.01), 2)  # credibility before a failure, 0 to 0.99


def recovery_curve(
    alpha: float = CREDIBILITY_ALPHA, failure_share: float = 0.0
) -> tuple[np.ndarray, list[int | None]]:
    """Clean validations to recover from one failure, for every credibility 0, 0.01, ..., 0.99 before it."""
    return RECOVERY_LEVELS, [recovery_validations(float(c), alpha, failure_share) for c in RECOVERY_LEVELS]


def listed_label_factors(
    sources: Sequence[str | None], labels: Sequence[str | None], factors: Sequence[float] | np.ndarray
) -> dict[tuple[str, str], float]:
    """The listed-labels table (source, label, scale factor rows) as a lookup for :func:`label_scale_factors`.

    Every row needs a source and a label, and a (source, label) pair may be listed once (case-insensitive:
    several jobs on one label add up, so the table gives their sum).
    """
    listed: dict[tuple[str, str], float] = {}
    seen: set[tuple[str, str]] = set()
    for row, (source, label, factor) in enumerate(zip(sources, labels, factors, strict=True), start=1):
        if source is None or label is None:
            raise MechanismInputError(
                f"Listed labels: row {row} needs a source and a label; fill them in or delete the row."
            )
        key = (source.strip().lower(), label.strip().lower())
        if key in seen:
            raise MechanismInputError(
                f"Listed labels: row {row} lists {source} {label} again; keep one row (several jobs on one "
                "label add up, so give their sum)."
            )
        seen.add(key)
        listed[(source, label)] = factor
    return listed
