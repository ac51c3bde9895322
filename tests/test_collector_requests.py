"""The number of chain requests a collect sends per subnet stays low and does not grow with the
number of validators (issue 16): per-hotkey reads, the AlphaV2 prefix scans that count nominators
included, go out batched. Counts the fake chain's requests; no timing."""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from analytics.cli import collect as collect_cli
from analytics.data import collector
from tests.fakechain import FakeChain, account, epoch_timeline, fake_subtensor, random_subnet

pytestmark = pytest.mark.usefixtures("token_symbol_cache")

SUBNETS = 3
MAX_REQUESTS_PER_SUBNET = (
    20  # 16 today for a 1-mechanism subnet (19 before issue 16's batching); ~146 with one scan per hotkey
)
RUN_LEVEL = (
    "SubtensorModule.NetworksAdded",
    "SubtensorModule.TokenSymbol",
)  # 26 today for a 1-mechanism subnet; was ~146 with one scan per hotkey


def network(validators: int) -> FakeChain:
    """SUBNETS small subnets whose validators each have a different number of stakers."""
    chain = FakeChain(head=10_000)
    for netuid in range(1, SUBNETS + 1):
        sn = random_subnet(netuid, n=48, validators=validators, seed=netuid)
        sn.money.stakers = {
            hk: [account(f"staker-{netuid}-{uid}-{k}") for k in range(uid % 4)]
            for uid, hk in enumerate(sn.hotkeys[:validators])
        }
        for state in epoch_timeline(chain, sn, epoch_block=10_000 - 40 * netuid):
            state.dividends[validators:] = 0
            state.money.stakers = sn.money.stakers
    return chain


def collected(chain: FakeChain, db: Path) -> tuple[Counter, dict[str, int | None]]:
    """(requests by kind and item, stored nominators by hotkey) of one full collect."""
    chain.requests.clear()
    summary = collector.collect(fake_subtensor(chain), db, policy=collector.RetryPolicy(tries=1, timeout=60))
    assert summary.ok, summary.failed
    con = duckdb.connect(str(db), read_only=True)
    try:
        nominators = dict(con.execute("SELECT hotkey, nominators FROM hotkeys").fetchall())
    finally:
        con.close()
    # a batched request's name lists each key's item: keep the distinct items
    return Counter(
        (kind, ",".join(sorted(set(name.split(","))))) for kind, name, _, _ in chain.requests
    ), nominators


def test_requests_per_subnet_stay_low_and_do_not_grow_with_validators(tmp_path: Path) -> None:
    few, few_nominators = collected(network(validators=4), tmp_path / "few.duckdb")
    many, many_nominators = collected(network(validators=32), tmp_path / "many.duckdb")

    assert sum(many.values()) / SUBNETS <= MAX_REQUESTS_PER_SUBNET
    for run in (few, many):  # once per run, not per subnet (the token symbols are cached after the first)
        for item in RUN_LEVEL:
            run.pop(("query_map", item), None)
    assert many == few  # 8x the validators, not one request more of any kind
    assert many[("query_map_multi", "SubtensorModule.AlphaV2")] == SUBNETS  # one batched scan each
    assert not [key for key in many if key[1] == "SubtensorModule.AlphaV2" and key[0] != "query_map_multi"]
    # every subnet's epoch block in one request at the head, not one per subnet
    assert ("query", "SubtensorModule.LastMechansimStepBlock") not in many

    # Nothing lost: every validator's nominators counted, as many as it has stakers.
    for nominators, validators in ((few_nominators, 4), (many_nominators, 32)):
        for netuid in range(1, SUBNETS + 1):
            sn = random_subnet(netuid, n=48, validators=validators, seed=netuid)
            for uid, hk in enumerate(sn.hotkeys[:validators]):
                assert nominators[hk] == uid % 4, (netuid, uid)


def test_default_concurrency_reads_a_full_network_in_one_wave() -> None:
    """128 subnets at once by default, in the collector and the CLI alike (one wave of round trips)."""
    parser = argparse.ArgumentParser()
    collect_cli.add_arguments(parser)
    args = parser.parse_args([])
    assert args.concurrency == collector.RetryPolicy().concurrency == 128
    assert collect_cli.retry_policy(args, collector).concurrency == 128


class Node:
    """A node's JSON-RPC storage answers over one map (hex keys -> hex values), counting frames."""

    def __init__(self, storage: dict[str, str]) -> None:
        self.storage, self.frames = storage, []

    async def request_batch(self, requests: list[tuple[str, list]]) -> list:
        self.frames.append([method for method, _ in requests])
        return [self.answer(method, params) for method, params in requests]

    def answer(self, method: str, params: list) -> object:
        if method == "state_getKeysPaged":
            prefix, count, start, _ = params
            keys = sorted(k for k in self.storage if k.startswith(prefix) and k > start)
            return keys[:count]
        assert method == "state_queryStorageAt"
        return [{"block": params[1], "changes": [[k, self.storage.get(k)] for k in params[0]]}]


def test_rpc_prefix_scans_go_in_two_batched_round_trips_and_page_on(monkeypatch) -> None:
    """Over RPC: every prefix's keys in one JSON-RPC batch (again only for prefixes whose page was
    full), then every value in one batch; decoded with the runtime's own types (spec 343 ``Alpha``,
    the layout AlphaV2 keeps: hotkey, coldkey, netuid)."""
    from bittensor._transport.codec import RuntimeCodec, strip_option_opaque_metadata

    from tests.conftest import REALDATA, require_realdata

    real = require_realdata(REALDATA / "sdk-integration-sn1-6852690")
    blob = bytes.fromhex(
        (real / "integration_websocket_at_version.txt").read_text().strip().removeprefix("0x")
    )
    codec = RuntimeCodec(strip_option_opaque_metadata(blob), spec_version=343, transaction_version=1)
    entry = codec.storage_entry("SubtensorModule", "Alpha")
    hotkeys = [account(f"hk-{i}") for i in range(4)]
    positions = {  # hotkey -> {(coldkey, netuid): bits}; 7 positions page on at 3 keys a page
        hotkeys[0]: {(account(f"ck-{k}"), k % 3): 1000 + k for k in range(7)},
        hotkeys[1]: {(account("ck-x"), 5): 2**64},
        hotkeys[2]: {},
        hotkeys[3]: {(account(f"ck-{k}"), 1): k + 1 for k in range(3)},  # exactly one full page
    }
    storage = {
        "0x" + codec.storage_key(entry, [hk, ck, netuid]).hex(): "0x"
        + codec.encode(entry.value_type, {"bits": bits}).hex()
        for hk, held in positions.items()
        for (ck, netuid), bits in held.items()
    }
    node = Node(storage)

    class Raw:
        _session = node

        class _runtimes:  # the SDK's attribute name
            @staticmethod
            async def codec_at(_block_hash: str) -> RuntimeCodec:
                return codec

    class Substrate:
        async def _read(self, op):
            return await op(Raw())

    monkeypatch.setattr(collector, "KEYS_PAGE", 3)
    got = asyncio.run(
        collector._rpc_query_map_multi(
            Substrate(), "SubtensorModule", "Alpha", [[hk] for hk in hotkeys], "0xab"
        )
    )
    for hk, pairs in zip(hotkeys, got, strict=True):
        decoded = {tuple(key): collector._int(value) for key, value in pairs}
        assert decoded == positions[hk]
    # keys: all 4 prefixes, then the two whose page was full (0 and 3: 3 has none left), then 0 alone;
    # values: the 11 keys in 3-key chunks, all in one frame.
    assert node.frames == [["state_getKeysPaged"] * 4, ["state_getKeysPaged"] * 2, ["state_getKeysPaged"]] + [
        ["state_queryStorageAt"] * 4
    ]
