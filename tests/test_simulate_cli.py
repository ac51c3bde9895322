"""`python -m analytics simulate` on the demo database, and the replay against the chain's stored outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analytics.cli import main
from analytics.data.demo import DEMO_CASES
from analytics.data.snapshot import load_subnet
from analytics.data.store import latest_snapshot_id
from analytics.model import simulate
from analytics.views import export
from analytics.views.whatif import epochs_frame, mechanism_inputs

STORED_U16 = ("consensus", "incentive", "validator_trust", "dividends", "stake_weight")


def test_a_replay_without_scenario_reproduces_every_stored_output_of_the_epoch(demo_db: Path) -> None:
    snapshot_id = latest_snapshot_id(demo_db)
    snap = load_subnet(demo_db, snapshot_id, 1)
    assert snap.aligned and snap.mechanism_count == 1
    first = simulate.replay_baseline(mechanism_inputs(snap, 0), 2)
    stored = snap.stored_outputs(0)
    for field in STORED_U16:
        np.testing.assert_array_equal(getattr(first, field)[0], getattr(stored, field), err_msg=field)
    np.testing.assert_array_equal(first.bonds[0], stored.bonds)
    np.testing.assert_array_equal(first.validator_permit[0], stored.validator_permit)
    np.testing.assert_array_equal(first.emission[0], stored.emission)
    np.testing.assert_array_equal(first.active[0], stored.active)


@pytest.mark.parametrize("netuid", [2, 3, 5, 7])
def test_the_first_epoch_matches_the_chain_on_every_kind_of_subnet(demo_db: Path, netuid: int) -> None:
    # original Yuma (2), liquid alpha (3), commit-reveal (5), stake threshold (7)
    snap = load_subnet(demo_db, latest_snapshot_id(demo_db), netuid)
    first = simulate.replay_baseline(mechanism_inputs(snap, 0), 1)
    stored = snap.stored_outputs(0)
    for field in STORED_U16:
        np.testing.assert_array_equal(getattr(first, field)[0], getattr(stored, field), err_msg=field)
    np.testing.assert_array_equal(first.bonds[0], stored.bonds)


def test_each_mechanism_replays_with_its_split_of_the_emission(demo_db: Path) -> None:
    # With two mechanisms the netuid-level C, Tv, D are aggregates; a mechanism's own I and bonds are exact.
    snap = load_subnet(demo_db, latest_snapshot_id(demo_db), 4)
    assert snap.mechanism_count == 2
    shares = []
    for mechid in (0, 1):
        inputs = mechanism_inputs(snap, mechid)
        first = simulate.replay_baseline(inputs, 1)
        np.testing.assert_array_equal(first.incentive[0], snap.stored_outputs(mechid).incentive)
        np.testing.assert_array_equal(first.bonds[0], snap.stored_outputs(mechid).bonds)
        shares.append(inputs.emission)
    assert sum(shares) == snap.epoch_emission and shares[0] > shares[1]


def test_the_demo_validator_far_from_consensus_following_it(demo_db: Path) -> None:
    far = DEMO_CASES[1]["far_from_consensus"]
    snap = load_subnet(demo_db, latest_snapshot_id(demo_db), 1)
    sim = simulate.simulate(mechanism_inputs(snap, 0), [simulate.FollowConsensus(far)], 15)
    assert (
        sim.baseline.validator_trust[0, far]
        < 0.5 * 65535
        < 0.9 * 65535
        < sim.scenario.validator_trust[0, far]
    )
    d = sim.scenario.dividends[:, far].astype(np.int64)
    assert d[-1] > 3 * d[0] and np.all(np.diff(d) >= 0)
    assert sim.affected_uids()[0] == far and sim.winners_losers()["uid"][0] == far


def run_cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["simulate", "--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_summary_names_the_scenarios_and_the_uids_they_move(demo_db: Path, capsys) -> None:
    far = DEMO_CASES[2]["far_from_consensus"]
    code, out, err = run_cli(
        capsys, demo_db, "--netuid", "2", "--epochs", "5", "--scenario", f"consensus:{far}"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("subnet 2 mechanism 0 · snapshot ") and lines[0].endswith("· 5 epochs")
    assert lines[1] == f"scenarios: consensus:{far}"
    first_row = lines[lines.index(next(line for line in lines if line.lstrip().startswith("uid "))) + 1]
    assert first_row.split()[0] == str(far) and first_row.rstrip().endswith("%")


def test_json_holds_every_epoch_and_uid_and_the_winners(demo_db: Path, capsys) -> None:
    code, out, err = run_cli(
        capsys,
        demo_db,
        "--netuid",
        "1",
        "--epochs",
        "3",
        "--scenario",
        "copy:37=1",
        "--scenario",
        "kappa=0.6",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["scenarios"] == ["copy:37=1", "kappa=0.6"] and doc["epochs"] == 3 and doc["netuid"] == 1
    snap = load_subnet(demo_db, doc["snapshot_id"], 1)
    assert len(doc["per_epoch"]) == 3 * snap.n
    row = doc["per_epoch"][snap.n + 37]  # epoch 1, uid 37
    assert (row["epoch"], row["uid"], row["hotkey"]) == (1, 37, snap.hotkeys[37])
    assert row["validator_trust_delta"] == row["validator_trust"] - row["validator_trust_baseline"]
    changes = [w["change_rao"] for w in doc["winners_losers"]]
    assert changes == sorted(changes, reverse=True) and changes


def test_csv_is_the_epochs_table_byte_for_byte(demo_db: Path, capsys, tmp_path: Path) -> None:
    target = tmp_path / "whatif.csv"
    code, _, err = run_cli(
        capsys, demo_db, "--netuid", "6", "--epochs", "4", "--scenario", "stake:1*3", "--csv", str(target)
    )
    assert code == 0, err
    snap = load_subnet(demo_db, latest_snapshot_id(demo_db), 6)
    sim = simulate.simulate(
        mechanism_inputs(snap, 0), [simulate.ScaleStake(1, 3.0)], 4, previous_consensus=snap.prev_consensus
    )
    assert target.read_bytes() == export.csv_bytes(epochs_frame(snap, sim))
    assert err == f"wrote {4 * snap.n} rows to {target}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "copy:5=999"], "scenario 'copy:5=999': uid 999 is not on this subnet (uids 0-255)"),
        (["--scenario", "kappa=1.2"], "scenario 'kappa=1.2': kappa must be between 0 and 1, got 1.2"),
        (
            ["--scenario", "weights:5=17:0"],
            "scenario 'weights:5=17:0': not a weight vector (weights must be 0 or between 1e-18 and 1e+18, one of them > 0)",
        ),
        (
            ["--scenario", "nonsense"],
            "unknown scenario 'nonsense'; expected one of: alpha, bma, consensus, copy, "
            "kappa, lagcopy, late, liquid, maxval, miner, penalty, stake, stop, weights, yuma3, zero",
        ),
        (["--epochs", "0"], "--epochs must be between 1 and 200, got 0"),
        (["--mechid", "3"], "subnet 1 has no mechanism 3 (mechanisms: 0)"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(demo_db: Path, capsys, args: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, demo_db, "--netuid", "1", *args)
    assert (code, out, err) == (2, "", f"error: {message}\n")


def test_a_missing_subnet_or_database_is_one_line(demo_db: Path, capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, demo_db, "--netuid", "99")
    assert code == 2 and err.startswith("error: subnet 99 ") and err.count("\n") == 1
    missing = tmp_path / "none.duckdb"
    code, _, err = run_cli(capsys, missing, "--netuid", "1")
    assert code == 2 and err.startswith(f"error: database {missing} does not exist") and err.count("\n") == 1
    assert not missing.exists()


def test_a_csv_that_cannot_be_written_leaves_nothing_behind(demo_db: Path, capsys, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir.csv"
    code, _, err = run_cli(capsys, demo_db, "--netuid", "1", "--epochs", "1", "--csv", str(target))
    assert code == 2 and err == f"error: cannot write {target}: folder {target.parent} does not exist\n"


def test_help_documents_the_grammar(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    for token in (
        "copy:U=V",
        "consensus:U",
        "lagcopy:U",
        "zero:U",
        "stake:U*F",
        "miner:J*F",
        "kappa=X",
        "late:U",
    ):
        assert token in out
