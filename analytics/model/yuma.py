"""Exact recomputation of subtensor's Yuma Consensus epoch (runtime spec 425, sparse production path).

From the weights W and stakes S we store, compute what the chain computes and stores: consensus C,
incentive I, validator trust Tv, dividends D, stake weight, bonds and emission, bit for bit.

Why integers: the chain works in fixed point (I32F32: int64 bits with 32 fractional bits; I64F64 for
stake normalisation; U64F64 for the mechanism aggregation) and stores floor(x * 65535) as u16. A
float64 recompute lands one u16 off wherever a value sits on a floor boundary, and flips consensus
ties that depend on exact stake sums. So every step below is done on integer numpy arrays holding
I32F32 bits, with the chain's rounding: multiply = floor(a*b / 2^32), divide = floor(a * 2^32 / b)
(0 for a zero divisor). Two proportions multiply to at most 2^64, so products and quotients run in
uint64 where they provably fit and fall back to hi/lo splits where they do not (1.0 * 1.0, signed
values). Python ints are used only for O(n) work (the I64F64 stake when TAO weight applies, the
U64F64 mechanism weights).

n x n work is restricted to the rows that can matter: of the rows holding a validator permit (every
other row is masked out by the chain) or still holding bonds (they decay and take part in the
column normalisations), those with a weight or a bond; a permitted row with neither only adds its
stake to consensus as a zero vote. The liquid-alpha sigmoid emulates substrate_fixed's
Taylor-series exp bit for bit, so liquid-alpha bonds match exactly too (the contract allows 1 u16).

Speed (bench/yuma.py; bench/yuma_vs_naive.py against a naive dense float64 epoch on mainnet-shaped
subnets) comes from shortcuts that are exact, never approximate: u16 normalisations divide in
float64 where the quotient provably floors right (_div_u16_sum), and so does the TAO-weighted stake
(with an exact fallback near integers); column divisions run in uint64 once the (n,) divisors prove
nothing overflows (_div_cols); the median sorts packed (score, row) keys per column and finds every
column's crossing with one searchsorted, and skips the columns whose zero votes already hold more
than the minority (median 0: most miners on real subnets; in the others the voters without weights
need no row, their stake comes off the minority); the new permits come from a partition of packed
(stake, uid) keys; clipping, ranks and full-penalty bond weights touch only the miners with
consensus, the dividends' column normalisation only those with incentive; the bond maths only
the columns holding a bond or a weight for bonds; the masks are skipped when an O(n) bound shows
they drop nothing, and touch only the recently registered miners' columns otherwise; the ranks'
product doubles as the bond delta's numerator; the (n, n) bonds are expanded from the rows
computed only when read. Much of an epoch on a sparse subnet is numpy's per-call cost (measured
~0.6 us per extra call on a 256 vector, against ~1 ns per element of a pass), so fewer calls matter
more than fewer passes: epoch_many stacks many subnets for the per-call-bound steps. For the same
reason one epoch's liquid-alpha request (a few dozen entries) runs the exp series on Python ints
(_alpha_scalar, bit for bit the numpy series epoch_many's merged requests run), reductions call
the ufuncs rather than ndarray methods, and checks the epoch has made are not made again. The one
pass over every bond row (they decide which rows are read) is bound by memory, not by calls.
tests/test_yuma_fixed.py, tests/test_yuma_shortcuts.py and tests/test_yuma_many.py check the
shortcuts against exact integers and the general paths.

How it is checked (tests/): subtensor's own test cases as vectors, random epochs replayed through
subtensor's epoch maths, exp/sigmoid tables from substrate_fixed, hypothesis properties, mainnet data.

Public API (stable; other modules and external checks call exactly this):
    EpochInputs, EpochResult, epoch(inputs) -> EpochResult,
    epoch_with_mechanisms(inputs, mechanism_weights, mechanism_bonds, mechanism_last_update, split,
                          *, mechanism_weights_set=None, mechanism_commit_block=None) -> EpochResult
    split_emissions(emission, mechanism_count, split) -> list[int]
    epoch_many(inputs_list) -> list[EpochResult], epoch_with_mechanisms_many(arguments_list): the
    same results for many subnets at once (the per-subnet vector work, the weighted medians and the
    liquid-alpha sigmoid of many subnets in one numpy call each; bench/yuma_vs_naive.py)
Helpers: carry_forward(inputs, result, **changes) (the next epoch's inputs), weight_masks(inputs)
(why entries were dropped), dividends_from_bonds(...) (the dividend step alone), weighted_median /
weighted_median_col, activity_cutoff_blocks, effective_activity_cutoff.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property, lru_cache
from typing import Any, NamedTuple, TypeVar

import numpy as np

__all__ = [
    "ONE",
    "U16_MAX",
    "EpochInputs",
    "EpochResult",
    "activity_cutoff_blocks",
    "carry_forward",
    "effective_activity_cutoff",
    "dividends_from_bonds",
    "epoch",
    "epoch_many",
    "epoch_with_mechanisms",
    "epoch_with_mechanisms_many",
    "split_emissions",
    "weight_masks",
    "WeightMasks",
    "weighted_median",
    "weighted_median_col",
]

FRAC_BITS = 32
ONE = 1 << FRAC_BITS  # 1.0 as I32F32 bits
U16_MAX = 65535
_LO16 = 0xFFFF
_LO32 = 0xFFFFFFFF
_U32 = np.uint64(32)
_U64_MAX = (1 << 64) - 1
_TWO52 = float(1 << 52)
_TWO52_BITS = np.int64(0x4330000000000000)  # the float64 bits of 2^52
# substrate_fixed's `e` constant as I9F23 (used by its exp(1) special case), widened to I32F32 bits.
_E_I32F32 = (0xADF85458A2BB4A9AAFDC5620273D3CF1 >> 103) << 9


# ----------------------------------------------------------------------------------------------
# Inputs and outputs
# ----------------------------------------------------------------------------------------------


@dataclass
class EpochInputs:
    """Everything one mechanism's epoch reads, as stored on chain (arrays indexed by uid, n = len(alpha_stake)).

    weights: (n, n) raw stored u16, row = the setter (max-upscaled as stored by set_weights).
    weights_set: (n, n) bool, True where storage holds an entry (explicit zeros included); None means
        "entries are the weights > 0". Explicit zeros only matter for Yuma3 + liquid-alpha bonds.
    bonds: (n, n) previous stored u16 bonds (Yuma3: absolute; original Yuma: column-max-upscaled).
    alpha_stake, tao_stake: inherited stake in rao (tao = root stake, weighted by tao_weight).
    tao_weight: raw u64 TaoWeight (the value / 2^64-1 is the weight of root TAO).
    last_update, block_at_registration: block numbers per uid (0 for an empty uid).
    validator_permit: the permits written by the previous epoch (they mask rows in this one).
    commit_block: per uid, the block of the earliest unexpired weight commit, or a negative value for
        "no active commit"; None when commit-reveal is off or nothing is pending.
    """

    weights: np.ndarray
    alpha_stake: np.ndarray
    last_update: np.ndarray
    block_at_registration: np.ndarray
    validator_permit: np.ndarray
    current_block: int
    weights_set: np.ndarray | None = None
    bonds: np.ndarray | None = None
    tao_stake: np.ndarray | None = None
    tao_weight: int = 0
    commit_block: np.ndarray | None = None
    tempo: int = 360
    activity_cutoff_factor_milli: int = 13889
    kappa: int = 32767
    bonds_moving_average: int = 900_000
    bonds_penalty: int = 65535
    yuma3: bool = False
    liquid_alpha: bool = False
    alpha_low: int = 45875
    alpha_high: int = 58982
    alpha_sigmoid_steepness: int = 1000
    max_allowed_validators: int = 128
    stake_threshold: int = 0
    owner_uid: int | None = None
    last_mechanism_step_block: int = 0
    emission: int = 1_000_000_000
    # Historical runtimes (before spec 423) used the ActivityCutoff storage (blocks) instead of
    # factor x tempo; set it here to analyse such snapshots. None = the current rule.
    activity_cutoff: int | None = None

    @property
    def n(self) -> int:
        return len(self.alpha_stake)


# A subnet's hyperparameters as the chain (and the store) names them -> the EpochInputs field and its type
# (the same name, but for bonds_moving_avg and max_validators).
_BOOL_HYPERPARAMETERS = ("yuma3", "liquid_alpha")
_INT_HYPERPARAMETERS = ("tempo", "activity_cutoff_factor_milli", "kappa", "bonds_penalty", "stake_threshold")
_LIQUID_ALPHA_HYPERPARAMETERS = ("alpha_low", "alpha_high", "alpha_sigmoid_steepness")
STORED_HYPERPARAMETERS: dict[str, tuple[str, type]] = {
    "bonds_moving_avg": ("bonds_moving_average", int),
    "max_validators": ("max_allowed_validators", int),
    **{name: (name, bool) for name in _BOOL_HYPERPARAMETERS},
    **{name: (name, int) for name in _INT_HYPERPARAMETERS + _LIQUID_ALPHA_HYPERPARAMETERS},
}


def hyperparameter_inputs(stored: Mapping[str, Any]) -> dict[str, Any]:
    """EpochInputs keyword arguments from a subnet's hyperparameters under their chain names (those present)."""
    return {
        field: kind(stored[name]) for name, (field, kind) in STORED_HYPERPARAMETERS.items() if name in stored
    }


def _bits_to_float(bits: np.ndarray) -> np.ndarray:
    return np.asarray(bits, dtype=np.float64) / ONE


def _u16_view(name: str) -> Any:
    """A read-only float view of the u16 field ``name`` (value / 65535), for charts and tables."""
    return property(lambda self: getattr(self, name) / U16_MAX, doc=f"{name} / 65535 as floats.")


def _fixed_view(name: str) -> Any:
    """A read-only float view of the I32F32-bits field ``name``, for charts and tables."""
    return property(lambda self: _bits_to_float(getattr(self, name)), doc=f"{name} as floats.")


@dataclass
class EpochResult:
    """What one epoch (or the mechanism aggregate) stores, plus the intermediates worth showing.

    Stored values (exactly as on chain): consensus, incentive, validator_trust, dividends, stake_weight
    (u16 int64 arrays), active, new_validator_permit (bool), bonds ((n, n) u16 int64, rows without a
    new permit are zero), server_emission, validator_emission, emission (rao, int64; `emission` is the
    combined amount the chain stores in `Emission`). The epoch computes bonds only for the rows that
    can hold them: `bonds_rows` (u16, one row per `bonds_index` uid, every other row zero); the
    (n, n) `bonds` is expanded from them on first use (most callers never read it).

    Intermediates (I32F32 bits, int64): stake_bits (normalised S), active_stake_bits (A),
    consensus_bits, validator_trust_bits, ranks_bits (R before normalisation), incentive_bits,
    dividends_bits. W (after every mask and row normalisation) and W clipped at C are kept for the
    rows computed (live_index: the rows holding a weight or a bond); weights_rows_bits /
    clipped_rows_bits (one row per row_index uid) and the (n, n) weights_bits /
    clipped_weights_bits are expanded from them on demand (the other rows are zero). Float views
    (value = bits / 2^32, or u16 / 65535) are the *_float properties.

    For epoch_with_mechanisms the stored fields are the aggregate (see that function); `mechanisms`
    then holds each mechanism's own EpochResult, `mechanism_emission` the split E_m and
    `mechanism_weight_bits` the U64F64 weights w_m = E_m / E (bits / 2^64).
    """

    consensus: np.ndarray
    incentive: np.ndarray
    validator_trust: np.ndarray
    dividends: np.ndarray
    stake_weight: np.ndarray
    active: np.ndarray
    new_validator_permit: np.ndarray
    bonds_rows: np.ndarray  # (len(bonds_index), n) stored u16 bonds of the rows that hold any
    bonds_index: np.ndarray  # their uids (ascending); every other row of `bonds` is zero
    server_emission: np.ndarray
    validator_emission: np.ndarray
    emission: np.ndarray
    # intermediates
    validator_permit: np.ndarray  # the previous-epoch permits actually used (owner forced True)
    stake_bits: np.ndarray
    active_stake_bits: np.ndarray
    consensus_bits: np.ndarray
    validator_trust_bits: np.ndarray
    ranks_bits: np.ndarray
    incentive_bits: np.ndarray
    dividends_bits: np.ndarray
    row_index: np.ndarray  # uids of the rows the epoch reads (permits and bond holders)
    live_index: np.ndarray  # those of them holding a weight or a bond: the rows computed
    weights_live_bits: np.ndarray  # (len(live_index), n) W after masks + row normalisation
    fallback: bool  # True when sum(I + D) was 0 and emission followed (active) stake
    total_stake: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # floor(S) rao
    mechanisms: list[EpochResult] = field(default_factory=list)
    mechanism_emission: list[int] = field(default_factory=list)
    mechanism_weight_bits: list[int] = field(default_factory=list)
    mechanism_inputs: list[EpochInputs] = field(default_factory=list)  # what each mechanism's epoch read

    @property
    def n(self) -> int:
        return len(self.consensus)

    def columns(self) -> dict[str, np.ndarray]:
        """Per-uid columns (stored u16 and rao values plus float views), ready for a table or CSV."""
        return {
            "uid": np.arange(self.n),
            "stake_weight": self.stake_weight,
            "consensus": self.consensus,
            "incentive": self.incentive,
            "validator_trust": self.validator_trust,
            "dividends": self.dividends,
            "emission": self.emission,
            "server_emission": self.server_emission,
            "validator_emission": self.validator_emission,
            "active": self.active,
            "validator_permit": self.validator_permit,
            "new_validator_permit": self.new_validator_permit,
            "stake_float": self.stake_float,
            "active_stake_float": self.active_stake_float,
            "consensus_float": self.consensus_float,
            "incentive_float": self.incentive_float,
            "validator_trust_float": self.validator_trust_float,
            "dividends_float": self.dividends_float,
            "ranks_float": self.ranks_float,
        }

    @cached_property
    def bonds(self) -> np.ndarray:
        """(n, n) stored u16 bonds (int64): bonds_rows at their uids, zero elsewhere."""
        n = self.n
        full = np.zeros((n, n), dtype=np.int64)
        index = self.bonds_index
        count = len(index)
        if count and int(index[-1]) - int(index[0]) == count - 1:  # a block of rows: a slice copy
            full[int(index[0]) : int(index[-1]) + 1] = self.bonds_rows
        elif count:
            full[index] = self.bonds_rows
        return full

    def _expand(self, live: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Rows of `live` (one per live_index uid) placed at their uids among `rows` (default: all n)."""
        rows = np.arange(self.n) if rows is None else rows
        full = np.zeros((len(rows), self.n), dtype=np.int64)
        if len(self.live_index):
            full[np.searchsorted(rows, self.live_index)] = live
        return full

    @cached_property
    def clipped_live_bits(self) -> np.ndarray:
        """(len(live_index), n) W clipped at consensus: min(W_ij, C_j), as the epoch clips it."""
        return np.minimum(self.weights_live_bits, self.consensus_bits)

    @cached_property
    def weights_rows_bits(self) -> np.ndarray:
        """(len(row_index), n) W after masks + row normalisation (rows without weights are zero)."""
        return self._expand(self.weights_live_bits, self.row_index)

    @cached_property
    def clipped_rows_bits(self) -> np.ndarray:
        """(len(row_index), n) W clipped at consensus."""
        return self._expand(self.clipped_live_bits, self.row_index)

    @property
    def preranks_bits(self) -> np.ndarray:
        """P_j = sum_i A_i W_ij before clipping (historic; I32F32 bits)."""
        if not len(self.live_index):
            return np.zeros(self.n, dtype=np.int64)
        return _mul(self.weights_live_bits, self.active_stake_bits[self.live_index][:, None]).sum(axis=0)

    @property
    def trust(self) -> np.ndarray:
        """Historic miner trust T_j = R_j / P_j as stored (u16) by runtimes before spec 365.

        Current runtimes no longer compute or store it; Rank was identical to incentive.
        """
        return _to_u16(_div(self.ranks_bits, self.preranks_bits))

    @property
    def weights_bits(self) -> np.ndarray:
        """(n, n) normalised weights W as I32F32 bits (masked rows are zero)."""
        return self._expand(self.weights_live_bits)

    @property
    def clipped_weights_bits(self) -> np.ndarray:
        """(n, n) weights clipped at consensus, I32F32 bits."""
        return self._expand(self.clipped_live_bits)

    # float views for charts and tables --------------------------------------------------------
    consensus_float = _u16_view("consensus")
    incentive_float = _u16_view("incentive")
    validator_trust_float = _u16_view("validator_trust")
    dividends_float = _u16_view("dividends")
    stake_weight_float = _u16_view("stake_weight")
    bonds_float = _u16_view("bonds")
    stake_float = _fixed_view("stake_bits")
    active_stake_float = _fixed_view("active_stake_bits")
    ranks_float = _fixed_view("ranks_bits")
    weights_float = _fixed_view("weights_bits")
    clipped_weights_float = _fixed_view("clipped_weights_bits")

    @property
    def emission_float(self) -> np.ndarray:
        """Combined emission in alpha (rao / 1e9)."""
        return self.emission / 1e9


# ----------------------------------------------------------------------------------------------
# Fixed-point primitives on int64 arrays of I32F32 bits (non-negative unless stated)
# ----------------------------------------------------------------------------------------------


def _mul_split(a: np.ndarray, b: np.ndarray | np.int64) -> np.ndarray:
    """floor(a * b / 2^32) with `a` split into 16-bit halves: any sign of a, b; |a|, |b| < 2^46."""
    hi = (a >> 16) * b
    lo = ((a & _LO16) * b) >> 16
    return (hi + lo) >> 16


def _mul(a: np.ndarray, b: np.ndarray | np.int64) -> np.ndarray:
    """I32F32 multiply: floor(a * b / 2^32) (floor toward -inf, as substrate_fixed does).

    Fast path: non-negative operands whose product stays below 2^64 multiply in uint64 (two passes).
    Otherwise (negatives, or 1.0 * 1.0 = 2^64) the split form keeps every intermediate below 2^63.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.ndim == 0 or b.ndim == 0 or a.size == 0 or b.size == 0:
        return _mul_split(a, b)
    if int(a.min()) >= 0 and int(b.min()) >= 0 and int(a.max()) * int(b.max()) < 1 << 64:
        return ((a.view(np.uint64) * b.view(np.uint64)) >> _U32).view(np.int64)
    return _mul_split(a, b)


def _mul_unit(m: np.ndarray, v: np.ndarray | int, below_one: bool = False) -> np.ndarray:
    """floor(m * v / 2^32) for a matrix m of proportions in [0, 1.0] (bits in [0, 2^32]) and v >= 0.

    Checks only the (small) second operand: below 1.0 the uint64 product cannot overflow.
    below_one: the caller knows 0 <= v < 1.0 (e.g. a normalised vector with two or more non-zero
    entries: each is a share of a total it does not reach alone), which spares the check.
    """
    if not m.size:
        return np.zeros(np.broadcast_shapes(m.shape, np.shape(v)), dtype=np.int64)
    if isinstance(v, np.ndarray) and v.ndim:
        small = (
            below_one
            or v.size == 0
            or (int(np.minimum.reduce(v, axis=None)) >= 0 and int(np.maximum.reduce(v, axis=None)) < 1 << 32)
        )
        if small and m.size:
            product = m.view(np.uint64) * v.view(np.uint64)
            product >>= _U32
            return product.view(np.int64)
        return _mul(m, v)
    v = int(v)
    if 0 <= v < 1 << 32 and m.size:
        product = m.view(np.uint64) * np.uint64(v)
        product >>= _U32
        return product.view(np.int64)
    return _mul_split(m, np.int64(v))


def _div(a: np.ndarray, b: np.ndarray | np.int64) -> np.ndarray:
    """I32F32 safe_div of non-negative values: floor(a * 2^32 / b), 0 where b == 0.

    Fast path in uint64 (a << 32 fits while a < 2^32, which covers every proportion below 1.0);
    entries with a >= 2^32 use two 16-bit long-division steps (requires b < 2^46).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.ndim == 0 or b.ndim == 0 or a.size == 0:
        a, b = np.atleast_1d(a), np.atleast_1d(b)
    zero = b == 0
    has_zero = bool(zero.any())
    safe_b = np.where(zero, 1, b) if has_zero else b
    top = int(a.max()) if a.size else 0
    au, bu = a.view(np.uint64), safe_b.view(np.uint64)
    if top < 1 << 32:
        q = ((au << _U32) // bu).view(np.int64)
    elif top < 1 << 33 and int(safe_b.max()) < 1 << 62:
        # a * 2^31 still fits: q = 2 * floor(a 2^31 / b) + (2 r >= b), r the remainder of that step
        half = (au << np.uint64(31)) // bu
        rem = (au << np.uint64(31)) - half * bu
        q = ((half << np.uint64(1)) + ((rem << np.uint64(1)) >= bu)).view(np.int64)
    else:
        q = ((au << _U32) // bu).view(np.int64)
        a_full, b_full = np.broadcast_arrays(a, b)
        big = a_full >= 1 << 32
        q[big] = _div_long(a_full[big], b_full[big])
    if has_zero:
        q = np.where(zero, 0, q)
    return q


def _div_long(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """floor(a * 2^32 / b) in two 16-bit long-division steps (0 <= a < 2^47, 0 <= b < 2^46); 0 if b == 0."""
    safe_b = np.where(b == 0, 1, b)
    q1, r1 = np.divmod(a << 16, safe_b)
    q2 = (r1 << 16) // safe_b
    return np.where(b == 0, 0, (q1 << 16) + q2)


def _div_cols(x: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """floor(x * 2^32 / sums) per column (0 where the sum is 0), for 0 <= x <= sums column-wise.

    The divisors bound the numerators, so checking the (n,) divisors for < 2^32 proves the uint64
    fast path safe without a pass over x; a zero column has only zero entries, which divide by 1 to 0.
    A divisor of exactly 1.0 (a column held by one row, then normalised) is common: an x of 2^32 is
    then that divisor and its quotient 2^32, computed as (2^32 - 1) * 2^32 / 2^32 + 1.
    """
    if not x.size:
        return np.zeros(x.shape, dtype=np.int64)
    top = int(np.maximum.reduce(sums, axis=None))
    if top < 1 << 32:
        q = x.view(np.uint64) << _U32
        q //= np.maximum(sums, 1).view(np.uint64)
        return q.view(np.int64)
    if top == 1 << 32:
        carry = x >> FRAC_BITS  # 1 where x == 2^32, else 0
        q = (x - carry).view(np.uint64) << _U32
        q //= np.maximum(sums, 1).view(np.uint64)
        q += carry.view(np.uint64)
        return q.view(np.int64)
    return _div(x, sums)


def _div_scalar(x: np.ndarray, total: int) -> np.ndarray:
    """floor(x * 2^32 / total) for an array 0 <= x (shares of a positive total)."""
    if x.size and 0 < total < 1 << 63 and int(np.maximum.reduce(x, axis=None)) < 1 << 32:
        q = x.view(np.uint64) << _U32
        q //= np.uint64(total)
        return q.view(np.int64)
    return _div(x, np.int64(total))


def _normalize(x: np.ndarray) -> np.ndarray:
    """inplace_normalize: divide by the exact sum; a zero sum leaves x unchanged (x >= 0)."""
    total = int(np.add.reduce(x))  # (the ufunc: ndarray.sum's Python wrapper costs per call)
    if total == 0:
        return x.copy()
    # one uint64 division when x << 32 fits: each x <= total < 2^32 (no need to look), or checked
    if 0 < total < 1 << 32 or (total < 1 << 62 and int(np.maximum.reduce(x, axis=None)) < 1 << 32):
        return ((x.view(np.uint64) << _U32) // np.uint64(total)).view(np.int64)
    return _div(x, np.int64(total))


def _unit_to_u16(bits: np.ndarray) -> np.ndarray:
    """_to_u16 of proportions already in [0, 1.0] (bits in [0, 2^32]): floor(x * 65535) needs no
    saturation there (normalised vectors, their medians, a row's clipped weights)."""
    out = bits * U16_MAX
    out >>= FRAC_BITS
    return out


def _to_u16(bits: np.ndarray) -> np.ndarray:
    """fixed_proportion_to_u16: floor(x * 65535), saturated to [0, 65535]."""
    bits = np.asarray(bits, dtype=np.int64)
    out = (bits * U16_MAX) >> FRAC_BITS
    np.minimum(out, U16_MAX, out=out)
    np.maximum(out, 0, out=out)
    return out


def _div_u16_sum(u: np.ndarray, total: np.ndarray) -> np.ndarray:
    """floor(u * 2^32 / total) for integers 0 <= u <= total < 2^36 with u < 2^21 (u16 values and sums).

    Normalising stored u16 rows or columns: the I32F32 bits are u << 32, and (u<<32)<<32 / (S<<32)
    equals u * 2^32 / S. A float64 division is exact here: u * 2^32 < 2^53, and its rounding error
    (< x * 2^-53 < 1/S) is smaller than the distance of a non-integer quotient from the next integer.
    Dividing u by S * 2^-32 (an exact power-of-two scaling) rounds the same real quotient once.
    int64 <-> float64 go through the bits of 2^52 + v (exact for 0 <= v < 2^52): numpy has no
    vector instruction for those conversions on AVX2, so this is ~2x faster than astype.
    """
    f = (u | _TWO52_BITS).view(np.float64)
    f -= _TWO52
    f /= np.maximum(total, 1) * (1.0 / ONE)
    np.floor(f, out=f)
    f += _TWO52
    q = f.view(np.int64)
    q -= _TWO52_BITS
    return q


def _u16_proportion(u: np.ndarray) -> np.ndarray:
    """u16_proportion_to_fixed: I32F32(u) / I32F32(65535) = floor(u * 2^32 / 65535)."""
    return (np.asarray(u, dtype=np.int64) << FRAC_BITS) // U16_MAX


def _u16_proportion_of_u16(u: np.ndarray) -> np.ndarray:
    """_u16_proportion for int64 values known to lie in 0..65535, without a division.

    2^32 = 65535 * 65537 + 1, so u * 2^32 / 65535 = u * 65537 + u / 65535, whose floor for
    0 <= u <= 65535 is u * 65537 + (1 if u == 65535 else 0) = u * 65537 + ((u + 1) >> 16).
    """
    out = u * 65537
    out += (u + 1) >> 16
    return out


def _amount(share_bits: np.ndarray, rao: int) -> np.ndarray:
    """floor(share * rao) as the chain's I96F32 product, for 0 <= share_bits <= 2^32 and rao < 2^63."""
    s = np.asarray(share_bits, dtype=np.int64).view(np.uint64)  # no copy of int64 shares
    rao_hi, rao_lo = np.uint64(rao >> 32), np.uint64(rao & _LO32)
    out = s * rao_lo
    out >>= _U32
    out += s * rao_hi
    return out.view(np.int64)


def _exp_fixed(x: np.ndarray) -> np.ndarray:
    """substrate_fixed::transcendental::exp for I32F32 bits, as exp_safe calls it (input in [-20, 20]).

    It is a 32-term Taylor series in fixed point (floor multiply, truncating divide by the term
    index), inverted for negative input; exp(0) = 1 and exp(1) = the I9F23 constant e.
    """
    x = np.clip(np.asarray(x, dtype=np.int64), -20 * ONE, 20 * ONE)
    op = np.abs(x).astype(np.uint64)
    # term * op / 2^32 with term < 2^58 and op < 2^37 passes 2^64: split both into 32-bit halves.
    o_hi, o_lo = op >> _U32, op & np.uint64(_LO32)
    wide = bool(o_hi.any())
    result = op + np.uint64(ONE)
    term = op.copy()
    for i in range(2, FRAC_BITS):
        t_hi, t_lo = term >> _U32, term & np.uint64(_LO32)
        nxt = t_hi * op
        nxt += (t_lo * o_lo) >> _U32
        if wide:
            nxt += t_lo * o_hi
        term = nxt // np.uint64(i)
        result += term
        if i % 8 == 0 and not term.any():
            break  # every later term is zero too
    result = result.view(np.int64)
    neg = x < 0
    if neg.any():
        result[neg] = _div_one_by(result[neg])  # exp(-x) = 1 / exp(x)
    result = np.where(x == 0, ONE, result)
    return np.where(x == ONE, _E_I32F32, result)


@lru_cache(maxsize=16)
def _uids(n: int) -> np.ndarray:
    """np.arange(n) as int64, shared and read-only (uids to pack into sort keys, once per size)."""
    uids = np.arange(n, dtype=np.int64)
    uids.flags.writeable = False
    return uids


def activity_cutoff_blocks(factor_milli: int, tempo: int) -> int:
    """get_activity_cutoff_blocks: max(1, floor(factor * tempo / 1000))."""
    return max(1, (int(factor_milli) * int(tempo)) // 1000)


def effective_activity_cutoff(inputs: EpochInputs) -> int:
    """The cutoff the epoch uses: the explicit legacy `activity_cutoff` if given, else factor x tempo."""
    if inputs.activity_cutoff is not None:
        return int(inputs.activity_cutoff)
    return activity_cutoff_blocks(inputs.activity_cutoff_factor_milli, inputs.tempo)


# ----------------------------------------------------------------------------------------------
# Input checking
# ----------------------------------------------------------------------------------------------


def _vector(name: str, value: object, n: int, dtype: type = np.int64) -> np.ndarray:
    """`value` as an (n,) int64 (or bool) array, checked; an array already of that kind is returned
    as it is (the epoch never writes into its inputs)."""
    if isinstance(value, np.ndarray) and value.shape == (n,) and value.dtype == dtype:
        return value
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if dtype is bool:
        return arr.astype(bool)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if np.any(arr != np.floor(arr)):
            raise ValueError(f"{name} must hold integers")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _check_u16(name: str, arr: np.ndarray) -> np.ndarray:
    if arr.size and (arr.view(np.uint64) > U16_MAX).any():  # negatives wrap to huge values
        raise ValueError(f"{name} values must be u16 (0..65535)")
    return arr


def _matrix_u16(name: str, value: object, n: int, check_range: bool = True) -> np.ndarray:
    """An (n, n) int64 matrix of u16 values; check_range=False leaves the range check to the caller
    (the epoch checks only the rows it reads: no other row can change its result)."""
    if (
        not check_range
        and isinstance(value, np.ndarray)
        and value.dtype == np.int64
        and value.shape == (n, n)
    ):
        return value
    arr = np.asarray(value)
    if arr.shape != (n, n):
        raise ValueError(f"{name} must have shape ({n}, {n}), got {arr.shape}")
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if np.any(arr != np.floor(arr)):
            raise ValueError(f"{name} must hold integers")
    if arr.dtype in (np.uint16, np.bool_, np.uint8):
        return arr.astype(np.int64)
    arr = arr.astype(np.int64, copy=False)
    return _check_u16(name, arr) if check_range else arr


def _stake_bits(
    alpha: np.ndarray,
    tao: np.ndarray,
    tao_weight: int,
    threshold: int,
    owner: int | None,
    alpha_checked: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """I64F64 total stake, threshold filter and normalisation, truncated to I32F32 (exact).

    T_i = alpha_i + tao_i * tw with tw bits = floor(TaoWeight * 2^32 / (2^64 - 1)); scaled by 2^32 so
    it stays integral: V_i = alpha_i * 2^32 + tao_i * tw_bits, and S_i = floor(V_i * 2^32 / sum V).
    Returns (S bits, floor(T) rao per uid). Without TAO weight this is vectorised; with it, O(n)
    Python integers (the I64F64 values pass 2^64) unless _stake_bits_weighted applies.
    alpha_checked: the caller has checked alpha >= 0 (the epoch's input checks), sparing a pass.
    """
    tw_bits = (int(tao_weight) << 32) // _U64_MAX
    n = len(alpha)
    # tao's extremes, read once: "any TAO stake" is a non-zero one of them, and the weighted path
    # needs both (non-negative TAO stake, and the largest for its range check)
    tao_low = tao_high = 0
    if tw_bits and n:
        tao_low, tao_high = int(np.minimum.reduce(tao, axis=None)), int(np.maximum.reduce(tao, axis=None))
    if not (tao_low or tao_high):
        whole = alpha.copy()
        kept = whole
        if threshold > 0:
            below = whole < threshold
            if owner is not None:
                below[owner] = False
            kept = np.where(below, 0, whole)
        # then the int64 sum cannot overflow
        fits = n == 0 or int(np.maximum.reduce(kept, axis=None)) < (1 << 62) // n
        total = int(np.add.reduce(kept, axis=None)) if fits else sum(kept.tolist())
        if total == 0:
            return np.zeros(n, dtype=np.int64), whole
        if total < 1 << 62:
            # float estimate (off by at most 1), corrected by the exact remainder kept*2^32 - q*total,
            # which lies in (-total, 2*total) and so is exact in wrapped int64 arithmetic (array
            # arithmetic wraps silently). r >= total adds one, r < 0 takes one: via the sign bits.
            q = np.floor(kept * (float(1 << 32) / total)).astype(np.int64)
            r = (kept << 32) - q * np.int64(total)
            q -= (total - 1 - r) >> 63
            q += r >> 63
            return q, whole
        return np.array([(int(v) << 32) // total for v in kept.tolist()], dtype=np.int64), whole
    if tao_low >= 0:
        fast = _stake_bits_weighted(alpha, tao, tw_bits, threshold, owner, tao_high, alpha_checked)
        if fast is not None:
            return fast
    scaled = [(int(a) << 32) + int(t) * tw_bits for a, t in zip(alpha.tolist(), tao.tolist(), strict=True)]
    whole_l = [v >> 32 for v in scaled]
    if threshold > 0:
        scaled = [
            0 if (uid != owner and w < threshold) else v
            for uid, (v, w) in enumerate(zip(scaled, whole_l, strict=True))
        ]
    whole = np.array([min(w, (1 << 63) - 1) for w in whole_l], dtype=np.int64)
    total = sum(scaled)
    if total == 0:
        return np.zeros(n, dtype=np.int64), whole
    return np.array([(v << 32) // total for v in scaled], dtype=np.int64), whole


def _stake_bits_weighted(
    alpha: np.ndarray,
    tao: np.ndarray,
    tw_bits: int,
    threshold: int,
    owner: int | None,
    tao_high: int,
    alpha_checked: bool = False,
) -> tuple[np.ndarray, np.ndarray] | None:
    """_stake_bits with TAO weight, vectorised (exact); None when a value is out of its range.

    V_i = alpha_i * 2^32 + tao_i * tw_bits passes 2^64, so it is held as floor(T_i) = V_i >> 32
    (alpha_i + floor(tao_i * tw_bits / 2^32), the product split at 32 bits) and its low 32 bits;
    the total is one Python int. S_i = floor(V_i * 2^32 / total) <= 2^32 is estimated in float64:
    V_i (two roundings), 2^32 / total (two) and their product (one) put the estimate within 2^-50
    relative, 2^-18 absolute, of the real quotient. Where its fraction lies in [2^-16, 1 - 2^-16]
    the floor is certain; the other entries (exact quotients such as a sole staker's 2^32, and
    near-ties) are divided as Python ints. Needs 0 <= alpha, tao (int64) and tw_bits <= 2^32;
    tao_high is tao's largest value, alpha_checked says alpha >= 0 is known.
    """
    n = len(alpha)
    if tw_bits > 1 << 32 or (not alpha_checked and int(np.minimum.reduce(alpha, axis=None)) < 0):
        return None
    top = int(np.maximum.reduce(alpha, axis=None)) + (tao_high >> 32) * tw_bits + (1 << 32)
    if top >= 1 << 63:  # floor(T) would pass int64
        return None
    sums_fit = top * n < 1 << 63  # else the sum of floor(T) is taken in Python ints
    t, w = tao.view(np.uint64), np.uint64(tw_bits)
    low = (t & np.uint64(_LO32)) * w  # < 2^64
    whole = ((t >> _U32) * w + (low >> _U32)).view(np.int64)
    whole += alpha  # floor(T_i)
    frac = (low & np.uint64(_LO32)).view(np.int64)  # V_i = whole_i * 2^32 + frac_i
    kept_whole, kept_frac = whole, frac
    if threshold > 0:
        below = whole < threshold
        if owner is not None:
            below[owner] = False
        if np.logical_or.reduce(below, axis=None):
            kept_whole, kept_frac = np.where(below, 0, whole), np.where(below, 0, frac)
    whole_sum = int(np.add.reduce(kept_whole, axis=None)) if sums_fit else sum(kept_whole.tolist())
    # kept_frac < 2^32: its int64 sum is exact
    total = (whole_sum << 32) + int(np.add.reduce(kept_frac, axis=None))
    if total == 0:
        return np.zeros(n, dtype=np.int64), whole
    value = np.multiply(kept_whole, float(1 << 32))  # each int64 as float64, then scaled (exact)
    value += kept_frac
    value *= float(1 << 32) / float(total)
    frac, whole_part = np.modf(value)  # value >= 0: its fraction and floor
    out = whole_part.astype(np.int64)
    margin = 1.0 / (1 << 16)
    unsure = (((frac < margin) | (frac > 1.0 - margin)) & (value != 0.0)).nonzero()[0]  # 0 is exact
    for i in unsure.tolist():
        out[i] = (((int(kept_whole[i]) << 32) + int(kept_frac[i])) << 32) // total
    return out, whole


def _topk_nonzero(stake: np.ndarray, k: int, unit: bool = False) -> np.ndarray:
    """is_topk_nonzero: non-zero stake, and (when n >= k) not among the n - k smallest (stable sort).

    stake >= 0 (I32F32 bits of normalised stake); unit: the caller knows stake <= 1.0 (2^32), as a
    normalised stake is, which spares the range check of the packed keys.
    """
    n = len(stake)
    if n < k or int(np.count_nonzero(stake)) <= k:  # (stake >= 0) then the n - k smallest are zeros
        return stake != 0
    shift = max(1, int(n - 1).bit_length())
    if k >= 1 and ((unit and shift <= 29) or int(np.maximum.reduce(stake, axis=None)) < 1 << (62 - shift)):
        # packed (stake, uid) keys order ties by uid as the stable sort does; a partition finds the
        # (n - k)-th smallest (cheaper than the full argsort), and every key up to it loses. More
        # than k stakes are non-zero here, so the n - k smallest keys hold every zero stake: the
        # keys above them are non-zero ones.
        keys = stake << shift
        keys |= _uids(n)
        return keys > np.partition(keys, n - k - 1)[n - k - 1]
    keep = stake != 0
    order = np.argsort(stake, kind="stable")
    keep[order[: n - k]] = False
    return keep


# ----------------------------------------------------------------------------------------------
# The epoch
# ----------------------------------------------------------------------------------------------


def weighted_median(stake_bits: np.ndarray, score_bits: np.ndarray, minority_bits: int) -> np.ndarray:
    """math.rs `weighted_median`, vectorised over columns (exact, I32F32 bits).

    stake_bits (m,), score_bits (m,) or (m, k). Returns, per column, the score v with
    cumulative stake strictly below v <= minority < cumulative stake at or below v. That is exactly what
    the chain's partition search returns (its sums are exact), including ties and kappa boundaries:
    minority < 0 gives the smallest score, minority >= sum(stake) the largest, m == 0 gives 0.
    """
    stake = np.asarray(stake_bits, dtype=np.int64)
    scores = np.asarray(score_bits, dtype=np.int64)
    single = scores.ndim == 1
    if single:
        scores = scores[:, None]
    out = _weighted_median_cols(stake, scores, int(minority_bits))
    return out[0] if single else out


def _weighted_median_cols(
    stake: np.ndarray, scores: np.ndarray, minority: int, nonnegative: bool = False
) -> np.ndarray:
    """weighted_median per column of scores (m, k) with stake (m,): one row sort per column.

    (score, row) pairs are packed in one int64 key and sorted per column (contiguous rows of a
    (k, m) array). Every column holds every row once, so with non-negative stake summing to T the
    cumulative stake over the whole flattened array is non-decreasing and reaches j*T at the end of
    column j - 1: for 0 <= minority < T one searchsorted of j*T + minority finds, for every column at
    once, the first key whose cumulative stake within its column passes the minority (and it lies in
    that column). minority < 0 gives each column's smallest score, minority >= T its largest.

    Columns whose median is known to be 0 are not sorted: those where every score is 0, and, for
    non-negative scores (`nonnegative` says so when the caller knows), those whose zero scores
    (the first keys of the column) hold more than the minority of the stake, for 0 <= minority < T
    and non-negative stake: the crossing lies among them. On real subnets that is most miners.
    """
    m, k = scores.shape
    if m <= 1 or k == 0:
        return scores[0].copy() if m == 1 else np.zeros(k, dtype=np.int64)
    out = np.zeros(k, dtype=np.int64)
    low, high = int(stake.min()), int(stake.max())
    sums_fit = low >= 0 and high * m < 1 << 62  # then int64 sums of stake are exact
    if sums_fit and 0 <= minority < int(stake.sum()) and (nonnegative or int(scores.min()) >= 0):
        zero_stake = stake @ (scores == 0)  # per column, exact (int64, sums fit)
        open_cols = zero_stake <= minority
    else:
        open_cols = scores.any(axis=0)  # a column of zeros has median 0 whatever the stake
    cols = None
    count = int(np.count_nonzero(open_cols))
    if count == 0:
        return out
    if count < k:
        cols = np.flatnonzero(open_cols)
        scores = scores[:, cols]
    med = _median_sorted(stake, scores, minority, low, high)
    if cols is None:
        return med
    out[cols] = med
    return out


def _median_sorted(stake: np.ndarray, scores: np.ndarray, minority: int, low: int, high: int) -> np.ndarray:
    """The sorting part of _weighted_median_cols for every column of scores (m >= 2 rows); low and
    high are stake's minimum and maximum."""
    m, k = scores.shape
    shift = max(1, int(m - 1).bit_length())
    keys = _transposed(scores)
    keys <<= shift
    keys |= _uids(m)
    keys.sort(axis=1)
    total = int(np.add.reduce(stake, axis=None)) if low >= 0 and high * m * k < 1 << 62 else None
    if total is not None and minority < 0:
        med = keys[:, 0] >> shift
    elif total is not None and minority >= total:
        med = keys[:, -1] >> shift
    elif total is not None:
        cum = stake.take(keys & ((1 << shift) - 1)).ravel().cumsum()  # (methods: no Python wrappers)
        first = cum.searchsorted(np.arange(minority, minority + k * total, total), side="right")
        med = keys.ravel().take(first) >> shift
    else:  # negative or huge stakes: per column
        cum = np.cumsum(stake.take(keys & ((1 << shift) - 1)), axis=1)
        above = cum > minority
        first = np.argmax(above, axis=1)
        first[~above[:, -1]] = m - 1
        med = keys[np.arange(k), first] >> shift
    return med


def _transposed(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of a.T (a 2-d int64 array), copied in bands of rows.

    With a row length that is a multiple of 128 (a 2 KiB stride, e.g. 256 UIDs), a plain transposing
    copy reads every element of a column from the same few cache sets and runs ~3x slower than a copy
    of 8 or 16 rows at a time, which stays within the cache's associativity.
    """
    m, k = a.shape
    out = np.empty((k, m), dtype=a.dtype)
    if m <= 16 or k % 128:
        np.copyto(out, a.T)
        return out
    band = 8 if k % 512 == 0 else 16
    for i in range(0, m, band):
        np.copyto(out[:, i : i + band], a[i : i + band].T)
    return out


def weighted_median_col(stake_bits: np.ndarray, score_bits: np.ndarray, kappa_bits: int) -> np.ndarray:
    """math.rs `weighted_median_col(_sparse)`: consensus per column of score_bits (m, k).

    Only rows with positive stake vote; their stakes are normalised again (I32F32) and
    minority = sum(normalised stake) - kappa.
    """
    return _consensus(
        np.asarray(stake_bits, dtype=np.int64), np.asarray(score_bits, dtype=np.int64), kappa_bits
    )


def _consensus(
    stake: np.ndarray,
    scores: np.ndarray,
    kappa_bits: int,
    has_weights: np.ndarray | None = None,
    score_rows: np.ndarray | None = None,
    nonnegative: bool = False,
) -> np.ndarray:
    """weighted_median_col on int64 arrays; has_weights (rows of scores,) bool, when known, says which
    score rows are non-zero. score_rows, when given, says which entries of `stake` the rows of `scores`
    belong to: every other row scores 0 in every column (it still votes, and counts in the stake).
    nonnegative: the caller knows every score is >= 0 (normalised weights), which spares a check."""
    voting = stake > 0
    k = scores.shape[1]
    if not voting.any():
        return np.zeros(k, dtype=np.int64)
    if score_rows is None:
        if voting.all():
            u = _normalize(stake)
        else:
            u = _normalize(stake[voting])
            scores = scores[voting]
            if has_weights is not None:
                has_weights = has_weights[voting]
        u_all = u_rows = u
        scored = scores.any(axis=1) if has_weights is None else has_weights
    else:
        # the voting rows' normalised stakes, in place (0 elsewhere), then those of the given rows
        u_all = _normalize(np.where(voting, stake, 0))
        u_rows = u_all[score_rows]
        scored = voting[score_rows] & (scores.any(axis=1) if has_weights is None else has_weights)
    minority = int(u_all.sum()) - int(kappa_bits)
    # Rows without weights vote 0 everywhere; the median depends only on cumulative stake per score,
    # so they vote as one row holding their summed stake (same result, fewer rows). Counting them
    # once keeps the row count, whose 1 is the single-voter case, the chain's.
    empty = int(np.count_nonzero(voting)) - int(np.count_nonzero(scored))
    if empty == 0 and score_rows is None:
        return _weighted_median_cols(u_rows, scores, minority, nonnegative)
    u_kept = u_rows[scored]
    if empty:
        u_kept = np.append(u_kept, int(u_all.sum()) - int(u_kept.sum()))
        kept = np.zeros((len(u_kept), k), dtype=np.int64)
        kept[:-1] = scores[scored]
    else:
        kept = scores[scored]
    return _weighted_median_cols(u_kept, kept, minority, nonnegative)


def _epoch_consensus(
    stake: np.ndarray,
    w_bits: np.ndarray,
    live: np.ndarray | None,
    has_weights: np.ndarray,
    kappa_bits: int,
) -> np.ndarray:
    """_consensus(stake, w_bits, kappa_bits, has_weights, live, nonnegative=True) for the epoch, with
    the voters' rows gathered once: stake (>= 0) over the rows read, w_bits the normalised weights of
    the rows `live` among them (None: all). The usual case (several voters, 0 <= minority < their
    stake) is done here; the others go through _consensus."""
    k = w_bits.shape[1]
    n_voting = int(np.count_nonzero(stake))  # the voters: stake > 0
    u_all = _normalize(stake)  # non-voters hold 0
    total = int(np.add.reduce(u_all, axis=None))
    minority = total - int(kappa_bits)
    if live is None:
        u_live, scored = u_all, has_weights & (stake > 0)
    else:
        u_live, scored = u_all.take(live), has_weights & (stake.take(live) > 0)
    rows = scored.nonzero()[0]
    empty = n_voting - len(rows)  # voters without weights: one zero row holding their stake
    high = int(np.maximum.reduce(u_all, axis=None)) if n_voting else 0
    if len(rows) + (empty > 0) < 2 or not 0 <= minority < total or high * (len(rows) + 1) >= 1 << 62:
        return _consensus(stake, w_bits, kappa_bits, has_weights, live, nonnegative=True)
    if len(rows) == len(u_live):  # every row computed votes with weights
        u, scores = u_live, w_bits
    else:
        u, scores = u_live.take(rows), w_bits.take(rows, axis=0)
    u_scored = int(np.add.reduce(u, axis=None))
    # A column's zeros sort first; when they hold more than the minority its median is 0. The zero
    # stake is the total less the stake on non-zero scores, summed in float64: every partial sum is
    # an integer <= 2^32 (a share of the normalised stake), so exact, and BLAS does it in one call.
    nonzero_stake = u.astype(np.float64) @ (scores != 0)
    cols = (nonzero_stake >= float(total - minority)).nonzero()[0]  # zero stake <= minority
    out = np.zeros(k, dtype=np.int64)
    if not len(cols):
        return out
    # In an open column the cumulative stake through the zeros (the voters without weights among
    # them) is <= minority, so the crossing lies among the non-zero scores: the voters without
    # weights need no row of their own; their stake comes off the minority instead (and off the
    # total each column's cumulative stake reaches, which is then the scored rows' stake).
    # 0 <= u <= high (u_all's largest share) bound the stakes as _median_sorted needs
    out[cols] = _median_sorted(u, scores.take(cols, axis=1), minority - (total - u_scored), 0, high)
    return out


# A request for alpha_sigmoid's values (_alpha_of_diff(diff, low, high, steepness)): the steps of an
# epoch yield them, so that epoch_many can answer those of many subnets with one call.
_AlphaRequest = tuple[np.ndarray, int, int, int]
_Done = TypeVar("_Done")


def _run(steps: Generator[_AlphaRequest, np.ndarray, _Done]) -> _Done:
    """Run a generator of epoch steps to its end, answering each alpha request on the spot."""
    try:
        request = next(steps)
        while True:
            request = steps.send(_alpha_of_diff(*request))
    except StopIteration as done:
        return done.value


def _run_all(steps: list[Generator[_AlphaRequest, np.ndarray, _Done]]) -> list[_Done]:
    """Run several generators of epoch steps, answering the alpha requests of all of them together:
    requests with the same hyperparameters go through one _alpha_of_diff call, entry by entry the
    same values (its 30-term series costs numpy calls per request, not per entry)."""
    done: list[Any] = [None] * len(steps)
    pending: dict[int, _AlphaRequest] = {}

    def advance(i: int, answer: np.ndarray | None) -> None:
        try:
            pending[i] = next(steps[i]) if answer is None else steps[i].send(answer)
        except StopIteration as stop:
            done[i] = stop.value

    for i in range(len(steps)):
        advance(i, None)
    while pending:
        asked, pending = pending, {}
        groups: dict[tuple[int, int, int], list[int]] = {}
        for i, (_, low, high, k) in asked.items():
            groups.setdefault((low, high, k), []).append(i)
        for (low, high, k), ids in groups.items():
            diffs = [asked[i][0] for i in ids]
            alphas = _alpha_of_diff(np.concatenate(diffs), low, high, k)
            cuts = np.cumsum([len(d) for d in diffs])[:-1]
            for i, part in zip(ids, np.split(alphas, cuts), strict=True):
                advance(i, part)
    return done


def _alpha_sigmoid(
    weight: np.ndarray, bond: np.ndarray, consensus: np.ndarray, inp: EpochInputs
) -> np.ndarray:
    """alpha_sigmoid per entry (I32F32 bits): rate between alpha_low and alpha_high, faster the further
    the weight is from consensus (buying) or below the bond (selling)."""
    return _run(_alpha_sigmoid_steps(weight, bond, consensus, inp))


def _alpha_sigmoid_steps(
    weight: np.ndarray, bond: np.ndarray, consensus: np.ndarray, inp: EpochInputs
) -> Generator[_AlphaRequest, np.ndarray, np.ndarray]:
    """_alpha_sigmoid, asking for the values of the entries that need the exp series (see _run)."""
    low = (int(inp.alpha_low) << 32) // U16_MAX
    high = (int(inp.alpha_high) << 32) // U16_MAX
    buy = np.clip(weight - consensus, 0, ONE)
    sell = np.clip(bond - weight, 0, ONE)
    diff = np.where(weight >= bond, buy, sell)
    # Entries with nothing to buy or sell (weight between bond and consensus) share one alpha; with
    # the full bonds penalty every clipped weight is at or below consensus, so in a settled subnet
    # that is most entries: compute the (bit-exact, 30-term) exp once for them.
    still = diff == 0
    resting = int(np.count_nonzero(still))
    k = int(inp.alpha_sigmoid_steepness)
    if resting > 1:
        alpha = np.empty(diff.shape, dtype=np.int64)
        alpha[still] = _resting_alpha(low, high, k)
        if resting < diff.size:
            moving = ~still
            alpha[moving] = yield (diff[moving], low, high, k)
        return alpha
    return (yield (diff, low, high, k))


@lru_cache(maxsize=64)
def _resting_alpha(low: int, high: int, steepness: int) -> int:
    """alpha_sigmoid at distance 0 for these hyperparameters (one value; numpy's per-call cost makes
    the exp series on a single entry ~0.3 ms, so it is computed once per setting)."""
    return int(_alpha_of_diff(np.zeros(1, dtype=np.int64), low, high, steepness)[0])


# Below this many entries _alpha_of_diff runs the series on Python ints, entry by entry: the
# numpy series costs ~300 calls per request whatever its size, and an epoch's request (one subnet)
# holds a few dozen entries at most; epoch_many's merged requests stay on numpy. Both are exact
# for every distance in [0, 1.0] (what alpha_sigmoid asks) and |steepness| <= 2^16 (the chain
# stores an i16); outside that the numpy path runs alone, as before.
_SCALAR_ALPHA = 48


def _alpha_of_diff(diff: np.ndarray, low: int, high: int, k: int) -> np.ndarray:
    """alpha_sigmoid's value for each distance `diff` (I32F32 bits), entry by entry; k = steepness."""
    # steepness / -100 (I32F32 division, truncating toward zero), then a floor multiply.
    slope = -((abs(k) << 32) // 100) if k > 0 else ((abs(k) << 32) // 100)
    if diff.size < _SCALAR_ALPHA and abs(k) <= 1 << 16:
        alphas = [_alpha_scalar(d, low, high, slope) for d in diff.ravel().tolist()]
        return np.array(alphas, dtype=np.int64).reshape(diff.shape)
    if slope >= 0:
        arg = _mul(diff - (ONE >> 1), np.int64(slope))
    else:  # floor(a * slope) with slope < 0 == -ceil(a * |slope|) == floor(-a * |slope|)
        arg = _mul((ONE >> 1) - diff, np.int64(-slope))
    e = _exp_fixed(arg)
    sigmoid = _div_one_by(ONE + e)
    alpha = low + _mul(sigmoid, np.int64(high - low))
    return np.maximum(np.minimum(alpha, high), low)


def _alpha_scalar(diff: int, low: int, high: int, slope: int) -> int:
    """_alpha_of_diff for one entry in Python ints: the same floor multiplies, the same 32-term exp
    series (_exp_fixed: each term floor(term * |x| / 2^32) // i, stopped at the first zero term, as
    every later one is zero too; 1 / exp(|x|) for negative x) and the same clamps, bit for bit."""
    x = ((diff - (ONE >> 1)) * slope) >> FRAC_BITS  # floor, either sign of the slope
    x = min(max(x, -20 * ONE), 20 * ONE)
    if x == 0:
        e = ONE
    elif x == ONE:
        e = _E_I32F32
    else:
        op = -x if x < 0 else x
        e = term = op
        e += ONE
        for i in range(2, FRAC_BITS):
            term = ((term * op) >> FRAC_BITS) // i
            if not term:
                break
            e += term
        if x < 0:
            e = (1 << 64) // e
    sigmoid = (1 << 64) // (ONE + e)
    alpha = low + ((sigmoid * (high - low)) >> FRAC_BITS)
    return max(min(alpha, high), low)


def _div_one_by(d: np.ndarray) -> np.ndarray:
    """floor(2^64 / d) for d >= 2^32 (I32F32 1 / d), via uint64."""
    r = d.astype(np.uint64)
    q = np.uint64(_U64_MAX) // r
    rem = np.uint64(_U64_MAX) - q * r
    return (q + (rem == r - np.uint64(1)).astype(np.uint64)).astype(np.int64)


def _paid_columns(x: np.ndarray, incentive: np.ndarray, paid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The columns `paid` (those with incentive) of x and of the incentive, when they are few enough
    for the gather to pay off; else both as they are."""
    if 4 * len(paid) >= 3 * len(incentive):
        return x, incentive
    return x[:, paid], incentive[paid]


def _col_normalize(x: np.ndarray) -> np.ndarray:
    """inplace_col_normalize_sparse: divide each column by its sum where the sum is non-zero."""
    return _div(x, x.sum(axis=0))


@dataclass
class WeightMasks:
    """Which stored weight entries of the given rows survive the epoch's masks, and why not.

    All (len(rows), n) bool: `entries` (storage holds an entry), `no_permit` (row masked: the setter
    had no validator permit), `self_weight` (the diagonal, kept only for the owner), `outdated`
    (set at or before the miner's re-registration), `commit_reveal` (committed before the miner
    registered), `kept` (what enters row normalisation). A dropped entry is attributed to the first
    mask that removes it, in the chain's order.
    """

    rows: np.ndarray
    entries: np.ndarray
    no_permit: np.ndarray
    self_weight: np.ndarray
    outdated: np.ndarray
    commit_reveal: np.ndarray
    kept: np.ndarray


def _row_masks(
    inp: EpochInputs,
    n: int,
    rows: np.ndarray,
    w_raw: np.ndarray,
    permit: np.ndarray,
    owner: int | None,
    last_update: np.ndarray,
    registered: np.ndarray,
    breakdown: bool = True,
) -> WeightMasks:
    """Masks of rows `rows`; with breakdown=False only `kept` is meaningful (the others are placeholders)."""
    if inp.weights_set is None:
        entries = w_raw > 0
    else:
        ws = np.asarray(inp.weights_set)
        if ws.shape != (n, n):
            raise ValueError(f"weights_set must have shape ({n}, {n}), got {ws.shape}")
        entries = ws[rows].astype(bool) | (w_raw > 0)
    k = len(rows)
    diag_rows = (rows != owner).nonzero()[0] if owner is not None else np.arange(k)
    stale = last_update[rows][:, None] <= registered[None, :]
    cr = None
    if inp.commit_block is not None:
        cb = _vector("commit_block", inp.commit_block, n)[rows]
        cr = (cb >= 0)[:, None] & (cb[:, None] < registered[None, :])
    if not breakdown:  # the epoch needs only what survives
        keep = entries & permit[rows][:, None]
        keep[diag_rows, rows[diag_rows]] = False
        keep &= ~stale
        if cr is not None:
            keep &= ~cr
        return WeightMasks(rows, entries, entries, entries, entries, entries, keep)
    no_permit = entries & ~permit[rows][:, None]
    keep = entries & ~no_permit
    diag = np.zeros_like(keep)
    diag[diag_rows, rows[diag_rows]] = True
    self_weight = keep & diag
    keep &= ~diag
    outdated = keep & stale
    keep &= ~outdated
    commit_reveal = np.zeros_like(keep)
    if cr is not None:
        commit_reveal = keep & cr
        keep &= ~commit_reveal
    return WeightMasks(rows, entries, no_permit, self_weight, outdated, commit_reveal, keep)


def _mask_weights(
    inp: EpochInputs,
    n: int,
    rows: np.ndarray,
    w: np.ndarray,
    permit: np.ndarray,
    owner: int | None,
    last_update: np.ndarray,
    registered: np.ndarray,
) -> np.ndarray:
    """The weight rows `w` (non-negative u16, modified in place) with every entry the epoch's masks drop
    set to 0: the same values as where(_row_masks(...).kept, w, 0), since an entry without storage
    holds 0 anyway. The outdated and commit-reveal masks are skipped when an O(n) bound shows they
    drop nothing (no registration after any of these rows' updates or commits)."""
    if inp.weights_set is not None:
        shape = np.shape(inp.weights_set)
        if shape != (n, n):
            raise ValueError(f"weights_set must have shape ({n}, {n}), got {shape}")
    k = len(rows)
    cb = None if inp.commit_block is None else _vector("commit_block", inp.commit_block, n)[rows]
    if not k:
        return w
    permit_r = permit[rows]
    if not np.logical_and.reduce(permit_r, axis=None):
        w[~permit_r] = 0
    diag_rows = (rows != owner).nonzero()[0] if owner is not None else np.arange(k)
    w[diag_rows, rows[diag_rows]] = 0
    # Only miners registered at or after a row's update (or commit) lose its entry: the masks touch
    # the columns of miners registered since the oldest of them (a few recent ones on real subnets).
    newest = int(np.maximum.reduce(registered, axis=None))
    lu = last_update[rows]
    oldest = int(np.minimum.reduce(lu, axis=None))
    if oldest <= newest:
        cols = (registered >= oldest).nonzero()[0]
        if 2 * len(cols) < len(registered):  # zero the outdated entries of those columns in place
            rr, cc = (lu[:, None] <= registered.take(cols)).nonzero()
            w[rr, cols.take(cc)] = 0
        else:
            w *= lu[:, None] > registered[None, :]  # zero where outdated (a product: faster than a mask)
    if cb is not None:
        committed = cb >= 0
        if np.logical_or.reduce(committed, axis=None):
            first = int(np.minimum.reduce(cb[committed], axis=None))
            if first < newest:
                cols = (registered > first).nonzero()[0]
                rr, cc = (committed[:, None] & (cb[:, None] < registered.take(cols))).nonzero()
                w[rr, cols.take(cc)] = 0
    return w


def weight_masks(inputs: EpochInputs) -> WeightMasks:
    """The epoch's weight masks for every row (for explanations; epoch() computes them for its rows)."""
    n = len(np.asarray(inputs.alpha_stake))
    permit = _vector("validator_permit", inputs.validator_permit, n, bool).copy()
    owner = inputs.owner_uid if inputs.owner_uid is not None and 0 <= inputs.owner_uid < n else None
    if owner is not None:
        permit[owner] = True
    rows = np.arange(n)
    return _row_masks(
        inputs,
        n,
        rows,
        _matrix_u16("weights", inputs.weights, n, check_range=False),
        permit,
        owner,
        _vector("last_update", inputs.last_update, n),
        _vector("block_at_registration", inputs.block_at_registration, n),
    )


def epoch(inputs: EpochInputs) -> EpochResult:
    """One mechanism's epoch (`epoch_mechanism`), returning what the chain stores and the intermediates."""
    f = _epoch_front(inputs)
    inp = f.inp
    stake, total_stake = _stake_bits(
        f.alpha, f.tao, inp.tao_weight, int(inp.stake_threshold), f.owner, alpha_checked=True
    )
    new_permit = _topk_nonzero(stake, int(inp.max_allowed_validators), unit=True)
    if f.owner is not None:
        new_permit[f.owner] = True
    active_stake = _normalize(np.where(f.active & f.old_permit, stake, 0))
    r = _epoch_rows(f, active_stake, new_permit)
    dividends = _normalize(r.dividends_raw)

    # -- emission --------------------------------------------------------------------------------
    combined = r.incentive + dividends
    total = int(np.add.reduce(combined, axis=None))
    fallback = total == 0
    # The three shares and their amounts, and the five u16 outputs, go through the arithmetic as
    # one stacked array each (rows handed out as the fields): fewer calls on small vectors.
    if fallback:
        validator_share = active_stake if np.logical_or.reduce(active_stake, axis=None) else stake
        shares = np.array([r.incentive, validator_share, validator_share])
    else:
        shares = _div_scalar(np.array([r.incentive, dividends, combined]), total)
    amounts = _amount(shares, f.emission)
    # all five are proportions in [0, 1.0]: normalised, medians of normalised rows, clipped row sums
    u16 = _unit_to_u16(np.array([r.consensus, r.incentive, r.validator_trust, dividends, stake]))
    return _result(f, r, u16, amounts, stake, total_stake, new_permit, active_stake, dividends, fallback)


@dataclass
class _Front:
    """One subnet's checked inputs, activity and the rows its epoch computes (epoch, epoch_many)."""

    inp: EpochInputs
    n: int
    alpha: np.ndarray
    tao: np.ndarray
    last_update: np.ndarray
    registered: np.ndarray
    old_permit: np.ndarray  # the owner's forced in
    raw_b: np.ndarray | None
    bond_bits: np.ndarray | None
    owner: int | None
    emission: int
    active: np.ndarray
    row_index: np.ndarray  # permit holders and bond holders: the rows the epoch reads
    sub: np.ndarray | None  # those holding a weight or a bond, as positions in row_index (None: all)
    rows: np.ndarray  # their uids: the rows computed
    w_raw: np.ndarray  # their stored weights


class _Rows(NamedTuple):
    """What the epoch's row work (_epoch_rows) hands to the emission step."""

    consensus: np.ndarray
    validator_trust: np.ndarray
    ranks: np.ndarray
    incentive: np.ndarray
    dividends_raw: np.ndarray
    bonds_rows: np.ndarray
    bonds_index: np.ndarray
    w_bits: np.ndarray


def _epoch_front(inp: EpochInputs) -> _Front:
    """The epoch's input checks, activity, and the rows it reads and computes (stake comes next)."""
    n = len(np.asarray(inp.alpha_stake))
    alpha = _vector("alpha_stake", inp.alpha_stake, n)
    if alpha.size and np.minimum.reduce(alpha, axis=None) < 0:
        raise ValueError("alpha_stake must be non-negative rao")
    tao = np.zeros(n, dtype=np.int64) if inp.tao_stake is None else _vector("tao_stake", inp.tao_stake, n)
    last_update = _vector("last_update", inp.last_update, n)
    registered = _vector("block_at_registration", inp.block_at_registration, n)
    old_permit = _vector("validator_permit", inp.validator_permit, n, bool).copy()
    raw_w = _matrix_u16("weights", inp.weights, n, check_range=False)
    raw_b = None if inp.bonds is None else _matrix_u16("bonds", inp.bonds, n, check_range=False)
    owner = inp.owner_uid if inp.owner_uid is not None and 0 <= inp.owner_uid < n else None
    current_block = int(inp.current_block)
    emission_rao = int(inp.emission)
    if emission_rao < 0 or emission_rao >= 1 << 63:
        raise ValueError("emission must be a non-negative amount of rao below 2^63")

    # -- activity ------------------------------------------------------------------------------
    cutoff = effective_activity_cutoff(inp)
    active = last_update >= current_block - cutoff  # not (last_update + cutoff < current_block)
    if owner is not None:
        old_permit[owner] = True

    # -- rows that matter: permitted setters, and holders of bonds (they decay and normalise) ---
    # One pass over each bond row as uint64 (negatives wrap to huge values) says both "holds an entry"
    # (max > 0) and "holds a value outside u16" (max > 65535, bits above the low 16, as an OR would
    # say); rows with any entry are read (and checked). The max reduction is vectorised and, on a
    # matrix not in cache (the usual case: it is read once), ~15% faster than the OR.
    bond_bits = None if raw_b is None else np.maximum.reduce(raw_b.view(np.uint64), axis=1).view(np.int64)
    row_index = (old_permit if bond_bits is None else old_permit | (bond_bits != 0)).nonzero()[0]
    w_raw = raw_w.take(row_index, axis=0)
    row_or = np.bitwise_or.reduce(w_raw, axis=1)
    if len(row_index) and int(np.bitwise_or.reduce(row_or)) >> 16:
        raise ValueError("weights values must be u16 (0..65535)")
    # The n x n work runs on the rows that hold a weight or a bond. A permitted row with neither
    # (most permit holders on real subnets) normalises to zeros: it votes 0 in consensus (its stake
    # still counts), clips to nothing, ranks nothing and holds no bonds; explicit zero entries in it
    # only matter for bonds it does not have. The result expands its zero rows on demand.
    live = (row_or if bond_bits is None else row_or | bond_bits.take(row_index)).nonzero()[0]
    sub = None
    rows = row_index
    if len(live) < len(row_index):
        sub = live
        rows, w_raw = row_index.take(sub), w_raw.take(sub, axis=0)
    return _Front(
        inp, n, alpha, tao, last_update, registered, old_permit, raw_b, bond_bits, owner, emission_rao,
        active, row_index, sub, rows, w_raw,
    )  # fmt: skip


class _Weights(NamedTuple):
    """The weights of the rows computed after the epoch's masks: normalised, and what survived."""

    keep: np.ndarray | None  # the entries kept (explicit zeros included); liquid alpha only
    w_bits: np.ndarray  # row-normalised, I32F32 bits
    has_weights: np.ndarray  # rows with any weight left


def _epoch_weights(f: _Front) -> _Weights:
    """Permit, diagonal (except owner), outdated and commit-reveal masks, then row normalisation."""
    inp = f.inp
    liquid = bool(inp.yuma3 and inp.liquid_alpha)
    keep = None
    if liquid:  # liquid-alpha bonds need to know which entries survive (explicit zeros included)
        keep = _row_masks(
            inp, f.n, f.rows, f.w_raw, f.old_permit, f.owner, f.last_update, f.registered, breakdown=False
        ).kept
        w_int = np.where(keep, f.w_raw, 0)
    else:
        w_int = _mask_weights(inp, f.n, f.rows, f.w_raw, f.old_permit, f.owner, f.last_update, f.registered)
    w_sum = np.add.reduce(w_int, axis=1)
    # a row's normalised weights are non-zero exactly where its sum is
    return _Weights(keep, _div_u16_sum(w_int, w_sum[:, None]), w_sum > 0)


def _epoch_rows(
    f: _Front,
    active_stake: np.ndarray,
    new_permit: np.ndarray,
    weights: _Weights | None = None,
    consensus: np.ndarray | None = None,
) -> _Rows:
    """_epoch_rows_steps run to its end."""
    return _run(_epoch_rows_steps(f, active_stake, new_permit, weights, consensus))


def _epoch_rows_steps(
    f: _Front,
    active_stake: np.ndarray,
    new_permit: np.ndarray,
    weights: _Weights | None = None,
    consensus: np.ndarray | None = None,
) -> Generator[_AlphaRequest, np.ndarray, _Rows]:
    """The epoch's work on the rows computed: masks and normalised weights (unless given), consensus
    (unless given), clipping, trust, ranks, incentive, bonds and the dividends before normalisation."""
    inp, n, rows, row_index = f.inp, f.n, f.rows, f.row_index
    registered, bond_bits, raw_b, sub = f.registered, f.bond_bits, f.raw_b, f.sub
    compact = sub is not None
    current_block = int(inp.current_block)
    r_count = len(rows)
    liquid = bool(inp.yuma3 and inp.liquid_alpha)
    keep, w_bits, has_weights = _epoch_weights(f) if weights is None else weights

    # -- consensus, clipping, trust, ranks, incentive ---------------------------------------------
    kappa_bits = (int(inp.kappa) << 32) // U16_MAX
    a_r = active_stake[rows]
    # a normalised vector is below 1.0 everywhere unless one entry holds it all
    a_below = int(np.count_nonzero(active_stake)) != 1
    if consensus is None:
        consensus = _epoch_consensus(
            active_stake[row_index], w_bits, sub if compact else None, has_weights, kappa_bits
        )
    # Clipping at C_j = 0 empties column j, so when few miners have consensus (most subnets) the
    # clipped weights, trust, ranks and the full-penalty bond weights are worked out on those
    # columns only (`agreed`); `clipped` (every column) is then made only where a path needs it.
    agreed = consensus.nonzero()[0]
    narrow = 4 * len(agreed) < 3 * n
    clipped: np.ndarray | None = None
    if narrow:
        clipped_a = np.minimum(w_bits[:, agreed], consensus[agreed])
        trust_r = np.add.reduce(clipped_a, axis=1)
        # A_i * clipped W_ij: summed over validators it is the rank; with the full bonds penalty it
        # is also the bond delta's numerator, and its column sums are then the ranks again.
        weighted = _mul_unit(clipped_a, a_r[:, None], a_below)
        ranks = np.zeros(n, dtype=np.int64)
        if r_count:
            ranks[agreed] = np.add.reduce(weighted, axis=0)
    else:
        clipped = np.minimum(w_bits, consensus)
        trust_r = np.add.reduce(clipped, axis=1)
        weighted = _mul_unit(clipped, a_r[:, None], a_below)
        ranks = np.add.reduce(weighted, axis=0) if r_count else np.zeros(n, dtype=np.int64)
    validator_trust = np.zeros(n, dtype=np.int64)
    validator_trust[rows] = trust_r
    incentive = _normalize(ranks)
    paid = incentive.nonzero()[0]
    i_below = len(paid) != 1

    # -- weights for bonds (bonds penalty) ----------------------------------------------------------
    beta = (int(inp.bonds_penalty) << 32) // U16_MAX
    # wb is None when W^b is the clipped weights held for the agreed columns only (zero elsewhere)
    wb: np.ndarray | None
    if beta == 0:
        wb, wb_rows = w_bits, has_weights
    elif beta == ONE:
        wb, wb_rows = clipped, trust_r > 0  # clipped >= 0: a row is non-zero exactly where its sum is
        # the liquid-alpha EMA reads every entry
        if wb is None and liquid and np.logical_or.reduce(consensus, axis=None):
            wb = np.minimum(w_bits, consensus)
    else:
        if clipped is None:
            clipped = np.minimum(w_bits, consensus)
        wb = w_bits + _mul(clipped - w_bits, np.int64(beta))
        wb = np.where(wb > 0, wb, 0)
        wb_rows = np.asarray(np.logical_or.reduce(wb, axis=1))

    # -- bonds ---------------------------------------------------------------------------------
    lms = int(inp.last_mechanism_step_block)
    last_tempo = max(0, current_block - int(inp.tempo)) if lms == 0 else lms + 1
    fresh = last_tempo <= registered  # columns whose miner registered since the last epoch
    if bond_bits is None:
        b_old = np.zeros((r_count, n), dtype=np.int64)
        b_rows: np.ndarray = np.zeros(r_count, dtype=bool)
    else:
        if r_count and int(np.bitwise_or.reduce(bond_bits[rows])) >> 16:
            raise ValueError("bonds values must be u16 (0..65535)")
        assert raw_b is not None  # read together with bond_bits
        b_old = raw_b.take(rows, axis=0)
        if np.logical_or.reduce(fresh, axis=None):
            b_old[:, fresh] = 0
            b_rows = np.asarray(np.logical_or.reduce(b_old, axis=1))
        else:
            b_rows = bond_bits[rows] != 0
    bma_bits = (int(inp.bonds_moving_average) << 32) // 1_000_000
    rate = ONE - bma_bits
    # Rows with neither weights for bonds nor old bonds add nothing to any column sum and get no
    # bonds, so the bond maths runs on the others only (exact; most permit holders in real subnets).
    bonded = (wb_rows | b_rows).nonzero()[0]
    full_rows = len(bonded) == r_count
    weighted_b = weighted if beta == ONE else None  # (agreed columns only when wb is None)
    if full_rows:
        a_b, w_bits_b = a_r, w_bits
        keep_b = keep if liquid else None
        clipped_b = clipped_a if wb is None else None
    else:
        b_old, a_b, w_bits_b = b_old[bonded], a_r[bonded], w_bits[bonded]
        keep_b = keep[bonded] if keep is not None else None
        if wb is not None:
            wb = wb[bonded]
        clipped_b = clipped_a[bonded] if wb is None else None
        if weighted_b is not None:
            weighted_b = weighted_b[bonded]
    # Columns where neither W^b nor the old bonds hold anything stay 0 through every step below (the
    # EMA, the column normalisations and the max-upscale keep a zero column zero, and it adds nothing
    # to a dividend). When they are most columns (real subnets: bonds follow the few miners with
    # consensus) the bond maths runs on the others, and the stored rows are widened at the end.
    agreed_b, ranks_b, incentive_b, paid_b = agreed, ranks, incentive, paid
    held_cols = None
    if not liquid and len(b_old):
        held = np.asarray(np.logical_or.reduce(b_old, axis=0))
        if wb is None:
            held[agreed] = True
        else:
            held |= np.logical_or.reduce(wb, axis=0)
        if 2 * int(np.count_nonzero(held)) < n:
            held_cols = held.nonzero()[0]
            b_old = b_old[:, held_cols]
            if wb is None:  # clipped_b and weighted_b hold the agreed columns, all of them held
                agreed_b = np.searchsorted(held_cols, agreed)
            else:
                wb = wb[:, held_cols]
                if weighted_b is not None:
                    weighted_b = weighted_b[:, held_cols]
            ranks_b, incentive_b = ranks[held_cols], incentive[held_cols]
            paid_b = incentive_b.nonzero()[0]
    if inp.yuma3:
        b_prev = _u16_proportion_of_u16(b_old)  # rows read were checked to hold u16 values
        if liquid and np.logical_or.reduce(consensus, axis=None):
            assert keep_b is not None and wb is not None  # set whenever liquid alpha runs
            # entries of W^b (explicit zeros included): only these keep a bond under liquid alpha
            if beta == 0:
                wb_support = keep_b
            elif beta == ONE:  # col_clip_sparse drops entries clipped by a zero consensus
                wb_support = keep_b & ~((w_bits_b > 0) & (consensus[None, :] == 0))
            else:  # interpolate_sparse keeps positive entries only
                wb_support = wb > 0
            # mat_ema_alpha_sparse: entries only where W^b has one; alpha per entry (alpha_sigmoid)
            if 2 * int(np.count_nonzero(wb_support)) >= wb_support.size:
                # mostly entries: the same maths on the whole block (no gather/scatter), then the
                # entries W^b does not hold are zeroed
                alphas = yield from _alpha_sigmoid_steps(wb, b_prev, consensus, inp)
                ema = _mul_unit(ONE - alphas, b_prev)
                ema += _mul_unit(alphas, wb)
                np.minimum(ema, ONE, out=ema)
                ema[~wb_support] = 0
            else:
                ri, cj = np.nonzero(wb_support)
                w_s, b_s = wb[ri, cj], b_prev[ri, cj]
                alphas = yield from _alpha_sigmoid_steps(w_s, b_s, consensus[cj], inp)
                value = _mul_unit(ONE - alphas, b_s) + _mul_unit(alphas, w_s)
                ema = np.zeros_like(wb)
                ema[ri, cj] = np.minimum(value, ONE)
        elif wb is None:  # W^b is zero outside the agreed columns
            assert clipped_b is not None
            ema = _mul_unit(b_prev, ONE - rate)
            if len(agreed):
                ema[:, agreed_b] += _mul_unit(clipped_b, rate)
        else:
            ema = _mul_unit(wb, rate)
            ema += _mul_unit(b_prev, ONE - rate)
        # dividends sum floor(B_ij * I_j) over miners: those without incentive add 0, so the column
        # normalisation is needed only where I_j > 0 (a few miners on real subnets)
        ema_i, incentive_i = _paid_columns(ema, incentive_b, paid_b)
        col_normalised = _div_cols(ema_i, np.add.reduce(ema_i, axis=0))
        per_validator = np.add.reduce(_mul_unit(col_normalised, incentive_i, i_below), axis=1)
        div_b = _mul_unit(per_validator, a_b, a_below)  # per_validator <= sum(I) <= 1.0
        # 0 <= ema <= 1.0 (a convex mix of proportions, floored; capped under liquid alpha), so
        # fixed_proportion_to_u16 needs no saturation
        stored_b = ema * U16_MAX
        stored_b >>= FRAC_BITS
    else:
        b_norm = _div_u16_sum(b_old, np.add.reduce(b_old, axis=0))
        if weighted_b is None:
            assert wb is not None  # W^b is held in full unless the bonds penalty is full
            weighted_b = _mul_unit(wb, a_b[:, None], a_below)
            ema = _mul_unit(_div_cols(weighted_b, np.add.reduce(weighted_b, axis=0)), rate)
            ema += _mul_unit(b_norm, ONE - rate)
        elif wb is None:  # the delta is zero outside the agreed columns (their ranks are the sums)
            ema = _mul_unit(b_norm, ONE - rate)
            if len(agreed):
                ema[:, agreed_b] += _mul_unit(_div_cols(weighted_b, ranks[agreed]), rate)
        else:  # rows left out hold no weights, so the column sums are the ranks
            ema = _mul_unit(_div_cols(weighted_b, ranks_b), rate)
            ema += _mul_unit(b_norm, ONE - rate)
        ema = _div_cols(ema, np.add.reduce(ema, axis=0))
        ema_i, incentive_i = _paid_columns(ema, incentive_b, paid_b)
        div_b = np.add.reduce(_mul_unit(ema_i, incentive_i, i_below), axis=1)
        # stored as u16 after scaling each column to its maximum: ema <= its column's max, so the
        # quotient is at most 1.0 and floor(q * 65535 / 2^32) needs no clamping
        stored_b = _div_cols(
            ema, np.maximum.reduce(ema, axis=0) if len(ema) else np.zeros(ema.shape[1], dtype=np.int64)
        )
        stored_b *= U16_MAX
        stored_b >>= FRAC_BITS
    # rows left out of the bond maths have no dividend and store no bonds
    b_uids = rows if full_rows else rows[bonded]
    dividends_raw = np.zeros(n, dtype=np.int64)
    dividends_raw[b_uids] = div_b
    # rows without a new permit store no bonds; the (n, n) matrix is expanded on demand
    persist = new_permit[b_uids]
    if not np.logical_and.reduce(persist, axis=None):
        b_uids, stored_b = b_uids[persist], stored_b[persist]
    if held_cols is not None:
        wide = np.zeros((len(b_uids), n), dtype=np.int64)
        wide[:, held_cols] = stored_b
        stored_b = wide
    return _Rows(consensus, validator_trust, ranks, incentive, dividends_raw, stored_b, b_uids, w_bits)


def _result(
    f: _Front,
    r: _Rows,
    u16: np.ndarray,
    amounts: np.ndarray,
    stake: np.ndarray,
    total_stake: np.ndarray,
    new_permit: np.ndarray,
    active_stake: np.ndarray,
    dividends: np.ndarray,
    fallback: bool,
) -> EpochResult:
    """The EpochResult of one subnet: u16 rows (consensus, incentive, trust, dividends, stake) and the
    amounts (server, validator, combined emission) as computed, with the intermediates."""
    return EpochResult(
        consensus=u16[0],
        incentive=u16[1],
        validator_trust=u16[2],
        dividends=u16[3],
        stake_weight=u16[4],
        active=f.active,
        new_validator_permit=new_permit,
        bonds_rows=r.bonds_rows,
        bonds_index=r.bonds_index,
        server_emission=amounts[0],
        validator_emission=amounts[1],
        emission=amounts[2],
        validator_permit=f.old_permit,
        stake_bits=stake,
        active_stake_bits=active_stake,
        consensus_bits=r.consensus,
        validator_trust_bits=r.validator_trust,
        ranks_bits=r.ranks,
        incentive_bits=r.incentive,
        dividends_bits=dividends,
        row_index=f.row_index,
        live_index=f.rows,
        weights_live_bits=r.w_bits,
        fallback=fallback,
        total_stake=total_stake,
    )


def dividends_from_bonds(
    bonds: np.ndarray,
    incentive: np.ndarray,
    *,
    yuma3: bool = False,
    active_stake_bits: np.ndarray | None = None,
) -> np.ndarray:
    """The epoch's dividend step alone: stored u16 bonds and stored u16 incentive -> u16 dividends.

    Original Yuma: D = normalise(column-normalised bonds . I). Yuma3: bonds are absolute (u16/65535);
    D = normalise((column-normalised bonds . I) * A), with A the active stake (I32F32 bits, required).
    Useful to check a snapshot's stored dividends against its stored bonds.
    """
    b = np.asarray(bonds, dtype=np.int64)
    i_bits = _u16_proportion(np.asarray(incentive, dtype=np.int64))
    if yuma3:
        if active_stake_bits is None:
            raise ValueError("Yuma3 dividends need the active stake")
        bn = _col_normalize(_u16_proportion(b))
        raw = _mul(_mul(bn, i_bits[None, :]).sum(axis=1), np.asarray(active_stake_bits, dtype=np.int64))
    else:
        bn = _div(b, b.sum(axis=0))
        raw = _mul(bn, i_bits[None, :]).sum(axis=1)
    return _to_u16(_normalize(raw))


def carry_forward(inputs: EpochInputs, result: EpochResult, **changes: object) -> EpochInputs:
    """The inputs of the next epoch as storage will hold them after `result` is persisted.

    Bonds and validator permits become the ones this epoch wrote, and the last successful epoch
    block becomes this one (for the bond mask of newly registered miners); `changes` overrides
    anything else (new weights, stake, current_block, ...). For what-if runs over several epochs.
    """
    carried: dict[str, Any] = {
        "bonds": result.bonds,
        "validator_permit": result.new_validator_permit,
        "last_mechanism_step_block": int(inputs.current_block),
    }
    carried.update(changes)
    return replace(inputs, **carried)


# ----------------------------------------------------------------------------------------------
# Many subnets at once
# ----------------------------------------------------------------------------------------------


_CHUNK = 32  # subnets stacked at a time by epoch_many


def epoch_many(inputs: Sequence[EpochInputs]) -> list[EpochResult]:
    """[epoch(i) for i in inputs], bit for bit, with the per-call-bound steps done for many subnets at once.

    On a sparse subnet much of an epoch is numpy's cost per call. Subnets of one size go through in
    chunks of _CHUNK: their (n,) vectors stacked (S, n) for stake, permits, active stake, the
    normalisations, emission and the u16 outputs; every subnet's weighted medians found in one sort
    over their stacked rows (_consensus_rows); the liquid-alpha sigmoid's 30-term series run once
    for all the chunk's requests (_run_all). The rest of the row work (masks, clipping, bonds) is
    epoch()'s own, per subnet. Each step is the same integer arithmetic, so the results are
    identical. Raises what epoch() raises for the first bad input met.
    """
    results: list[EpochResult | None] = [None] * len(inputs)
    groups: dict[int, list[int]] = {}
    for k, inp in enumerate(inputs):
        groups.setdefault(len(np.asarray(inp.alpha_stake)), []).append(k)
    for ks in groups.values():
        # a chunk of subnets at a time: its stacked arrays stay in cache
        for first in range(0, len(ks), _CHUNK):
            chunk = ks[first : first + _CHUNK]
            fronts = [_epoch_front(inputs[k]) for k in chunk]
            for k, res in zip(chunk, _epoch_stacked(fronts), strict=True):
                results[k] = res
    return [res for res in results if res is not None]


def _epoch_stacked(fronts: list[_Front]) -> list[EpochResult]:
    """The rest of epoch() for subnets of one size, their (n,) vectors stacked (see epoch_many)."""
    stake, total_stake = _stake_rows(fronts)
    new_permit = _topk_nonzero_rows(stake, [int(f.inp.max_allowed_validators) for f in fronts])
    owners = np.array([-1 if f.owner is None else f.owner for f in fronts])
    owned = np.flatnonzero(owners >= 0)
    new_permit[owned, owners[owned]] = True
    active = np.array([f.active for f in fronts]) & np.array([f.old_permit for f in fronts])
    active_stake = _normalize_rows(np.where(active, stake, 0))
    weights = [_epoch_weights(f) for f in fronts]
    medians = _consensus_stacked(fronts, active_stake, weights)
    rows = _run_all(
        [
            _epoch_rows_steps(f, active_stake[s], new_permit[s], weights[s], medians[s])
            for s, f in enumerate(fronts)
        ]
    )
    incentive = np.array([r.incentive for r in rows])
    dividends = _normalize_rows(np.array([r.dividends_raw for r in rows]))
    # emission: the shares of a positive total in one uint64 division where x << 32 fits (each
    # x <= total; sums of 2n values <= 2^32 fit int64), the others (and the fallback) row by row
    combined = incentive + dividends
    totals = combined.sum(axis=1)
    parts = np.stack([incentive, dividends, combined], axis=1)  # (S, 3, n)
    fits = (totals > 0) & (parts.max(axis=(1, 2)) < 1 << 32)
    shares = parts.view(np.uint64) << _U32
    shares //= np.where(fits, totals, 1).view(np.uint64)[:, None, None]
    shares = shares.view(np.int64)
    for s in np.flatnonzero(~fits).tolist():
        total = int(totals[s])
        if total == 0:
            share = active_stake[s] if active_stake[s].any() else stake[s]
            shares[s] = [incentive[s], share, share]
        else:
            shares[s] = _div_scalar(parts[s], total)
    rao = np.array([f.emission for f in fronts], dtype=np.uint64)[:, None, None]
    s_u = shares.view(np.uint64)
    amounts = s_u * (rao >> _U32)
    amounts += (s_u * (rao & np.uint64(_LO32))) >> _U32
    amounts = amounts.view(np.int64)
    consensus = np.array([r.consensus for r in rows])
    trust = np.array([r.validator_trust for r in rows])
    u16 = _unit_to_u16(np.stack([consensus, incentive, trust, dividends, stake], axis=1))  # (S, 5, n)
    return [
        _result(
            f,
            r,
            u16[s],
            amounts[s],
            stake[s],
            total_stake[s],
            new_permit[s],
            active_stake[s],
            dividends[s],
            int(totals[s]) == 0,
        )  # fmt: skip
        for s, (f, r) in enumerate(zip(fronts, rows, strict=True))
    ]


def _stake_rows(fronts: list[_Front]) -> tuple[np.ndarray, np.ndarray]:
    """_stake_bits of every subnet (S, n): _stake_bits_weighted's arithmetic on stacked rows (without
    TAO weight it gives the same values: V_i = alpha_i * 2^32); a subnet outside its ranges, or with
    an entry too close to an integer for the float estimate, is done exactly on its own."""
    alpha = np.array([f.alpha for f in fronts])
    tao = np.array([f.tao for f in fronts])
    s_count, n = alpha.shape
    tw = [(int(f.inp.tao_weight) << 32) // _U64_MAX for f in fronts]
    tw_bits = np.array([t if t <= 1 << 32 else 0 for t in tw], dtype=np.uint64)[:, None]
    t = tao.view(np.uint64)
    low = (t & np.uint64(_LO32)) * tw_bits
    whole = ((t >> _U32) * tw_bits + (low >> _U32)).view(np.int64)
    whole += alpha  # floor(T_i); rows that could wrap are redone below
    frac = (low & np.uint64(_LO32)).view(np.int64)
    thresholds = np.array([int(f.inp.stake_threshold) for f in fronts])
    below = whole < thresholds[:, None]
    for s, f in enumerate(fronts):
        if f.owner is not None:
            below[s, f.owner] = False
    kept_whole = np.where(below, 0, whole)
    kept_frac = np.where(below, 0, frac)
    alpha_tops, tao_tops = alpha.max(axis=1).tolist(), tao.max(axis=1).tolist()
    tao_lows = tao.min(axis=1).tolist()
    whole_sums, frac_sums = kept_whole.sum(axis=1).tolist(), kept_frac.sum(axis=1).tolist()
    scale = np.zeros(s_count)
    exact: list[int] = []
    totals = [0] * s_count
    for s in range(s_count):
        if (
            tw[s] > 1 << 32
            or tao_lows[s] < 0
            or (alpha_tops[s] + (tao_tops[s] >> 32) * tw[s] + (1 << 32)) * n >= 1 << 63
        ):
            exact.append(s)
            continue
        totals[s] = (whole_sums[s] << 32) + frac_sums[s]
        if totals[s]:
            scale[s] = float(1 << 32) / float(totals[s])
    value = np.multiply(kept_whole, float(1 << 32))
    value += kept_frac
    value *= scale[:, None]
    frac, whole_part = np.modf(value)
    out = whole_part.astype(np.int64)
    margin = 1.0 / (1 << 16)
    unsure = ((frac < margin) | (frac > 1.0 - margin)) & (value != 0.0)
    for s, i in zip(*np.nonzero(unsure), strict=True):
        s, i = int(s), int(i)
        out[s, i] = (((int(kept_whole[s, i]) << 32) + int(kept_frac[s, i])) << 32) // totals[s]
    for s in exact:
        f = fronts[s]
        out[s], whole[s] = _stake_bits(
            f.alpha, f.tao, f.inp.tao_weight, int(f.inp.stake_threshold), f.owner, alpha_checked=True
        )
    return out, whole


def _topk_nonzero_rows(stake: np.ndarray, k: list[int]) -> np.ndarray:
    """_topk_nonzero of each row of stake (S, n) with its own k. The rows holding more than k
    non-zero stakes are sorted once as packed (stake, uid) keys, which orders ties by uid as the
    stable sort does: a uid loses when its key is among the row's n - k smallest."""
    keep = stake != 0
    s_count, n = stake.shape
    limit = np.array(k)
    crowded = np.flatnonzero((np.count_nonzero(keep, axis=1) > limit) & (n >= limit))
    if len(crowded):
        shift = max(1, int(n - 1).bit_length())
        if int(stake.min()) >= 0 and int(stake.max()) < 1 << (62 - shift):
            keys = stake[crowded] << shift
            keys |= np.arange(n)
            ranked = np.sort(keys, axis=1)
            cut = ranked[np.arange(len(crowded)), n - limit[crowded] - 1]  # n - k >= 1 here
            keep[crowded] &= keys > cut[:, None]
        else:
            order = np.argsort(stake[crowded], axis=1, kind="stable")
            position = np.empty_like(order)
            np.put_along_axis(position, order, np.arange(n)[None, :], axis=1)
            keep[crowded] &= position >= (n - limit[crowded])[:, None]
    return keep


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    """_normalize of each row of x (S, m) of non-negative values whose row sums fit int64."""
    totals = x.sum(axis=1)
    fast = (totals > 0) & ((totals < 1 << 32) | ((totals < 1 << 62) & (x.max(axis=1) < 1 << 32)))
    if fast.all():
        q = x.view(np.uint64) << _U32
        q //= totals[:, None].view(np.uint64)
        return q.view(np.int64)
    out = x.copy()
    if fast.any():
        q = x[fast].view(np.uint64) << _U32
        q //= totals[fast][:, None].view(np.uint64)
        out[fast] = q.view(np.int64)
    for i in np.flatnonzero(~fast & (totals > 0)).tolist():
        out[i] = _normalize(x[i])
    return out


def _consensus_stacked(
    fronts: list[_Front], active_stake: np.ndarray, weights: list[_Weights], chunk: int = 8
) -> list[np.ndarray | None]:
    """Each subnet's consensus (_epoch_consensus) from passes over the stacked rows of `chunk`
    subnets at a time (see _consensus_rows; small enough stacks stay in cache); None for a subnet
    without a row computed (epoch() handles it)."""
    out: list[np.ndarray | None] = [None] * len(fronts)
    some = [s for s, f in enumerate(fronts) if len(f.rows)]
    for first in range(0, len(some), chunk):
        part = some[first : first + chunk]
        sel = [fronts[s] for s in part]
        counts = np.array([len(f.rows) for f in sel])
        starts = np.zeros(len(sel), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        seg = np.repeat(np.arange(len(sel)), counts)
        uid = np.concatenate([f.rows for f in sel])
        w_bits = np.concatenate([weights[s].w_bits for s in part])
        has_weights = np.concatenate([weights[s].has_weights for s in part])
        kappa_bits = np.array([(int(f.inp.kappa) << 32) // U16_MAX for f in sel])
        stacked = _consensus_rows(
            sel, active_stake[part], w_bits, has_weights, seg, uid, starts, kappa_bits, sel[0].n
        )
        for k, s in enumerate(part):
            out[s] = stacked[k]
    return out


def _consensus_rows(
    fronts: list[_Front],
    active_stake: np.ndarray,
    w_bits: np.ndarray,
    has_weights: np.ndarray,
    seg: np.ndarray,
    uid: np.ndarray,
    starts: np.ndarray,
    kappa_bits: np.ndarray,
    n: int,
) -> np.ndarray:
    """_epoch_consensus of every subnet of a batch: (S, n) consensus bits.

    Per subnet the voters' stake u is normalised again and minority = sum(u) - kappa. A column
    whose zero scores (rows without weights vote 0 everywhere) hold more than the minority has
    median 0; in the others the crossing lies among the non-zero scores, at the first one (in
    score order) where the zero stake plus the cumulative non-zero stake passes the minority.
    The non-zero scores of every open column of every subnet are sorted at once as packed
    (column of the batch, score, row) keys; one cumulative sum and one searchsorted find each
    column's crossing. Subnets outside _epoch_consensus's usual case go through _consensus.
    """
    s_count = len(fronts)
    u = _normalize_rows(active_stake)  # active_stake is 0 outside the rows each subnet reads
    total = u.sum(axis=1)
    minority = total - kappa_bits
    voting_r = active_stake[seg, uid] > 0
    scored = has_weights & voting_r
    u_scored = np.where(scored, u[seg, uid], 0)
    n_scored = np.add.reduceat(scored.astype(np.int64), starts)
    empty = np.count_nonzero(active_stake > 0, axis=1) - n_scored
    high = u.max(axis=1)
    usual = (
        (n_scored + (empty > 0) >= 2)
        & (minority >= 0)
        & (minority < total)
        & (high * (n_scored + 1) < 1 << 62)
    )
    row_bits = max(1, int(n - 1).bit_length())
    key_bits = int(s_count * n - 1).bit_length() + 33 + row_bits
    if key_bits > 63:  # the packed keys would not fit: every subnet on its own
        usual[:] = False
    consensus = np.zeros((s_count, n), dtype=np.int64)
    if usual.any():
        nonzero = w_bits != 0
        zero_stake = total[:, None] - np.add.reduceat(nonzero * u_scored[:, None], starts, axis=0)
        open_cols = (zero_stake <= minority[:, None]) & usual[:, None]
        rr, cc = np.nonzero(nonzero & scored[:, None] & open_cols[seg])
        if len(rr):
            subnet = seg[rr]
            keys = subnet * n + cc
            keys <<= 33
            keys |= w_bits[rr, cc]
            keys <<= row_bits
            keys |= rr - starts[subnet]
            keys.sort()
            low_mask = (1 << row_bits) - 1
            block = keys >> (33 + row_bits)
            subnet = block // n
            cum = np.cumsum(u_scored[starts[subnet] + (keys & low_mask)])
            first = np.flatnonzero(np.diff(block)) + 1
            first = np.concatenate([[0], first])
            ids = block[first]
            base = np.concatenate([[0], cum[first[1:] - 1]])
            target = base + minority[ids // n] - zero_stake.ravel()[ids]
            at = np.searchsorted(cum, target, side="right")
            consensus.ravel()[ids] = (keys[at] >> row_bits) & ((1 << 33) - 1)
    for s in np.flatnonzero(~usual).tolist():
        f = fronts[s]
        a, b = int(starts[s]), int(starts[s]) + len(f.rows)
        consensus[s] = _consensus(
            active_stake[s][f.row_index],
            w_bits[a:b],
            int(kappa_bits[s]),
            has_weights[a:b],
            f.sub,
            nonnegative=True,
        )
    return consensus


# ----------------------------------------------------------------------------------------------
# Mechanisms (sub-subnets)
# ----------------------------------------------------------------------------------------------


def split_emissions(emission: int, mechanism_count: int, split: Sequence[int] | None = None) -> list[int]:
    """split_emissions: E_m = floor(E * s_m / 65535) (or floor(E / M) without a split); the rounding
    remainder goes to mechanism 0; a split shorter than M pads with zeros."""
    emission, count = int(emission), int(mechanism_count)
    if count <= 0:
        raise ValueError("mechanism_count must be at least 1")
    if split is not None:
        parts = [(emission * int(s)) // U16_MAX for s in split][:count]
        parts += [0] * (count - len(parts))
    else:
        parts = [emission // count] * count
    parts[0] += max(0, emission - sum(parts))
    return parts


def _weighted_acc(values: list[np.ndarray], weights: list[int]) -> np.ndarray:
    """Fold acc := floor(acc + w_m * v_m) over mechanisms in order (U64F64 weights, bits / 2^64)."""
    acc = [0] * len(values[0])
    for v, w in zip(values, weights, strict=True):
        acc = [a + ((int(x) * w) >> 64) for a, x in zip(acc, v.tolist(), strict=True)]
    return np.array(acc, dtype=np.int64)


def epoch_with_mechanisms(
    inputs: EpochInputs,
    mechanism_weights: Sequence[np.ndarray],
    mechanism_bonds: Sequence[np.ndarray | None],
    mechanism_last_update: Sequence[np.ndarray],
    split: Sequence[int] | None = None,
    *,
    mechanism_weights_set: Sequence[np.ndarray | None] | None = None,
    mechanism_commit_block: Sequence[np.ndarray | None] | None = None,
) -> EpochResult:
    """The chain's `epoch_with_mechanisms` for M = len(mechanism_weights) mechanisms.

    Stake, registration, permits and every hyperparameter come from `inputs` (its weights, bonds,
    last_update, weights_set and commit_block are ignored); mechanism m uses mechanism_weights[m],
    mechanism_bonds[m] (None = no bonds), mechanism_last_update[m] and optionally
    mechanism_weights_set[m] / mechanism_commit_block[m]. `split` is MechanismEmissionSplit (u16
    values summing to 65535) or None for an even split.

    Aggregation exactly as stored at netuid level:
    * server_emission, validator_emission: plain sums over mechanisms (the payouts);
    * consensus, dividends, validator_trust, stake_weight (u16) and emission (rao):
      acc := floor(acc + w_m * value_m) with w_m = E_m / E in U64F64. For M > 1 the stored Emission is
      therefore sum_m w_m^2 E sigma_m (a chain quirk: it does not add up to the distributed amount);
    * active, new_validator_permit: OR;
    * incentive and bonds: mechanism 0's (the netuid-level Incentive key is mechanism 0's key).
    `mechanisms` holds each mechanism's own result (its incentive and bonds are what the chain stores
    under that mechanism's index) and `mechanism_inputs` the EpochInputs it ran on, so
    `consensus.explain_validators(out.mechanism_inputs[m], out.mechanisms[m])` explains mechanism m.
    """
    # this call's arguments by name (nothing else is bound yet), the form epoch_with_mechanisms_many
    # hands over too: one planner reads both
    per_inputs, parts, weights_bits = _mechanism_inputs(locals())
    return _aggregate([epoch(per) for per in per_inputs], parts, weights_bits, per_inputs)


def epoch_with_mechanisms_many(arguments: Sequence[Mapping[str, Any]]) -> list[EpochResult]:
    """[epoch_with_mechanisms(**a) for a in arguments], bit for bit, every mechanism's epoch of every
    subnet through one epoch_many call (each mapping as ``SubnetSnapshot.mechanism_arguments()`` gives
    it). check --all stays per subnet: stacking a snapshot's 128 subnets cost it more in page faults
    than the per-call work it saved (commit dbede79)."""
    signature = inspect.signature(epoch_with_mechanisms)
    planned = []
    for given in arguments:
        bound = signature.bind(**given)  # a name it does not take, or a required one missing: TypeError
        bound.apply_defaults()
        planned.append(_mechanism_inputs(bound.arguments))
    results = epoch_many([per for per_inputs, _, _ in planned for per in per_inputs])
    out: list[EpochResult] = []
    at = 0
    for per_inputs, parts, weights_bits in planned:
        count = len(per_inputs)
        out.append(_aggregate(results[at : at + count], parts, weights_bits, per_inputs))
        at += count
    return out


def one_mechanism_arguments(inputs: EpochInputs) -> dict[str, Any]:
    """epoch_with_mechanisms' keyword arguments that run `inputs` as a subnet's only mechanism (its
    own weights, bonds, last_update, weights_set and commit_block), the shape
    ``SubnetSnapshot.mechanism_arguments()`` gives a one-mechanism subnet."""
    return {
        "inputs": inputs,
        "mechanism_weights": [inputs.weights],
        "mechanism_bonds": [inputs.bonds],
        "mechanism_last_update": [inputs.last_update],
        "split": None,
        "mechanism_weights_set": [inputs.weights_set],
        "mechanism_commit_block": [inputs.commit_block],
    }


_Plain = TypeVar("_Plain", EpochInputs, EpochResult)
_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _replace(obj: _Plain, **changes: Any) -> _Plain:
    """dataclasses.replace for EpochInputs / EpochResult without the __init__ call (per subnet it
    showed): their fields are all plain __init__ arguments, so a copy of the fields with `changes`
    is the same object replace builds. Cached properties are not carried over."""
    names = _FIELD_NAMES.get(type(obj))
    if names is None:
        names = _FIELD_NAMES[type(obj)] = frozenset(f.name for f in fields(obj))
    if not changes.keys() <= names:
        raise TypeError(f"unknown fields {sorted(set(changes) - names)}")
    state = obj.__dict__
    # the instance dict holds the fields, and any cached property computed so far (left out)
    copied = dict(state) if len(state) == len(names) else {name: state[name] for name in names}
    copied.update(changes)
    new = object.__new__(type(obj))
    new.__dict__ = copied
    return new


def _mechanism_inputs(arguments: Mapping[str, Any]) -> tuple[list[EpochInputs], list[int], list[int]]:
    """Each mechanism's EpochInputs, the split emissions E_m and the U64F64 weights E_m / E, from
    epoch_with_mechanisms' arguments by name, every one present (its own, or one mapping of
    epoch_with_mechanisms_many's bound to its signature)."""
    inputs: EpochInputs = arguments["inputs"]
    mechanism_weights: Sequence[np.ndarray] = arguments["mechanism_weights"]
    mechanism_bonds: Sequence[np.ndarray | None] = arguments["mechanism_bonds"]
    mechanism_last_update: Sequence[np.ndarray] = arguments["mechanism_last_update"]
    split: Sequence[int] | None = arguments["split"]
    mechanism_weights_set: Sequence[np.ndarray | None] | None = arguments["mechanism_weights_set"]
    mechanism_commit_block: Sequence[np.ndarray | None] | None = arguments["mechanism_commit_block"]
    count = len(mechanism_weights)
    if count == 0:
        raise ValueError("at least one mechanism is needed")
    for name, seq in (("mechanism_bonds", mechanism_bonds), ("mechanism_last_update", mechanism_last_update)):
        if len(seq) != count:
            raise ValueError(f"{name} has {len(seq)} entries for {count} mechanisms")
    emission = int(inputs.emission)
    parts = split_emissions(emission, count, split)
    weights_bits: list[int] = []
    per_inputs: list[EpochInputs] = []
    for m in range(count):
        per = _replace(
            inputs,
            weights=mechanism_weights[m],
            bonds=mechanism_bonds[m],
            last_update=mechanism_last_update[m],
            weights_set=None if mechanism_weights_set is None else mechanism_weights_set[m],
            commit_block=None if mechanism_commit_block is None else mechanism_commit_block[m],
            emission=parts[m],
        )
        per_inputs.append(per)
        if emission == 0:
            weights_bits.append((1 << 64) if m == 0 else 0)
        else:
            weights_bits.append((parts[m] << 64) // emission)
    return per_inputs, parts, weights_bits


def _aggregate(
    results: list[EpochResult], parts: list[int], weights_bits: list[int], per_inputs: list[EpochInputs]
) -> EpochResult:
    """The netuid-level result of the mechanisms' epochs (see epoch_with_mechanisms)."""
    count = len(results)
    first = results[0]
    if count == 1:
        # One mechanism: w_0 = E / E = 1 exactly (also for E = 0), so floor(0 + 1 * v) = v, already
        # within its cap; sums and ORs over one result are that result: the aggregate is mechanism 0,
        # with copies of its stored (n,) fields (three stacked copies: the rows of each are views).
        u16 = np.array([first.consensus, first.dividends, first.validator_trust, first.stake_weight])
        rao = np.array([first.emission, first.server_emission, first.validator_emission])
        flags = np.array([first.active, first.new_validator_permit])
        return _replace(
            first,
            consensus=u16[0],
            dividends=u16[1],
            validator_trust=u16[2],
            stake_weight=u16[3],
            emission=rao[0],
            server_emission=rao[1],
            validator_emission=rao[2],
            active=flags[0],
            new_validator_permit=flags[1],
            mechanisms=results,
            mechanism_emission=parts,
            mechanism_weight_bits=weights_bits,
            mechanism_inputs=per_inputs,
        )

    def acc(attr: str, cap: int = U16_MAX) -> np.ndarray:
        return np.minimum(_weighted_acc([getattr(r, attr) for r in results], weights_bits), cap)

    return replace(
        first,
        consensus=acc("consensus"),
        dividends=acc("dividends"),
        validator_trust=acc("validator_trust"),
        stake_weight=acc("stake_weight"),
        emission=acc("emission", (1 << 63) - 1),
        server_emission=np.sum([r.server_emission for r in results], axis=0).astype(np.int64),
        validator_emission=np.sum([r.validator_emission for r in results], axis=0).astype(np.int64),
        active=np.logical_or.reduce([r.active for r in results]),
        new_validator_permit=np.logical_or.reduce([r.new_validator_permit for r in results]),
        mechanisms=results,
        mechanism_emission=parts,
        mechanism_weight_bits=weights_bits,
        mechanism_inputs=per_inputs,
    )
