"""The payout model against a real mainnet epoch: subnet 1 at block 6,852,690 (one mechanism).

Source and caveats: ../shared/realdata/sdk-integration-sn1-6852690/README.md (path from the repo root).
The SDK dump holds I and D as u16/65535 floats and Emission in alpha as floats, so the u16 values are
recovered with round(x·65535) and rao with round(x·1e9). With one mechanism the stored Emission is
the combined payout, so the model must reproduce it; the residual comes from the u16 quantisation of
the stored dividends (their sum is 65529, not 65535).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analytics.model import emission
from tests.conftest import require_realdata

ROOT = Path(__file__).resolve().parent.parent
SN1 = (
    ROOT.parent
    / "shared"
    / "realdata"
    / "sdk-integration-sn1-6852690"
    / "sn1_block6852690_metagraph_decoded.json"
)


@pytest.fixture(scope="module")
def sn1() -> dict:
    return json.loads(require_realdata(SN1).read_text())


def test_single_mechanism_payouts_reproduce_the_stored_emission(sn1: dict) -> None:
    assert sn1["mechanism_count"] == 1
    incentive = np.rint(np.array(sn1["I"]) * 65535).astype(np.int64)
    dividends = np.rint(np.array(sn1["D"]) * 65535).astype(np.int64)
    stored = np.rint(np.array(sn1["E"], dtype=np.float64) * 1e9).astype(np.int64)
    pools = emission.subnet_pools(int(stored.sum()), None, 1, owner_cut=0)
    pay = emission.uid_payouts(pools, incentive, dividends)
    paid = stored > 0
    assert np.count_nonzero(paid) == 11  # the owner's miner (uid 395) and ten validators
    assert np.array_equal(np.flatnonzero(pay.total), np.flatnonzero(paid))
    relative = np.abs(pay.total[paid] - stored[paid]) / stored[paid]
    assert relative.max() < 1e-3
    # The only miner takes exactly the miners' half.
    assert abs(int(pay.miner[0, 395]) - int(stored[395])) <= 100
    assert int(pay.miner.sum()) == int(pools.miners[0])


def test_epoch_emission_is_one_alpha_per_block_less_the_owner_cut(sn1: dict) -> None:
    """Tempo 99 = 100 blocks of 1 α alpha_out each; the owner's 11796/65535 leaves 82.00046 α for the epoch.

    An inference that only holds with the default owner cut: 18 % exactly would leave 82.0 α.
    """
    stored = np.rint(np.array(sn1["E"], dtype=np.float64) * 1e9).astype(np.int64)
    pools = emission.subnet_pools(emission.alpha_to_rao(100), None, 1)
    # float32 storage of each Emission value: a few thousand rao at most over the sum.
    assert abs(int(stored.sum()) - pools.epoch_emission) < 10_000
    assert abs(int(stored.sum()) - 82 * 10**9) > 400_000
