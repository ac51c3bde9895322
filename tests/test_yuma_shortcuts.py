"""The engine's speed shortcuts (issue 16) against exact Python integers and the general code paths.

Each shortcut must give exactly what the plain computation gives: the TAO-weighted stake's float
estimate with its exact fallback, the epoch's consensus (voters gathered once, settled columns not
sorted), column division by a divisor of exactly 1.0, u16 -> I32F32 without a division, normalising
without a max, top-k without a sort, the one-mechanism aggregate, and the row intermediates kept for
the computed rows only.
"""

from __future__ import annotations

import numpy as np
import pytest

from analytics.model.yuma import (
    ONE,
    U16_MAX,
    EpochInputs,
    _consensus,
    _div_cols,
    _epoch_consensus,
    _normalize,
    _stake_bits,
    _topk_nonzero,
    _u16_proportion,
    _u16_proportion_of_u16,
    _weighted_acc,
    _weighted_median_cols,
    epoch,
    epoch_with_mechanisms,
)

U64_MAX = (1 << 64) - 1


def stake_by_ints(alpha, tao, tao_weight, threshold, owner):
    """_stake_bits in exact integers, whole arrays of Python ints (I64F64 stake, threshold, I32F32)."""
    tw_bits = (int(tao_weight) << 32) // U64_MAX
    scaled = alpha.astype(object) * 2**32 + tao.astype(object) * tw_bits  # V_i = T_i * 2^32
    whole = scaled // 2**32
    if threshold > 0:
        kept = whole >= threshold
        if owner is not None:
            kept[owner] = True
        scaled = np.where(kept, scaled, 0)
    total = int(scaled.sum())
    bits = scaled * 2**32 // total if total else np.zeros(len(scaled), dtype=object)
    return [int(b) for b in bits], [min(int(w), 2**63 - 1) for w in whole]


def test_tao_weighted_stake_matches_python_integers() -> None:
    rng = np.random.default_rng(16)
    for case in range(400):
        n = int(rng.integers(1, 80))
        top = [2**20, 2**40, 2**57, 2**62, 2**63 - 1][case % 5]
        alpha = rng.integers(0, top, size=n, dtype=np.int64) * (rng.random(n) < 0.6)
        tao = rng.integers(0, top, size=n, dtype=np.int64) * (rng.random(n) < 0.4)
        if case % 7 == 1:  # a sole staker: its share is exactly 1.0 (the estimate is unsure there)
            alpha[:], tao[:] = 0, 0
            tao[int(rng.integers(0, n))] = 7
        if case % 7 == 2:  # equal stakes: exact quotients
            alpha[:], tao[:] = alpha[0], tao[0]
        tao_weight = int(rng.choice([1, int(0.18 * 2**64), 2**63, U64_MAX]))
        threshold = int(rng.choice([0, 10**9, top // 2]))
        owner = None if case % 2 else int(rng.integers(0, n))
        if case % 4 == 3 and threshold:  # a stake exactly at the threshold is kept
            alpha[-1], tao[-1] = threshold, 0
        bits, whole = _stake_bits(alpha, tao, tao_weight, threshold, owner)
        want_bits, want_whole = stake_by_ints(alpha, tao, tao_weight, threshold, owner)
        assert bits.tolist() == want_bits, case
        assert whole.tolist() == want_whole, case


def test_epoch_consensus_equals_the_general_consensus() -> None:
    rng = np.random.default_rng(17)
    kappas = [0, 1, 1 << 31, (32767 << 32) // U16_MAX, ONE - 1, ONE, ONE + 5]
    for case in range(1500):
        rows, n = int(rng.integers(0, 10)), int(rng.integers(1, 16))
        top = [2, 10, 2**20, 2**32, 2**40][case % 5]
        stake = rng.integers(0, top, size=rows).astype(np.int64) * (rng.random(rows) < 0.7)
        live = np.flatnonzero(rng.random(rows) < 0.7) if case % 2 else None
        m = rows if live is None else len(live)
        w = rng.integers(0, ONE, size=(m, n)) * (rng.random((m, n)) < rng.random())
        if case % 3 == 0:
            w[rng.random(m) < 0.5] = 0  # voters without weights
        if case % 11 == 0:
            w[:] = w[:, :1]  # ties everywhere
        kappa = kappas[case % len(kappas)]
        if case % 13 == 0 and rows > 1:  # voters whose stake normalises to 0 still vote
            stake[:] = 1
            stake[0] = 2**40
            w[:] = rng.integers(1, ONE, size=(m, n))
            kappa = ONE + 5  # above the normalised total: every column takes its smallest score
        has_weights = w.sum(axis=1) > 0
        if live is None:
            want = _consensus(stake, w, kappa, has_weights, nonnegative=True)
        else:
            want = _consensus(stake, w, kappa, has_weights, live, True)
        assert np.array_equal(_epoch_consensus(stake, w, live, has_weights, kappa), want), case


def test_settled_columns_shortcut_matches_sorting_every_column() -> None:
    rng = np.random.default_rng(18)
    for case in range(600):
        m, k = int(rng.integers(2, 12)), int(rng.integers(1, 20))
        stake = rng.integers(0, 2**32, size=m).astype(np.int64)
        scores = rng.integers(0, ONE, size=(m, k)) * (rng.random((m, k)) < 0.3)
        minority = int(rng.integers(-5, int(stake.sum()) + 5))
        shortcut = _weighted_median_cols(stake, scores, minority, nonnegative=True)
        # the definition: the first score, ascending, whose cumulative stake passes the minority
        want = []
        for j in range(k):
            order = sorted(range(m), key=lambda i: (scores[i, j], i))
            cum, pick = 0, scores[order[-1], j]
            for i in order:
                cum += int(stake[i])
                if cum > minority:
                    pick = scores[i, j]
                    break
            want.append(int(scores[order[0], j]) if minority < 0 else int(pick))
        assert shortcut.tolist() == want, case


def test_column_division_by_exactly_one() -> None:
    rng = np.random.default_rng(19)
    for case in range(300):
        x = rng.integers(0, ONE + 1, size=(int(rng.integers(1, 5)), 6)) * (rng.random(6) < 0.5)
        x[:, 0] = 0
        x[0, 0] = ONE  # a column held by one row: its divisor is exactly 1.0
        sums = x.sum(axis=0)
        keep = sums <= ONE
        x, sums = x[:, keep].astype(np.int64), sums[keep].astype(np.int64)
        want = [
            [(int(a) << 32) // int(s) if s else 0 for a, s in zip(row, sums, strict=True)]
            for row in x.tolist()
        ]
        assert _div_cols(x, sums).tolist() == want, case


def test_u16_to_fixed_without_division_and_normalise_without_max() -> None:
    every = np.arange(U16_MAX + 1, dtype=np.int64)
    assert np.array_equal(_u16_proportion_of_u16(every), _u16_proportion(every))
    rng = np.random.default_rng(20)
    for size in range(1, 60):
        x = rng.integers(0, ONE // size + 2, size=size).astype(np.int64)  # sums on both sides of 1.0
        total = int(x.sum())
        want = x.tolist() if total == 0 else [(int(v) << 32) // total for v in x.tolist()]
        assert _normalize(x).tolist() == want
    single = np.zeros(5, dtype=np.int64)
    single[3] = ONE
    assert _normalize(single).tolist() == [0, 0, 0, ONE, 0]


def test_topk_without_sort_when_few_hold_stake() -> None:
    rng = np.random.default_rng(21)
    for case in range(300):
        n, k = int(rng.integers(1, 40)), int(rng.integers(0, 40))
        stake = rng.integers(0, 5, size=n).astype(np.int64) * (rng.random(n) < 0.5)
        want = stake != 0
        if n >= k:  # is_topk_nonzero: the n - k smallest (stable ascending sort) lose
            want[np.argsort(stake, kind="stable")[: n - k]] = False
        assert np.array_equal(_topk_nonzero(stake, k), want), case


def sparse_rows(
    rng: np.random.Generator, n: int, setters: np.ndarray, *, min_columns: int, min_weight: int
) -> tuple[np.ndarray, np.ndarray]:
    """(weights, alpha stake) of a sparse subnet: each setter weights a random set of miners and
    holds a large stake; about 70 % of the others hold a small one."""
    weights = np.zeros((n, n), dtype=np.int64)
    for v in setters:
        cols = rng.choice(n, size=int(rng.integers(min_columns, n)), replace=False)
        weights[v, cols] = rng.integers(min_weight, U16_MAX + 1, size=len(cols))
    stake = rng.integers(10**9, 10**13, size=n) * (rng.random(n) < 0.7)
    stake[setters] = rng.integers(10**12, 10**15, size=len(setters))
    return weights, stake


def small_subnet(seed: int, n: int = 24) -> EpochInputs:
    """A sparse subnet: a few weight setters among permit holders, stakers without weights, bonds."""
    rng = np.random.default_rng(seed)
    weights, stake = sparse_rows(rng, n, rng.choice(n, size=5, replace=False), min_columns=2, min_weight=1)
    inputs = EpochInputs(
        weights=weights,
        alpha_stake=stake,
        tao_stake=rng.integers(0, 10**13, size=n) * (rng.random(n) < 0.3),
        tao_weight=int(0.18 * 2**64),
        last_update=np.full(n, 990),
        block_at_registration=rng.integers(0, 900, size=n),
        validator_permit=stake > np.sort(stake)[n // 3],
        current_block=1000,
        max_allowed_validators=n // 2,
        yuma3=bool(seed % 2),
    )
    inputs.bonds = epoch(inputs).bonds
    return inputs


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_one_mechanism_aggregate_is_the_general_fold(seed: int) -> None:
    inputs = small_subnet(seed)
    out = epoch_with_mechanisms(inputs, [inputs.weights], [inputs.bonds], [inputs.last_update])
    own = out.mechanisms[0]
    assert out.mechanism_weight_bits == [1 << 64]
    for name in ("consensus", "dividends", "validator_trust", "stake_weight", "emission"):
        folded = np.minimum(_weighted_acc([getattr(own, name)], out.mechanism_weight_bits), (1 << 63) - 1)
        assert np.array_equal(getattr(out, name), folded), name
        assert getattr(out, name) is not getattr(own, name)  # the aggregate owns its arrays
    for name in ("server_emission", "validator_emission", "active", "new_validator_permit"):
        assert np.array_equal(getattr(out, name), getattr(own, name))
        assert getattr(out, name) is not getattr(own, name)


@pytest.mark.parametrize("seed", [5, 6])
def test_row_intermediates_expand_with_zero_rows(seed: int) -> None:
    inputs = small_subnet(seed)
    result = epoch(inputs)
    rows, live = result.row_index, result.live_index
    assert set(live.tolist()) <= set(rows.tolist())
    assert len(live) < len(rows)  # permit holders without weights or bonds are not computed
    w_rows, c_rows = result.weights_rows_bits, result.clipped_rows_bits
    assert w_rows.shape == c_rows.shape == (len(rows), inputs.n)
    at = np.searchsorted(rows, live)
    assert np.array_equal(w_rows[at], result.weights_live_bits)
    assert not np.delete(w_rows, at, axis=0).any() and not np.delete(c_rows, at, axis=0).any()
    # clipping: min(W_ij, C_j) on every row, and the (n, n) views hold the rows at their uids
    assert np.array_equal(c_rows, np.minimum(w_rows, result.consensus_bits))
    full = result.weights_bits
    assert np.array_equal(full[rows], w_rows) and not np.delete(full, rows, axis=0).any()
    assert np.array_equal(result.clipped_weights_bits[rows], c_rows)
    # ranks are the stake-weighted column sums of the clipped weights
    a = result.active_stake_bits[rows]
    ranks = ((c_rows.astype(object) * a[:, None].astype(object)) >> 32).sum(axis=0)
    assert ranks.tolist() == result.ranks_bits.tolist()
