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


@pytest.fixture(autouse=True)
def _token_symbol_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "token_symbols.json"))


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
        tempo=before.tempo,
        activity_cutoff_factor_milli=before.activity_cutoff_factor_milli,
        kappa=before.kappa,
        bonds_moving_average=before.bonds_moving_avg,
        bonds_penalty=before.bonds_penalty,
        yuma3=before.yuma3,
        liquid_alpha=before.liquid_alpha,
        alpha_low=before.alpha_low,
        alpha_high=before.alpha_high,
        alpha_sigmoid_steepness=before.alpha_sigmoid_steepness,
        max_allowed_validators=before.max_validators,
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
    # The pending emission the epoch drained (block e adds nothing here): the E the engine ran with.
    before.money.pending_server = int(inputs.emission)
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


def test_recorded_dividends_verify_to_the_rao_through_collect_and_check(tmp_path, capsys) -> None:
    """The money path round trip: a chain whose recorded dividends are the payout of its own state at
    e - 1 (takes, own stakes, a parent of another coldkey and an unregistered parent, CKBurn) is
    collected; `check` pays the stored epoch out again and finds every hotkey to the rao. A suspended
    parent's stored edge stays inert. One rao changed on chain is caught."""
    from analytics.cli import main
    from analytics.model import returns
    from tests.fakechain import Accounts, account

    chain = FakeChain(head=80_000)
    chain.set_globals(
        0, Globals(tao_weight=3_320_413_933_267_719_290, stake_threshold=10**6, ck_burn=2**64 // 100)
    )
    e = chain.head - 90
    before, after, result = engine_subnet(chain, 7, e=e)
    n, hotkeys, coldkeys = before.n, before.hotkeys, before.coldkeys
    outside = account("outside-parent")
    m = before.money
    m.pending_server, m.pending_validator, m.pending_root = 4 * 10**8, 5 * 10**8, 10**8  # E = 10^9
    m.alpha_stake = {hk: int(v) for hk, v in zip(hotkeys, before.alpha_stake, strict=True)} | {
        outside: 5 * 10**13
    }
    m.childkey_take = {hotkeys[3]: 6553, hotkeys[5]: 11796}
    m.parents = {hotkeys[3]: [(2**62, hotkeys[1])], hotkeys[5]: [(2**64 - 1, outside)]}
    m.children = {hotkeys[1]: [(2**62, hotkeys[3])], outside: [(2**64 - 1, hotkeys[5])]}
    accounts = Accounts(
        delegate_take={hk: [0, 11796, 3277][k % 3] for k, hk in enumerate(hotkeys)},
        root_stake={hk: int(v) for hk, v in zip(hotkeys, before.tao_stake, strict=True)},
        owner={outside: account("outside-owner")},
        suspended={hotkeys[1]},  # below the stake threshold: its edge to uid 3 is inert
    )
    chain.set_accounts(0, accounts)

    # What the chain records at e: the payout of the state at e - 1 (our model plays the runtime).
    names = [*hotkeys, outside]
    owners = [*coldkeys, accounts.owner[outside]]
    ids = {c: i for i, c in enumerate(dict.fromkeys(owners))}
    keys = returns.Keys(
        alpha_stake=np.array([m.alpha_stake.get(h, 0) for h in names]),
        root_stake=np.array([accounts.root_stake.get(h, 0) for h in names]),
        delegate_take=np.array([accounts.delegate_take.get(h, 11796) for h in names]),
        childkey_take=np.array([m.childkey_take.get(h, 0) for h in names]),
        owner=np.array([ids[c] for c in owners]),
    )
    payout = returns.distribute(
        np.arange(n),
        result.server_emission,
        result.validator_emission,
        keys,
        pending_server=m.pending_server,
        pending_validator=m.pending_validator,
        pending_root=m.pending_root,
        tao_weight=3_320_413_933_267_719_290,
        ck_burn=2**64 // 100,
        parents={5: [(2**64 - 1, n)]},  # 3 <- 1 is stored but inert
    )
    assert payout.alpha_nominators[n] > 0 and payout.ck_burn.sum() > 0  # the relations matter here
    after.money.alpha_dividends = {h: int(v) for h, v in zip(names, payout.alpha_nominators, strict=True)}
    after.money.root_dividends = {h: int(v) for h, v in zip(names, payout.root_nominators, strict=True)}

    db = tmp_path / "lens.duckdb"
    policy = collector.RetryPolicy(tries=1, timeout=10, backoff=0.01)
    assert collector.collect(bt.Subtensor("local", substrate=chain), db, netuids=[7], policy=policy).ok
    assert main(["check", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "money: verified to the rao" in out and "DIFFERS" not in out

    after.money.alpha_dividends[hotkeys[3]] += 1  # one rao more recorded on chain
    chain.head += 1  # a new anchor block, so the second run stores a new snapshot
    db2 = tmp_path / "lens2.duckdb"
    assert collector.collect(bt.Subtensor("local", substrate=chain), db2, netuids=[7], policy=policy).ok
    assert main(["check", "--db", str(db2)]) == 1
    assert "money: DIFFERS - alpha dividends 1/" in capsys.readouterr().out
