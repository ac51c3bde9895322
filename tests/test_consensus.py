"""Per-validator explanations and the copier signal (analytics.model.consensus) on small chain situations."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.model.consensus import (
    CLIPPED_MINOR,
    SEVERITIES,
    ValidatorExplanation,
    clipped_matrix,
    copier_signals,
    explain_validators,
    explanation_table,
    miner_consensus,
    overlap,
)
from analytics.model.yuma import EpochInputs, epoch, epoch_with_mechanisms
from tests.test_yuma_vectors import step_one_network


def by_uid(explanations: list[ValidatorExplanation]) -> dict[int, ValidatorExplanation]:
    return {e.uid: e for e in explanations}


def three_validators(rows: list[list[int]], **kw) -> tuple[EpochInputs, object]:
    n = 5
    w = np.zeros((n, n), dtype=np.int64)
    for i, r in enumerate(rows):
        w[i, 3:] = r
    base = dict(
        weights=w,
        alpha_stake=np.array([10**9] * 3 + [0, 0]),
        last_update=np.ones(n, dtype=np.int64),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([True] * 3 + [False] * 2),
        current_block=1,
        tempo=10,
    )
    base.update(kw)
    inp = EpochInputs(**base)
    return inp, epoch(inp)


def test_validator_voting_against_the_majority_is_explained() -> None:
    inp, res = three_validators([[65535, 0], [0, 65535], [65535, 0]])
    ex = by_uid(explain_validators(inp, res))
    assert sorted(ex) == [0, 1, 2]
    bad = ex[1]
    assert bad.trust == 0 and bad.trust_u16 == 0 and bad.clipped_mass == 1.0
    assert bad.miners_above_consensus == 1 and bad.zero_consensus_miners == 1
    assert bad.clipped_miners[0].uid == 4 and bad.clipped_miners[0].excess == 1.0
    assert bad.clipped_miners[0].consensus == 0.0
    assert "above_consensus" in bad.reasons and "weight_on_zero_consensus" in bad.reasons
    assert "above consensus on 1 miners (100.0% of its weight clipped)" in bad.explanation
    assert bad.severity == "critical"
    assert bad.dividend_share == 0 and abs(bad.stake_share - 1 / 3) < 1e-9
    good = ex[0]
    assert good.reasons == ["in_consensus"] and good.severity == "ok" and good.clipped_mass == 0
    assert abs(good.dividend_to_stake - 1.5) < 1e-6  # half the dividends for a third of the stake


def test_split_weight_gives_half_clipped_and_major_severity() -> None:
    inp, res = three_validators([[65535, 0], [0, 65535], [65535, 65535]])
    ex = by_uid(explain_validators(inp, res))
    assert abs(ex[0].clipped_mass - 0.5) < 1e-6 and ex[0].severity == "major"
    assert abs(ex[0].clipped_miners[0].excess - 0.5) < 1e-6
    assert ex[2].severity == "ok" and ex[2].trust_u16 == 65535


def test_in_consensus_validator_storing_65534_is_ok() -> None:
    inp = step_one_network()
    res = epoch(inp)
    ex = explain_validators(inp, res)
    assert [e.trust_u16 for e in ex] == [65534] * 4
    assert all(e.severity == "ok" and e.clipped_mass < CLIPPED_MINOR for e in ex)


def test_self_weight_no_weights_no_permit_and_stale() -> None:
    n = 6
    w = np.zeros((n, n), dtype=np.int64)
    w[0, 0] = 65535  # only a self-weight
    # uid 1 sets nothing
    w[2, 4:] = [65535, 65535]  # good validator
    w[3, 4:] = [65535, 65535]  # holds no permit
    w[5, 4] = 65535  # stale validator
    inp = EpochInputs(
        weights=w,
        alpha_stake=np.array([10, 10, 10, 10, 0, 10]) * 10**9,
        last_update=np.array([6000, 0, 6000, 6000, 0, 100]),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([True, True, True, False, False, True]),
        current_block=6000,
    )
    ex = by_uid(explain_validators(inp, epoch(inp)))
    # a permit holder that does not validate: major (not as bad as voting against the majority)
    assert ex[0].reasons[0] == "self_weight_only" and ex[0].severity == "major"
    assert "no_weights" in ex[1].reasons and "inactive" in ex[1].reasons and ex[1].severity == "major"
    assert ex[3].reasons[0] == "no_permit" and ex[3].severity == "info" and ex[3].trust == 0
    stale = ex[5]
    assert "inactive" in stale.reasons and stale.blocks_since_update == 5900 and stale.activity_cutoff == 5000
    assert "last set 5900 blocks ago (activity cutoff 5000)" in stale.explanation
    assert stale.severity == "major" and stale.active_stake_share == 0
    assert ex[2].severity == "ok"
    assert 4 not in ex  # a miner without weights or permit is not a validator


def test_outdated_and_commit_reveal_masks_are_counted() -> None:
    n = 4
    w = np.zeros((n, n), dtype=np.int64)
    w[0, 2:] = [65535, 32768]
    w[1, 2:] = [65535, 32768]
    inp = EpochInputs(
        weights=w,
        alpha_stake=np.array([1, 1, 1, 0]),
        last_update=np.array([3, 2, 2, 2]),
        block_at_registration=np.array([1, 1, 1, 2]),
        validator_permit=np.array([True, True, True, False]),
        current_block=3,
        tempo=0,
    )
    ex = by_uid(explain_validators(inp, epoch(inp)))
    assert ex[1].outdated == 1 and "outdated_weights" in ex[1].reasons
    assert "1 of its weights point at miners re-registered" in ex[1].explanation
    assert ex[0].outdated == 0
    cr = EpochInputs(**{**inp.__dict__, "commit_block": np.array([1, -1, -1, -1])})
    ex = by_uid(explain_validators(cr, epoch(cr)))
    assert ex[0].commit_reveal_masked == 1 and "commit_reveal_masked" in ex[0].reasons


def test_stored_trust_comparison_and_table() -> None:
    inp, res = three_validators([[65535, 0], [0, 65535], [65535, 65535]])
    stored = res.validator_trust.copy()
    stored[1] += 3
    ex = explain_validators(inp, res, stored_validator_trust=stored)
    assert [e.trust_delta_u16 for e in ex] == [0, 3, 0]
    table = explanation_table(ex)
    assert table["uid"] == [0, 1, 2]
    assert {len(v) for v in table.values()} == {3}
    assert table["severity"] == [e.severity for e in ex] and set(table["severity"]) <= set(SEVERITIES)
    assert table["top_clipped"][0].startswith("uid 3: -50.00%")
    assert explanation_table([]) == {}
    heat = clipped_matrix(res)
    assert heat.shape == (5, 5) and abs(heat[0, 3] - 0.5) < 1e-6 and heat[2].sum() == 0


def copier_case(copy_rows: list[int], previous: list[int]):
    """Six honest validators moved from miner pattern P to Q; `copy_rows` set the previous consensus."""
    n = 10
    v = 6
    q = np.array([0, 10000, 20000, 65535])  # the new honest pattern over miners 6..9
    w = np.zeros((n, n), dtype=np.int64)
    rng = np.random.default_rng(5)
    for i in range(v):
        noisy = np.clip(q + rng.integers(-3000, 3000, 4), 0, 65535)
        w[i, v:] = noisy * 65535 // noisy.max()
    prev = np.zeros(n, dtype=np.int64)
    prev[v:] = previous
    for i in copy_rows:
        w[i, v:] = prev[v:] * 65535 // prev[v:].max()
    inp = EpochInputs(
        weights=w,
        alpha_stake=np.array([30, 25, 20, 15, 5, 5, 0, 0, 0, 0]) * 10**9,
        last_update=np.full(n, 10),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([True] * v + [False] * 4),
        current_block=10,
    )
    res = epoch(inp)
    return by_uid(explain_validators(inp, res, previous_consensus=prev))


def test_copier_tracking_stale_consensus_is_flagged_with_figures() -> None:
    ex = copier_case([5], [30000, 20000, 10000, 5000])
    copier = ex[5].copier
    assert copier is not None and copier.likely_copier
    assert copier.overlap_previous_consensus > 0.99
    assert copier.overlap_previous_consensus > copier.overlap_current_consensus
    assert copier.overlap_previous_consensus > copier.overlap_best_peer
    assert "likely_copier" in ex[5].reasons and "previous epoch's consensus" in ex[5].explanation
    for uid in range(5):
        assert ex[uid].copier is not None and not ex[uid].copier.likely_copier


def test_no_copier_verdict_when_consensus_did_not_move() -> None:
    ex = copier_case([5], [0, 10000, 20000, 65535])
    assert all(not e.copier.likely_copier for e in ex.values())
    assert "cannot be told" in ex[5].copier.note


def test_overlap_is_shared_mass() -> None:
    assert overlap(np.array([1, 1, 0]), np.array([0, 1, 1])) == 0.5
    assert overlap(np.array([0, 0]), np.array([1, 0])) == 0.0
    assert overlap(np.array([2, 2]), np.array([1, 1])) == 1.0


def test_copier_signals_alone_and_bad_previous_consensus() -> None:
    inp, res = three_validators([[65535, 0], [0, 65535], [65535, 0]])
    signals = copier_signals(res, [0, 0, 0, 0, 65535])
    assert [s.uid for s in signals] == [0, 1, 2]
    assert signals[1].overlap_previous_consensus == 1.0 and signals[0].overlap_previous_consensus == 0.0
    assert signals[1].likely_copier  # it matches the stale consensus, not the current one or any peer
    assert copier_signals(res, [0] * 5, uids=[]) == []
    with pytest.raises(ValueError, match="previous_consensus has 2 entries"):
        explain_validators(inp, res, previous_consensus=[1, 2])


def test_explaining_one_mechanism_of_several() -> None:
    n = 5
    base = EpochInputs(
        weights=np.zeros((n, n), dtype=np.int64),
        alpha_stake=np.array([10**9] * 3 + [0, 0]),
        last_update=np.ones(n, dtype=np.int64),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([True] * 3 + [False] * 2),
        current_block=1,
    )
    w0 = np.zeros((n, n), dtype=np.int64)
    w1 = np.zeros((n, n), dtype=np.int64)
    w0[:3, 3] = 65535
    w1[:3, 4] = 65535
    w1[2] = 0
    w1[2, 3] = 65535  # uid 2 disagrees on mechanism 1 only
    out = epoch_with_mechanisms(base, [w0, w1], [None, None], [np.ones(n, dtype=np.int64)] * 2, None)
    ex0 = by_uid(explain_validators(out.mechanism_inputs[0], out.mechanisms[0]))
    ex1 = by_uid(explain_validators(out.mechanism_inputs[1], out.mechanisms[1]))
    assert ex0[2].severity == "ok" and ex1[2].severity == "critical"
    assert ex1[2].clipped_miners[0].uid == 3


def test_miner_consensus_shows_the_stake_behind_the_median() -> None:
    inp, res = three_validators([[65535, 0], [0, 65535], [65535, 0]])
    m3 = miner_consensus(res, 3)
    assert m3.consensus == 1.0 and m3.consensus_u16 == 65535 and m3.incentive == 1.0
    assert abs(m3.stake_at_or_above - 2 / 3) < 1e-6 and m3.stake_above == 0.0
    assert [(v.validator_uid, v.position) for v in m3.votes] == [(0, "at"), (1, "below"), (2, "at")]
    m4 = miner_consensus(res, 4)
    assert m4.consensus == 0.0 and abs(m4.stake_above - 1 / 3) < 1e-6
    assert [v.clipped for v in m4.votes] == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="uid 9 is not on this subnet"):
        miner_consensus(res, 9)
