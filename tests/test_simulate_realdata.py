"""What-ifs on real mainnet data: subnet 2's weights, stake and bonds (about August 2024, original Yuma).

Source and caveats: ../shared/realdata/btdecode-sn2-2024-08/README.md. The snapshot lacks registration
blocks and was read mid-tempo (see tests/test_yuma_realdata.py), so these tests assert dynamics, not
the chain's stored figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analytics.model import simulate as sm
from analytics.model.yuma import EpochInputs, epoch
from tests.conftest import require_realdata

ROOT = Path(__file__).resolve().parent.parent
SN2 = ROOT.parent / "shared" / "realdata" / "btdecode-sn2-2024-08" / "neurons_sn2_decoded.json"
LAST_EPOCH_BLOCK = 3_705_300


@pytest.fixture(autouse=True)
def _needs_sn2() -> None:
    """Skip without the real data (fail in CI): see tests/conftest.require_realdata."""
    require_realdata(SN2)


@pytest.fixture(scope="module")
def sn2() -> EpochInputs:
    neurons = json.loads(SN2.read_text())["neurons"]
    n = len(neurons)
    weights = np.zeros((n, n), dtype=np.int64)
    weights_set = np.zeros((n, n), dtype=bool)
    bonds = np.zeros((n, n), dtype=np.int64)
    for x in neurons:
        for j, v in x["weights"]:
            weights[x["uid"], j], weights_set[x["uid"], j] = v, True
        for j, v in x["bonds"]:
            bonds[x["uid"], j] = v
    return EpochInputs(
        weights=weights,
        weights_set=weights_set,
        bonds=bonds,
        alpha_stake=np.array([x["stake_rao_total"] for x in neurons]),
        last_update=np.array([x["last_update"] for x in neurons]),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([x["validator_permit"] for x in neurons], dtype=bool),
        current_block=LAST_EPOCH_BLOCK,
        max_allowed_validators=64,
    )


def weight_setters(inputs: EpochInputs) -> np.ndarray:
    first = epoch(inputs)
    return np.flatnonzero(
        first.active & inputs.validator_permit & (first.stake_weight > 0) & inputs.weights.any(1)
    )


def test_the_least_in_consensus_real_validator_following_consensus(sn2: EpochInputs) -> None:
    setters = weight_setters(sn2)
    sim = sm.simulate(sn2, [], 1)
    uid = int(setters[np.argmin(sim.baseline.validator_trust[0, setters])])
    sim = sm.simulate(sn2, [sm.FollowConsensus(uid)], 30)
    tv = sim.scenario.validator_trust
    assert tv[0, uid] > sim.baseline.validator_trust[0, uid]
    assert tv[0, uid] == tv[0, setters].max() and tv[0, uid] >= 0.997 * 65535  # top of the subnet at once
    gain = sim.delta("dividends")[:, uid]
    assert gain[0] <= 2 and gain[-1] > 5 * max(gain[0], 1)  # the dividends follow as its bonds build


def test_a_real_copier_of_the_largest_validator_catches_up_per_stake(sn2: EpochInputs) -> None:
    setters = weight_setters(sn2)
    first = epoch(sn2)
    big = int(setters[np.argmax(first.stake_weight[setters])])
    copier = int(setters[np.argmin(first.validator_trust[setters])])
    sim = sm.simulate(sn2, [sm.CopyValidator(copier, big)], 40)
    s = sim.scenario
    np.testing.assert_array_equal(s.validator_trust[:, copier], s.validator_trust[:, big])
    per_stake = s.dividends[:, [big, copier]] / s.stake_weight[:, [big, copier]]
    lag = np.abs(1 - per_stake[:, 1] / per_stake[:, 0])
    assert lag[0] > 0.02 and lag[-1] < lag[0] / 5  # about 4 % behind at first, under 1 % after 40 epochs
