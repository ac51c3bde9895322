"""The collector's cheaper read paths give the values the SDK's own would (issue 16's speed work):
``get_metagraph``'s record read as columns equals the SDK's ``Metagraph`` neurons, ragged records
included, and a collect leaves the garbage collector as it found it."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
from bittensor.metagraph import _build

from analytics.data import collector
from tests.fakechain import fake_subtensor, metagraph_record, random_subnet, sample_network

pytestmark = pytest.mark.usefixtures("token_symbol_cache")


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
