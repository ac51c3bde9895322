"""Emission split across a subnet's incentive mechanisms, as subtensor computes it.

Pure: integers and numpy in, integers and numpy out (no I/O). Rules from design/yuma.md §5 and §6:

* A split is one u16 per mechanism that sums to exactly 65535, with no more values than mechanisms
  (``do_set_emission_split``). Unset (or empty) means an even split. Mechanisms past the end of a
  shorter split get nothing.
* Mechanism amounts (``split_emissions``): E_m = floor(E · s_m / 65535), or floor(E / M) for an even
  split; the rounding remainder E − Σ E_m goes to mechanism 0. Integer-exact on rao.
* Before the epoch the coinbase takes the owner cut, ``SubnetOwnerCut`` / 65535 (11796 ≈ 18 % on
  mainnet) of the subnet's alpha emission, and halves the rest between miners and validators (+ root
  stakers). Both are parameters here (``owner_cut``, ``miner_fraction``).
* Each mechanism's epoch pays its miners by incentive and its validators by dividends. The stored
  netuid-level ``Emission`` weights every mechanism twice when M > 1 (see :data:`STORED_EMISSION_NOTE`),
  so it is not what anyone was paid.

Amounts are rao (1 alpha = 10**9 rao) and are kept as exact Python / int64 integers throughout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np

from analytics.errors import InputError
from analytics.model.units import RAO_PER_UNIT, U16_MAX
from analytics.model.yuma import split_emissions

RAO_PER_ALPHA = RAO_PER_UNIT  # the name scripts import
DEFAULT_OWNER_CUT = 11796  # SubtensorInitialSubnetOwnerCut: 18 % of 65535, rounded down
DEFAULT_MINER_FRACTION = Fraction(1, 2)  # coinbase: pending server alpha = rest · 0.5
MAX_MECHANISMS = 255  # MechId is a u8; the runtime caps it lower, this only guards nonsense input
MAX_WEIGHT = 10**18  # percent / weight inputs above this are typos (and would make huge fractions)

STORED_EMISSION_NOTE = (
    "The stored Emission is not the payout when a subnet has more than one mechanism: each mechanism's "
    "amount already carries its share w_m = E_m/E and the chain multiplies it by w_m again when it "
    "aggregates, so it sums to Σ w_m²·E. Payouts are the per-mechanism miner and validator amounts."
)

Split = tuple[int, ...]


class SplitError(InputError):
    """A split that the chain would reject. ``problem`` says why; ``suggestion`` is the nearest valid split."""

    def __init__(self, problem: str, suggestion: Split | None = None) -> None:
        self.problem = problem
        self.suggestion = suggestion
        hint = f"; nearest valid split: {format_split(suggestion)}" if suggestion else ""
        super().__init__(problem + hint)


def format_split(split: Sequence[int] | None) -> str:
    """The comma-separated form users type and the chain call takes; ``even`` for an unset split."""
    return "even" if not split else ",".join(str(int(v)) for v in split)


# --------------------------------------------------------------------------------------------------
# Percent <-> u16


def _exact(value: object, what: str) -> Fraction:
    """A finite non-negative number as an exact fraction (decimal text, not binary float noise)."""
    if isinstance(value, Fraction):
        result = value
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        result = Fraction(int(value))
    else:
        try:
            parsed = Decimal(str(value).strip())
        except (InvalidOperation, ValueError, TypeError):
            raise SplitError(f"{what} {value!r} is not a number") from None
        if not parsed.is_finite():
            raise SplitError(f"{what} {value!r} is not a number")
        if parsed.adjusted() > 18 or parsed.adjusted() < -18:
            if parsed.is_zero():
                return Fraction(0)
            raise SplitError(f"{what} {value!r} is too large or too precise")
        result = Fraction(parsed)
    if result < 0:
        raise SplitError(f"{what} {value!r} is negative")
    if result > MAX_WEIGHT:
        raise SplitError(f"{what} {value!r} is too large")
    return result


def apportion(weights: Sequence[object], total: int = U16_MAX) -> Split:
    """Integers proportional to ``weights`` that sum to exactly ``total`` (largest-remainder rule).

    Rounding rule (documented for owners): every exact quota w_m/Σw · total is floored, then the
    missing units go one each to the largest fractional parts. Ties go first to the smaller quota
    (a unit matters more to it in relative terms), then to the lower mechanism id (as the chain gives
    its own rounding remainder to mechanism 0). So [60, 30, 10] % → 39321, 19660, 6554.
    """
    exact = [_exact(w, "weight") for w in weights]
    if not exact:
        raise SplitError("no values given")
    weight_sum = sum(exact)
    if weight_sum == 0:
        raise SplitError("all values are zero")
    quotas = [w * total / weight_sum for w in exact]
    floors = [q.numerator // q.denominator for q in quotas]
    missing = total - sum(floors)
    order = sorted(range(len(quotas)), key=lambda m: (-(quotas[m] - floors[m]), quotas[m], m))
    for m in order[:missing]:
        floors[m] += 1
    return tuple(floors)


def percent_to_split(percents: Sequence[object]) -> Split:
    """The u16 vector an owner submits for the given percentages (any scale: [60,30,10] = [6,3,1]).

    The percentages are normalised by their own sum, then apportioned with :func:`apportion`.
    """
    return apportion(percents, U16_MAX)


def keep_one_percent(percents: Sequence[object], index: int) -> list[Fraction]:
    """Percentages after the user set mechanism ``index``: its value is kept (clamped to 0..100) and the
    other mechanisms share the remaining 100 − value in their current proportions (evenly when they are
    all zero), so the result sums to exactly 100. [70, 30] with 50 typed for 0 -> [50, 50], not the
    62.5 / 37.5 a rescale of [50, 30] would give."""
    values = [_exact(p, "percentage") for p in percents]
    if not 0 <= index < len(values):
        raise SplitError(f"no mechanism {index} among {len(values)}")
    kept = min(values[index], Fraction(100))
    others = [m for m in range(len(values)) if m != index]
    if not others:
        return [Fraction(100)]
    rest = Fraction(100) - kept
    weight = sum(values[m] for m in others)
    out = list(values)
    out[index] = kept
    for m in others:
        out[m] = rest * values[m] / weight if weight else rest / len(others)
    return out


def split_to_percent(split: Sequence[int] | None, mechanism_count: int) -> np.ndarray:
    """Each mechanism's share in percent (float64, length M), even when the split is unset."""
    return shares(split, mechanism_count) * 100.0


def even_split(mechanism_count: int) -> Split:
    """An explicit u16 vector as close as possible to an even split (the unset split needs no vector)."""
    _check_mechanism_count(mechanism_count)
    return apportion([1] * mechanism_count)


# --------------------------------------------------------------------------------------------------
# Parsing and validation


def _check_mechanism_count(mechanism_count: int) -> None:
    if not isinstance(mechanism_count, (int, np.integer)) or not 1 <= int(mechanism_count) <= MAX_MECHANISMS:
        raise SplitError(
            f"mechanism count must be an integer from 1 to {MAX_MECHANISMS}, got {mechanism_count!r}"
        )


def _clamped_u16(value: object) -> Fraction:
    """A typed value clamped to [0, 65535]; anything that is not a finite number counts as 0."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        return Fraction(0)
    if not number.is_finite() or number <= 0:
        return Fraction(0)
    return Fraction(U16_MAX) if number >= U16_MAX else Fraction(number)


def nearest_valid_split(values: Sequence[object], mechanism_count: int) -> Split:
    """The valid split closest to what was meant: same proportions, at most M values, summing to 65535.

    Values are clamped to [0, 65535], extra values beyond M are dropped, and the rest is rescaled with
    :func:`apportion`. All zeros (or nothing usable) gives the explicit even split.
    """
    _check_mechanism_count(mechanism_count)
    kept = [_clamped_u16(value) for value in list(values)[:mechanism_count]]
    if not kept or sum(kept) == 0:
        return even_split(mechanism_count)
    return apportion(kept)


_SEPARATORS = re.compile(r"[\s,;]+")


def split_tokens(text: str) -> list[str]:
    """The values of a typed split: ``"[1, 2; 3]"`` -> ``["1", "2", "3"]`` (brackets and separators dropped)."""
    stripped = text.strip().strip("[]()").strip()
    return [t for t in _SEPARATORS.split(stripped) if t] if stripped else []


def parse_split(raw: str | Sequence[object] | None, mechanism_count: int) -> Split | None:
    """Validate a split as the chain would; ``None`` means even (absent, empty string, empty list).

    Accepts ``"39321,19660,6554"`` (spaces, brackets and semicolons allowed) or a sequence of ints.
    Raises :class:`SplitError` saying what is wrong and carrying the nearest valid split.
    """
    _check_mechanism_count(mechanism_count)
    if raw is None:
        return None
    items: list[object] = list(split_tokens(raw)) if isinstance(raw, str) else list(raw)
    if not items:
        return None
    values: list[int] = []
    for position, item in enumerate(items):
        text = str(item).strip()
        if isinstance(item, (bool, np.bool_)) or not re.fullmatch(r"[+-]?\d+", text):
            raise SplitError(
                f"value {text!r} (mechanism {position}) is not a whole number: a split is u16 integers",
                nearest_valid_split(items, mechanism_count),
            )
        value = int(text) if len(text) <= 12 else U16_MAX + 1  # never convert a huge digit string
        if not 0 <= value <= U16_MAX:
            raise SplitError(
                f"value {text[:12]}{'…' if len(text) > 12 else ''} (mechanism {position}) is outside the u16 range 0..65535",
                nearest_valid_split(items, mechanism_count),
            )
        values.append(value)
    suggestion = nearest_valid_split(values, mechanism_count)
    if len(values) > mechanism_count:
        noun = "mechanism" if mechanism_count == 1 else "mechanisms"
        raise SplitError(
            f"{len(values)} values for {mechanism_count} {noun}: at most one value per mechanism", suggestion
        )
    total = sum(values)
    if total != U16_MAX:
        hint = " (these look like percentages: the suggestion is their u16 vector)" if total == 100 else ""
        raise SplitError(
            f"values sum to {total}, must be exactly 65535 (off by {total - U16_MAX:+d}){hint}", suggestion
        )
    return tuple(values)


# --------------------------------------------------------------------------------------------------
# Shares and amounts


def shares(split: Sequence[int] | None, mechanism_count: int) -> np.ndarray:
    """Each mechanism's fraction of the subnet's epoch emission (float64, length M, sums to 1)."""
    _check_mechanism_count(mechanism_count)
    if not split:
        return np.full(mechanism_count, 1.0 / mechanism_count)
    out = np.zeros(mechanism_count)
    values = np.asarray(split[:mechanism_count], dtype=np.float64)
    out[: len(values)] = values / U16_MAX
    return out


def split_amounts(total: int, split: Sequence[int] | None, mechanism_count: int) -> np.ndarray:
    """E_m per mechanism exactly as the chain's ``split_emissions``: floor(E·s_m/65535) or floor(E/M),
    remainder to mechanism 0. An empty split means even here (the chain's storage cannot hold one).

    ``total`` is a non-negative integer amount (rao). Returns int64, length M, summing to ``total``.
    """
    _check_mechanism_count(mechanism_count)
    total = _rao(total, "emission")
    return np.array(split_emissions(total, mechanism_count, list(split) if split else None), dtype=np.int64)


def _rao(value: object, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} must be a whole number of rao, got {value!r}")
    if not 0 <= int(value) < 2**63:
        raise ValueError(f"{what} must be between 0 and 2**63 - 1 rao, got {value}")
    return int(value)


def alpha_to_rao(amount: str | int | float | Decimal) -> int:
    """An alpha amount as exact rao (decimal text is exact; more than 9 decimals is an error)."""
    try:
        exact = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"emission {amount!r} is not a number") from None
    if not exact.is_finite() or exact < 0:
        raise ValueError(f"emission {amount!r} must be a finite, non-negative amount")
    rao = exact * RAO_PER_ALPHA
    if rao != rao.to_integral_value():
        raise ValueError(f"emission {amount!r} has more precision than 1 rao (9 decimals)")
    return _rao(int(rao), "emission")


def owner_cut_amount(emission: int, owner_cut: int = DEFAULT_OWNER_CUT) -> int:
    """The owner's cut of ``emission`` rao as the coinbase computes it in U96F32 fixed point.

    cut = owner_cut/65535 truncated to 32 fractional bits, times the emission, floored to rao. So it can
    be up to E/2**32 rao below floor(E·owner_cut/65535) (23 rao on 100 alpha).
    """
    emission = _rao(emission, "emission")
    if not isinstance(owner_cut, (int, np.integer)) or not 0 <= int(owner_cut) <= U16_MAX:
        raise ValueError(f"owner cut must be a u16 (0..65535), got {owner_cut!r}")
    cut_bits = (int(owner_cut) << 32) // U16_MAX
    return emission * cut_bits >> 32


def _fraction(value: object, what: str) -> Fraction:
    exact = _exact(value, what) if not isinstance(value, Fraction) else value
    if not 0 <= exact <= 1:
        raise ValueError(f"{what} must be between 0 and 1, got {value!r}")
    return exact


@dataclass(frozen=True)
class SubnetPools:
    """Where a subnet's emission goes, per mechanism, in rao (every vector has length M).

    ``owner_by_mechanism`` is an attribution for display only: the chain takes the owner cut from the
    whole subnet before the split; here it is divided with the same rule so each row adds up.
    """

    emission: int  # the subnet's alpha emission before the owner cut
    owner: int  # owner cut (PendingOwnerCut)
    epoch_emission: int  # E passed to epoch_with_mechanisms = emission - owner
    split: Split | None  # the validated split (None = even)
    shares: np.ndarray  # float64 fraction of E per mechanism
    mechanism: np.ndarray  # E_m, exact split_emissions
    owner_by_mechanism: np.ndarray
    miners: np.ndarray  # miners' pool in each mechanism
    validators: np.ndarray  # validators' (+ root stakers') pool in each mechanism

    @property
    def mechanism_count(self) -> int:
        return len(self.mechanism)

    @property
    def total_by_mechanism(self) -> np.ndarray:
        """Owner attribution + miners + validators: each mechanism's part of ``emission``."""
        return self.owner_by_mechanism + self.miners + self.validators


def subnet_pools(
    emission: int,
    split: str | Sequence[object] | None,
    mechanism_count: int,
    *,
    owner_cut: int = DEFAULT_OWNER_CUT,
    miner_fraction: object = DEFAULT_MINER_FRACTION,
) -> SubnetPools:
    """Split ``emission`` rao: the owner's cut first, the rest across mechanisms, then miners / validators.

    Pass ``owner_cut=0`` when ``emission`` is already the epoch's E (the stored ``epoch_emission``).
    Miners get floor(E_m · miner_fraction) of each mechanism, validators the rest (the chain's
    pending server alpha is rest·0.5 floored; validators take the odd rao).
    """
    valid = parse_split(split, mechanism_count)
    fraction = _fraction(miner_fraction, "miner fraction")
    owner = owner_cut_amount(emission, owner_cut)
    epoch_emission = int(emission) - owner
    mechanism = split_amounts(epoch_emission, valid, mechanism_count)
    miners = np.array(
        [int(e) * fraction.numerator // fraction.denominator for e in mechanism], dtype=np.int64
    )
    return SubnetPools(
        emission=int(emission),
        owner=owner,
        epoch_emission=epoch_emission,
        split=valid,
        shares=shares(valid, mechanism_count),
        mechanism=mechanism,
        owner_by_mechanism=split_amounts(owner, valid, mechanism_count),
        miners=miners,
        validators=mechanism - miners,
    )


def mechanism_weights(pools: SubnetPools) -> np.ndarray:
    """w_m = E_m / E, the weight the chain aggregates netuid-level terms with (w_0 = 1 when E = 0)."""
    if pools.epoch_emission == 0:
        weights = np.zeros(pools.mechanism_count)
        weights[0] = 1.0
        return weights
    return pools.mechanism / pools.epoch_emission


def stored_emission_note(mechanism_count: int) -> str | None:
    """:data:`STORED_EMISSION_NOTE` when the stored Emission is not the payout (M > 1), else None."""
    return STORED_EMISSION_NOTE if mechanism_count > 1 else None


# --------------------------------------------------------------------------------------------------
# Per-UID payouts


@dataclass(frozen=True)
class Payouts:
    """Per-UID payouts in rao, rows = mechanisms, columns = UIDs.

    Within each mechanism the payouts are floored, so they fall short of the pool by less than one rao
    per paid UID; the shortfall is in ``unpaid``. A pool with nobody to pay (no incentive / dividends
    and no stake fallback) is entirely in ``unpaid`` and named in ``notes``.
    """

    miner: np.ndarray  # (M, n) int64
    validator: np.ndarray  # (M, n) int64
    unpaid: np.ndarray  # (M,) int64: pool minus what was paid, per mechanism
    notes: tuple[str, ...]

    @property
    def by_mechanism(self) -> np.ndarray:
        """(M, n): miner + validator payout of each UID in each mechanism."""
        return self.miner + self.validator

    @property
    def total(self) -> np.ndarray:
        """(n,): each UID's payout summed over mechanisms, what the chain actually pays it."""
        return self.by_mechanism.sum(axis=0)


def _u16_rows(values: object, mechanism_count: int, what: str, n: int | None = None) -> np.ndarray:
    """A (M, n) int64 array of u16 values; a single row is used for every mechanism."""
    array = np.asarray(values)
    if array.dtype == object or array.dtype.kind not in "iuf":
        raise ValueError(f"{what} must be numeric u16 arrays")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what} contains NaN or infinite values")
        if not np.all(array == np.floor(array)):
            raise ValueError(f"{what} must be whole u16 values, not fractions")
    if array.ndim == 1:
        array = np.broadcast_to(array, (mechanism_count, array.shape[0]))
    if array.ndim != 2 or array.shape[0] != mechanism_count:
        raise ValueError(
            f"{what} must have one row per mechanism ({mechanism_count}), got shape {array.shape}"
        )
    if n is not None and array.shape[1] != n:
        raise ValueError(f"{what} has {array.shape[1]} UIDs, expected {n}")
    if array.size and (array.min() < 0 or array.max() > U16_MAX):
        raise ValueError(f"{what} must be u16 values (0..65535)")
    return array.astype(np.int64)


def _pro_rata(pool: int, weights: np.ndarray) -> np.ndarray:
    """floor(pool · w_i / Σw) per entry, exact integer arithmetic (Python ints, no overflow)."""
    weight_sum = int(weights.sum())
    if pool == 0 or weight_sum == 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = weights.astype(object) * int(pool) // weight_sum
    return exact.astype(np.int64)


def uid_payouts(
    pools: SubnetPools,
    incentive: object,
    dividends: object,
    *,
    stake: object | None = None,
) -> Payouts:
    """Each UID's miner and validator payout in every mechanism under ``pools``.

    ``incentive`` and ``dividends`` are u16 per UID, either (M, n) or one row shared by every mechanism
    (the chain stores per-mechanism incentive but only netuid-level dividends). Miners share a
    mechanism's miner pool in proportion to incentive, validators its validator pool in proportion to
    dividends (each floored). As in the epoch: with no incentive the whole mechanism goes to the
    validators; with no dividends the whole mechanism goes to the miners; with neither, validators are
    paid by ``stake`` (active stake on chain) when given, else nothing is paid and the pool is ``unpaid``.
    Simplification: on chain the validators' amounts are shares of one subnet-wide validator pool
    (split further by childkeys, root stake and take); here each mechanism's pool is paid on its own,
    which is the same whenever every mechanism has dividends.
    """
    m_count = pools.mechanism_count
    incentive_rows = _u16_rows(incentive, m_count, "incentive")
    n = incentive_rows.shape[1]
    dividend_rows = _u16_rows(dividends, m_count, "dividends", n)
    stake_row = None
    if stake is not None:
        stake_row = np.asarray(stake)
        if stake_row.shape != (n,) or stake_row.dtype.kind not in "iu" or (n and stake_row.min() < 0):
            raise ValueError(f"stake must be {n} non-negative integers (rao)")
        stake_row = stake_row.astype(object)

    miner = np.zeros((m_count, n), dtype=np.int64)
    validator = np.zeros((m_count, n), dtype=np.int64)
    notes: list[str] = []
    for m in range(m_count):
        miner_pool, validator_pool = int(pools.miners[m]), int(pools.validators[m])
        has_incentive, has_dividends = incentive_rows[m].any(), dividend_rows[m].any()
        if has_incentive and has_dividends:
            miner[m] = _pro_rata(miner_pool, incentive_rows[m])
            validator[m] = _pro_rata(validator_pool, dividend_rows[m])
        elif has_dividends:
            validator[m] = _pro_rata(miner_pool + validator_pool, dividend_rows[m])
            notes.append(f"mechanism {m}: no incentive, so validators receive the whole mechanism")
        elif has_incentive:
            miner[m] = _pro_rata(miner_pool + validator_pool, incentive_rows[m])
            notes.append(f"mechanism {m}: no dividends, so miners receive the whole mechanism")
        elif stake_row is not None and any(stake_row):
            validator[m] = _pro_rata(miner_pool + validator_pool, stake_row)
            notes.append(f"mechanism {m}: no incentive or dividends, validators are paid by stake")
        elif miner_pool + validator_pool:
            notes.append(f"mechanism {m}: no incentive, dividends or stake, nothing can be paid out")
    unpaid = pools.miners + pools.validators - miner.sum(axis=1) - validator.sum(axis=1)
    return Payouts(miner=miner, validator=validator, unpaid=unpaid, notes=tuple(notes))


@dataclass(frozen=True)
class PayoutChange:
    """Per-UID totals under two splits and the difference (rao)."""

    current: np.ndarray
    edited: np.ndarray

    @property
    def delta(self) -> np.ndarray:
        return self.edited - self.current

    def winners(self, k: int = 10) -> np.ndarray:
        """UIDs (indices) with the largest gains, biggest first; only strictly positive changes."""
        order = np.lexsort((np.arange(len(self.delta)), -self.delta))
        return order[self.delta[order] > 0][:k]

    def losers(self, k: int = 10) -> np.ndarray:
        """UIDs (indices) with the largest losses, biggest first; only strictly negative changes."""
        order = np.lexsort((np.arange(len(self.delta)), self.delta))
        return order[self.delta[order] < 0][:k]


def compare_payouts(current: Payouts, edited: Payouts) -> PayoutChange:
    """What changes for every UID between two payouts of the same subnet."""
    if current.total.shape != edited.total.shape:
        raise ValueError("payouts are for different numbers of UIDs")
    return PayoutChange(current=current.total, edited=edited.total)
