"""Properties of the epoch that must hold for any input (hypothesis, modest example counts)."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.model.yuma import ONE, EpochInputs, epoch

# YUMA_EXAMPLES=400 for a deeper local run; the suite keeps it quick.
SETTINGS = settings(max_examples=int(os.environ.get("YUMA_EXAMPLES", "40")), deadline=None)


@st.composite
def subnets(draw: st.DrawFn, distinct_stakes: bool = False) -> EpochInputs:
    n = draw(st.integers(2, 10))
    validators = draw(st.integers(1, n))
    if distinct_stakes:
        # Distinct after normalisation too: stakes 10^4 rao apart stay apart at 2^-32 of a total
        # below 10^13, so the top-k permit cut never meets a tie (ties are broken by uid, by design).
        units = draw(st.lists(st.integers(1, 10**8), min_size=n, max_size=n, unique=True))
        stake = np.array(units, dtype=np.int64) * 10**4
    else:
        stake = np.array(draw(st.lists(st.integers(0, 10**12), min_size=n, max_size=n)))
    weights = np.zeros((n, n), dtype=np.int64)
    cells = draw(st.lists(st.integers(0, 65535), min_size=validators * n, max_size=validators * n))
    weights[:validators] = np.array(cells).reshape(validators, n)
    bonds = np.zeros((n, n), dtype=np.int64)
    if draw(st.booleans()):
        cells = draw(st.lists(st.integers(0, 65535), min_size=validators * n, max_size=validators * n))
        bonds[:validators] = np.array(cells).reshape(validators, n)
    yuma3 = draw(st.booleans())
    return EpochInputs(
        weights=weights,
        bonds=bonds,
        alpha_stake=stake,
        last_update=np.array(draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))),
        block_at_registration=np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))),
        validator_permit=np.array([True] * validators + [False] * (n - validators)),
        current_block=draw(st.integers(10, 30)),
        tempo=1,
        kappa=draw(st.sampled_from([32767, 0, 19660, 45000, 65535])),
        yuma3=yuma3,
        liquid_alpha=yuma3 and draw(st.booleans()),
        bonds_penalty=draw(st.sampled_from([65535, 0, 30000])),
        max_allowed_validators=draw(st.integers(1, 12)),
        owner_uid=draw(st.one_of(st.none(), st.integers(0, n - 1))),
    )


@SETTINGS
@given(subnets())
def test_outputs_are_in_range_and_consensus_below_column_max(inp: EpochInputs) -> None:
    r = epoch(inp)
    w = r.weights_bits
    voting = r.active_stake_bits > 0
    col_max = w[voting].max(axis=0) if voting.any() else np.zeros(inp.n, dtype=np.int64)
    assert np.all(r.consensus_bits <= col_max)
    assert np.all((r.validator_trust_bits >= 0) & (r.validator_trust_bits <= ONE))
    for arr in (r.consensus, r.incentive, r.validator_trust, r.dividends, r.stake_weight, r.bonds):
        assert arr.min() >= 0 and arr.max() <= 65535
    total_i = int(r.incentive_bits.sum())
    assert total_i == 0 or ONE - inp.n <= total_i <= ONE
    total_d = int(r.dividends_bits.sum())
    assert total_d == 0 or ONE - inp.n <= total_d <= ONE
    assert int(r.emission.sum()) <= inp.emission
    assert int(r.server_emission.sum() + r.validator_emission.sum()) <= inp.emission
    assert int(r.server_emission.sum() + r.validator_emission.sum()) >= inp.emission - 2 * inp.n - 2 or (
        r.stake_bits.sum() == 0
    )
    # bonds are stored only for rows holding a new permit
    assert not r.bonds[~r.new_validator_permit].any()


@SETTINGS
@given(subnets(distinct_stakes=True), st.randoms(use_true_random=False))
def test_relabelling_uids_relabels_outputs(inp: EpochInputs, rnd) -> None:
    n = inp.n
    perm = np.array(rnd.sample(range(n), n))  # new uid k holds old uid perm[k]

    def vec(x):
        return np.asarray(x)[perm]

    def mat(x):
        return np.asarray(x)[np.ix_(perm, perm)]

    inv = np.argsort(perm)
    moved = EpochInputs(
        **{
            **inp.__dict__,
            "weights": mat(inp.weights),
            "bonds": mat(inp.bonds),
            "alpha_stake": vec(inp.alpha_stake),
            "last_update": vec(inp.last_update),
            "block_at_registration": vec(inp.block_at_registration),
            "validator_permit": vec(inp.validator_permit),
            "owner_uid": None if inp.owner_uid is None else int(inv[inp.owner_uid]),
        }
    )
    a, b = epoch(inp), epoch(moved)
    for name in ("consensus", "incentive", "validator_trust", "dividends", "stake_weight", "emission"):
        assert getattr(b, name).tolist() == vec(getattr(a, name)).tolist(), name
    assert b.new_validator_permit.tolist() == vec(a.new_validator_permit).tolist()
    assert b.bonds.tolist() == mat(a.bonds).tolist()


@SETTINGS
@given(
    st.integers(2, 8),
    st.lists(st.integers(1, 65535), min_size=2, max_size=12),
    st.lists(st.integers(1, 10**12), min_size=8, max_size=8),
)
def test_validators_that_agree_keep_full_trust(validators: int, row: list[int], stakes: list[int]) -> None:
    miners = len(row)
    n = validators + miners
    w = np.zeros((n, n), dtype=np.int64)
    w[:validators, validators:] = row
    inp = EpochInputs(
        weights=w,
        alpha_stake=np.array(stakes[:validators] + [0] * miners),
        last_update=np.full(n, 5),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([True] * validators + [False] * miners),
        current_block=5,
    )
    r = epoch(inp)
    assert np.all(r.validator_trust[:validators] >= 65534)


@SETTINGS
@given(subnets())
def test_a_row_equal_to_consensus_keeps_trust(inp: EpochInputs) -> None:
    """An extra permitted validator without stake (no vote, so C is unchanged) that sets W = C gets
    Tv = min(1, sum C) up to u16 rounding of its row."""
    r = epoch(inp)
    c = r.consensus_bits / ONE
    if c.max() == 0:
        return
    n = inp.n
    grown = np.zeros((n + 1, n + 1), dtype=np.int64)
    grown[:n, :n] = inp.weights
    grown[n, :n] = np.round(c / c.max() * 65535)
    bonds = np.zeros((n + 1, n + 1), dtype=np.int64)
    bonds[:n, :n] = inp.bonds
    ext = EpochInputs(
        **{
            **inp.__dict__,
            "weights": grown,
            "bonds": bonds,
            "alpha_stake": np.append(inp.alpha_stake, 0),
            "last_update": np.append(inp.last_update, inp.current_block),
            "block_at_registration": np.append(inp.block_at_registration, 0),
            "validator_permit": np.append(inp.validator_permit, True),
        }
    )
    s = epoch(ext)
    assert s.consensus_bits[:n].tolist() == r.consensus_bits.tolist()
    tv = s.validator_trust_bits[n] / ONE
    assert abs(tv - min(1.0, c.sum())) <= n / 65535 + 1e-6


@SETTINGS
@given(subnets(), st.integers(1, 4), st.integers(0, 10**12), st.booleans())
def test_mechanisms_pay_out_at_most_the_emission(
    inp: EpochInputs, count: int, emission: int, use_split: bool
) -> None:
    from analytics.model.yuma import epoch_with_mechanisms, split_emissions

    n = inp.n
    rng = np.random.default_rng(count + n)
    weights = [np.where(rng.random((n, n)) < 0.5, rng.integers(0, 65536, (n, n)), 0) for _ in range(count)]
    split = None
    if use_split:
        cuts = np.sort(rng.integers(0, 65536, count - 1))
        split = np.diff(np.concatenate([[0], cuts, [65535]])).tolist()
    inp.emission = emission
    out = epoch_with_mechanisms(inp, weights, [None] * count, [inp.last_update] * count, split)
    parts = split_emissions(emission, count, split)
    assert sum(parts) == emission and out.mechanism_emission == parts
    paid = int(out.server_emission.sum() + out.validator_emission.sum())
    assert paid <= emission
    for m, r in enumerate(out.mechanisms):
        assert int(r.server_emission.sum() + r.validator_emission.sum()) <= parts[m]
    assert (
        out.server_emission.tolist() == np.sum([r.server_emission for r in out.mechanisms], axis=0).tolist()
    )
    # the stored aggregate never exceeds the largest per-mechanism value (weights sum to <= 1)
    for name in ("consensus", "validator_trust", "dividends"):
        top = np.max([getattr(r, name) for r in out.mechanisms], axis=0)
        assert np.all(getattr(out, name) <= top)
