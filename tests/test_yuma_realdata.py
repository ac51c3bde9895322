"""The engine on real mainnet data: subnet 2's NeuronInfo vectors, about August 2024 (pre-dTAO).

Source and caveats: ../shared/realdata/btdecode-sn2-2024-08/README.md (path from the repo root).

What can be exact and what cannot:
* Dividends are a pure function of the stored bonds and the stored incentive (the dividend step of
  the original Yuma), so they must match the chain to within 1 u16 for every uid (the stored bonds are
  column-max-upscaled u16, which loses a little precision against the chain's I32F32 bonds).
* C, I and Tv need the epoch's inputs, and the snapshot does not have all of them: it was taken
  mid-tempo (most validators set weights after the last epoch, so W is newer than what the chain
  used), NeuronInfo carries no block_at_registration (the "outdated weights" mask cannot be applied)
  and the stake the epoch used (with child/parent inheritance) is not recorded. Hyperparameters are
  the then defaults (assumed). So C, I and Tv are checked with a tolerance measured on this file:
  C and I within 200 u16 (mean under 10), Tv of the staked validators within 350 u16, the historic
  miner trust R/P with correlation above 0.95 (median error under 400 u16). Three stale
  validators (uids 144, 188, 196) are excluded: their old weights point at miners that re-registered
  since, which only block_at_registration would reveal.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analytics.model.consensus import explain_validators
from analytics.model.yuma import EpochInputs, dividends_from_bonds, epoch
from tests.conftest import require_realdata

ROOT = Path(__file__).resolve().parent.parent
SN2 = ROOT.parent / "shared" / "realdata" / "btdecode-sn2-2024-08" / "neurons_sn2_decoded.json"
STALE_UNREPRODUCIBLE = {144, 188, 196}
LAST_EPOCH_BLOCK = 3_705_300  # (block + netuid + 1) mod 361 == 0 just before the largest last_update


@pytest.fixture(autouse=True)
def _needs_sn2() -> None:
    """Skip without the real data (fail in CI): see tests/conftest.require_realdata."""
    require_realdata(SN2)


@pytest.fixture(scope="module")
def sn2() -> dict[str, np.ndarray]:
    neurons = json.loads(SN2.read_text())["neurons"]
    n = len(neurons)
    assert [x["uid"] for x in neurons] == list(range(n))
    weights = np.zeros((n, n), dtype=np.int64)
    weights_set = np.zeros((n, n), dtype=bool)
    bonds = np.zeros((n, n), dtype=np.int64)
    for x in neurons:
        for j, v in x["weights"]:
            weights[x["uid"], j] = v
            weights_set[x["uid"], j] = True
        for j, v in x["bonds"]:
            bonds[x["uid"], j] = v
    data = {k: np.array([x[k] for x in neurons]) for k in neurons[0] if not isinstance(neurons[0][k], list)}
    data.update(weights=weights, weights_set=weights_set, bonds=bonds)
    return data


def test_dividends_from_stored_bonds_match_the_chain(sn2) -> None:
    d = dividends_from_bonds(sn2["bonds"], sn2["incentive"])
    assert np.abs(d - sn2["dividends"]).max() <= 1
    assert (d > 0).sum() == (sn2["dividends"] > 0).sum()


def recompute(sn2):
    inp = EpochInputs(
        weights=sn2["weights"],
        weights_set=sn2["weights_set"],
        alpha_stake=sn2["stake_rao_total"],
        last_update=sn2["last_update"],
        block_at_registration=np.zeros(len(sn2["uid"]), dtype=np.int64),
        validator_permit=sn2["validator_permit"].astype(bool),
        current_block=LAST_EPOCH_BLOCK,
        max_allowed_validators=64,
    )
    return inp, epoch(inp)


def test_consensus_incentive_and_trust_within_documented_tolerance(sn2) -> None:
    inp, r = recompute(sn2)
    for name in ("consensus", "incentive"):
        diff = np.abs(getattr(r, name) - sn2[name])
        assert diff.max() <= 200, name
        assert diff.mean() <= 10, name
        assert np.corrcoef(getattr(r, name), sn2[name])[0, 1] > 0.97, name
    validators = sn2["validator_permit"].astype(bool) & sn2["weights_set"].any(axis=1)
    checked = [u for u in np.flatnonzero(validators) if u not in STALE_UNREPRODUCIBLE]
    assert len(checked) >= 20
    diff = np.abs(r.validator_trust[checked] - sn2["validator_trust"][checked])
    assert diff.max() <= 350 and diff.mean() <= 150
    # the activity mask agrees with the chain's `active` flags almost everywhere
    assert (r.active == sn2["active"].astype(bool)).mean() > 0.99
    # this runtime still stored Rank (== incentive) and the historic miner trust R / P
    assert (sn2["rank"] == sn2["incentive"]).all()
    trust_diff = np.abs(r.trust - sn2["trust"])
    assert np.corrcoef(r.trust, sn2["trust"])[0, 1] > 0.95 and np.median(trust_diff) <= 400


def test_legacy_activity_cutoff_gives_the_same_mask_here(sn2) -> None:
    """This runtime used ActivityCutoff = 5000 blocks; the current default (13889 x 360 / 1000) is 5000 too."""
    inp, r = recompute(sn2)
    legacy = epoch(EpochInputs(**{**inp.__dict__, "activity_cutoff": 5000}))
    assert legacy.active.tolist() == r.active.tolist()
    assert legacy.consensus.tolist() == r.consensus.tolist()


def test_explanations_on_real_data(sn2) -> None:
    inp, r = recompute(sn2)
    ex = explain_validators(inp, r, stored_validator_trust=sn2["validator_trust"])
    assert len(ex) >= 64
    by_uid = {e.uid: e for e in ex}
    for uid in STALE_UNREPRODUCIBLE:
        assert "inactive" in by_uid[uid].reasons
    staked = [e for e in ex if e.permit and e.weights_counted and e.active]
    assert staked and all(abs(e.trust_delta_u16) <= 350 for e in staked)
    # the severity thresholds are calibrated here: validators following the majority read "ok"
    ok = [e for e in staked if e.severity == "ok"]
    assert len(ok) >= 18 and all(e.reasons[0] == "in_consensus" for e in ok)
    assert abs(sum(e.dividend_share for e in ex) - 1) < 1e-6
