"""The collector's read path stays fast and gives the values the SDK's own would (issue 16's speed
work): a collect waits on few round trips in sequence (counted on a virtual clock, not timed),
``get_metagraph``'s record read as columns equals the SDK's ``Metagraph`` neurons, ragged records
included, and a collect leaves the garbage collector as it found it."""

from __future__ import annotations

import asyncio
import gc
import selectors
from pathlib import Path

import numpy as np
import pytest
from bittensor.metagraph import _build

from analytics.data import collector
from tests.fakechain import (
    FakeChain,
    epoch_timeline,
    fake_subtensor,
    metagraph_record,
    random_subnet,
    sample_network,
)

pytestmark = pytest.mark.usefixtures("token_symbol_cache")


class VirtualClock(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer instead of waiting for it: sleeping costs no
    real time and computing advances no clock, so a run's time on it is its round trips in sequence
    (the fake chain sleeps ``latency`` per request, three per block first touched)."""

    def __init__(self) -> None:
        loop = self

        class Jump(selectors.DefaultSelector):
            def select(self, timeout: float | None = None) -> list:
                if timeout:
                    loop.now += timeout
                return super().select(0)

        super().__init__(Jump())
        self.now = 0.0

    def time(self) -> float:
        return self.now


def round_trips(chain: FakeChain, db: Path, monkeypatch: pytest.MonkeyPatch) -> float:
    """The round trips a full collect waits on one after another (the chain's latency is one)."""
    loops: list[VirtualClock] = []

    def new_loop() -> VirtualClock:
        loops.append(VirtualClock())
        return loops[-1]

    monkeypatch.setattr(asyncio.events, "new_event_loop", new_loop)  # what asyncio.run opens
    chain.latency = 1.0
    summary = collector.collect(fake_subtensor(chain), db, policy=collector.RetryPolicy(tries=1, timeout=60))
    assert summary.ok, summary.failed
    assert len(loops) == 1
    return loops[0].now


def test_a_collect_waits_on_few_round_trips_in_sequence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connect, head block, the head's first touch (hash, header, runtime: 3), the anchor's reads with
    every epoch block (1), the epoch blocks' first touch (3), each subnet's graphs, hyperparameters and
    single values (1), then its weights, bonds, commits and validators' money (1): 11, whatever the
    number of subnets, mechanisms or commit-reveal (16 before issue 16's work). On a cold token-symbol
    cache the SDK reads the symbols as it connects (1); parents outside the validators add their
    reads (1) and their owners' identities (1)."""
    chain = FakeChain(head=10_000)
    for netuid in (1, 2, 3):  # plain, commit-reveal, two mechanisms
        sn = random_subnet(
            netuid,
            n=16,
            validators=4,
            seed=netuid,
            commit_reveal=netuid == 2,
            mechanisms=2 if netuid == 3 else 1,
            split=[30000, 35535] if netuid == 3 else None,
        )
        epoch_timeline(chain, sn, epoch_block=10_000 - 40 * netuid)
    assert round_trips(chain, tmp_path / "plain.duckdb", monkeypatch) == 1 + 11  # cold symbol cache

    parents, _ = sample_network()  # outside parents; a subnet that has run no epoch reads its own
    assert round_trips(parents, tmp_path / "parents.duckdb", monkeypatch) == 11 + 2  # warm cache


def ragged_record() -> dict:
    """A small subnet's record with the oddities a runtime may hand over: a short coldkeys vector,
    None entries, a vector longer than the hotkeys, a missing one."""
    record = metagraph_record(random_subnet(7, n=6, validators=2), 0, block=10_000)
    record["name"] = list("sübnet ✓".encode())
    record["coldkeys"] = record["coldkeys"][:4]
    record["consensus"] = [None, 65535, 1, 32768, 0, 7, 99]  # one past the hotkeys
    record["active"] = [True, None, 1, 0]
    record["alpha_stake"][2] = None
    record["emission"] = [2**64 - 1, *record["emission"][1:]]
    del record["dividends"]
    return record


def test_the_metagraph_record_read_as_columns_equals_the_sdk_s_neurons() -> None:
    record = ragged_record()
    sdk = _build(7, record, {})
    graph = collector._Graph(record)
    neurons = sdk.neurons

    assert len(graph) == len(neurons) == 6
    assert graph.hotkeys == [x.hotkey for x in neurons]
    assert graph.coldkeys() == [x.coldkey for x in neurons]  # "None" past the short vector, as the SDK
    assert (graph.name, graph.symbol, graph.owner_hotkey, graph.owner_coldkey, graph.tempo) == (
        sdk.name,
        sdk.symbol,
        sdk.owner_hotkey,
        sdk.owner_coldkey,
        sdk.tempo,
    )
    u16 = {"consensus": "consensus", "incentives": "incentive", "dividends": "dividends"}
    for key, attribute in u16.items():
        expected = [round(getattr(x, attribute) * 65535) for x in neurons]
        assert graph.column(key, np.uint16).tolist() == expected, key
    for key in ("alpha_stake", "tao_stake", "total_stake", "emission"):
        assert graph.column(key, np.uint64).tolist() == [getattr(x, key).rao for x in neurons], key
    for key in ("block_at_registration", "last_update"):
        assert graph.column(key, np.int64).tolist() == [getattr(x, key) for x in neurons], key
    for key in ("active", "validator_permit"):
        assert graph.column(key, bool).tolist() == [getattr(x, key) for x in neurons], key
    # cut to n uids (outputs read at e against the inputs' uids), zero past the record's neurons
    assert graph.column("consensus", np.uint16, 3).tolist() == [0, 65535, 1]
    assert graph.column("consensus", np.uint16, 8).tolist()[6:] == [0, 0]


@pytest.mark.parametrize("enabled", [True, False])
def test_a_collect_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path, enabled: bool) -> None:
    chain, _ = sample_network()
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        summary = collector.collect(
            fake_subtensor(chain),
            tmp_path / "lens.duckdb",
            netuids=[3],
            policy=collector.RetryPolicy(tries=1),
        )
        assert summary.ok, summary.failed
        assert gc.isenabled() is enabled
        with pytest.raises(collector.CollectorError):  # bad input raises: the collector is restored too
            collector.collect(fake_subtensor(chain), tmp_path / "lens.duckdb", netuids=[99])
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
