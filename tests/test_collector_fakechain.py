"""The fake chain answers as the real runtime does, and the collector reads a real mainnet record.

1. Shapes: every value the fake serves for a storage item or runtime call that a real runtime's
   metadata describes is SCALE-encoded and decoded back with the SDK's own codec for that runtime
   (finney, spec 343); decoding must give back exactly the fake's value, so keys, nesting, tuple vs
   list, ss58 strings and fixed-point dicts all match what the SDK receives from a node.
2. A real record: the recorded mainnet subnet 1 metagraph (block 6,852,690) is decoded from its
   SCALE bytes and served to the SDK; the collector's neurons table must hold the values an
   independent decoder (bittensor 10.2) saw.
Both use ../shared/realdata and skip, saying why, when it is absent (fail when $CI is set).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import bittensor as bt
import numpy as np
import pytest
from bittensor._transport.codec import RuntimeCodec, strip_option_opaque_metadata
from bittensor._transport.runtime_api import decode_runtime_api_result

from analytics.data import collector
from tests.conftest import require_realdata
from tests.fakechain import FakeChain, hyperparams_record, metagraph_record, random_subnet, sample_network

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata" / "sdk-integration-sn1-6852690"
require_realdata(REAL, module_level=True)


pytestmark = pytest.mark.usefixtures("token_symbol_cache")


@pytest.fixture(scope="module")
def codec() -> RuntimeCodec:
    blob = bytes.fromhex(
        (REAL / "integration_websocket_at_version.txt").read_text().strip().removeprefix("0x")
    )
    return RuntimeCodec(strip_option_opaque_metadata(blob), spec_version=343, transaction_version=1)


def round_trip(codec: RuntimeCodec, type_string: str, value):
    return codec.decode(type_string, codec.encode(type_string, value))


def storage_type(codec: RuntimeCodec, name: str) -> str:
    return codec.storage_entry("SubtensorModule", name).value_type


def api_output(codec: RuntimeCodec, method: str) -> str:
    return codec.runtime_api_map["SubnetInfoRuntimeApi"][method]["output"]


def served(chain: FakeChain, coro):
    async def run():
        await chain.block_hash(chain.head)  # register the head hash
        return await coro

    return asyncio.run(run())


def test_metagraph_records_decode_as_the_runtime_type(codec) -> None:
    sn = random_subnet(4, n=32, validators=8, mechanisms=2)
    for mechid in (0, 1):
        record = metagraph_record(sn, mechid, 12_345)
        decoded = round_trip(codec, api_output(codec, "get_mechagraph"), record)
        assert decoded == record


def test_storage_values_decode_as_the_runtime_types(codec) -> None:
    chain, epochs = sample_network()
    h = served(chain, chain.block_hash(chain.head))
    before_e = served(chain, chain.block_hash(epochs[2].e - 1))
    items = {
        ("Weights", 1, h): "query_map",
        ("Bonds", 1, h): "query_map",
        ("WeightCommits", 2, before_e): "query_map",
        ("ValidatorTrust", 1, h): "query",
        ("StakeWeight", 1, h): "query",
        ("Incentive", 4096 + 1, h): "query",
        ("LastUpdate", 4096 + 1, h): "query",
        ("MechanismEmissionSplit", 1, h): "query",
        ("MechanismCountCurrent", 1, h): "query",
        ("LastMechansimStepBlock", 1, h): "query",
        ("BondsPenalty", 1, h): "query",
        ("RevealPeriodEpochs", 2, h): "query",
        ("NetworksAdded", 1, h): "query",
    }
    for (name, index, block_hash), kind in items.items():
        if kind == "query":
            value = asyncio.run(chain.query("SubtensorModule", name, [index], block_hash))
            assert round_trip(codec, storage_type(codec, name), value) == value, name
        else:
            pairs = asyncio.run(chain.query_map("SubtensorModule", name, [index], block_hash))
            assert pairs, name
            for _, value in pairs:
                assert round_trip(codec, storage_type(codec, name), value) == value, name
    for _, symbol in asyncio.run(chain.query_map("SubtensorModule", "TokenSymbol", [], h)):
        assert round_trip(codec, storage_type(codec, "TokenSymbol"), symbol) == symbol
    for name in ("TaoWeight", "StakeThreshold"):
        value = asyncio.run(chain.query("SubtensorModule", name, [], h))
        assert round_trip(codec, storage_type(codec, name), value) == value, name


def test_timelocked_commits_and_hyperparameter_names_decode_alike(codec) -> None:
    chain, epochs = sample_network()
    block_hash = asyncio.run(chain.block_hash(epochs[2].e))
    pairs = asyncio.run(chain.query_map("SubtensorModule", "TimelockedWeightCommits", [2], block_hash))
    # Spec 343 names the same (hotkey, commit_block, ciphertext, reveal_round) layout CRV3WeightCommitsV2.
    value_type = storage_type(codec, "CRV3WeightCommitsV2")
    for _, commits in pairs:
        assert round_trip(codec, value_type, commits) == commits
    # SubnetHyperparamsV3 (newer than spec 343): names are Vec<u8>, which the codec hands over as text.
    for entry in hyperparams_record(random_subnet(4, n=4, validators=1)):
        assert round_trip(codec, "Vec<u8>", entry["name"].encode()) == entry["name"]


def test_fake_serves_what_the_sdk_reads_decode() -> None:
    chain, epochs = sample_network()

    async def run():
        async with bt.Subtensor("local", substrate=chain) as client:
            view = await client.at(epochs[1].e - 1)
            graph = await view.subnets.metagraph(1, commitments=False)
            hyper = await view.subnets.subnet_hyperparameters(1)
            split = await view.subnets.mechanism_emission_split(1)
            return graph, hyper, split

    graph, hyper, split = asyncio.run(run())
    before = epochs[1].before
    assert graph.hotkeys == before.hotkeys and graph.name == before.name and graph.symbol == before.symbol
    assert [n.alpha_stake.rao for n in graph.neurons] == before.alpha_stake.tolist()
    assert (
        hyper["kappa"] == before.kappa and hyper["alpha_sigmoid_steepness"] == before.alpha_sigmoid_steepness
    )
    assert hyper["yuma_version"] == 2 and split == before.emission_split


class RecordedSubnet1(FakeChain):
    """Serves the recorded mainnet subnet 1 metagraph (decoded from its SCALE bytes) at one block."""

    def __init__(self, codec: RuntimeCodec):
        super().__init__(head=6_852_690, spec_version=343)
        responses = json.loads((REAL / "websocket_responses_metagraph.json").read_text())["responses"]

        def recorded(method: str):
            for params, answer in responses["state_call"].items():
                if (
                    json.loads(params)[0] == f"SubnetInfoRuntimeApi_{method}"
                    or json.loads(params)[0] == method
                ):
                    return bytes.fromhex(answer["result"].removeprefix("0x"))
            raise KeyError(method)

        self.graph = decode_runtime_api_result(
            codec, "SubnetInfoRuntimeApi", "get_selective_mechagraph", recorded("get_selective_mechagraph")
        )
        lite = decode_runtime_api_result(
            codec,
            "NeuronInfoRuntimeApi",
            "get_neurons_lite",
            recorded("NeuronInfoRuntimeApi_get_neurons_lite"),
        )
        self.trust = [int(n["validator_trust"]) for n in sorted(lite, key=lambda n: n["uid"])]
        n = len(self.graph["hotkeys"])
        self.template = random_subnet(1, n=n, validators=1, with_weights=False)
        self.template.commit_reveal = bool(self.graph["commit_reveal_weights_enabled"])
        self.template.tempo = int(self.graph["tempo"])
        self.template.last_mechanism_step_block = int(self.graph["last_step"])
        self.set_subnet(0, self.template)
        self.spec = 343  # the runtime the record was taken on: the oldest the collector supports

    async def runtime_call(self, api, method, params, block_hash=None):
        if method == "get_metagraph":
            await self._gate()
            return dict(self.graph)
        return await super().runtime_call(api, method, params, block_hash)

    def _stored(self, module, storage_function, params, block):
        if storage_function == "ValidatorTrust":
            return list(self.trust)
        if storage_function == "StakeWeight":
            return []
        return super()._stored(module, storage_function, params, block)


def test_collector_reads_a_real_mainnet_metagraph(codec) -> None:
    chain = RecordedSubnet1(codec)
    truth = json.loads((REAL / "sn1_block6852690_metagraph_decoded.json").read_text())

    async def run():
        async with bt.Subtensor("local", substrate=chain) as client:
            return await collector._fetch_subnet(client, 1, chain.head, chain.head)

    rows = asyncio.run(run())
    tables = collector.build_tables([rows])
    neurons = tables["neurons"].to_pandas()
    n = truth["n"]
    assert len(neurons) == n == 1024
    assert neurons.hotkey.tolist() == truth["hotkeys"] and neurons.coldkey.tolist() == truth["coldkeys"]
    u16 = lambda key: np.rint(np.asarray(truth[key], dtype=np.float64) * 65535).astype(int)  # noqa: E731
    np.testing.assert_array_equal(neurons.consensus.to_numpy(), u16("C"))
    np.testing.assert_array_equal(neurons.dividends.to_numpy(), u16("D"))
    np.testing.assert_array_equal(neurons.validator_trust.to_numpy(), u16("Tv"))
    incentive = tables["mechanism_neurons"].to_pandas().incentive.to_numpy()
    np.testing.assert_array_equal(incentive, u16("I"))
    assert incentive[395] == 65535 and incentive.sum() == 65535  # winner-takes-all on the owner's uid
    np.testing.assert_array_equal(neurons.block_at_registration.to_numpy(), truth["block_at_registration"])
    np.testing.assert_array_equal(
        tables["mechanism_neurons"].to_pandas().last_update.to_numpy(), truth["last_update"]
    )
    assert neurons.active.tolist() == [bool(a) for a in truth["active"]]
    assert neurons.validator_permit.tolist() == truth["validator_permit"]
    # Stakes and emission: the 10.2 dump is float32 token units; ours are exact rao.
    np.testing.assert_allclose(neurons.alpha_stake.to_numpy() / 1e9, truth["AS"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(neurons.emission.to_numpy() / 1e9, truth["E"], rtol=1e-6, atol=1e-6)
    subnet = tables["subnets"].to_pylist()[0]
    assert subnet["spec_version"] == collector.OLDEST_SUPPORTED_SPEC == 343
    assert subnet["name"] == truth["name"] and subnet["owner_hotkey"] == truth["owner_hotkey"]
    assert neurons.is_owner.sum() == 1 and neurons.hotkey[neurons.is_owner].iloc[0] == truth["owner_hotkey"]
