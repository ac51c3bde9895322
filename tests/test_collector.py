"""The collector, end to end on the real bittensor 11 SDK over the in-memory fake chain.

What lands in the tables must equal what the chain holds, value for value, read at the right
blocks (inputs at e - 1, weights at e on commit-reveal subnets, outputs at e).
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import bittensor as bt
import numpy as np
import pyarrow as pa
import pytest

from analytics.cli import collect as collect_cli
from analytics.data import collector, store
from tests.conftest import assert_rows_equal
from tests.fakechain import Matrix, expected_rows, sample_network

pytestmark = pytest.mark.usefixtures("token_symbol_cache")


def fetch_tables(chain, netuids, block=None) -> dict[str, pa.Table]:
    async def run():
        async with bt.Subtensor("local", substrate=chain) as client:
            head = await client.block()
            rows = [await collector._fetch_subnet(client, s, head, block) for s in netuids]
        return collector.build_tables(rows)

    return asyncio.run(run())


def rows_of(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def test_tables_have_exactly_the_schema_columns(tmp_path: Path) -> None:
    """The Arrow schemas carry exactly the columns of the migrated schema (every migration applied)."""
    db = tmp_path / "schema.duckdb"
    store.initialise(db)
    for table, schema in collector.SCHEMAS.items():
        columns = list(store.table_contents(db, table).columns)
        assert schema.names == [c for c in columns if c != "snapshot_id"], table


def test_aligned_snapshot_equals_the_chain_value_for_value() -> None:
    chain, epochs = sample_network()
    netuids = sorted(epochs)
    tables = fetch_tables(chain, netuids)
    expected = expected_rows(chain, epochs)
    for table in store.TABLES:
        assert_rows_equal(rows_of(tables[table]), expected[table], table)


def test_weights_are_read_where_the_epoch_saw_them() -> None:
    chain, epochs = sample_network()
    tables = fetch_tables(chain, [1, 2])
    w = tables["weights"].to_pandas()
    # Commit-reveal subnet: the reveals in block e are the weights; they differ from block e - 1's.
    cr = epochs[2]
    got = sorted(map(tuple, w[w.netuid == 2][["validator_uid", "miner_uid", "weight"]].to_numpy().tolist()))
    assert got == cr.at_e.mechanisms[0].weights.entries()
    assert got != cr.before.mechanisms[0].weights.entries()
    # Plain subnet: block e's own set_weights came after the epoch, so e - 1 holds its weights.
    plain = epochs[1]
    got = sorted(
        map(
            tuple,
            w[(w.netuid == 1) & (w.mechid == 1)][["validator_uid", "miner_uid", "weight"]]
            .to_numpy()
            .tolist(),
        )
    )
    assert got == plain.before.mechanisms[1].weights.entries() != plain.at_e.mechanisms[1].weights.entries()


def test_explicit_zero_weights_and_the_reregistered_uid_are_kept() -> None:
    chain, epochs = sample_network()
    tables = fetch_tables(chain, [1])
    w = tables["weights"].to_pandas()
    zeros = w[w.weight == 0]
    assert len(zeros) > 100  # explicit zeros stored, not dropped like the SDK's weights() read does
    to_200 = w[(w.miner_uid == 200) & (w.validator_uid != 200)]
    assert len(to_200) == 2 * 64 - 1 or len(to_200) == 2 * 64  # every validator row keeps its entry
    assert (to_200.weight == 0).all()
    neurons = tables["neurons"].to_pandas().set_index("uid")
    # uid 200 as the epoch saw it: the hotkey registered at e - 50, not the one registered in block e.
    assert neurons.loc[200, "hotkey"] == epochs[1].before.hotkeys[200]
    assert neurons.loc[200, "block_at_registration"] == epochs[1].e - 50


def test_two_mechanisms_with_an_uneven_split() -> None:
    chain, _ = sample_network()
    tables = fetch_tables(chain, [1])
    subnet = tables["subnets"].to_pylist()[0]
    assert subnet["mechanism_count"] == 2 and subnet["emission_split"] == [16384, 49151]
    mech = tables["mechanism_neurons"].to_pandas()
    assert sorted(mech.mechid.unique()) == [0, 1]
    assert (mech.groupby("mechid").size() == 256).all()
    inc0 = mech[mech.mechid == 0].incentive.to_numpy()
    inc1 = mech[mech.mechid == 1].incentive.to_numpy()
    assert not np.array_equal(inc0, inc1)


def test_subnet_without_weights_and_subnet_without_an_epoch() -> None:
    chain, epochs = sample_network()
    tables = fetch_tables(chain, [3, 5])
    w = tables["weights"].to_pandas()
    assert len(w[w.netuid == 3]) == 0
    subnets = {r["netuid"]: r for r in tables["subnets"].to_pylist()}
    assert subnets[3]["aligned"] and subnets[3]["epoch_block"] == epochs[3].e
    assert not subnets[5]["aligned"] and subnets[5]["epoch_block"] is None
    assert subnets[5]["inputs_block"] == subnets[5]["outputs_block"] == chain.head


def test_commit_blocks_as_the_epoch_saw_them() -> None:
    chain, epochs = sample_network()
    tables = fetch_tables(chain, [2])
    mech = tables["mechanism_neurons"].to_pandas()
    got = {int(r.uid): int(r.commit_block) for r in mech.itertuples() if not np.isnan(r.commit_block)}
    assert got == epochs[2].commit_blocks  # expired, foreign and block-e commits left out


def test_every_read_is_pinned_to_the_epoch_blocks() -> None:
    """Every read of a subnet's snapshot (consensus and money alike, hotkey-keyed ones included) is at
    e - 1 or e; only the epoch block itself is looked up at the head."""
    for netuid in (1, 2):
        chain, epochs = sample_network()
        fetch_tables(chain, [netuid])
        e = epochs[netuid].e
        head_reads = ("LastMechansimStepBlock", "TokenSymbol")  # the epoch block; the SDK's symbol cache
        blocks = {block for _, name, _, block in chain.requests if not name.endswith(head_reads)}
        assert blocks == {e - 1, e}, (netuid, blocks)
        money = {part.split(".")[-1] for _, name, _, _ in chain.requests for part in name.split(",")}
        assert {"PendingServerEmission", "AlphaDividendsPerSubnet", "Delegates", "ParentKeys"} <= money


def test_pinned_block_reads_everything_there_and_is_not_aligned() -> None:
    chain, epochs = sample_network()
    block = chain.head - 5
    tables = fetch_tables(chain, [1, 2], block=block)
    expected = expected_rows(chain, {s: epochs[s] for s in (1, 2)}, block=block)
    for table in ("subnets", "neurons", "mechanism_neurons", "weights", "bonds", "bonds_after", "hotkeys"):
        if table == "mechanism_neurons":  # commit blocks at B follow the next epoch's view; compare the rest
            for r in expected[table]:
                r.pop("commit_block")
            actual = [{k: v for k, v in r.items() if k != "commit_block"} for r in rows_of(tables[table])]
        else:
            actual = rows_of(tables[table])
        assert_rows_equal(actual, expected[table], table)
    assert not any(r["aligned"] for r in tables["subnets"].to_pylist())


def test_sparse_rows_keep_explicit_zeros_and_order() -> None:
    rows = [(3, [(1, 0), (2, 65535)]), (1, [(0, 7)]), (2, [])]
    assert collector._sparse(rows).tolist() == [[1, 0, 7], [3, 1, 0], [3, 2, 65535]]
    assert collector._sparse([]).shape == (0, 3)


def test_commit_block_rules() -> None:
    uid_of = {"a": 0, "b": 1, "c": 2}
    got = collector._commit_blocks(
        3,
        uid_of,
        epoch_block=1000,
        current_epoch=5,
        reveal_period=1,
        v2_reads=[[("a", [("h", 3, 100, 0), ("h", 4, 400, 0)])]],  # epoch 3 expired: first active is 400
        v4_read=[(4, [("b", 900, "x", 1), ("b", 950, "x", 1)]), (5, [("c", 1000, "x", 1)])],
    )
    assert got.tolist() == [400, 900, -1]


def test_parse_netuids_and_networks() -> None:
    assert collector.parse_netuids("all") is None
    assert collector.parse_netuids(" 1, 3,5,3 ") == [1, 3, 5]
    for bad in ("", "1,,2", "a", "1;2", "-1", "70000", "1.5"):
        with pytest.raises(collector.CollectorError, match="malformed netuid list"):
            collector.parse_netuids(bad)
    for ok in ("finney", "test", "archive", "local", "ws://127.0.0.1:9944", "wss://node.example:443"):
        assert collector.check_network(ok) == ok
    for bad in ("mainnet", "http://x", "ws://", ""):
        with pytest.raises(collector.CollectorError, match="unknown network"):
            collector.check_network(bad)


def test_matrix_round_trip() -> None:
    dense = np.array([[0, 5, 0], [0, 0, 0], [9, 0, 0]])
    present = np.array([[True, True, False], [False, False, False], [True, False, True]])
    m = Matrix.from_dense(dense, present)
    assert m.entries() == [(0, 0, 0), (0, 1, 5), (2, 0, 9), (2, 2, 0)]


def test_runtimes_without_hyperparams_v3_fall_back_to_the_metagraph_record() -> None:
    chain, epochs = sample_network()
    epochs[2].before.yuma3 = True
    epochs[2].before.alpha_sigmoid_steepness = 800
    modern = fetch_tables(chain, [1, 2])["subnets"].to_pylist()
    chain.legacy_runtime = True
    tables = fetch_tables(chain, [1, 2])
    legacy = tables["subnets"].to_pylist()
    assert legacy == modern
    assert legacy[1]["yuma3"] and legacy[1]["alpha_sigmoid_steepness"] == 800
    # Commits are judged against the legacy epoch number (block + netuid + 1) // (tempo + 1).
    e = epochs[2].e
    assert (e + 2 + 1) // 361 > 11  # here far past the fake's counter: every commit has expired
    assert tables["mechanism_neurons"].to_pandas().query("netuid == 2").commit_block.isna().all()


def test_a_runtime_without_the_money_items_still_stores_the_subnet() -> None:
    """Older runtimes lack the pool price API and the dividend maps: the consensus rows are stored as
    before, and every money value is unknown (None), never a made-up zero."""
    chain, epochs = sample_network()
    modern = fetch_tables(chain, [1])
    chain.without_money = True
    tables = fetch_tables(chain, [1])
    for table in ("neurons", "weights", "bonds"):
        assert tables[table].to_pylist() == modern[table].to_pylist()
    subnet = tables["subnets"].to_pylist()[0]
    for column in (
        "epoch_emission",
        "pending_server",
        "price_rao",
        "tao_reserve",
        "ck_burn",
        "emission_gate_bar",
    ):
        assert subnet[column] is None, column
    assert subnet["epoch_spec_version"] == 440  # System.LastRuntimeUpgrade at e (the head runs 459)
    rows = tables["hotkeys"].to_pylist()
    assert rows and all(r["alpha_dividends"] is None and r["delegate_take"] is None for r in rows)
    assert tables["child_keys"].num_rows == 0


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, so the collect command draws its rich progress bar."""

    def isatty(self) -> bool:
        return True


def progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> tuple[collect_cli._Progress, Terminal]:
    """The collect command's progress reporter drawing on a fake terminal, and that terminal."""
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    return collect_cli._Progress(), screen


def test_progress_bar_on_a_terminal(monkeypatch) -> None:
    bar, screen = progress_on_a_terminal(monkeypatch)
    for done in range(1, 5):
        bar(done, 4, done, True)
    bar.finish()
    # rich.progress draws the bar: the last frame (escape codes removed) is the full bar at 4/4
    frames = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", f) for f in screen.getvalue().split("\r")]
    assert frames[-1].startswith("collecting " + "━" * 30 + " 4/4 subnets") and frames[-1].endswith("\n")
    assert "sn4" in frames[-1]


def test_progress_bar_names_a_failed_read(monkeypatch) -> None:
    bar, screen = progress_on_a_terminal(monkeypatch)
    bar(1, 4, 3, True)
    bar(1, 4, 7, False)
    bar.finish()
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue().split("\r")[-1])
    assert "1/4 subnets" in last and "sn7 failed, will retry" in last


def test_retries_get_a_fresh_client() -> None:
    rpc = bt.Subtensor("ws://127.0.0.1:1")
    again = collector.fresh_subtensor(rpc)
    assert again is not rpc and again.endpoint == rpc.endpoint
    assert again._client._substrate is not rpc._client._substrate  # a new connection, not the stuck one
    named = collector.fresh_subtensor(bt.Subtensor("test"))
    assert named.network == "test"
    chain, _ = sample_network()
    fake = collector.fresh_subtensor(bt.Subtensor("local", substrate=chain))
    assert fake._client._substrate is chain and fake.network == "local"


def test_concurrency_is_bounded(tmp_path, monkeypatch) -> None:
    chain, _ = sample_network()
    chain.latency = 0.002  # every read yields to the loop, so subnets really interleave
    running = most = 0
    real_fetch = collector._fetch_subnet

    async def counted(*args, **kwargs):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await real_fetch(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(collector, "_fetch_subnet", counted)
    policy = collector.RetryPolicy(tries=1, timeout=10, concurrency=2)
    summary = collector.collect(bt.Subtensor("local", substrate=chain), tmp_path / "x.duckdb", policy=policy)
    assert summary.ok and summary.stored == [1, 2, 3, 5]
    assert most == 2


def test_a_whole_network_snapshot_stores_each_subnets_share_of_block_emission(tmp_path) -> None:
    chain, epochs = sample_network()
    db = tmp_path / "lens.duckdb"
    policy = collector.RetryPolicy(tries=1, timeout=10, backoff=0.01)
    summary = collector.collect(bt.Subtensor("local", substrate=chain), db, policy=policy)
    assert summary.ok and summary.stored == [1, 2, 3, 5]
    shares = store.money_subnets(db, [summary.snapshot_id]).set_index("netuid")["emission_share"]
    assert shares.sum() == pytest.approx(1.0)
    flows = {s: epochs[s].at_e.money.tao_in_emission + epochs[s].at_e.money.excess_tao for s in (1, 2, 3)}
    for netuid, flow in flows.items():
        assert shares[netuid] == pytest.approx(flow / sum(flows.values()))
    assert shares[5] == 0.0  # no emission into it in its block
    some = collector.collect(
        bt.Subtensor("local", substrate=chain), tmp_path / "some.duckdb", netuids=[1, 2], policy=policy
    )
    assert store.money_subnets(tmp_path / "some.duckdb", [some.snapshot_id])["emission_share"].isna().all()
