"""epoch_many (issue 16): many subnets at once, bit for bit what epoch() gives each of them.

The batch stacks the subnets' (n,) vectors (stake, permits, active stake, normalisations, emission),
finds every subnet's weighted medians in one sort, and answers the liquid-alpha sigmoid requests of
several subnets with one call; each of those is checked here against the per-subnet engine on
subnets chosen to reach their edge paths (exact stake fallbacks, consensus outside the usual case,
no rows to compute, the zero-incentive fallback, mixed sizes, more subnets than one chunk).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analytics.model.yuma import (
    U16_MAX,
    EpochInputs,
    EpochResult,
    _epoch_front,
    _stake_bits,
    _stake_rows,
    _topk_nonzero,
    _topk_nonzero_rows,
    epoch,
    epoch_many,
    epoch_with_mechanisms,
    epoch_with_mechanisms_many,
    one_mechanism_arguments,
)
from tests.test_yuma_shortcuts import sparse_rows

FIELDS = [f.name for f in dataclasses.fields(EpochResult) if not f.name.startswith("mechanism")]
VIEWS = ("bonds", "weights_bits", "clipped_weights_bits", "weights_rows_bits", "trust")


def subnet(seed: int, n: int = 24) -> EpochInputs:
    """A sparse subnet with bonds from a previous epoch; the seed picks its variant."""
    rng = np.random.default_rng(seed)
    setters = rng.choice(n, size=min(n, int(rng.integers(1, 7))), replace=False)
    weights, stake = sparse_rows(rng, n, setters, min_columns=1, min_weight=0)
    yuma3 = bool(rng.random() < 0.6)
    inputs = EpochInputs(
        weights=weights,
        weights_set=(weights > 0) | (rng.random((n, n)) < 0.05),
        alpha_stake=stake,
        tao_stake=rng.integers(0, 10**13, size=n) * (rng.random(n) < 0.3),
        tao_weight=int(rng.choice([0, int(0.18 * 2**64)])),
        last_update=rng.integers(900, 1000, size=n),
        block_at_registration=rng.integers(0, 960, size=n),
        validator_permit=stake > np.sort(stake)[n // 3],
        commit_block=np.where(rng.random(n) < 0.3, rng.integers(800, 990, size=n), -1)
        if rng.random() < 0.5
        else None,
        current_block=1000,
        max_allowed_validators=int(rng.integers(1, n)),
        kappa=int(rng.choice([32767, 32767, 65535, 0])),
        bonds_penalty=int(rng.choice([65535, 65535, 0, 20000])),
        bonds_moving_average=int(rng.choice([900_000, 0, 1_000_000])),
        stake_threshold=int(rng.choice([0, 0, 10**12])),
        owner_uid=int(rng.integers(0, n)) if rng.random() < 0.8 else None,
        yuma3=yuma3,
        liquid_alpha=yuma3 and bool(rng.random() < 0.5),
        emission=int(rng.integers(0, 10**12)),
    )
    first = epoch(inputs)
    return dataclasses.replace(inputs, bonds=first.bonds, validator_permit=first.new_validator_permit)


def edge_cases() -> list[EpochInputs]:
    """Subnets that leave the batch's usual paths."""
    base = subnet(7)
    n = base.n
    no_weights = dataclasses.replace(
        base, weights=np.zeros((n, n), dtype=np.int64), weights_set=None, bonds=None
    )
    sole = np.zeros(n, dtype=np.int64)
    sole[3] = 5  # a sole staker: its share is exactly 1.0
    huge = np.full(n, 2**62)  # sums pass int64: the stake is done exactly on its own
    return [
        no_weights,  # nothing to compute: no rows, zero incentive, emission by stake
        dataclasses.replace(base, alpha_stake=sole, tao_stake=None),
        dataclasses.replace(base, alpha_stake=huge, tao_stake=None),
        dataclasses.replace(base, validator_permit=np.zeros(n, dtype=bool), owner_uid=None, bonds=None),
        dataclasses.replace(base, kappa=65535),  # minority below zero: consensus outside the usual case
        dataclasses.replace(base, tao_weight=2**64 - 1),
        subnet(8, n=9),  # another size: its own stack
    ]


def assert_same(want: EpochResult, got: EpochResult, case: int) -> None:
    for name in (*FIELDS, *VIEWS):
        a, b = getattr(want, name), getattr(got, name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), (case, name)
        else:
            assert a == b, (case, name)


def test_epoch_many_is_epoch_bit_for_bit() -> None:
    # more subnets than one chunk, liquid alpha among them, and the edge cases in between
    inputs = [subnet(seed) for seed in range(40)]
    inputs[5:5] = edge_cases()
    got = epoch_many(inputs)
    assert len(got) == len(inputs)
    assert sum(i.liquid_alpha for i in inputs) >= 5
    for case, (inp, res) in enumerate(zip(inputs, got, strict=True)):
        assert_same(epoch(inp), res, case)


def test_epoch_many_of_nothing_and_of_one() -> None:
    assert epoch_many([]) == []
    inp = subnet(3)
    assert_same(epoch(inp), epoch_many([inp])[0], 0)


def test_epoch_many_raises_what_epoch_raises() -> None:
    good = subnet(1)
    bad = dataclasses.replace(good, alpha_stake=-good.alpha_stake - 1)
    with pytest.raises(ValueError, match="alpha_stake must be non-negative"):
        epoch(bad)
    with pytest.raises(ValueError, match="alpha_stake must be non-negative"):
        epoch_many([good, bad])
    wide = good.weights.copy()
    wide[np.flatnonzero(good.validator_permit)[0], 0] = U16_MAX + 1
    with pytest.raises(ValueError, match="weights values must be u16"):
        epoch_many([dataclasses.replace(good, weights=wide), good])


def test_stacked_stake_is_stake_bits_row_by_row() -> None:
    rng = np.random.default_rng(11)
    inputs = []
    for case in range(60):
        n = 16
        top = [2**20, 2**40, 2**57, 2**62][case % 4]
        alpha = rng.integers(0, top, size=n, dtype=np.int64) * (rng.random(n) < 0.6)
        tao = rng.integers(0, top, size=n, dtype=np.int64) * (rng.random(n) < 0.4)
        if case % 7 == 1:
            alpha[:], tao[:] = 0, 0
            tao[int(rng.integers(0, n))] = 7
        if case % 7 == 2:
            alpha[:], tao[:] = alpha[0], tao[0]
        inputs.append(
            dataclasses.replace(
                subnet(case % 5, n=n),
                alpha_stake=alpha,
                tao_stake=tao,
                tao_weight=int(rng.choice([0, 1, int(0.18 * 2**64), 2**63, 2**64 - 1])),
                stake_threshold=int(rng.choice([0, 10**9, top // 2])),
            )
        )
    fronts = [_epoch_front(i) for i in inputs]
    bits, whole = _stake_rows(fronts)
    for s, (inp, f) in enumerate(zip(inputs, fronts, strict=True)):
        want_bits, want_whole = _stake_bits(f.alpha, f.tao, inp.tao_weight, int(inp.stake_threshold), f.owner)
        assert np.array_equal(bits[s], want_bits), s
        assert np.array_equal(whole[s], want_whole), s


def test_stacked_topk_is_topk_row_by_row() -> None:
    rng = np.random.default_rng(12)
    stake = rng.integers(0, 5, size=(80, 30)).astype(np.int64) * (rng.random((80, 30)) < 0.6)
    k = [int(x) for x in rng.integers(0, 40, size=80)]
    got = _topk_nonzero_rows(stake, k)
    for s in range(80):
        assert np.array_equal(got[s], _topk_nonzero(stake[s], k[s])), s


def test_epoch_with_mechanisms_many_is_the_per_subnet_call() -> None:
    one = subnet(21)
    two = subnet(22)
    n = two.n
    calls = [
        one_mechanism_arguments(one),  # as SubnetSnapshot.mechanism_arguments() gives it
        {  # two mechanisms with a split, one without bonds
            "inputs": two,
            "mechanism_weights": [two.weights, np.flip(two.weights, axis=1).copy()],
            "mechanism_bonds": [two.bonds, None],
            "mechanism_last_update": [two.last_update, np.full(n, 999)],
            "split": [40000, 25535],
        },
    ]
    got = epoch_with_mechanisms_many(calls)
    for case, (call, res) in enumerate(zip(calls, got, strict=True)):
        want = epoch_with_mechanisms(**call)
        assert_same(want, res, case)
        assert want.mechanism_emission == res.mechanism_emission
        assert want.mechanism_weight_bits == res.mechanism_weight_bits
        for own_want, own_got in zip(want.mechanisms, res.mechanisms, strict=True):
            assert_same(own_want, own_got, case)
