"""analytics.data.snapshot: stored rows -> dense arrays -> engine inputs, and the recompute comparison."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analytics.data import demo, snapshot, store
from analytics.model.yuma import one_mechanism_arguments
from tests.test_store import tiny_snapshot


@pytest.fixture
def tiny_db(tmp_path: Path) -> Path:
    db = tmp_path / "lens.duckdb"
    snap = tiny_snapshot(100, n=5)
    mech = snap.tables["mechanism_neurons"]
    commits = pa.array([None, 90, None, None, None], pa.int64())
    snap.tables["mechanism_neurons"] = mech.set_column(
        mech.schema.get_field_index("commit_block"), "commit_block", commits
    )
    subnet = snap.tables["subnets"]
    snap.tables["subnets"] = subnet.set_column(
        subnet.schema.get_field_index("commit_reveal"), "commit_reveal", pa.array([True])
    )
    store.ingest_snapshot(db, snap)
    return db


def test_rows_become_dense_arrays_indexed_by_uid(tiny_db: Path) -> None:
    sub = snapshot.load_subnet(tiny_db, 1, 1)
    assert sub.n == 5 and sub.mechanism_count == 1
    mech = sub.mechanism(0)
    assert mech.weights.shape == (5, 5) and mech.weights.dtype == np.int64
    assert mech.weights[0].tolist() == [0, 65535, 65535, 65535, 0]
    # the explicit zero at (0, 4) is an entry; (0, 0) is not
    assert mech.weights_set[0].tolist() == [False, True, True, True, True]
    assert not mech.weights_set[1:].any()
    assert mech.bonds[0, 4] == 0 and mech.bonds_after[0, 1] == 65535
    assert mech.commit_block.tolist() == [snapshot.NO_COMMIT, 90, -1, -1, -1]
    assert sub.alpha_stake.dtype == np.int64 and sub.alpha_stake[0] == 10**12
    assert sub.hotkeys.tolist() == ["hk0", "hk1", "hk2", "hk3", "hk4-100"]
    assert sub.owner_uid is None and sub.current_block == 100 and sub.aligned
    assert sub.split is None and sub.epoch_emission is None
    out = sub.stored_outputs(0)
    assert out.validator_trust[0] == 65534 and out.incentive.tolist() == [0, 21845, 21845, 21845, 21845]
    with pytest.raises(store.StoreError, match="no mechanism 1"):
        sub.mechanism(1)


def test_a_one_mechanism_subnet_runs_on_its_own_inputs(tiny_db: Path) -> None:
    """The engine's one_mechanism_arguments(inputs) is what the stored subnet hands the engine."""
    sub = snapshot.load_subnet(tiny_db, 1, 1)
    stored = sub.mechanism_arguments()
    built = one_mechanism_arguments(stored["inputs"])
    assert built.keys() == stored.keys() and built["split"] is None and stored["split"] is None
    for key in set(stored) - {"inputs", "split"}:
        assert len(built[key]) == len(stored[key]) == 1, key
        np.testing.assert_array_equal(built[key][0], stored[key][0], err_msg=key)
    assert stored["mechanism_commit_block"][0] is not None  # commit-reveal on: the pending commit travels


def test_unknown_snapshot_or_subnet_is_a_store_error(tiny_db: Path) -> None:
    with pytest.raises(store.StoreError, match="no snapshot 3"):
        snapshot.load_subnet(tiny_db, 3, 1)
    with pytest.raises(store.StoreError, match="subnet 2 is not in snapshot 1"):
        snapshot.load_subnet(tiny_db, 1, 2)


def test_epoch_inputs_carry_every_stored_hyperparameter(demo_db: Path) -> None:
    sid = store.latest_snapshot_id(demo_db)
    spec = next(s for s in demo.SUBNETS if s.commit_reveal)
    sub = snapshot.load_subnet(demo_db, sid, spec.netuid)
    inp = sub.epoch_inputs(0)
    row = store.subnets(demo_db, sid).set_index("netuid").loc[spec.netuid]
    assert inp.current_block == int(row["epoch_block"])
    assert inp.last_mechanism_step_block == int(row["epoch_block"]) - spec.tempo
    assert inp.emission == int(row["epoch_emission"])
    assert inp.owner_uid == 0 and inp.tao_weight == demo.TAO_WEIGHT
    assert inp.yuma3 == spec.yuma3 and inp.kappa == spec.kappa and inp.tempo == spec.tempo
    assert inp.commit_block is not None and (inp.commit_block >= 0).any()
    np.testing.assert_array_equal(inp.validator_permit, sub.validator_permit_prev)
    np.testing.assert_array_equal(inp.weights, sub.mechanism(0).weights)


def test_two_mechanisms_are_recomputed_with_the_split(demo_db: Path) -> None:
    sid = store.latest_snapshot_id(demo_db)
    spec = next(s for s in demo.SUBNETS if s.mechanism_count == 2)
    sub = snapshot.load_subnet(demo_db, sid, spec.netuid)
    assert sub.mechanism_count == 2 and sub.split == list(spec.split)
    assert not np.array_equal(sub.mechanism(0).weights, sub.mechanism(1).weights)
    result = sub.recompute()
    assert len(result.mechanisms) == 2
    np.testing.assert_array_equal(result.mechanisms[1].incentive, sub.stored_outputs(1).incentive)
    np.testing.assert_array_equal(result.mechanisms[1].bonds, sub.stored_outputs(1).bonds)
    diff = snapshot.compare_outputs(sub, result)
    assert set(diff[diff["mechid"] == 1]["field"]) == {"incentive", "bonds"}
    assert diff["mismatches"].sum() == 0


def test_compare_outputs_finds_a_tampered_value(demo_db: Path) -> None:
    sub = snapshot.load_subnet(demo_db, store.latest_snapshot_id(demo_db), 1)
    trust = sub.validator_trust.copy()
    uid = int(np.argmax(trust))
    trust[uid] -= 7
    diff = snapshot.compare_outputs(replace(sub, validator_trust=trust)).set_index("field")
    assert diff.loc["validator_trust", "mismatches"] == 1
    assert diff.loc["validator_trust", "max_abs_diff"] == 7
    assert diff.drop(index="validator_trust")["mismatches"].sum() == 0


def test_bonds_compared_row_by_row_as_the_dense_comparison(demo_db: Path) -> None:
    """check compares the bonds written from the stored rows (MatrixRows) and the epoch's bond rows;
    it says what comparing the two (n, n) arrays says: equal, a changed value, a stored row the epoch
    left empty, a repeated entry (the last one stands, as in the dense array)."""
    sub = snapshot.load_subnet(demo_db, store.latest_snapshot_id(demo_db), 4)
    result = sub.recompute(lean=True)
    mech, ours = sub.mechanisms[1], result.mechanisms[1]
    stored = mech.bonds_after_rows
    empty_row = int(np.setdiff1d(np.arange(sub.n), ours.bonds_index)[0])
    cases = {
        "as stored": stored,
        "a value changed": stored._replace(
            value=stored.value.astype(np.int64) + (np.arange(len(stored.value)) == 5)
        ),
        "a row the epoch left empty": stored._replace(
            validator=np.append(stored.validator, empty_row),
            miner=np.append(stored.miner, 3),
            value=np.append(stored.value, 9),
        ),
        "an entry repeated": stored._replace(
            validator=np.append(stored.validator, stored.validator[0]),
            miner=np.append(stored.miner, stored.miner[0]),
            value=np.append(stored.value, stored.value[0] + 2),
        ),
    }
    for name, rows in cases.items():
        dense = snapshot._diff(ours.bonds, rows.dense())
        assert snapshot._diff_bonds(ours, rows) == dense, name
        assert (dense[0] == 0) == (name == "as stored"), name


def test_recorded_amounts_read_as_the_dict_they_replace() -> None:
    recorded = snapshot.Recorded(np.array([3, 1, 3, 8]), np.array([10, 20, 30, 0], dtype=np.uint64))
    assert recorded == {3: 30, 1: 20, 8: 0} and len(recorded) == 3 and list(recorded) == [1, 3, 8]
    assert recorded.keys_array.tolist() == [1, 3, 8] and recorded.amounts.tolist() == [20, 30, 0]
    with pytest.raises(KeyError):
        recorded[2]
    with pytest.raises(OverflowError):
        snapshot.Recorded(np.array([0]), np.array([1 << 63], dtype=np.uint64))


def test_load_snapshot_equals_loading_each_subnet(demo_db: Path) -> None:
    sid = store.latest_snapshot_id(demo_db)
    every = snapshot.load_snapshot(demo_db, sid)
    assert sorted(every) == [s.netuid for s in demo.SUBNETS]
    for netuid in (1, 4):
        one = snapshot.load_subnet(demo_db, sid, netuid)
        both = every[netuid]
        for name in ("hotkeys", "alpha_stake", "validator_permit_prev", "consensus", "emission"):
            np.testing.assert_array_equal(getattr(both, name), getattr(one, name))
        for a, b in zip(both.mechanisms, one.mechanisms, strict=True):
            np.testing.assert_array_equal(a.weights_set, b.weights_set)
            np.testing.assert_array_equal(a.bonds, b.bonds)
            np.testing.assert_array_equal(a.incentive, b.incentive)
    assert list(snapshot.load_snapshot(demo_db, sid, [4])) == [4]
    with pytest.raises(store.StoreError, match="subnet 99 is not in snapshot"):
        snapshot.load_snapshot(demo_db, sid, [1, 99])


def test_iter_snapshots_builds_what_load_snapshot_builds(demo_db: Path) -> None:
    """check's bulk path (one connection, arrays split per netuid, money rows joined in numpy) equals
    the per-subnet reads: the same arrays and the same payout inputs, subnet by subnet."""
    first, last = 1, store.latest_snapshot_id(demo_db)
    walked = list(snapshot.iter_snapshots(demo_db, [last, first], money=True))
    assert [w.snapshot_id for w in walked] == [last, first]  # the order asked for
    for w in walked:
        assert w.meta == store.snapshot_meta(demo_db, w.snapshot_id)
        assert sorted(w.subnet) == sorted(int(k) for k in w.subnets["netuid"])  # the demo is all aligned
        for netuid in (1, 3, 4):
            one, bulk = snapshot.load_subnet(demo_db, w.snapshot_id, netuid), w.subnet[netuid]
            for name in (
                "hotkeys",
                "coldkeys",
                "alpha_stake",
                "validator_permit_prev",
                "emission",
                "dividends",
            ):
                np.testing.assert_array_equal(getattr(bulk, name), getattr(one, name))
            # the neurons frame, built on first use from the arrays read, equals the one read as a frame
            pd.testing.assert_frame_equal(bulk.neurons, one.neurons.reset_index(drop=True))
            for a, b in zip(bulk.mechanisms, one.mechanisms, strict=True):
                for name in ("weights", "weights_set", "bonds", "bonds_after", "last_update", "incentive"):
                    np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
            expected, got = snapshot.payout_inputs(demo_db, one), w.payout_inputs(netuid)
            assert got is not None and expected is not None
            assert (len(expected["hotkeys"]) > one.n) == (netuid == 3)  # subnet 3 has an unregistered parent
            assert got["hotkeys"] == expected["hotkeys"] and got["recorded"] == expected["recorded"]
            assert got["parents"] == expected["parents"]
            for name in ("alpha_stake", "root_stake", "delegate_take", "childkey_take", "owner"):
                np.testing.assert_array_equal(getattr(got["keys"], name), getattr(expected["keys"], name))
    with pytest.raises(store.StoreError, match="no snapshot 99"):
        list(snapshot.iter_snapshots(demo_db, [99]))


def test_rows_in_any_order_are_grouped_by_netuid() -> None:
    """A lake returns the weights partition by partition: the split per netuid must not assume order."""
    cols = {"netuid": np.array([4, 1, 4, 1, 2]), "v": np.array([10, 11, 12, 13, 14])}
    parts = snapshot._by_netuid(cols)
    assert {k: p["v"].tolist() for k, p in parts.items()} == {1: [11, 13], 2: [14], 4: [10, 12]}
    assert snapshot._by_netuid({"netuid": np.array([], dtype=np.int32)}) == {}
