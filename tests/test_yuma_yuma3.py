"""Yuma3 + liquid alpha: subtensor's multi-epoch `test_yuma_3_*` scenarios (vectors V11a-V11h).

Setup as `setup_yuma_3_scenario`: tempo 1, bonds penalty 0, bma 975_000, steepness 1000, kappa 32767,
liquid alpha on with (6553, 19660), Yuma3 on, 3 validator permits; registration at block 1, a first
epoch at block 2 hands out permits; test epoch e sets weights at block e+2 and runs at block e+3.
Tolerance as in the subtensor tests: dividends within 1e-3 of the 4-decimal targets. The tests' bond
comparison is vacuous (it skips every element), but the targets are checked here, also within 1e-3,
on the stored u16 / 65535.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analytics.model.yuma import EpochInputs, EpochResult, epoch

M = 65535
H = 32767


class Yuma3Scenario:
    def __init__(self, stakes: list[int], liquid_alpha: bool = True) -> None:
        self.n = n = len(stakes)
        self.stakes = np.array(stakes, dtype=np.int64)
        self.w = np.zeros((n, n), dtype=np.int64)
        self.ws = np.zeros((n, n), dtype=bool)
        self.bonds = np.zeros((n, n), dtype=np.int64)
        self.permit = np.zeros(n, dtype=bool)
        self.last_update = np.ones(n, dtype=np.int64)
        self.liquid_alpha = liquid_alpha
        self.block = 1
        self.run()  # the setup epoch at block 2: permits to the three validators
        assert self.permit.tolist() == [True] * 3 + [False] * (n - 3)

    def set_weights(self, rows: list[list[int]], columns: list[int]) -> None:
        """set_yuma_3_weights: every validator sets its row (max-upscaled, zeros kept as entries)."""
        for uid, row in enumerate(rows):
            row = np.array(row, dtype=np.int64)
            top = row.max()
            stored = row if top == 0 else (row * M + top // 2) // top
            self.w[uid] = 0
            self.ws[uid] = False
            self.w[uid, columns] = stored
            self.ws[uid, columns] = True
            self.last_update[uid] = self.block

    def run(self) -> EpochResult:
        self.block += 1
        r = epoch(
            EpochInputs(
                weights=self.w,
                weights_set=self.ws,
                bonds=self.bonds,
                alpha_stake=self.stakes,
                last_update=self.last_update,
                block_at_registration=np.ones(self.n, dtype=np.int64),
                validator_permit=self.permit,
                current_block=self.block,
                tempo=1,
                kappa=32767,
                bonds_penalty=0,
                bonds_moving_average=975_000,
                yuma3=True,
                liquid_alpha=self.liquid_alpha,
                alpha_low=6553,
                alpha_high=19660,
                alpha_sigmoid_steepness=1000,
                max_allowed_validators=3,
            )
        )
        self.bonds = r.bonds
        self.permit = r.new_validator_permit
        return r


def check(r: EpochResult, dividends: list[float], bonds: list[list[float]], columns: list[int]) -> None:
    got_d = r.dividends[:3] / M
    assert np.all(np.abs(got_d - dividends) <= 1e-3), (got_d.round(4).tolist(), dividends)
    got_b = r.bonds[:3][:, columns] / M
    assert np.all(np.abs(got_b - np.array(bonds)) <= 1e-3), (got_b.round(4).tolist(), bonds)


AB = [[M, 0]] * 3
BA = [[0, M]] * 3

SCENARIOS = {
    "kappa_moves_first": (
        [8, 1, 1, 0, 0],
        {0: AB, 1: [[0, M], [M, 0], [M, 0]], 2: [[0, M], [0, M], [M, 0]], 3: BA},
        [
            ([0.8, 0.1, 0.1], [[0.1013, 0], [0.1013, 0], [0.1013, 0]]),
            ([1.0, 0, 0], [[0.0908, 0.1013], [0.3697, 0], [0.3697, 0]]),
            ([0.9382, 0.0618, 0], [[0.0815, 0.1924], [0.3170, 0.1013], [0.5580, 0]]),
            ([0.8819, 0.0773, 0.0407], [[0.0731, 0.2742], [0.2765, 0.1924], [0.4306, 0.1013]]),
            ([0.8564, 0.0844, 0.0592], [[0.0656, 0.3478], [0.2435, 0.2742], [0.3589, 0.1924]]),
            ([0.8418, 0.0884, 0.0697], [[0.0588, 0.4139], [0.2157, 0.3478], [0.3089, 0.2742]]),
        ],
    ),
    "kappa_moves_second": (
        [8, 1, 1, 0, 0],
        {0: AB, 1: [[M, 0], [0, M], [M, 0]], 2: [[0, M], [0, M], [M, 0]], 3: BA},
        [
            ([0.8, 0.1, 0.1], [[0.1013, 0]] * 3),
            ([0.8446, 0.0498, 0.1056], [[0.1924, 0], [0.0908, 0.2987], [0.1924, 0]]),
            ([0.6868, 0.3132, 0], [[0.1715, 0.1013], [0.0815, 0.3697], [0.4336, 0]]),
            ([0.7421, 0.2090, 0.0489], [[0.1531, 0.1924], [0.0731, 0.4336], [0.3608, 0.1013]]),
            ([0.7625, 0.1706, 0.0669], [[0.1369, 0.2742], [0.0656, 0.4910], [0.3103, 0.1924]]),
            ([0.7730, 0.1508, 0.0762], [[0.1225, 0.3478], [0.0588, 0.5426], [0.2712, 0.2742]]),
        ],
    ),
    "kappa_moves_last": (
        [8, 1, 1, 0, 0],
        {0: AB, 1: [[M, 0], [0, M], [M, 0]], 2: [[M, 0], [0, M], [0, M]], 3: BA},
        [
            ([0.8, 0.1, 0.1], [[0.1013, 0]] * 3),
            ([0.8446, 0.0498, 0.1056], [[0.1924, 0], [0.0908, 0.2987], [0.1924, 0]]),
            ([0.8966, 0.0333, 0.0701], [[0.2742, 0], [0.0815, 0.5081], [0.1715, 0.2987]]),
            ([0.4663, 0.3210, 0.2127], [[0.2416, 0.1013], [0.0731, 0.5580], [0.1531, 0.3697]]),
            ([0.5976, 0.2340, 0.1683], [[0.2141, 0.1924], [0.0656, 0.6028], [0.1369, 0.4336]]),
            ([0.6592, 0.1932, 0.1475], [[0.1903, 0.2742], [0.0588, 0.6430], [0.1225, 0.4910]]),
        ],
    ),
    "one_epoch_switch": (
        [33, 33, 34, 0, 0],
        {0: AB, 1: AB, 2: [[M, 0], [M, 0], [0, M]], 3: AB, 4: AB, 5: AB},
        [
            ([0.33, 0.33, 0.34], [[0.1013, 0]] * 3),
            ([0.33, 0.33, 0.34], [[0.1924, 0]] * 3),
            ([0.3782, 0.3782, 0.2436], [[0.2742, 0], [0.2742, 0], [0.1715, 0.2987]]),
            ([0.3628, 0.3628, 0.2745], [[0.3478, 0], [0.3478, 0], [0.2554, 0.2618]]),
            ([0.3541, 0.3541, 0.2917], [[0.4139, 0], [0.4139, 0], [0.3309, 0.2312]]),
            ([0.3487, 0.3487, 0.3026], [[0.4733, 0], [0.4733, 0], [0.3987, 0.2051]]),
        ],
    ),
}


def weights_rows(schedule: dict[int, list[list[int]]], e: int) -> list[list[int]] | None:
    return schedule.get(e)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_v11_scenarios(name: str) -> None:
    stakes, schedule, targets = SCENARIOS[name]
    sc = Yuma3Scenario(stakes)
    for e, (dividends, bonds) in enumerate(targets):
        rows = weights_rows(schedule, e)
        if rows is not None:
            sc.set_weights(rows, [3, 4])
        r = sc.run()
        check(r, dividends, bonds, [3, 4])


def test_v11a_consensus_and_trust_replay() -> None:
    stakes, schedule, _ = SCENARIOS["kappa_moves_first"]
    sc = Yuma3Scenario(stakes)
    trust = [[M] * 3, [M, 0, 0], [M, M, 0], [M] * 3, [M] * 3]
    for e in range(5):
        if e in schedule:
            sc.set_weights(schedule[e], [3, 4])
        r = sc.run()
        assert r.consensus[3:].tolist() == ([M, 0] if e == 0 else [0, M])
        assert r.validator_trust[:3].tolist() == trust[e]
    # in e1 B and C are fully out of consensus and earn nothing


def test_v11e_liquid_alpha_disabled() -> None:
    sc = Yuma3Scenario([33, 33, 34, 0, 0], liquid_alpha=False)
    targets = [
        ([0.33, 0.33, 0.34], [[0.0250, 0]] * 3),
        ([0.33, 0.33, 0.34], [[0.0494, 0]] * 3),
        ([0.3734, 0.3734, 0.2532], [[0.0731, 0], [0.0731, 0], [0.0481, 0.0250]]),
        ([0.3611, 0.3611, 0.2779], [[0.0963, 0], [0.0963, 0], [0.0719, 0.0244]]),
        ([0.3541, 0.3541, 0.2919], [[0.1189, 0], [0.1189, 0], [0.0951, 0.0238]]),
        ([0.3495, 0.3495, 0.3009], [[0.1409, 0], [0.1409, 0], [0.1178, 0.0232]]),
    ]
    for e, (dividends, bonds) in enumerate(targets):
        sc.set_weights([[M, 0], [M, 0], [0, M]] if e == 2 else AB, [3, 4])
        check(sc.run(), dividends, bonds, [3, 4])


def test_v11f_stable_miner() -> None:
    sc = Yuma3Scenario([8, 1, 1, 0, 0, 0])
    schedule = {
        0: [[H, 0, H]] * 3,
        1: [[H, 0, H], [0, H, H], [H, 0, H]],
        2: [[0, H, H], [0, H, H], [H, 0, H]],
        3: [[0, H, H]] * 3,
    }
    targets = [
        ([0.8, 0.1, 0.1], [[0.0507, 0, 0.0507]] * 3),
        (
            [0.8226, 0.0745, 0.1028],
            [[0.0962, 0, 0.0962], [0.0455, 0.1000, 0.0962], [0.0962, 0, 0.0962]],
        ),
        (
            [0.7750, 0.1685, 0.0565],
            [[0.0863, 0.0507, 0.1371], [0.0408, 0.1405, 0.1371], [0.1770, 0, 0.1371]],
        ),
        (
            [0.7864, 0.1372, 0.0764],
            [[0.0774, 0.0962, 0.1739], [0.0367, 0.1770, 0.1739], [0.1579, 0.0507, 0.1739]],
        ),
        (
            [0.7912, 0.1241, 0.0847],
            [[0.0694, 0.1371, 0.2069], [0.0329, 0.2097, 0.2069], [0.1411, 0.0962, 0.2069]],
        ),
        (
            [0.7937, 0.1173, 0.0890],
            [[0.0623, 0.1739, 0.2366], [0.0296, 0.2391, 0.2366], [0.1263, 0.1371, 0.2366]],
        ),
    ]
    for e, (dividends, bonds) in enumerate(targets):
        if e in schedule:
            sc.set_weights(schedule[e], [3, 4, 5])
        r = sc.run()
        check(r, dividends, bonds, [3, 4, 5])
        if e == 1:  # incentive is not consensus once bonds differ
            assert r.consensus[3:].tolist() == [H, 0, H]
            assert r.incentive[3:].tolist() == [31042, 0, 34492]
            assert r.validator_trust[:3].tolist() == [M, H, M]
        if e == 2:
            assert r.consensus[3:].tolist() == [0, H, H]
            assert r.incentive[3:].tolist() == [0, 31042, 34492]
            assert r.validator_trust[:3].tolist() == [M, M, H]


def test_v11g_bonds_reset() -> None:
    sc = Yuma3Scenario([8, 1, 1, 0, 0])
    targets = {
        0: ([0.8, 0.1, 0.1], [[0.1013, 0]] * 3),
        1: ([0.8944, 0.0528, 0.0528], [[0.1924, 0], [0.0908, 0.2987], [0.0908, 0.2987]]),
        2: ([0.5230, 0.2385, 0.2385], [[0.1715, 0.1013], [0.0815, 0.3697], [0.0815, 0.3697]]),
        19: ([0.7919, 0.1040, 0.1040], [[0.0269, 0.8539], [0.0131, 0.8975], [0.0131, 0.8975]]),
        20: ([0.7928, 0.1036, 0.1036], [[0, 0.8687], [0, 0.9079], [0, 0.9079]]),
        21: ([0.8467, 0.0766, 0.0766], [[0, 0.8820], [0.2987, 0.6386], [0.2987, 0.6386]]),
        40: ([0.7928, 0.1036, 0.1036], [[0.8687, 0.0578], [0.9079, 0.0523], [0.9079, 0.0523]]),
    }
    for e in range(41):
        if e == 0:
            rows = AB
        elif e == 1:
            rows = [[M, 0], [0, M], [0, M]]
        elif e <= 20:
            rows = BA
        elif e == 21:
            rows = [[0, M], [M, 0], [M, 0]]
        else:
            rows = AB
        sc.set_weights(rows, [3, 4])
        if e == 20:  # do_reset_bonds for uid 3's hotkey: every bond *to* uid 3 is deleted
            sc.bonds = sc.bonds.copy()
            sc.bonds[:, 3] = 0
        r = sc.run()
        if e in targets:
            check(r, *targets[e], [3, 4])


def test_v11h_liquid_alpha_with_equal_bounds_matches_fixed_alpha() -> None:
    """alpha_low = alpha_high = 6553 (~0.1) against liquid alpha off with bma 900_000 (alpha 0.1)."""
    rng = np.random.default_rng(3)
    n = 6
    w = np.zeros((n, n), dtype=np.int64)
    w[:3, 3:] = rng.integers(1, M, size=(3, 3))
    w[:3, 3:] = w[:3, 3:] * M // w[:3, 3:].max(axis=1, keepdims=True)
    bonds = np.zeros((n, n), dtype=np.int64)
    bonds[:3, 3:] = rng.integers(0, M, size=(3, 3))
    base = dict(
        weights=w,
        bonds=bonds,
        alpha_stake=np.array([5, 3, 2, 0, 0, 0]),
        last_update=np.full(n, 10),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([True] * 3 + [False] * 3),
        current_block=10,
        tempo=1,
        yuma3=True,
        bonds_penalty=0,
    )
    liquid = epoch(EpochInputs(**base, liquid_alpha=True, alpha_low=6553, alpha_high=6553))
    fixed = epoch(EpochInputs(**base, liquid_alpha=False, bonds_moving_average=900_000))
    assert np.all(np.abs(liquid.bonds - fixed.bonds) / M <= 1e-3)
    assert np.all(np.abs(liquid.dividends - fixed.dividends) / M <= 1e-3)


def test_carry_forward_runs_the_scenario_like_storage() -> None:
    """The kappa-moves-first scenario driven by carry_forward gives the same dividends as storage does."""
    from analytics.model.yuma import carry_forward

    stakes, schedule, targets = SCENARIOS["kappa_moves_first"]
    sc = Yuma3Scenario(stakes)
    inp = EpochInputs(
        weights=sc.w,
        weights_set=sc.ws,
        bonds=sc.bonds,
        alpha_stake=sc.stakes,
        last_update=sc.last_update.copy(),
        block_at_registration=np.ones(sc.n, dtype=np.int64),
        validator_permit=sc.permit,
        current_block=sc.block,
        tempo=1,
        bonds_penalty=0,
        bonds_moving_average=975_000,
        yuma3=True,
        liquid_alpha=True,
        alpha_low=6553,
        alpha_high=19660,
        max_allowed_validators=3,
    )
    for e, (dividends, bonds) in enumerate(targets):
        if e in schedule:
            sc.set_weights(schedule[e], [3, 4])
        block = inp.current_block + 1
        r = epoch(
            replace(
                inp,
                weights=sc.w.copy(),
                weights_set=sc.ws.copy(),
                last_update=sc.last_update.copy(),
                current_block=block,
            )
        )
        check(r, dividends, bonds, [3, 4])
        inp = carry_forward(replace(inp, current_block=block), r, last_mechanism_step_block=0)
        sc.block = block
