"""The what-if simulator: scenario grammar, the epoch-to-epoch carry, and the dynamics users ask about."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.model import simulate as sm
from analytics.model.yuma import EpochInputs, epoch

BLOCK = 100_000
N_VAL, N_MIN = 5, 10


def network(*, yuma3: bool = False, warm: int = 60, **params: object) -> EpochInputs:
    """Five validators over ten miners: 0-3 agree (2 % noise), 4 pours most weight on miners 13 and 14.

    ``warm`` epochs of the baseline are run first so that bonds are settled, as on a live subnet.
    """
    rng = np.random.default_rng(7)
    n = N_VAL + N_MIN
    weights = np.zeros((n, n), dtype=np.int64)
    quality = np.linspace(1.0, 0.2, N_MIN)
    for i in range(N_VAL - 1):
        row = quality * (1 + 0.02 * rng.standard_normal(N_MIN))
        weights[i, N_VAL:] = np.floor(row / row.max() * 65535)
    off = np.full(N_MIN, 0.05)
    off[-2:] = 1.0
    weights[N_VAL - 1, N_VAL:] = np.floor(off / off.max() * 65535)
    stake = np.array([400, 300, 200, 100, 150] + [0] * N_MIN, dtype=np.int64) * 10**9
    inputs = EpochInputs(
        weights=weights,
        alpha_stake=stake,
        last_update=np.full(n, BLOCK - 50),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.arange(n) < N_VAL,
        current_block=BLOCK,
        yuma3=yuma3,
        **params,
    )
    if warm:
        settled = sm.replay_baseline(inputs, warm)
        inputs = dataclasses.replace(
            inputs,
            bonds=settled.bonds[-1].astype(np.int64),
            validator_permit=settled.validator_permit[-1],
            last_mechanism_step_block=BLOCK - 360,
        )
    return inputs


# --------------------------------------------------------------------------------------------------
# Grammar


GOOD = [
    "consensus:4",
    "lagcopy:4",
    "copy:4=1",
    "weights:4=13:1,14:0.5",
    "zero:4",
    "stop:4",
    "late:4",
    "stake:4*2",
    "stake:4=1000000000",
    "miner:13*0.5",
    "kappa=0.6",
    "bma=0.95",
    "penalty=0.5",
    "yuma3=on",
    "liquid=off",
    "alpha=0.7,0.9",
    "maxval=32",
]


@pytest.mark.parametrize("text", GOOD)
def test_every_documented_scenario_parses_and_prints_back(text: str) -> None:
    scenario = sm.parse_scenario(text)
    assert scenario.spec == text
    assert sm.parse_scenario(scenario.spec) == scenario
    head = text.split(":")[0].split("=")[0]
    assert head in sm.SCENARIO_GRAMMAR and head in sm.USAGE


def test_the_usage_list_covers_every_scenario_kind() -> None:
    assert {t.split(":")[0].split("=")[0] for t in GOOD} == set(sm.USAGE)


def test_scenarios_map_to_the_chain_encodings() -> None:
    sim = sm.simulate(
        network(warm=0), sm.parse_scenarios(["kappa=0.6", "bma=0.95", "penalty=0.5", "alpha=0.1,0.3"]), 1
    )
    assert sim.inputs is not None
    assert sim.inputs.kappa == 39321  # round(0.6 * 65535)
    assert sim.inputs.bonds_moving_average == 950_000
    assert sim.inputs.bonds_penalty == 32768
    assert (sim.inputs.alpha_low, sim.inputs.alpha_high) == (6554, 19660)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["kappa=1.5"], "scenario 'kappa=1.5': kappa must be between 0 and 1, got 1.5"),
        (["bma=-0.1"], "scenario 'bma=-0.1': bma must be between 0 and 1, got -0.1"),
        (["alpha=0.9,0.7"], "scenario 'alpha=0.9,0.7': alpha low must not exceed alpha high"),
        (["yuma3=maybe"], "scenario 'yuma3=maybe': expected on or off"),
        (["maxval=0"], "scenario 'maxval=0': maxval must be between 1 and 65535, got 0"),
        (["copy:4=4"], "scenario 'copy:4=4': a validator cannot copy itself"),
        (
            ["weights:4=13:0,14:0"],
            "scenario 'weights:4=13:0,14:0': not a weight vector (weights must be 0 or between 1e-18 and 1e+18, one of them > 0)",
        ),
        (
            ["weights:4=13:-1"],
            "scenario 'weights:4=13:-1': not a weight vector (expected MINER:WEIGHT,... e.g. 17:1,18:0.5)",
        ),
        (
            ["weights:4=13:1,13:2"],
            "scenario 'weights:4=13:1,13:2': not a weight vector (a miner appears twice)",
        ),
        (["stake:4*nan"], "scenario 'stake:4*nan' is malformed; expected stake:U*F or stake:U=RAO"),
        (["copy:4"], "scenario 'copy:4' is malformed; expected copy:U=V"),
        (["consensus:-3"], "scenario 'consensus:-3' is malformed; expected consensus:U"),
        (
            ["frobnicate:4"],
            "unknown scenario 'frobnicate:4'; expected one of: alpha, bma, consensus, copy, kappa, lagcopy, "
            "late, liquid, maxval, miner, penalty, stake, stop, weights, yuma3, zero",
        ),
        (
            ["copy:4=1", "zero:4"],
            "scenarios 'copy:4=1' and 'zero:4' both set uid 4's weights; keep one",
        ),
        (["kappa=0.6", "kappa=0.7"], "scenarios 'kappa=0.6' and 'kappa=0.7' set the same thing; keep one"),
        (["stake:4*2", "stake:4=5"], "scenarios 'stake:4*2' and 'stake:4=5' set the same thing; keep one"),
        (["copy:4=1", "copy:1=4"], "copy scenarios form a cycle (4 -> 1 -> 4); nobody would set weights"),
    ],
)
def test_bad_scenarios_are_rejected_with_the_users_message(texts: list[str], message: str) -> None:
    with pytest.raises(sm.ScenarioError) as err:
        sm.parse_scenarios(texts)
    assert str(err.value) == message


def test_scenarios_naming_uids_the_subnet_does_not_have_are_rejected() -> None:
    inputs = network(warm=0)
    for text, uid in [("copy:4=300", 300), ("consensus:15", 15), ("miner:99*2", 99), ("weights:4=15:1", 15)]:
        with pytest.raises(sm.ScenarioError) as err:
            sm.simulate(inputs, [sm.parse_scenario(text)], 2)
        assert str(err.value) == f"scenario {text!r}: uid {uid} is not on this subnet (uids 0-14)"
    with pytest.raises(sm.ScenarioError, match="epochs must be between 1 and 200, got 201"):
        sm.simulate(inputs, (), 201)
    empty = EpochInputs(
        weights=np.zeros((0, 0), dtype=np.int64),
        alpha_stake=np.zeros(0, dtype=np.int64),
        last_update=np.zeros(0, dtype=np.int64),
        block_at_registration=np.zeros(0, dtype=np.int64),
        validator_permit=np.zeros(0, dtype=bool),
        current_block=BLOCK,
    )
    with pytest.raises(sm.ScenarioError, match="^the subnet has no neurons: there is nothing to replay$"):
        sm.simulate(empty, (), 5)


# --------------------------------------------------------------------------------------------------
# The replay carries the chain's state


def test_without_scenario_the_first_epoch_is_the_engine_and_the_scenario_is_the_baseline() -> None:
    inputs = network()
    sim = sm.simulate(inputs, (), 3)
    first = epoch(inputs)
    for field in sm.U16_FIELDS:
        np.testing.assert_array_equal(getattr(sim.baseline, field)[0], getattr(first, field))
    np.testing.assert_array_equal(sim.baseline.bonds[0], first.bonds)
    np.testing.assert_array_equal(sim.baseline.emission[0], first.emission)
    assert sim.scenario is sim.baseline
    assert not sim.delta("dividends").any()


def test_each_epoch_starts_from_the_bonds_permits_and_clock_the_previous_one_left() -> None:
    last_update = np.full(15, BLOCK - 6000)  # stale: the activity cutoff is 5000 blocks
    last_update[:4] = BLOCK - 50  # validators 0-3 active, validator 4 and the miners stale
    inputs = dataclasses.replace(network(warm=0, tempo=360), last_update=last_update)
    replay = sm.replay_baseline(inputs, 3)
    first = epoch(inputs)
    lu = inputs.last_update.copy()
    lu[:4] += 360  # the active re-set their weights at the same phase of the next tempo; the stale stay stale
    second = epoch(
        dataclasses.replace(
            inputs,
            bonds=first.bonds,
            validator_permit=first.new_validator_permit,
            current_block=BLOCK + 360,
            last_update=lu,
            last_mechanism_step_block=BLOCK,
        )
    )
    assert list(replay.blocks) == [BLOCK, BLOCK + 360, BLOCK + 720]
    for field in sm.U16_FIELDS:
        np.testing.assert_array_equal(getattr(replay, field)[1], getattr(second, field))
    np.testing.assert_array_equal(replay.bonds[1], second.bonds)
    assert not replay.active[:, 4].any() and replay.active[:, :4].all()


def test_fresh_bonds_build_up_from_zero_over_epochs() -> None:
    replay = sm.replay_baseline(network(warm=0, yuma3=True), 30)
    held = replay.bonds[:, :N_VAL, N_VAL:].astype(np.int64).sum(axis=(1, 2))
    assert held[0] > 0 and np.all(np.diff(held) >= 0) and held[-1] > 5 * held[0]


# --------------------------------------------------------------------------------------------------
# Known dynamics


@pytest.mark.parametrize("yuma3", [False, True])
def test_switching_to_consensus_lifts_trust_at_once_while_dividends_catch_up(yuma3: bool) -> None:
    sim = sm.simulate(network(yuma3=yuma3), [sm.FollowConsensus(4)], 40)
    tv, d = sim.scenario.validator_trust[:, 4], sim.scenario.dividends[:, 4]
    assert sim.baseline.validator_trust[0, 4] < 0.3 * 65535  # it was far out of consensus
    assert tv[0] >= 0.995 * 65535  # trust: at once
    assert tv[0] >= sim.scenario.validator_trust[0, :4].max()  # now the most in-consensus validator
    # Dividends: bonds are an EMA (10 % a epoch), so they rise every epoch and take tens of epochs.
    assert np.all(np.diff(d.astype(np.int64)) > 0)
    assert d[0] < 0.4 * d[-1] and d[9] < 0.85 * d[-1]
    stake_share = sim.scenario.stake_weight[0, 4]
    assert d[-1] == pytest.approx(stake_share, rel=0.03)  # ...until it earns its stake's share


def test_original_yuma_and_yuma3_pay_the_consensus_switcher_differently() -> None:
    original = sm.simulate(network(yuma3=False), [sm.FollowConsensus(4)], 20).scenario
    yuma3 = sm.simulate(network(yuma3=True), [sm.FollowConsensus(4)], 20).scenario
    np.testing.assert_array_equal(original.validator_trust[:, 4], yuma3.validator_trust[:, 4])  # Tv: no bonds
    # Original Yuma moves the validator's *share* of each miner's stake-weighted bonds; Yuma3 moves its own
    # absolute bond towards its clipped weight and weighs by stake only at payout: the catch-up differs.
    assert yuma3.dividends[1:10, 4].sum() > original.dividends[1:10, 4].sum()
    assert not np.array_equal(original.bonds[:, 4], yuma3.bonds[:, 4])


@pytest.mark.parametrize("yuma3", [False, True])
def test_a_copier_earns_what_its_source_earns_less_the_bonds_lag(yuma3: bool) -> None:
    sim = sm.simulate(network(yuma3=yuma3), [sm.CopyValidator(4, 1)], 60)
    s = sim.scenario
    np.testing.assert_array_equal(
        s.validator_trust[:, 4], s.validator_trust[:, 1]
    )  # the same row, the same Tv
    per_stake = s.dividends[:, [1, 4]] / s.stake_weight[:, [1, 4]]
    ratio = per_stake[:, 1] / per_stake[:, 0]
    assert ratio[0] < 0.5  # its old bonds sit on miners it no longer weights
    assert np.all(np.diff(ratio) > 0)  # the lag shrinks every epoch...
    assert ratio[-1] == pytest.approx(1.0, abs=0.01)  # ...until it earns as much per stake as its source


def test_a_lagging_copier_of_consensus_sets_last_epochs_consensus() -> None:
    inputs = network()
    stored_c = epoch(dataclasses.replace(inputs, current_block=BLOCK - 360)).consensus
    sim = sm.simulate(inputs, [sm.LagConsensus(4)], 5, previous_consensus=stored_c)
    assert (
        sim.scenario.validator_trust[0, 4] >= 0.99 * 65535
    )  # consensus moves little from one epoch to the next
    without = sm.simulate(inputs, [sm.LagConsensus(4)], 5)
    assert without.scenario.validator_trust[0, 4] == sim.baseline.validator_trust[0, 4]  # nothing to copy yet
    assert without.scenario.validator_trust[1, 4] >= 0.99 * 65535


def test_raising_kappa_to_one_makes_consensus_the_minimum_score() -> None:
    inputs = network()
    sim = sm.simulate(inputs, [sm.Kappa(1.0)], 1)
    # The scores: each permitted active validator's normalised row in I32F32 bits, its own column masked.
    w = inputs.weights[:N_VAL].astype(object)
    w[np.arange(N_VAL), np.arange(N_VAL)] = 0
    bits = np.array([[(x << 32) // sum(row) for x in row] for row in w], dtype=np.int64)
    expected = bits.min(axis=0) * 65535 >> 32
    np.testing.assert_array_equal(sim.scenario.consensus[0], expected)
    assert np.all(sim.scenario.consensus[0] <= sim.baseline.consensus[0])


def test_a_validator_that_stops_loses_trust_at_once_and_its_dividends_fade() -> None:
    sim = sm.simulate(network(), [sm.ZeroWeights(1)], 30)
    assert np.all(sim.scenario.validator_trust[:, 1] == 0)
    d = sim.scenario.dividends[:, 1]
    assert d[0] > 0 and np.all(np.diff(d.astype(np.int64)) <= 0) and d[-1] < 0.1 * d[0]


@pytest.mark.parametrize("yuma3", [False, True])
def test_a_validator_that_stops_re_setting_weights_goes_inactive_after_the_cutoff(yuma3: bool) -> None:
    sim = sm.simulate(network(yuma3=yuma3), [sm.StopSettingWeights(1)], 20)
    active = sim.scenario.active[:, 1]
    # last_update frozen at BLOCK - 50; cutoff 5000 blocks; an epoch every 360 blocks: inactive from epoch 14.
    assert active[:14].all() and not active[14:].any()
    assert sim.baseline.active[:, 1].all()
    d = sim.scenario.dividends[:, 1].astype(np.int64)
    assert d[13] > 0
    if yuma3:  # Yuma3 pays bonds times active stake: nothing once inactive
        assert d[14:].max() == 0
    else:  # the original Yuma pays on bonds alone, and they fade by the moving average (10 % an epoch)
        assert np.all(np.diff(d[14:]) < 0) and d[15] == pytest.approx(0.9 * d[14], rel=0.02)


def test_late_weights_reach_the_chain_one_epoch_after_they_are_set() -> None:
    sim = sm.simulate(network(), [sm.CopyValidator(4, 1), sm.LateWeights(4)], 4)
    tv = sim.scenario.validator_trust
    assert tv[0, 4] == sim.baseline.validator_trust[0, 4]  # the first epoch still uses the stored row
    np.testing.assert_array_equal(tv[1:, 4], tv[1:, 1])


def test_stake_scenarios_move_stake_weight_and_permits() -> None:
    sim = sm.simulate(network(), [sm.ScaleStake(4, 2.0), sm.SetStake(3, 0)], 3)
    s, b = sim.scenario, sim.baseline
    assert s.stake_weight[0, 4] > b.stake_weight[0, 4] and s.stake_weight[0, 3] == 0
    assert s.validator_permit[0, 3] == 0 and b.validator_permit[0, 3]  # no stake: no new permit...
    assert s.validator_trust[0, 3] > 0 and s.validator_trust[1, 3] == 0  # ...so its row is masked next epoch


def test_a_worse_miner_loses_incentive_and_the_others_gain() -> None:
    sim = sm.simulate(network(), [sm.ScaleMiner(5, 0.5)], 2)
    delta = sim.delta("incentive")[0]
    assert delta[5] < 0 and (delta[6:] >= 0).all() and delta[6:].sum() > 0
    assert sim.target_uids() == [5] and sim.affected_uids()[0] == 5


def test_a_scaled_miner_is_re_set_as_the_chain_stores_weights() -> None:
    inputs = network()
    sim = sm.simulate(inputs, [sm.ScaleMiner(13, 2.0), sm.EditWeights(3, ((5, 1.0), (6, 0.25)))], 1)
    assert sim.inputs is not None
    w = sim.inputs.weights
    assert (w[4, 13], w[4, 14]) == (65535, 32768)  # 14 was validator 4's top weight with 13: now half of it
    assert inputs.weights[0].max() == 65535 > 2 * inputs.weights[0, 13]  # validator 0's top stays its top
    assert w[0, 13] == 2 * inputs.weights[0, 13] and np.array_equal(w[0, :13], inputs.weights[0, :13])
    assert w[3].tolist() == [0] * 5 + [65535, 16384] + [0] * 8  # the edited row, max-upscaled
    np.testing.assert_array_equal(w[5:], inputs.weights[5:])  # miners set no weights


def test_max_validators_takes_permits_from_the_smallest_stakes() -> None:
    sim = sm.simulate(network(), [sm.MaxValidators(3)], 2)
    np.testing.assert_array_equal(np.flatnonzero(sim.scenario.validator_permit[0]), [0, 1, 2])
    assert sim.scenario.validator_trust[1, 3:5].max() == 0  # rows of the validators without a permit


def test_liquid_alpha_builds_yuma3_bonds_faster_when_its_rates_exceed_the_moving_average() -> None:
    # Fresh bonds (no warm-up): with alpha in [0.1, 0.3] every bond moves at least as fast as with bma 0.9.
    sim = sm.simulate(network(yuma3=True, warm=0), sm.parse_scenarios(["liquid=on", "alpha=0.1,0.3"]), 5)
    held = [
        r.bonds[:, :N_VAL, N_VAL:].astype(np.int64).sum(axis=(1, 2)) for r in (sim.baseline, sim.scenario)
    ]
    assert np.all(held[1] > held[0])
    assert sim.delta("dividends").any()


# --------------------------------------------------------------------------------------------------
# Tables


def test_winners_and_losers_add_up_and_come_sorted() -> None:
    sim = sm.simulate(network(), [sm.FollowConsensus(4)], 10)
    table = sim.winners_losers()
    assert table["uid"][0] == 4 and table["change_rao"][0] > 0
    assert np.all(np.diff(table["change_rao"]) <= 0)
    np.testing.assert_array_equal(table["change_rao"], table["scenario_rao"] - table["baseline_rao"])
    paid = sim.scenario.server_emission + sim.scenario.validator_emission
    np.testing.assert_array_equal(table["scenario_rao"], paid.sum(0)[table["uid"]])


def test_per_epoch_columns_are_long_format() -> None:
    sim = sm.simulate(network(), [sm.Kappa(0.6)], 4)
    cols = sim.per_epoch_columns([4, 7])
    assert list(cols["epoch"]) == [0, 0, 1, 1, 2, 2, 3, 3] and list(cols["uid"]) == [4, 7] * 4
    np.testing.assert_array_equal(cols["dividends"], sim.scenario.dividends[:, [4, 7]].reshape(-1))
    np.testing.assert_array_equal(cols["dividends_delta"], cols["dividends"] - cols["dividends_baseline"])
    assert len({len(v) for v in cols.values()}) == 1


def test_progress_reports_every_epoch_of_both_replays() -> None:
    seen: list[tuple[int, int]] = []
    sm.simulate(network(warm=0), [sm.Kappa(0.6)], 3, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (6, 6)]
    base = sm.replay_baseline(network(warm=0), 3)
    seen.clear()
    sim = sm.simulate(
        network(warm=0), [sm.Kappa(0.6)], 3, baseline=base, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)] and sim.baseline is base


# --------------------------------------------------------------------------------------------------
# Properties

unit = st.floats(0, 1, allow_nan=False)
factor = st.just(0.0) | st.floats(sm.MIN_FACTOR, 1e6)  # 0 or a factor in range
uid = st.integers(0, 4095)


@given(
    st.one_of(
        st.builds(sm.Kappa, unit),
        st.builds(sm.BondsMovingAverage, unit),
        st.builds(sm.BondsPenalty, unit),
        st.builds(lambda a, b: sm.AlphaRange(min(a, b), max(a, b)), unit, unit),
        st.builds(sm.ScaleStake, uid, factor),
        st.builds(sm.ScaleMiner, uid, factor),
        st.builds(sm.SetStake, uid, st.integers(0, 2**63 - 1)),
        st.builds(lambda u, k: sm.CopyValidator(u, u + k), uid, st.integers(1, 100)),
        st.builds(sm.MaxValidators, st.integers(1, 65535)),
        st.builds(
            sm.EditWeights,
            uid,
            st.dictionaries(uid, st.just(0.0) | st.floats(sm.MIN_FACTOR, 1e9), min_size=1)
            .filter(lambda d: max(d.values()) > 0)
            .map(lambda d: tuple(d.items())),
        ),
    )
)
def test_any_scenario_prints_to_text_that_parses_back_to_it(scenario: sm.Scenario) -> None:
    assert sm.parse_scenario(scenario.spec) == scenario


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from(
        ["kappa=0.5", "bma=0.9", "penalty=1", "yuma3=off", "maxval=128", "stake:3*1", "miner:9*1"]
    )
)
def test_a_scenario_that_restates_the_current_state_changes_nothing(text: str) -> None:
    inputs = network(warm=10)
    if text == "kappa=0.5":
        inputs = dataclasses.replace(inputs, kappa=32768)  # round(0.5 * 65535)
    sim = sm.simulate(inputs, [sm.parse_scenario(text)], 4)
    for field in (*sm.U16_FIELDS, "emission"):
        assert not sim.delta(field).any(), field
    assert np.array_equal(sim.scenario.bonds, sim.baseline.bonds)
