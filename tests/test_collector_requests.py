"""The number of chain requests a collect sends per subnet stays low and does not grow with the
number of validators (issue 16): per-hotkey reads, the AlphaV2 prefix scans that count nominators
included, go out batched. Counts the fake chain's requests; no timing."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from analytics.cli import collect as collect_cli
from analytics.data import collector
from tests.fakechain import FakeChain, account, epoch_timeline, fake_subtensor, random_subnet

pytestmark = pytest.mark.usefixtures("token_symbol_cache")

SUBNETS = 3
MAX_REQUESTS_PER_SUBNET = 30  # 26 today for a 1-mechanism subnet; was ~146 with one scan per hotkey
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
    return Counter((kind, name) for kind, name, _, _ in chain.requests), nominators


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
