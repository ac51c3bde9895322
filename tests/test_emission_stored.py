"""`split --netuid`: the split applied to a stored subnet's incentives and dividends, per UID.

The database is written through the real store (analytics.data.store.ingest_snapshot) with a small
two-mechanism subnet modelled on subtensor's `epoch_with_mechanisms_persists_and_aggregates_all_terms`
(vectors V14): validator 0 holds the stake and sets weights; miners 1 and 2 earn incentive.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from analytics.cli import main
from tests.conftest import subnet_row

store = pytest.importorskip("analytics.data.store")
pytest.importorskip("analytics.data.snapshot")

NETUID = 7
SPLIT = [16383, 49152]
E = 10**9  # the stored epoch emission, owner cut already taken
INCENTIVE = [[0, 39320, 26213], [0, 13106, 52427]]  # per mechanism (V14 replay)
DIVIDENDS = [65535, 0, 0]
STORED_EMISSION = [500_000_000, 123, 456]  # arbitrary: the stored Emission is not the payout


# Every subnet's fixed columns: a Yuma2 subnet of three neurons whose name is an untrusted chain string
# (a terminal escape), snapshotted at block 1000 off its epoch (no epoch block recorded).
SUBNET_COLUMNS = {
    "name": "mech\x1b[31mtest", "symbol": "m", "owner_hotkey": "hk0", "owner_coldkey": "ck0", "n": 3,
    "yuma3": False, "aligned": False, "epoch_block": None, "inputs_block": 1000, "weights_block": 1000,
    "outputs_block": 1000, "last_mechanism_step_block": 0,
}  # fmt: skip


def _tables(netuid: int, mechanism_count: int, split: list[int] | None, epoch_emission: int | None) -> dict:
    neurons = [
        dict(
            netuid=netuid,
            uid=uid,
            hotkey=f"hk{uid}",
            coldkey=f"ck{uid}",
            is_owner=uid == 0,
            block_at_registration=1,
            alpha_stake=10**12 if uid == 0 else 0,
            tao_stake=0,
            total_stake=10**12 if uid == 0 else 0,
            validator_permit_prev=uid == 0,
            prev_consensus=0,
            active=True,
            validator_permit=uid == 0,
            stake_weight=65535 if uid == 0 else 0,
            consensus=0,
            validator_trust=65534 if uid == 0 else 0,
            dividends=DIVIDENDS[uid],
            emission=STORED_EMISSION[uid],
        )
        for uid in range(3)
    ]
    subnet = (
        subnet_row(
            netuid=netuid,
            mechanism_count=mechanism_count,
            emission_split=split,
            epoch_emission=epoch_emission,
        )
        | SUBNET_COLUMNS
    )
    mech_rows, weights = [], []
    mech_weights = [[(1, 39321), (2, 26214)], [(1, 13107), (2, 52428)]]
    for m in range(mechanism_count):
        for uid in range(3):
            mech_rows.append(
                dict(
                    netuid=netuid,
                    mechid=m,
                    uid=uid,
                    last_update=999,
                    commit_block=None,
                    prev_incentive=0,
                    incentive=INCENTIVE[m][uid],
                )
            )
        for miner, weight in mech_weights[m]:
            weights.append(dict(netuid=netuid, mechid=m, validator_uid=0, miner_uid=miner, weight=weight))
    return {
        "subnets": pa.Table.from_pylist([subnet]),
        "neurons": pa.Table.from_pylist(neurons),
        "mechanism_neurons": pa.Table.from_pylist(mech_rows),
        "weights": pa.Table.from_pylist(weights),
    }


def write_split_db(path: Path) -> Path:
    """Subnet 7: two mechanisms, split [16383, 49152], E = 1e9 rao; subnet 8: one mechanism, E = 5000;
    subnet 9: two mechanisms, even split, no recorded epoch emission; subnet 10: a damaged split [1, 2]."""
    tables = _tables(NETUID, 2, SPLIT, E)
    for netuid, count, split, emission in [(8, 1, None, 5000), (9, 2, None, None), (10, 2, [1, 2], 5000)]:
        for name, table in _tables(netuid, count, split, emission).items():
            tables[name] = pa.concat_tables([tables[name], table], promote_options="permissive")
    meta = dict(network="test", block=1000, taken_at=datetime(2026, 1, 1), source="import")
    assert store.ingest_snapshot(path, store.SnapshotData(meta=meta, tables=tables)) == 1
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_split_db(tmp_path_factory.mktemp("split") / "split.duckdb")


def split_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["split", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def expected_payouts(split: list[int] | None, total: int) -> tuple[list[list[int]], list[list[int]]]:
    """Independent reference: the chain's split, halves, then pro rata by the u16 values."""
    amounts = [total * s // 65535 for s in split] if split else [total // 2] * 2
    amounts[0] += total - sum(amounts)
    miners, validators = [], []
    for m, amount in enumerate(amounts):
        pool_m, pool_v = amount // 2, amount - amount // 2
        miners.append([pool_m * i // sum(INCENTIVE[m]) for i in INCENTIVE[m]])
        validators.append([pool_v * d // sum(DIVIDENDS) for d in DIVIDENDS])
    return miners, validators


def test_stored_split_applied_to_stored_incentive_and_dividends(db: Path, capsys) -> None:
    data = split_json(capsys, "--netuid", str(NETUID), "--db", str(db))
    assert data["split"] == SPLIT
    assert data["emission_is_stored_epoch_emission"] is True
    assert data["owner_rao"] == 0
    assert [m["emission_rao"] for m in data["mechanisms"]] == [249_988_556, 750_011_444]
    miners, validators = expected_payouts(SPLIT, E)
    uids = data["uids"]
    assert [u["incentive"] for u in uids] == [list(col) for col in zip(*INCENTIVE, strict=True)]
    for uid, record in enumerate(uids):
        assert record["miner_rao"] == [miners[0][uid], miners[1][uid]]
        assert record["validator_rao"] == [validators[0][uid], validators[1][uid]]
        assert record["total_rao"] == sum(record["miner_rao"]) + sum(record["validator_rao"])
        assert record["stored_emission_rao"] == STORED_EMISSION[uid]
    assert uids[0]["validator_rao"] == [124_994_278, 375_005_722]
    assert data["subnet"]["dividends_source"] in {"recomputed", "netuid-level"}
    assert any("not the payout" in note for note in data["notes"])


def test_what_if_split_on_a_stored_subnet(db: Path, capsys) -> None:
    data = split_json(capsys, "--netuid", str(NETUID), "--db", str(db), "--percent", "50,50")
    assert data["split"] == [32768, 32767]
    assert data["subnet"]["stored_split"] == SPLIT
    miners, _ = expected_payouts([32768, 32767], E)
    assert [u["miner_rao"] for u in data["uids"]][2] == [miners[0][2], miners[1][2]]


def test_hypothetical_emission_takes_the_owner_cut(db: Path, capsys) -> None:
    data = split_json(capsys, "--netuid", str(NETUID), "--db", str(db), "--emission", "100")
    assert data["emission_is_stored_epoch_emission"] is False
    assert data["owner_rao"] == 17_999_542_225


def test_single_mechanism_subnet_uses_stored_dividends(db: Path, capsys) -> None:
    data = split_json(capsys, "--netuid", "8", "--db", str(db))
    assert data["mechanism_count"] == 1
    assert data["subnet"]["dividends_source"] == "stored"
    assert [u["total_rao"] for u in data["uids"]] == [2500, 2500 * 39320 // 65533, 2500 * 26213 // 65533]
    assert not any("not the payout" in note for note in data["notes"])


def test_text_output_escapes_chain_strings(db: Path, capsys) -> None:
    assert main(["split", "--netuid", str(NETUID), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "mech\\x1b[31mtest" in out
    assert "note: The stored Emission is not the payout" in out
    header = next(line for line in out.splitlines() if line.startswith("uid"))
    assert header.split() == [
        "uid",
        "hotkey",
        "I0",
        "miner0",
        "D0",
        "validator0",
        "I1",
        "miner1",
        "D1",
        "validator1",
        "total",
        "stored",
        "Emission",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--netuid", "99"], "subnet 99 is not in snapshot 1"),
        (["--netuid", str(NETUID), "--snapshot", "5"], "no snapshot 5"),
        (["--netuid", str(NETUID), "--split", "1,2,65532"], "3 values for 2 mechanisms"),
        (["--netuid", str(NETUID), "--mechanisms", "3"], "has 2 mechanisms, not 3"),
        (["--netuid", "9"], "no stored epoch emission"),
        (["--netuid", "10"], "stored split 1,2 is not valid (values sum to 3"),
    ],
)
def test_stored_subnet_errors(db: Path, capsys, argv: list[str], message: str) -> None:
    assert main(["split", *argv, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_missing_database_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["split", "--netuid", "1", "--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("\n") == 1


def test_payout_inputs_shapes(db: Path) -> None:
    from analytics.views.split import load_stored_subnet

    snap, inputs = load_stored_subnet(db, 1, NETUID)
    assert inputs.mechids == (0, 1)
    assert np.array_equal(inputs.incentive, np.array(INCENTIVE))
    assert inputs.dividends.shape == (2, 3)
    assert snap.split == SPLIT


def test_database_from_the_environment(db: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(db))
    assert split_json(capsys, "--netuid", "8")["subnet"]["netuid"] == 8


def test_demo_two_mechanism_subnet(demo_db: Path, capsys) -> None:
    """The demo's subnet 4 runs two mechanisms with a 70/30 split; every rao of E is accounted for."""
    data = split_json(capsys, "--netuid", "4", "--db", str(demo_db))
    assert data["split"] == [45875, 19660]
    assert [round(m["percent"], 2) for m in data["mechanisms"]] == [70.0, 30.0]
    assert data["subnet"]["dividends_source"] == "recomputed"
    paid = sum(u["total_rao"] for u in data["uids"])
    assert paid + sum(data["subnet"]["unpaid_rao"]) == data["epoch_emission_rao"]
    assert sum(data["subnet"]["unpaid_rao"]) < 2 * len(data["uids"])  # flooring only
    stored = sum(u["stored_emission_rao"] for u in data["uids"])
    assert stored < 0.7 * paid  # Σ w_m² E: the stored Emission is not the payout


def test_owner_miner_payout_is_flagged_as_burned(demo_db: Path, capsys) -> None:
    """Demo subnet 5 burns: its owner's UID takes incentive, which the chain recycles instead of paying."""
    data = split_json(capsys, "--netuid", "5", "--db", str(demo_db))
    burn = [n for n in data["notes"] if "belong to the subnet owner" in n]
    assert len(burn) == 1
    named = {int(u) for u in re.search(r"UID\(s\) ([\d, ]+) belong", burn[0]).group(1).split(",")}
    assert named and all(sum(data["uids"][u]["miner_rao"]) > 0 for u in named)
