"""Subtensor's own epoch test cases, ported as vectors (see ../shared/design/yuma_vectors.md).

Each test rebuilds the chain state a subtensor test sets up, runs our engine and compares with the
values the subtensor test asserts ([asserted]) or that an exact replay of it yields ([replay]).
Tolerances are the subtensor tests' own: exact unless a vector says otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from analytics.model.yuma import (
    ONE,
    EpochInputs,
    EpochResult,
    epoch,
    epoch_with_mechanisms,
    split_emissions,
    weighted_median,
    weighted_median_col,
)


def fixed(x: float) -> int:
    """subtensor's test helper fixed(f32): f32 -> I32F32, round to nearest (ties to even)."""
    return int(np.round(np.float64(np.float32(x)) * ONE))


def fixed_vec(xs: list[float]) -> np.ndarray:
    return np.array([fixed(x) for x in xs], dtype=np.int64)


def normalize_bits(x: np.ndarray) -> np.ndarray:
    total = int(x.sum())
    return np.array([(int(v) << 32) // total for v in x], dtype=np.int64)


def inputs(n: int, **kw) -> EpochInputs:
    base = dict(
        weights=np.zeros((n, n), dtype=np.int64),
        alpha_stake=np.zeros(n, dtype=np.int64),
        last_update=np.zeros(n, dtype=np.int64),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.zeros(n, dtype=bool),
        current_block=1,
    )
    base.update(kw)
    return EpochInputs(**base)


# --------------------------------------------------------------------------------------------
# V1, V2: weighted median (tests/math.rs)
# --------------------------------------------------------------------------------------------

V1_CASES = [
    ([0.49, 0.51], [0.5, 1.0], 1.0),
    ([0.51, 0.49], [0.5, 1.0], 0.5),
    ([0.49, 0.0, 0.51], [0.5, 0.7, 1.0], 1.0),
    ([0.49, 0.01, 0.5], [0.5, 0.7, 1.0], 0.7),
    ([0.49, 0.51, 0.0], [0.5, 0.7, 1.0], 0.7),
    ([0.0, 0.49, 0.51], [0.5, 0.7, 1.0], 1.0),
    ([0.0, 0.49, 0.0, 0.51], [0.5, 0.5, 1.0, 1.0], 1.0),
    ([0.0, 0.49, 0.0, 0.51, 0.0], [0.5, 0.5, 1.0, 1.0, 0.5], 1.0),
    ([0.2] * 5, [0.8, 0.2, 1.0, 0.6, 0.4], 0.6),
    ([0.1] * 10, [0.8, 0.8, 0.2, 0.2, 1.0, 1.0, 0.6, 0.6, 0.4, 0.4], 0.6),
]


@pytest.mark.parametrize(("stake", "score", "expected"), V1_CASES)
def test_v1_weighted_median(stake: list[float], score: list[float], expected: float) -> None:
    minority = fixed(1.0) - fixed(0.51)
    assert int(weighted_median(fixed_vec(stake), fixed_vec(score), minority)) == fixed(expected)


def test_v1_weighted_median_edge_cases() -> None:
    minority = fixed(1.0) - fixed(0.51)
    assert int(weighted_median(np.zeros(0, np.int64), np.zeros(0, np.int64), minority)) == 0
    stake = normalize_bits(fixed_vec([0.51]))
    assert int(weighted_median(stake, fixed_vec([1.0]), minority)) == ONE


V2_W = [[0, 0.1, 0], [0, 0.2, 0.4], [0, 0.3, 0.1], [0, 0.4, 0.5]]


@pytest.mark.parametrize(
    ("kappa", "expected"),
    [(0.24, [0, 0.3, 0.4]), (0.26, [0, 0.2, 0.4]), (0.76, [0, 0.2, 0.1])],
)
def test_v2_weighted_median_col_kappa(kappa: float, expected: list[float]) -> None:
    stake = fixed_vec([0, 0.75, 0.25, 0])
    scores = np.array([fixed_vec(r) for r in V2_W])
    got = weighted_median_col(stake, scores, fixed(kappa))
    assert got.tolist() == fixed_vec(expected).tolist()


def test_v2_weighted_median_col_zero_stake_rows_and_empty() -> None:
    stake = fixed_vec([0, 0.3, 0.2, 0.5])
    scores = np.array([fixed_vec(r) for r in [[0, 0.1, 0], [0, 0.2, 0.4], [0, 0.3, 0.1], [0, 0, 0.5]]])
    assert weighted_median_col(stake, scores, fixed(0.51)).tolist() == fixed_vec([0, 0, 0.4]).tolist()
    assert weighted_median_col(np.zeros(2, np.int64), np.zeros((2, 2), np.int64), fixed(0.5)).tolist() == [
        0,
        0,
    ]


# --------------------------------------------------------------------------------------------
# V3, V4: epoch_logs two validators vs one (original Yuma)
# --------------------------------------------------------------------------------------------


def two_servers(rows: list[list[int]], kappa: int = 32767) -> EpochResult:
    n = 5
    w = np.zeros((n, n), dtype=np.int64)
    ws = np.zeros((n, n), dtype=bool)
    for i, r in enumerate(rows):
        w[i, 3:] = r
        ws[i, 3:] = True
    return epoch(
        inputs(
            n,
            weights=w,
            weights_set=ws,
            alpha_stake=np.array([10**9] * 3 + [0, 0]),
            last_update=np.ones(n, dtype=np.int64),
            validator_permit=np.array([True, True, True, False, False]),
            tempo=10,
            kappa=kappa,
        )
    )


def test_v3_validator_far_from_consensus() -> None:
    r = two_servers([[65535, 0], [0, 65535], [65535, 0]])
    half = ONE // 2
    assert r.weights_bits[:3, 3:].tolist() == [[ONE, 0], [0, ONE], [ONE, 0]]
    assert r.consensus_bits.tolist() == [0, 0, 0, ONE, 0]
    assert r.validator_trust_bits.tolist() == [ONE, 0, ONE, 0, 0]
    assert r.dividends_bits.tolist() == [half, 0, half, 0, 0]
    assert r.consensus.tolist() == [0, 0, 0, 65535, 0]
    assert r.incentive.tolist() == [0, 0, 0, 65535, 0]
    assert r.validator_trust.tolist() == [65535, 0, 65535, 0, 0]
    assert r.dividends.tolist() == [32767, 0, 32767, 0, 0]
    assert r.emission.tolist() == [250000000, 0, 250000000, 500000000, 0]
    assert r.server_emission.tolist() == [0, 0, 0, 500000000, 0]
    assert r.bonds[:3].tolist() == [[0, 0, 0, 65535, 0], [0] * 5, [0, 0, 0, 65535, 0]]
    # historic miner trust R/P: uid 3's weight is all within consensus, uid 4's is all clipped
    assert r.trust.tolist() == [0, 0, 0, 65535, 0]


def test_v3_kappa_variations() -> None:
    for kappa in (19660, 0):
        r = two_servers([[65535, 0], [0, 65535], [65535, 0]], kappa=kappa)
        assert r.consensus.tolist() == [0, 0, 0, 65535, 65535]
        assert r.incentive.tolist() == [0, 0, 0, 43689, 21844]
        assert r.validator_trust.tolist()[:3] == [65535] * 3
        assert r.dividends.tolist()[:3] == [21844] * 3
        assert r.emission.tolist() == [166666666] * 3 + [333333333, 166666666]
    r = two_servers([[65535, 0], [0, 65535], [65535, 0]], kappa=65535)
    assert r.consensus.tolist() == [0] * 5 and r.fallback
    assert r.emission.tolist() == [333333333] * 3 + [0, 0]


def test_v4_validator_splits_weight() -> None:
    r = two_servers([[65535, 0], [0, 65535], [65535, 65535]])
    half = ONE // 2
    assert r.weights_bits[2, 3:].tolist() == [half, half]
    assert r.dividends_bits.tolist() == [ONE // 4, ONE // 4, half, 0, 0]
    assert r.consensus.tolist() == [0, 0, 0, 32767, 32767]
    assert r.incentive.tolist() == [0, 0, 0, 32767, 32767]
    assert r.validator_trust.tolist() == [32767, 32767, 65535, 0, 0]
    assert r.dividends.tolist() == [16383, 16383, 32767, 0, 0]
    assert r.emission.tolist() == [125000000, 125000000, 250000000, 250000000, 250000000]


# --------------------------------------------------------------------------------------------
# V5: test_bonds (multi-epoch original Yuma)
# --------------------------------------------------------------------------------------------


class Chain:
    """A tiny stateful driver: carries bonds and permits from one epoch to the next like storage."""

    def __init__(self, n: int, **kw) -> None:
        self.n = n
        self.w = np.zeros((n, n), dtype=np.int64)
        self.ws = np.zeros((n, n), dtype=bool)
        self.bonds = np.zeros((n, n), dtype=np.int64)
        self.permit = np.zeros(n, dtype=bool)
        self.kw = kw
        self.last_update = np.array(kw.pop("last_update"), dtype=np.int64)

    def set_weights(self, uid: int, row: dict[int, int], block: int) -> None:
        self.w[uid] = 0
        self.ws[uid] = False
        for j, v in row.items():
            self.w[uid, j] = v
            self.ws[uid, j] = True
        self.last_update[uid] = block

    def run(self, block: int, **extra) -> EpochResult:
        kw = dict(self.kw)
        kw.update(extra)
        r = epoch(
            inputs(
                self.n,
                weights=self.w,
                weights_set=self.ws,
                bonds=self.bonds,
                validator_permit=self.permit,
                last_update=self.last_update,
                current_block=block,
                **kw,
            )
        )
        self.bonds = r.bonds
        self.permit = r.new_validator_permit
        return r


V5_BONDS = [
    (4, [16383, 32767, 49151, 65535]),
    (4, [14582, 32767, 49151, 65535]),
    (4, [12603, 28321, 49151, 65535]),
    (7, [12602, 28320, 49150, 65535]),
    (7, [10951, 24609, 49150, 65535]),
    (7, [9559, 21482, 49150, 65535]),
    (7, [8376, 18824, 49150, 65535]),
]
V5_EMISSION = [
    [49999998, 99999999, 150000000, 200000001, 49998779, 100000610, 149996337, 200004272],
    [44998351, 101110561, 151667215, 202223870, 49998779, 100000610, 149996337, 200004272],
    [40496805, 90999783, 157929636, 210573773, 49998779, 100000610, 149996337, 200004272],
    [99999999, 199999999, 299999999, 399999999, 0, 0, 0, 0],
    [36443733, 81898628, 163565493, 218092144, 0, 0, 0, 500000000],
    [32799427, 73706612, 168638129, 224855830, 0, 0, 0, 500000000],
    [29518068, 66336137, 173203134, 230942659, 0, 0, 0, 500000000],
]
V5_DIVIDENDS = [
    [6553, 13106, 19660, 26214],
    [5897, 13252, 19879, 26505],
    [5307, 11927, 20699, 27599],
    [0, 0, 0, 0],
    [4776, 10734, 21438, 28585],
    [4299, 9660, 22103, 29471],
    [3868, 8694, 22701, 30269],
]
V5_TRUST = [[65534] * 4, [0] + [65534] * 3, [0, 0, 65534, 65534], [0] * 4] + [[0, 0, 26214, 26214]] * 3


def test_v5_bonds_multi_epoch() -> None:
    n = 8
    chain = Chain(
        n,
        alpha_stake=np.array([1, 2, 3, 4, 0, 0, 0, 0]),
        block_at_registration=np.ones(n, dtype=np.int64),
        last_update=np.ones(n, dtype=np.int64),
        tempo=1,
        max_allowed_validators=8,
    )
    chain.run(1)
    assert chain.permit.tolist() == [True] * 4 + [False] * 4
    for uid in range(4):
        chain.set_weights(uid, {4: 16383, 5: 32767, 6: 49149, 7: 65535}, 2)
    actions = {
        3: lambda: chain.set_weights(0, {0: 65535}, 2),
        4: lambda: chain.set_weights(1, {1: 65535}, 3),
        5: lambda: chain.set_weights(2, {2: 65535}, 4),
        6: lambda: chain.set_weights(2, {7: 65535}, 5),
    }
    for step, block in enumerate(range(2, 9)):
        if block in actions:
            actions[block]()
        r = chain.run(block)
        col, bonds = V5_BONDS[step]
        assert r.bonds[:4, col].tolist() == bonds, f"step {step + 1}"
        assert r.emission.tolist() == V5_EMISSION[step], f"step {step + 1}"
        assert r.dividends[:4].tolist() == V5_DIVIDENDS[step], f"step {step + 1}"
        assert r.validator_trust[:4].tolist() == V5_TRUST[step], f"step {step + 1}"
        if step < 3:
            assert r.consensus[4:].tolist() == [6553, 13107, 19660, 26214]
            assert r.incentive[4:].tolist() == [6553, 13107, 19660, 26214]
        elif step == 3:
            assert r.consensus.tolist() == [0] * 8 and r.fallback
        else:
            assert r.consensus[4:].tolist() == [0, 0, 0, 26214]
            assert r.incentive[4:].tolist() == [0, 0, 0, 65535]


def step_one_network() -> EpochInputs:
    """The V5 network (subtensor's ``test_bonds``) at its first step: validators 0-3 (stake 1-4) weight miners
    4-7 at 1:2:3:4."""
    n = 8
    w = np.zeros((n, n), dtype=np.int64)
    w[:4, 4:] = [16383, 32767, 49149, 65535]
    return inputs(
        n,
        weights=w,
        alpha_stake=np.array([1, 2, 3, 4, 0, 0, 0, 0]),
        last_update=np.array([2] * 4 + [1] * 4),
        block_at_registration=np.ones(n, dtype=np.int64),
        validator_permit=np.array([True] * 4 + [False] * 4),
        current_block=2,
        tempo=1,
    )


def test_v5_normalised_weights_of_step_one() -> None:
    r = epoch(step_one_network())
    got = r.weights_float[0, 4:]
    assert np.allclose(got, [0.0999975584, 0.2000012207, 0.2999926754, 0.400008545], atol=1e-9)


def equal_stake_chain(n: int, start: int, tempo: int) -> Chain:
    """``n`` uids of one rao of stake each, registered and last updated at block ``start``, after the epoch at
    ``start`` that gives every one of them a validator permit."""
    chain = Chain(
        n,
        alpha_stake=np.ones(n, dtype=np.int64),
        block_at_registration=np.full(n, start, dtype=np.int64),
        last_update=np.full(n, start, dtype=np.int64),
        tempo=tempo,
    )
    chain.run(start)
    assert chain.permit.all()
    return chain


# --------------------------------------------------------------------------------------------
# V6: test_active_stake
# --------------------------------------------------------------------------------------------


def test_v6_inactive_validators() -> None:
    chain = equal_stake_chain(4, start=0, tempo=1)
    chain.set_weights(0, {2: 65535, 3: 65535}, 1)
    chain.set_weights(1, {2: 65535, 3: 65535}, 1)
    r = chain.run(1)
    assert r.dividends[:2].tolist() == [32767, 32767]
    assert r.emission.tolist() == [250000000] * 4
    assert r.bonds[:2].tolist() == [[0, 0, 65535, 65535]] * 2

    chain.set_weights(0, {2: 65535, 3: 65535}, 5002)
    r = chain.run(5002)
    assert r.active.tolist() == [True, False, False, False]
    assert r.active_stake_bits.tolist() == [ONE, 0, 0, 0]
    assert (r.dividends[0], r.emission[0]) == (36044, 274999999)
    assert (r.dividends[1], r.emission[1]) == (29490, 224999999)
    assert r.emission.tolist() == [274999999, 224999999, 250000000, 250000000]
    assert r.bonds[0, 2:].tolist() == [65535, 65535] and r.bonds[1, 2:].tolist() == [53619, 53619]

    chain.set_weights(1, {2: 65535, 3: 65535}, 5002)
    r = chain.run(5003)
    assert (r.dividends[0], r.emission[0]) == (35716, 272501132)
    assert (r.dividends[1], r.emission[1]) == (29818, 227498866)
    assert r.bonds[0, 2:].tolist() == [65535, 65535] and r.bonds[1, 2:].tolist() == [54712, 54712]


# --------------------------------------------------------------------------------------------
# V7: test_zero_weights ; V8: test_outdated_weights
# --------------------------------------------------------------------------------------------


def test_v7_zero_self_and_outdated_weights() -> None:
    n = 2
    chain = Chain(
        n,
        alpha_stake=np.array([1, 0]),
        block_at_registration=np.array([1, 1]),
        last_update=np.array([1, 1]),
        tempo=65534,
        max_allowed_validators=64,
    )
    r = chain.run(1)
    assert r.emission.tolist() == [1000000000, 0]
    assert chain.permit.tolist() == [True, False]
    chain.set_weights(1, {1: 65535}, 1)
    assert chain.run(1).emission.tolist() == [1000000000, 0]
    chain.set_weights(0, {1: 65535}, 2)
    # uid 1 is replaced in block 2: its weights cleared, weights pointing at it zeroed (entries kept)
    chain.kw["block_at_registration"] = np.array([1, 2])
    chain.w[1] = 0
    chain.ws[1] = False
    chain.w[:, 1] = 0
    chain.last_update[1] = 2
    assert chain.run(2).emission.tolist() == [1000000000, 0]
    chain.set_weights(0, {1: 65535}, 3)
    r = chain.run(3)
    assert r.emission.tolist() == [500000000, 500000000]
    assert (
        r.consensus[1] == 65535 and r.incentive.tolist() == [0, 65535] and r.dividends.tolist() == [65535, 0]
    )


def test_v8_outdated_weights_after_deregistration() -> None:
    chain = equal_stake_chain(4, start=1, tempo=0)
    for uid in (0, 1):
        chain.set_weights(uid, {2: 65535, 3: 32768}, 2)
    for uid in (2, 3):
        chain.set_weights(uid, {uid: 65535}, 2)
    r = chain.run(2)
    assert r.consensus.tolist() == [0, 0, 43689, 21845]
    assert r.incentive.tolist() == [0, 0, 43689, 21845]
    assert r.dividends.tolist() == [32767, 32767, 0, 0]
    assert r.emission.tolist() == [250000000, 250000000, 333331637, 166668361]
    assert r.bonds[:2, 2:].tolist() == [[65535, 65535]] * 2
    # a new key replaces uid 3 in block 2
    chain.kw["block_at_registration"] = np.array([1, 1, 1, 2])
    chain.kw["alpha_stake"] = np.array([1, 1, 1, 0])
    chain.last_update[3] = 2
    chain.permit = chain.permit.copy()
    chain.permit[3] = False
    chain.w[3] = 0
    chain.ws[3] = False
    chain.bonds = chain.bonds.copy()
    chain.bonds[3] = 0
    chain.w[:, 3] = 0
    chain.set_weights(0, {2: 65535, 3: 32768}, 3)
    r = chain.run(3)
    assert (r.dividends[0], r.emission[0]) == (32767, 250000000)
    assert r.bonds[0, 2:].tolist() == [65535, 65535]
    assert r.consensus.tolist() == [0, 0, 43689, 0]
    assert r.incentive.tolist() == [0, 0, 65535, 0]
    assert r.validator_trust.tolist() == [43689, 43689, 0, 0]
    assert r.emission.tolist() == [250000000, 250000000, 500000000, 0]


# --------------------------------------------------------------------------------------------
# V9: test_512_graph ; V10: test_10_graph
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("server_self", [False, True])
@pytest.mark.parametrize("layout", ["blockwise", "random"])
def test_v9_512_graph(server_self: bool, layout: str) -> None:
    n, validators = 512, 64
    uids = np.arange(n) if layout == "blockwise" else np.random.default_rng(7).permutation(n)
    vals, servers = uids[:validators], uids[validators:]
    stake = np.zeros(n, dtype=np.int64)
    stake[vals] = 328_125_000_000_000
    chain = Chain(
        n,
        alpha_stake=stake,
        block_at_registration=np.zeros(n, dtype=np.int64),
        last_update=np.zeros(n, dtype=np.int64),
        tempo=65534,
        max_allowed_validators=64,
    )
    chain.run(1)
    for v in vals:
        chain.set_weights(int(v), dict.fromkeys(servers.tolist(), 65535), 1)
    if server_self:
        for s in servers:
            chain.set_weights(int(s), {int(s): 65535}, 1)
    for _ in range(3):
        r = chain.run(1)
        assert set(r.consensus[vals].tolist()) == {0} and set(r.consensus[servers].tolist()) == {146}
        assert set(r.incentive[vals].tolist()) == {0} and set(r.incentive[servers].tolist()) == {146}
        assert set(r.dividends[vals].tolist()) == {1023} and set(r.dividends[servers].tolist()) == {0}
        assert set(r.emission[vals].tolist()) == {7812500}
        assert set(r.emission[servers].tolist()) == {1116071}
        assert set(r.bonds[np.ix_(vals, servers)].ravel().tolist()) == {65535}
        assert set(r.bonds[np.ix_(vals, vals)].ravel().tolist()) == {0}


def test_v10_fallback_rounding() -> None:
    n = 10
    w = np.diag(np.full(n, 65535))
    r = epoch(
        inputs(
            n,
            weights=w,
            alpha_stake=np.ones(n, dtype=np.int64),
            last_update=np.ones(n, dtype=np.int64),
            tempo=65534,
        )
    )
    assert r.emission.tolist() == [99999999] * n
    assert (
        r.consensus.tolist() == [0] * n
        and r.incentive.tolist() == [0] * n
        and r.dividends.tolist() == [0] * n
    )


# --------------------------------------------------------------------------------------------
# V12: permits ; V13: fallback ; V15: owner ; V16: single staker
# --------------------------------------------------------------------------------------------


def test_v12a_topk_permits() -> None:
    r = epoch(
        inputs(
            2,
            alpha_stake=np.array([2 * 10**9, 10**9]),
            last_update=np.ones(2, dtype=np.int64),
            validator_permit=np.array([True, True]),
            max_allowed_validators=1,
        )
    )
    assert str(r.stake_float[0]).startswith("0.666")
    assert r.new_validator_permit.tolist() == [True, False]
    assert r.emission.tolist() == [666666666, 333333333]


@pytest.mark.parametrize(
    ("first", "after", "permits1", "permits2"),
    [
        ([4, 5, 2, 3], [4, 5, 10, 11], [True, True, False, False], [False, False, True, True]),
        ([1, 1, 0, 0], [1, 1, 8, 8], [False] * 4, [False, False, True, True]),
    ],
)
def test_v12b_stake_threshold_permits(first, after, permits1, permits2) -> None:
    chain = Chain(
        4,
        alpha_stake=np.array(first),
        block_at_registration=np.zeros(4, dtype=np.int64),
        last_update=np.ones(4, dtype=np.int64),
        stake_threshold=2,
        max_allowed_validators=2,
        yuma3=True,
    )
    chain.run(1)
    assert chain.permit.tolist() == permits1
    r = chain.run(2, alpha_stake=np.array(after))
    assert chain.permit.tolist() == permits2
    if first == [4, 5, 2, 3]:
        assert r.stake_weight.tolist() == [8737, 10922, 21844, 24029]


def two_validators(**kw) -> EpochResult:
    base = dict(
        alpha_stake=np.array([10**9, 10**9]),
        last_update=np.ones(2, dtype=np.int64),
        validator_permit=np.array([True, True]),
        tempo=10,
    )
    base.update(kw)
    return epoch(inputs(2, **base))


def test_v13_fallback_emission() -> None:
    r = two_validators()
    assert r.stake_bits.tolist() == [ONE // 2] * 2 and r.active_stake_bits.tolist() == [ONE // 2] * 2
    assert r.consensus.tolist() == [0, 0]
    assert r.emission.tolist() == [500000000, 500000000]
    assert r.validator_emission.tolist() == [500000000, 500000000]
    r = two_validators(current_block=1_000_000, last_update=np.zeros(2, dtype=np.int64))
    assert r.active_stake_bits.tolist() == [0, 0] and r.emission.tolist() == [500000000, 500000000]
    r = two_validators(current_block=1000, last_update=np.array([999, 1]))
    assert r.active.tolist() == [True, False]
    assert r.active_stake_bits.tolist() == [ONE, 0] and r.emission.tolist() == [10**9, 0]
    r = two_validators(validator_permit=np.array([True, False]))
    assert r.active_stake_bits.tolist() == [ONE, 0] and r.validator_emission.tolist() == [10**9, 0]


def test_v13_emergency_mode_distributes_by_stake() -> None:
    r = epoch(
        inputs(
            4,
            alpha_stake=np.array([10, 30, 60, 0]),
            validator_permit=np.array([True, True, True, False]),
            last_update=np.full(4, 5),
            current_block=5,
            tempo=5,
            emission=1_000_000,
        )
    )
    assert r.server_emission.tolist() == [0] * 4
    assert r.validator_emission.tolist() == [99999, 299999, 600000, 0]


def owner_self_weight_epoch(**owner: object) -> EpochResult:
    """Uid 0 (all the stake) weights itself and uid 1 equally, on Yuma3; ``owner`` names the subnet owner."""
    return epoch(
        inputs(
            2,
            weights=np.array([[65535, 65535], [0, 0]]),
            alpha_stake=np.array([5 * 10**12, 0]),
            validator_permit=np.array([True, False]),
            last_update=np.array([2, 0]),
            block_at_registration=np.array([1, 1]),
            current_block=2,
            yuma3=True,
            **owner,
        )
    )


def test_v15_owner_keeps_self_weight() -> None:
    r = owner_self_weight_epoch(owner_uid=0)
    assert r.consensus.tolist() == [32767, 32767] and r.incentive.tolist() == [32767, 32767]
    assert r.server_emission.tolist() == [250000000, 250000000]
    assert r.validator_emission.tolist() == [500000000, 0]
    assert r.validator_trust.tolist() == [65535, 0]


def test_v15_without_owner_the_self_weight_is_masked() -> None:
    r = owner_self_weight_epoch()
    assert r.incentive.tolist() == [0, 65535]


def test_v16_single_staker_no_weights() -> None:
    r = epoch(inputs(1, alpha_stake=np.array([1]), last_update=np.array([1])))
    assert abs(int(r.server_emission.sum() + r.validator_emission.sum()) - 10**9) <= 1000
    assert r.validator_emission.tolist() == [10**9]


# --------------------------------------------------------------------------------------------
# V14: mechanisms (tests/mechanism.rs, epoch_logs.rs)
# --------------------------------------------------------------------------------------------


def test_v14_split_emissions() -> None:
    assert split_emissions(25, 5) == [5, 5, 5, 5, 5]
    assert split_emissions(10, 4) == [4, 2, 2, 2]
    assert split_emissions(19, 5, [3450, 6899, 10348, 17247, 27594]) == [1, 2, 3, 5, 8]
    assert split_emissions(10**9, 2, [16383, 49152]) == [249988556, 750011444]


def mock_epoch_state(n: int = 2, permits: list[bool] | None = None) -> EpochInputs:
    stake = np.array([10**9, 10**9] + [0] * (n - 2))
    return inputs(
        n,
        alpha_stake=stake,
        last_update=np.full(n, 2),
        block_at_registration=np.ones(n, dtype=np.int64),
        validator_permit=np.array(permits if permits is not None else [True] * n),
        current_block=1,
        tempo=1,
    )


def test_v14_per_mechanism_incentive_and_bonds() -> None:
    base = mock_epoch_state()
    w = np.full((2, 2), 65535)
    out = epoch_with_mechanisms(base, [w, w], [None, None], [np.full(2, 2)] * 2, None)
    assert [m.incentive.tolist() for m in out.mechanisms] == [[32767, 32767]] * 2
    assert out.mechanism_emission == [500_000_000, 500_000_000]

    w1 = np.array([[65535, 0], [65535, 65535]])
    ws1 = np.ones((2, 2), dtype=bool)
    out = epoch_with_mechanisms(
        base, [w, w1], [None, None], [np.full(2, 2)] * 2, None, mechanism_weights_set=[None, ws1]
    )
    m0, m1 = out.mechanisms
    assert m0.bonds.tolist() == [[0, 65535], [65535, 0]]
    assert m1.bonds.tolist() == [[0, 0], [65535, 0]]
    assert m1.consensus.tolist() == [65535, 0] and m1.incentive.tolist() == [65535, 0]


def validator_rows(*rows: list[int]) -> list[np.ndarray]:
    """One (3, 3) weight matrix per mechanism: validator 0 weights miners 1 and 2 with the row given."""
    matrices = [np.zeros((3, 3), dtype=np.int64) for _ in rows]
    for matrix, row in zip(matrices, rows, strict=True):
        matrix[0, 1:] = row
    return matrices


def test_v14_incentive_proportional_to_weights() -> None:
    base = mock_epoch_state(3, [True, False, False])
    w0, w1 = validator_rows([52428, 13107], [13107, 52428])
    out = epoch_with_mechanisms(base, [w0, w1], [None, None], [np.full(3, 2)] * 2, None)
    i0, i1 = (m.incentive for m in out.mechanisms)
    assert abs(int(i0[1]) - 52428) <= 1 and abs(int(i0[2]) - 13107) <= 1
    assert abs(int(i1[1]) - 13107) <= 1 and abs(int(i1[2]) - 52428) <= 1

    w = np.zeros((3, 3), dtype=np.int64)
    w[0, 1] = 1
    ws = np.zeros((3, 3), dtype=bool)
    ws[0, 1:] = True
    out = epoch_with_mechanisms(
        base, [w, w], [None, None], [np.full(3, 2)] * 2, None, mechanism_weights_set=[ws, ws]
    )
    assert [m.incentive.tolist() for m in out.mechanisms] == [[0, 65535, 0]] * 2


def test_v14_persists_and_aggregates_all_terms() -> None:
    base = mock_epoch_state(3, [True, False, False])
    w0, w1 = validator_rows([39321, 26214], [13107, 52428])
    lu = [np.full(3, 2)] * 2
    out = epoch_with_mechanisms(base, [w0, w1], [None, None], lu, [16383, 49152])
    assert out.mechanism_emission == [249988556, 750011444]
    m0, m1 = out.mechanisms
    # each mechanism run on its own share, as the chain does
    alone = [epoch_with_mechanisms(base, [w], [None], [lu[0]], None) for w in (w0, w1)]
    assert m0.incentive.tolist() == alone[0].incentive.tolist() == [0, 39320, 26213]
    assert m1.incentive.tolist() == alone[1].incentive.tolist() == [0, 13106, 52427]
    assert m0.dividends.tolist() == [65535, 0, 0] and m0.validator_trust[0] == 65534
    w = [b / 2**64 for b in out.mechanism_weight_bits]
    assert abs(w[0] - 0.25) < 1e-4 and abs(w[1] - 0.75) < 1e-4
    assert out.server_emission.tolist() == (m0.server_emission + m1.server_emission).tolist()
    assert out.validator_emission.tolist() == (m0.validator_emission + m1.validator_emission).tolist()
    for attr in ("consensus", "dividends", "validator_trust", "emission"):
        expect = np.floor(w[0] * getattr(m0, attr) + w[1] * getattr(m1, attr))
        assert np.all(np.abs(getattr(out, attr) - expect) <= 1), attr
    # the stored Emission quirk: w_m^2-weighted, so it does not add up to the distributed amount
    assert out.emission.sum() < 0.7 * 10**9
    assert out.active.tolist() == (m0.active | m1.active).tolist()
    assert out.new_validator_permit.tolist() == (m0.new_validator_permit | m1.new_validator_permit).tolist()
    assert out.incentive.tolist() == m0.incentive.tolist() and out.bonds.tolist() == m0.bonds.tolist()


def test_v14_reads_weights_per_mechanism() -> None:
    n = 5
    base = inputs(
        n,
        alpha_stake=np.array([10**9] * 3 + [0, 0]),
        last_update=np.ones(n, dtype=np.int64),
        validator_permit=np.array([True] * 3 + [False] * 2),
        tempo=10,
        emission=1000,
    )
    w0 = np.zeros((n, n), dtype=np.int64)
    w1 = np.zeros((n, n), dtype=np.int64)
    for v, (a, b) in enumerate([(3, 4), (4, 3), (3, 4)]):
        w0[v, a] = 65535
        w1[v, b] = 65535
    out = epoch_with_mechanisms(base, [w0, w1], [None, None], [np.ones(n, dtype=np.int64)] * 2, None)
    third = ONE // 3
    assert out.active_stake_bits[:3].tolist() == [third] * 3
    shares = [m.emission * 2 / 1000 for m in out.mechanisms]  # each mechanism got 500
    assert np.allclose(shares[0], [0.25, 0, 0.25, 0.5, 0], atol=0.005)
    assert np.allclose(shares[1], [0.25, 0, 0.25, 0, 0.5], atol=0.005)


def test_v14_three_mechanisms_separate_state() -> None:
    n = 4
    base = inputs(
        n,
        alpha_stake=np.array([10**9, 10**9, 0, 0]),
        last_update=np.ones(n, dtype=np.int64),
        validator_permit=np.array([True, True, False, False]),
        tempo=10,
    )
    ws = []
    for cols in ([2], [2, 3], [3]):
        w = np.zeros((n, n), dtype=np.int64)
        w[np.ix_([0, 1], cols)] = 65535
        ws.append(w)
    out = epoch_with_mechanisms(base, ws, [None] * 3, [np.ones(n, dtype=np.int64)] * 3, None)
    expected = [[0.25, 0.25, 0.5, 0], [0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0, 0.5]]
    for m, exp in zip(out.mechanisms, expected, strict=True):
        got = m.emission / m.emission.sum()
        assert np.allclose(got, exp, atol=1e-6)


def test_dividends_from_stored_bonds_reproduce_the_epoch() -> None:
    """The dividend step alone, from what an epoch stored (used on snapshots that lack the inputs)."""
    from analytics.model.yuma import dividends_from_bonds

    n = 8
    w = np.zeros((n, n), dtype=np.int64)
    w[:4, 4:] = [
        [16383, 32767, 49149, 65535],
        [65535, 0, 0, 20000],
        [0, 65535, 10000, 0],
        [30000, 30000, 65535, 0],
    ]
    common = dict(
        weights=w,
        alpha_stake=np.array([1, 2, 3, 4, 0, 0, 0, 0]) * 10**12,
        last_update=np.full(n, 9),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([True] * 4 + [False] * 4),
        current_block=10,
    )
    original = epoch(inputs(n, **common))
    d = dividends_from_bonds(original.bonds, original.incentive)
    assert np.abs(d - original.dividends).max() <= 1
    y3 = epoch(inputs(n, **common, yuma3=True, bonds_moving_average=0))
    d3 = dividends_from_bonds(y3.bonds, y3.incentive, yuma3=True, active_stake_bits=y3.active_stake_bits)
    assert np.abs(d3 - y3.dividends).max() <= 2
    with pytest.raises(ValueError, match="active stake"):
        dividends_from_bonds(y3.bonds, y3.incentive, yuma3=True)
