"""Round trip chain -> collector -> store -> snapshot.epoch_inputs -> engine.

A fake subnet whose epoch outputs were produced by our own Yuma engine (two mechanisms with an
uneven split, Yuma3, commit-reveal with a masking commit, a recently registered miner) is collected
epoch-aligned; recomputing from the stored inputs must give exactly the stored outputs, u16 for u16.
This checks that every input lands in the snapshot from the block the epoch read it at.
"""

from __future__ import annotations

import bittensor as bt
import numpy as np
import pytest

from analytics.data import collector, snapshot
from analytics.model import yuma
from tests.fakechain import FakeChain, Globals, Matrix, epoch_timeline, perturbed, random_subnet

pytestmark = pytest.mark.usefixtures("token_symbol_cache")


def engine_subnet(chain: FakeChain, netuid: int, e: int) -> tuple:
    """Lay out a subnet at e - 1 and its epoch's outputs at e, as computed by analytics.model.yuma."""
    g = chain.globals_at(e - 1)
    before = random_subnet(
        netuid, n=64, validators=16, mechanisms=2, split=[40000, 25535], commit_reveal=True
    )
    before.yuma3 = True
    before.epoch_index = 20
    before.last_mechanism_step_block = e - before.tempo
    before.block_at_registration[40] = e - 10  # registered after validator 3's commit: masked for it
    before.mechanisms[0].last_update[:16] = e - 30
    before.mechanisms[1].last_update[:16] = e - 60
    before.mechanisms[0].last_update[3] = e - 5  # a later commit: only the commit mask drops (3, 40)
    after = perturbed(before, e)  # weights revealed in block e (outputs overwritten below)
    cols, vals = after.mechanisms[0].weights.rows[3]
    if 40 not in cols.tolist():
        cols, vals = np.append(cols, np.uint16(40)), np.append(vals, np.uint16(0))
        order = np.argsort(cols)
        cols, vals = cols[order], vals[order]
    vals[cols.tolist().index(40)] = 65535
    after.mechanisms[0].weights.rows[3] = (cols, vals)
    after.mechanisms[0].timelocked_commits = {20: [(before.hotkeys[3], e - 20, "0xff00", 1)]}
    commit0 = np.full(before.n, -1, dtype=np.int64)
    commit0[3] = e - 20

    n = before.n
    inputs = yuma.EpochInputs(
        weights=np.zeros((n, n), dtype=np.int64),
        alpha_stake=before.alpha_stake.astype(np.int64),
        tao_stake=before.tao_stake.astype(np.int64),
        tao_weight=g.tao_weight,
        last_update=before.mechanisms[0].last_update,
        block_at_registration=before.block_at_registration,
        validator_permit=before.validator_permit,
        current_block=e,
        **yuma.hyperparameter_inputs(vars(before)),
        stake_threshold=g.stake_threshold,
        owner_uid=0,
        last_mechanism_step_block=before.last_mechanism_step_block,
    )
    weights = [m.weights for m in after.mechanisms]
    result = yuma.epoch_with_mechanisms(
        inputs,
        mechanism_weights=[w.to_dense(n) for w in weights],
        mechanism_bonds=[m.bonds.to_dense(n) for m in before.mechanisms],
        mechanism_last_update=[m.last_update for m in before.mechanisms],
        split=before.emission_split,
        mechanism_weights_set=[present(w, n) for w in weights],
        mechanism_commit_block=[commit0, None],
    )
    after.consensus = result.consensus.astype(np.uint16)
    after.validator_trust = result.validator_trust.astype(np.uint16)
    after.dividends = result.dividends.astype(np.uint16)
    after.stake_weight = result.stake_weight.astype(np.uint16)
    after.emission = result.emission.astype(np.uint64)
    after.active = result.active.astype(bool)
    after.validator_permit = result.new_validator_permit.astype(bool)
    for mech, res in zip(after.mechanisms, result.mechanisms, strict=True):
        mech.incentive = res.incentive.astype(np.uint16)
        mech.bonds = Matrix.from_dense(res.bonds, res.bonds > 0)
    epoch_timeline(chain, before, epoch_block=e, after=after)
    return before, after, result


def present(matrix: Matrix, n: int) -> np.ndarray:
    out = np.zeros((n, n), dtype=bool)
    for i, (cols, _) in matrix.rows.items():
        out[i, cols.astype(np.int64)] = True
    return out


def test_aligned_snapshot_recomputes_to_the_stored_outputs(tmp_path) -> None:
    chain = FakeChain(head=80_000)
    chain.set_globals(0, Globals(tao_weight=3_320_413_933_267_719_290, stake_threshold=10**6))
    before, after, result = engine_subnet(chain, 7, e=chain.head - 90)
    assert int(np.count_nonzero(result.consensus)) > 0 and int(np.count_nonzero(result.dividends)) > 0

    db = tmp_path / "lens.duckdb"
    summary = collector.collect(
        bt.Subtensor("local", substrate=chain),
        db,
        netuids=[7],
        policy=collector.RetryPolicy(tries=1, timeout=10, backoff=0.01),
    )
    assert summary.ok
    sub = snapshot.load_subnet(db, summary.snapshot_id, 7)
    assert sub.aligned and sub.current_block == chain.head - 90
    recomputed = sub.recompute()
    for name in ("consensus", "validator_trust", "dividends", "stake_weight", "emission", "active"):
        np.testing.assert_array_equal(getattr(recomputed, name), getattr(sub, name), err_msg=name)
    np.testing.assert_array_equal(recomputed.new_validator_permit, sub.validator_permit)
    for k, mech in enumerate(sub.mechanisms):
        np.testing.assert_array_equal(recomputed.mechanisms[k].incentive, mech.incentive, err_msg=f"I{k}")
        np.testing.assert_array_equal(recomputed.mechanisms[k].bonds, mech.bonds_after, err_msg=f"B{k}")
    # And the stored outputs are the chain's (the engine's) values, not something recomputed twice.
    np.testing.assert_array_equal(sub.consensus, after.consensus)
    assert sub.mechanism(0).commit_block[3] == chain.head - 90 - 20


def test_recompute_is_sensitive_to_the_inputs(tmp_path) -> None:
    """Guard against a vacuous round trip: with other stakes the engine gives other outputs, so the
    test above can tell a wrong read from a right one."""
    chain = FakeChain(head=80_000)
    chain.set_globals(0, Globals(tao_weight=3_320_413_933_267_719_290, stake_threshold=10**6))
    engine_subnet(chain, 7, e=chain.head - 90)
    db = tmp_path / "lens.duckdb"
    summary = collector.collect(
        bt.Subtensor("local", substrate=chain), db, netuids=[7], policy=collector.RetryPolicy(tries=1)
    )
    sub = snapshot.load_subnet(db, summary.snapshot_id, 7)
    unmasked = sub.mechanism_arguments()
    unmasked["mechanism_commit_block"] = [None, None]
    assert yuma.epoch_with_mechanisms(**unmasked).validator_trust[3] != sub.validator_trust[3]
    restaked = sub.mechanism_arguments()
    restaked["inputs"].alpha_stake[:16] = restaked["inputs"].alpha_stake[:16][::-1]
    assert not np.array_equal(yuma.epoch_with_mechanisms(**restaked).dividends, sub.dividends)
