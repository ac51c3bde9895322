"""Snapshot subnets and mechanisms from the chain into the store (the only module importing bittensor).

One code path for tests and production: :func:`collect` takes an unopened ``bittensor.Subtensor``
(a real network, or ``bt.Subtensor(network, substrate=fake)`` in tests), opens it in its async
form, reads every requested subnet concurrently over that one client, builds Arrow tables in
memory, and writes them in one short transaction through ``analytics.data.store.ingest_snapshot``.

Epoch alignment (see analytics/schema.sql and ../shared/design/yuma.md §3). For a subnet whose last
epoch ran at block e (``LastMechansimStepBlock``, sic):
  * inputs are read at e - 1: stake, permits, bonds, last_update per mechanism,
    block_at_registration, hyperparameters, TaoWeight, owner, previous consensus and incentive;
  * weights at e on commit-reveal subnets (the reveals the epoch used land inside block e, before
    it) and at e - 1 otherwise (block e's own set_weights run after the epoch);
  * each validator's earliest unexpired weight commit as the epoch saw it (commit-reveal mask);
  * outputs at e: consensus, incentive per mechanism, validator trust, dividends, emission, new
    bonds and permits, stake weight.
With ``block=B`` every read is pinned to B and the snapshot is marked as not epoch-aligned.

Reliability: each attempt runs under ``asyncio.wait_for`` deadlines (the SDK can wait minutes on a
silent node), a failed attempt is retried on a fresh client after an exponential backoff with
jitter, a bounded number of times, and only for the subnets still missing. A subnet is stored whole
or not at all; failures are recorded in ``collection_runs``. A lock file next to the database keeps
two runs from overlapping.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import importlib.metadata
import itertools
import json
import logging
import os
import random
import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bittensor as bt
import numpy as np
import pyarrow as pa
from bittensor.metagraph import _text as _metagraph_text  # the SDK's own name/symbol decoding
from bittensor.reads.base import utf8_text
from filelock import FileLock, Timeout
from websockets.exceptions import ConnectionClosedOK

from analytics.data import store
from analytics.errors import CollectorBusy, CollectorError

__all__ = ["CollectorBusy", "CollectorError", "RetryPolicy", "collect"]

log = logging.getLogger("analytics.data.collector")

ST = bt.storage.SubtensorModule
SUBNET_API = bt.runtime_api.SubnetInfoRuntimeApi
MECHANISM_STRIDE = 4096  # storage index of mechanism m of subnet s: m * 4096 + s
U16_MAX = 65535
NETWORK_NAMES = ("finney", "test", "archive", "local")


@dataclass
class RetryPolicy:
    """Deadlines and retry schedule; tests inject short ones."""

    tries: int = 4  # attempts per subnet (and for connecting)
    timeout: float = 180.0  # seconds: one subnet's reads, or connecting and listing subnets
    close_timeout: float = 10.0  # seconds: closing a client (a clean close can hang forever)
    backoff: float = 5.0  # seconds before the 2nd attempt; doubles each time, with jitter
    backoff_max: float = 120.0
    # How long a write waits while readers hold the database lock: as long as db_tries attempts
    # db_backoff, 2 * db_backoff, ... apart would, on top of the store's own LOCK_WAIT_SECONDS. The
    # store does the waiting (one retry layer); these only size it.
    db_tries: int = 5
    db_backoff: float = 2.0
    concurrency: int = 128  # subnets read at once over the one client (each subnet is ~26 requests)

    def delay(self, attempt: int, base: float | None = None) -> float:
        """Exponential backoff with full jitter in [0.5, 1] of the nominal delay."""
        nominal = min((self.backoff if base is None else base) * 2 ** (attempt - 1), self.backoff_max)
        return nominal * random.uniform(0.5, 1.0)

    def write_lock_wait(self) -> float:
        """Seconds a database write waits for readers holding the lock (passed to the store)."""
        backoffs = sum(
            min(self.db_backoff * 2**k, self.backoff_max) for k in range(max(self.db_tries - 1, 0))
        )
        return store.LOCK_WAIT_SECONDS + backoffs


@dataclass
class CollectionSummary:
    """What a run stored and what failed; ``ok`` is True only if every requested subnet is stored."""

    network: str
    block: int | None = None
    snapshot_id: int | None = None
    stored: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    already_stored: bool = False
    run_id: int | None = None
    aligned: dict[int, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and (self.snapshot_id is not None or self.already_stored)

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        return "partial" if self.stored else "failed"


@dataclass(repr=False)
class SubnetRows:
    """One subnet's rows for every table, as numpy columns (ready to concatenate).

    The repr is kept short on purpose: asyncio.run formats the repr of its main task's result when it
    tears down (the SIGINT handler check), which with numpy's full array repr cost seconds of CPU.
    """

    netuid: int
    subnet: dict[str, Any]
    neurons: dict[str, Any]
    mechanism_neurons: list[dict[str, Any]]
    weights: list[tuple[int, np.ndarray]]  # (mechid, (k, 3) int64 array of validator, miner, value)
    bonds: list[tuple[int, np.ndarray]]
    bonds_after: list[tuple[int, np.ndarray]]
    hotkeys: list[dict[str, Any]] = field(default_factory=list)  # money rows (schema 2), one per key
    child_keys: list[dict[str, Any]] = field(default_factory=list)

    def __repr__(self) -> str:
        rows = sum(len(a) for _, a in self.weights)
        return f"SubnetRows(netuid={self.netuid}, n={len(self.neurons['uid'])}, weights={rows})"


# --------------------------------------------------------------------------------------------------
# Arrow schemas: the columns of analytics/schema.sql without snapshot_id.

SCHEMAS: dict[str, pa.Schema] = {
    "subnets": pa.schema(
        [
            ("netuid", pa.int32()),
            ("name", pa.string()),
            ("symbol", pa.string()),
            ("owner_hotkey", pa.string()),
            ("owner_coldkey", pa.string()),
            ("n", pa.int32()),
            ("tempo", pa.int32()),
            ("kappa", pa.int32()),
            ("bonds_moving_avg", pa.int64()),
            ("bonds_penalty", pa.int32()),
            ("activity_cutoff_factor_milli", pa.int32()),
            ("yuma3", pa.bool_()),
            ("liquid_alpha", pa.bool_()),
            ("alpha_low", pa.int32()),
            ("alpha_high", pa.int32()),
            ("alpha_sigmoid_steepness", pa.int32()),
            ("max_validators", pa.int32()),
            ("commit_reveal", pa.bool_()),
            ("tao_weight", pa.uint64()),
            ("stake_threshold", pa.uint64()),
            ("mechanism_count", pa.int32()),
            ("emission_split", pa.list_(pa.uint16())),
            ("epoch_emission", pa.uint64()),
            ("aligned", pa.bool_()),
            ("epoch_block", pa.int64()),
            ("inputs_block", pa.int64()),
            ("weights_block", pa.int64()),
            ("outputs_block", pa.int64()),
            ("last_mechanism_step_block", pa.int64()),
            # schema 2: the money path (see _fetch_money)
            ("epoch_emission_source", pa.string()),
            ("pending_server", pa.uint64()),
            ("pending_validator", pa.uint64()),
            ("pending_root", pa.uint64()),
            ("owner_cut", pa.uint64()),
            ("block_alpha_out", pa.uint64()),
            ("subnet_owner_cut", pa.uint16()),
            ("root_proportion", pa.float64()),
            ("ck_burn", pa.uint64()),
            ("tao_reserve", pa.uint64()),
            ("alpha_reserve", pa.uint64()),
            ("alpha_outstanding", pa.uint64()),
            ("price_rao", pa.uint64()),
            ("moving_price", pa.float64()),
            ("tao_in_emission", pa.uint64()),
            ("excess_tao", pa.uint64()),
            ("emission_share", pa.float64()),
            ("emission_gate_bar", pa.float64()),
            ("emission_bar_quantile", pa.float64()),
            ("emission_gate_exponent", pa.float64()),
            ("emission_bar_rank", pa.int32()),
            ("epoch_spec_version", pa.int32()),
            # schema 3: what the epoch block's runtime lacked (stored NULL)
            ("decode_note", pa.string()),
        ]
    ),
    "hotkeys": pa.schema(
        [
            ("netuid", pa.int32()),
            ("hotkey", pa.string()),
            ("uid", pa.int32()),
            ("coldkey", pa.string()),
            ("delegate_take", pa.uint16()),
            ("childkey_take", pa.uint16()),
            ("alpha_stake_own", pa.uint64()),
            ("root_stake_own", pa.uint64()),
            ("alpha_dividends", pa.uint64()),
            ("root_alpha_dividends", pa.uint64()),
            ("nominators", pa.int32()),
            ("identity_name", pa.string()),
        ]
    ),
    "child_keys": pa.schema(
        [
            ("netuid", pa.int32()),
            ("child_hotkey", pa.string()),
            ("parent_hotkey", pa.string()),
            ("proportion", pa.uint64()),
            ("suspended", pa.bool_()),
        ]
    ),
    "neurons": pa.schema(
        [
            ("netuid", pa.int32()),
            ("uid", pa.int32()),
            ("hotkey", pa.string()),
            ("coldkey", pa.string()),
            ("is_owner", pa.bool_()),
            ("block_at_registration", pa.int64()),
            ("alpha_stake", pa.uint64()),
            ("tao_stake", pa.uint64()),
            ("total_stake", pa.uint64()),
            ("validator_permit_prev", pa.bool_()),
            ("prev_consensus", pa.uint16()),
            ("active", pa.bool_()),
            ("validator_permit", pa.bool_()),
            ("stake_weight", pa.uint16()),
            ("consensus", pa.uint16()),
            ("validator_trust", pa.uint16()),
            ("dividends", pa.uint16()),
            ("emission", pa.uint64()),
        ]
    ),
    "mechanism_neurons": pa.schema(
        [
            ("netuid", pa.int32()),
            ("mechid", pa.int32()),
            ("uid", pa.int32()),
            ("last_update", pa.int64()),
            ("commit_block", pa.int64()),
            ("prev_incentive", pa.uint16()),
            ("incentive", pa.uint16()),
        ]
    ),
    **{
        table: pa.schema(
            [
                ("netuid", pa.int32()),
                ("mechid", pa.int32()),
                ("validator_uid", pa.int32()),
                ("miner_uid", pa.int32()),
                (value, pa.uint16()),
            ]
        )
        for table, value in (("weights", "weight"), ("bonds", "bond"), ("bonds_after", "bond"))
    },
}


# --------------------------------------------------------------------------------------------------
# Decoding helpers: SDK values -> numpy columns


def _column(values: Sequence[Any] | None, n: int, dtype: Any) -> np.ndarray:
    """A storage vector as a length-n array: padded with zeros, truncated beyond n."""
    out = np.zeros(n, dtype=dtype)
    if values:
        data = np.asarray([int(v) for v in values[:n]], dtype=dtype)
        out[: len(data)] = data
    return out


def _unknown(n: int) -> np.ndarray:
    """A column the block's runtime did not have: -1 marks NULL (see NULLABLE_UNKNOWN)."""
    return np.full(n, -1, dtype=np.int64)


# Columns whose negative values are stored NULL (unknown), never as a number.
NULLABLE_UNKNOWN = frozenset({"commit_block", "validator_trust", "stake_weight"})


def _sparse(rows: list[tuple[Any, Any]]) -> np.ndarray:
    """``query_map`` rows ``[(row, [(col, value), ...]), ...]`` -> (k, 3) int64 array, zeros kept."""
    rows = sorted(((int(uid), entries or []) for uid, entries in rows), key=lambda r: r[0])
    counts = np.fromiter((len(entries) for _, entries in rows), dtype=np.int64, count=len(rows))
    total = int(counts.sum())
    out = np.empty((total, 3), dtype=np.int64)
    if total == 0:
        return out
    out[:, 0] = np.repeat(np.fromiter((uid for uid, _ in rows), dtype=np.int64, count=len(rows)), counts)
    flat = np.fromiter(
        itertools.chain.from_iterable(itertools.chain.from_iterable(e for _, e in rows)),
        dtype=np.int64,
        count=2 * total,
    )
    out[:, 1:] = flat.reshape(total, 2)
    return out


def _commit_blocks(
    n: int,
    uid_of: dict[str, int],
    *,
    epoch_block: int | None,
    current_epoch: int,
    reveal_period: int,
    v2_reads: Sequence[list[tuple[Any, Any]]],
    v4_read: list[tuple[Any, Any]],
    legacy_at: int | None = None,
) -> np.ndarray:
    """Each validator's earliest unexpired commit block as the epoch saw it; -1 = no active commit.

    A commit is expired when current_epoch > commit_epoch + reveal_period. Commits made in block e
    itself came after the epoch (extrinsics run after ``on_initialize``) and are left out.
    ``legacy_at``: the block the epoch ran at on a runtime before spec 423, whose WeightCommits tuples
    hold (hash, commit_block, first_reveal_block, last_reveal_block) instead.
    """
    blocks = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)

    def seen(commit_block: int) -> bool:
        return epoch_block is None or commit_block < epoch_block

    for read in v2_reads:  # WeightCommits: hotkey -> [(hash, commit_epoch, commit_block, _unused)]
        for hotkey, queue in read:
            uid = uid_of.get(str(hotkey))
            if uid is None:
                continue
            for entry in queue or []:
                if legacy_at is not None:
                    # Before spec 423 the tuple was (hash, commit_block, first_reveal_block,
                    # last_reveal_block): same shape, other meaning; expired after last_reveal_block.
                    _hash, commit_block, _first, last_reveal, *_ = entry
                    unexpired = legacy_at <= int(last_reveal)
                else:
                    _hash, commit_epoch, commit_block, *_ = entry
                    unexpired = current_epoch <= int(commit_epoch) + reveal_period
                if unexpired and seen(int(commit_block)):
                    blocks[uid] = min(blocks[uid], int(commit_block))
                    break
    for commit_epoch, queue in v4_read:  # TimelockedWeightCommits: epoch -> [(hotkey, block, ...)]
        if current_epoch > int(commit_epoch) + reveal_period:
            continue
        for hotkey, commit_block, *_ in queue or []:
            uid = uid_of.get(str(hotkey))
            if uid is not None and seen(int(commit_block)):
                blocks[uid] = min(blocks[uid], int(commit_block))
    blocks[blocks == np.iinfo(np.int64).max] = -1
    return blocks


# --------------------------------------------------------------------------------------------------
# Batched storage reads and the runtime of a block

# WeightCommits kept (hash, commit_block, first_reveal_block, last_reveal_block) before this spec and
# (hash, commit_epoch, commit_block, _unused) since: same SCALE shape, other meaning.
LEGACY_COMMITS_BEFORE_SPEC = 423
# The oldest runtime the collector is known to decode: its every read (get_metagraph, the legacy
# hyperparameters, Weights/Bonds, legacy WeightCommits) is checked against that runtime's metadata in
# tests/test_collector_fakechain.py (finney spec 343, block 6,852,690 in ../shared/realdata).
OLDEST_SUPPORTED_SPEC = 343

# A storage item: (pallet, name), or the SDK's storage Item (which adds its value type's name).
Descriptor = tuple[str, ...]


class Missing:
    """A storage item the block's runtime does not have (an older or newer runtime): stored NULL."""

    def __init__(self, item: Descriptor, reason: str) -> None:
        self.item, self.reason = item, reason

    def __repr__(self) -> str:
        return f"Missing({self.item[0]}.{self.item[1]})"


async def _rpc_query_multi(substrate: Any, requests: list[tuple[str, str, list]], block_hash: str) -> list:
    """Every key in ONE ``state_queryStorageAt`` (the SDK's query_batch takes one item per call).

    Keys are built and values decoded with the SDK's codec for the block's own runtime, so each block
    decodes by its own metadata; an item that runtime lacks comes back as :class:`Missing`.
    """
    from bittensor._transport.storage import decode_storage_value

    async def op(raw: Any) -> list:
        codec = await raw._runtimes.codec_at(block_hash)
        plan: list[tuple[Any, str | None]] = []
        for module, name, params in requests:
            try:
                entry = codec.storage_entry(module, name)
                plan.append((entry, "0x" + codec.storage_key(entry, params).hex()))
            except ValueError as exc:
                plan.append((Missing((module, name), str(exc)), None))
        keys = [key for _, key in plan if key is not None]
        response = await raw._session.request("state_queryStorageAt", [keys, block_hash]) if keys else []
        by_key: dict[str, bytes | None] = {}
        for group in response or []:
            for key_hex, value_hex in group["changes"]:
                by_key[key_hex] = bytes.fromhex(value_hex[2:]) if value_hex is not None else None
        return [
            entry if key is None else decode_storage_value(codec, entry, by_key.get(key))
            for entry, key in plan
        ]

    return await substrate._read(op)


async def read_values(view: Any, items: Sequence[tuple[Descriptor, list | None]]) -> list[Any]:
    """Single storage values at ``view``'s block in as few requests as the substrate allows.

    The list is general on purpose: a read of one more item is one more entry, not one more round
    trip. Over RPC every key goes in one ``state_queryStorageAt``; a substrate offering
    ``query_multi`` (the in-memory test chain) answers the list in one request; any other
    ``bt.Substrate`` gets one ``query_batch`` per distinct item. An item the block's runtime lacks
    comes back as :class:`Missing`, never as a guessed value.
    """
    if not items:
        return []
    substrate = view._client._substrate
    block_hash = await substrate.block_hash(view.block)
    requests = [(item[0], item[1], list(params or [])) for item, params in items]
    multi = getattr(substrate, "query_multi", None)
    if multi is not None:
        return list(await multi(requests, block_hash))
    if isinstance(substrate, bt.RpcSubstrate):
        return await _rpc_query_multi(substrate, requests, block_hash)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (module, name, _) in enumerate(requests):
        groups.setdefault((module, name), []).append(i)
    out: list[Any] = [None] * len(requests)

    async def one(item: tuple[str, str], where: list[int]) -> None:
        try:
            values = await substrate.query_batch(
                item[0], item[1], [requests[i][2] for i in where], block_hash
            )
        except ValueError as exc:  # the SDK's StorageFunctionNotFound: not in this runtime
            values = [Missing(item, str(exc))] * len(where)
        for i, value in zip(where, values, strict=True):
            out[i] = value

    await _gather(*(one(item, where) for item, where in groups.items()))
    return out


KEYS_PAGE = 1000  # the most keys a node returns per state_getKeysPaged (substrate's limit)


async def _rpc_query_map_multi(
    substrate: Any, module: str, name: str, prefixes: list[list], block_hash: str
) -> list[list[tuple[Any, Any]]]:
    """Many prefix scans of one map in a few round trips: every prefix's ``state_getKeysPaged`` in
    one JSON-RPC batch frame (again for the prefixes whose page came back full), then every key's
    value in one batch of ``state_queryStorageAt`` calls, decoded as the SDK's own query_map does."""
    from bittensor._substrate import _unwrap_key
    from bittensor._transport.storage import decode_map_pairs

    async def op(raw: Any) -> list[list[tuple[Any, Any]]]:
        codec = await raw._runtimes.codec_at(block_hash)
        entry = codec.storage_entry(module, name)
        heads = ["0x" + codec.storage_key(entry, list(p)).hex() for p in prefixes]
        keys: list[list[str]] = [[] for _ in prefixes]
        todo = list(range(len(prefixes)))
        while todo:
            pages = await raw._session.request_batch(
                [
                    (
                        "state_getKeysPaged",
                        [heads[i], KEYS_PAGE, keys[i][-1] if keys[i] else heads[i], block_hash],
                    )
                    for i in todo
                ]
            )
            for i, page in zip(todo, pages, strict=True):
                keys[i].extend(page or [])
            todo = [i for i, page in zip(todo, pages, strict=True) if len(page or []) == KEYS_PAGE]
        flat = [key for group in keys for key in group]
        chunks = [flat[k : k + KEYS_PAGE] for k in range(0, len(flat), KEYS_PAGE)]
        answers = await raw._session.request_batch(
            [("state_queryStorageAt", [chunk, block_hash]) for chunk in chunks]
        )
        value_of: dict[str, str | None] = {}
        for response in answers:
            for group in response or []:
                value_of.update(dict(group["changes"]))
        return [
            [
                (_unwrap_key(k), v)
                for k, v in decode_map_pairs(
                    codec, entry, list(p), [(key, value_of.get(key)) for key in group]
                )
            ]
            for p, group in zip(prefixes, keys, strict=True)
        ]

    return await substrate._read(op)


async def read_prefix_maps(
    view: Any, item: Descriptor, prefixes: Sequence[list]
) -> list[list[tuple[Any, Any]]]:
    """The ``query_map`` of ``item`` under each prefix at ``view``'s block, in as few requests as the
    substrate allows: over RPC two batched round trips (keys, then values) whatever the number of
    prefixes; a substrate offering ``query_map_multi`` (the in-memory test chain) answers in one
    request; any other ``bt.Substrate`` gets one ``query_map`` per prefix."""
    if not prefixes:
        return []
    substrate = view._client._substrate
    block_hash = await substrate.block_hash(view.block)
    lists = [list(p) for p in prefixes]
    multi = getattr(substrate, "query_map_multi", None)
    if multi is not None:
        return list(await multi(item[0], item[1], lists, block_hash))
    if isinstance(substrate, bt.RpcSubstrate):
        return await _rpc_query_map_multi(substrate, item[0], item[1], lists, block_hash)
    return await _gather(*(substrate.query_map(item[0], item[1], p, block_hash) for p in lists))


async def spec_version_at(view: Any) -> int | None:
    """The runtime spec version governing ``view``'s block (None if the node cannot say)."""
    substrate = view._client._substrate
    try:
        block_hash = await substrate.block_hash(view.block)
        at = getattr(substrate, "spec_version_at", None)
        if at is not None:
            return int(await at(block_hash))
        if isinstance(substrate, bt.RpcSubstrate):

            async def op(raw: Any) -> int:
                return int((await raw._runtimes.codec_at(block_hash)).spec_version)

            return await substrate._read(op)
        version = await substrate.runtime_call("Core", "version", [], block_hash)
        return int(version["spec_version"])
    except (bt.ChainError, ValueError, KeyError, TypeError) as exc:
        log.info("spec version of block %s unknown: %s", view.block, exc)
        return None


def _present(value: Any, default: Any, notes: list[str], what: str) -> Any:
    """A batched value, or ``default`` with a note when the runtime lacks the item."""
    if isinstance(value, Missing):
        notes.append(f"{what}: not in this runtime")
        return default
    return default if value is None else value


# --------------------------------------------------------------------------------------------------
# Reading one subnet


async def _gather(*aws: Any) -> list[Any]:
    return list(await asyncio.gather(*aws))


async def _value(value: Any) -> Any:
    """An already-known value where a read would otherwise go (inputs and outputs at one block)."""
    return value


_NO_V3 = object()  # the runtime predates get_subnet_hyperparams_v3


async def _hyperparameters_v3(view: Any, netuid: int) -> Any:
    try:
        return await view.subnets.subnet_hyperparameters(netuid)
    except (bt.ChainError, ValueError) as exc:  # the SDK raises ValueError for an API the runtime lacks
        log.info("subnet %d: no get_subnet_hyperparams_v3 at block %s (%s)", netuid, view.block, exc)
        return _NO_V3


async def _legacy_hyperparameters(view: Any, netuid: int, graph: Any) -> dict[str, Any]:
    """Hyperparameters on runtimes before v3: the metagraph record plus a few storage items."""

    async def storage(item: Any, default: Any) -> Any:
        try:
            value = await view.query(item, [netuid])
        except (bt.ChainError, ValueError):
            return default
        return default if value is None else value

    raw = graph.raw
    yuma3, steepness = await _gather(storage(ST.Yuma3On, False), storage(ST.AlphaSigmoidSteepness, 1000))
    tempo = max(1, int(raw["tempo"]))
    cutoff_blocks = int(raw.get("activity_cutoff") or 5000)
    return {
        "kappa": int(raw["kappa"]),
        "tempo": tempo,
        "bonds_moving_avg": int(raw["bonds_moving_avg"]),
        "max_validators": int(raw["max_validators"]),
        "commit_reveal_weights_enabled": bool(raw.get("commit_reveal_weights_enabled", False)),
        "commit_reveal_period": int(raw.get("commit_reveal_period") or 1),
        "liquid_alpha_enabled": bool(raw.get("liquid_alpha_enabled", False)),
        "alpha_low": int(raw.get("alpha_low", 45875)),
        "alpha_high": int(raw.get("alpha_high", 58982)),
        "alpha_sigmoid_steepness": int(steepness),
        "yuma_version": 3 if yuma3 else 2,
        # The factor whose cutoff (floor(factor * tempo / 1000)) is the legacy ActivityCutoff blocks.
        "activity_cutoff_factor": -(-cutoff_blocks * 1000 // tempo),
    }


def _epoch_index(value: Any, block: int, netuid: int, tempo: int) -> int:
    """``SubnetEpochIndex`` as read at ``block``; on runtimes before it (spec < 423: :class:`Missing`)
    the legacy epoch number (block + netuid + 1) // (tempo + 1) that commits were keyed by then."""
    if isinstance(value, Missing):
        return (int(block) + netuid + 1) // (tempo + 1)
    return int(value or 0)


async def _last_steps(client: Any, head: int, netuids: list[int], pinned: int | None) -> dict[int, int]:
    """Every subnet's ``LastMechansimStepBlock`` at ``head`` in one request (each subnet's epoch
    block); none when everything is read at a pinned block, for an item the runtime lacks, or when
    the batch fails (then each subnet reads its own, failing alone as it would)."""
    if pinned is not None or not netuids:
        return {}
    try:
        view = await client.at(head)
        values = await read_values(view, [(ST.LastMechansimStepBlock, [netuid]) for netuid in netuids])
    except (
        bt.ChainError,
        ValueError,
        KeyError,
    ) as exc:  # one subnet's failure is its own: each reads its own
        log.debug("epoch blocks of every subnet in one batch failed: %s", exc)
        return {}
    return {
        netuid: int(value or 0)
        for netuid, value in zip(netuids, values, strict=True)
        if not isinstance(value, Missing)
    }


class _Graph:
    """One ``get_metagraph`` record (the runtime API's answer, as the SDK's transport decodes it), read
    as columns. ``view.subnets.metagraph`` makes the same call, then builds a dataclass, four Balances
    and six PerU16 floats per neuron that the collector turned straight back into the integers the
    record holds (a quarter of a collect's CPU); these columns carry the same values its neurons do:
    ``int(v or 0)``, ``bool(v)``, ``str`` coldkeys, each column cut or padded to the hotkeys."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.hotkeys = [str(hk) for hk in raw.get("hotkeys") or []]
        self.name = _metagraph_text(raw.get("name"))
        self.symbol = _metagraph_text(raw.get("symbol"))
        self.owner_hotkey = str(raw["owner_hotkey"])
        self.owner_coldkey = str(raw["owner_coldkey"])
        self.tempo = int(raw["tempo"])

    def __len__(self) -> int:
        return len(self.hotkeys)

    def coldkeys(self) -> list[str]:
        values = list(self.raw.get("coldkeys") or [])[: len(self)]
        return [str(v) for v in values + [None] * (len(self) - len(values))]

    def column(self, key: str, dtype: Any, n: int | None = None) -> np.ndarray:
        """Field ``key`` per neuron as a length-``n`` array (default: every neuron), zero beyond."""
        values = list(self.raw.get(key) or [])[: len(self)]
        return _column([v or 0 for v in values], len(self) if n is None else n, dtype)


async def _metagraph(view: Any, netuid: int) -> _Graph | None:
    """The subnet's metagraph at ``view``'s block; None when the subnet does not exist there."""
    record = await view.runtime(SUBNET_API.get_metagraph, [netuid])
    return _Graph(record) if isinstance(record, dict) else None


async def _fetch_subnet(
    client: Any, netuid: int, head: int, pinned: int | None, last_step_at_head: int | None = None
) -> SubnetRows:
    """Read one subnet (every mechanism) at its epoch blocks, or all at ``pinned``.

    ``last_step_at_head``: the subnet's ``LastMechansimStepBlock`` at ``head`` when the caller read it
    already (one batch for every subnet); None reads it here."""
    if pinned is not None:
        epoch_block = None
        inputs_block = outputs_block = pinned
    else:
        if last_step_at_head is None:
            head_view = await client.at(head)
            last_step_at_head = await head_view.query(ST.LastMechansimStepBlock, [netuid])
        last_step = int(last_step_at_head or 0)
        if last_step <= 0:  # no epoch has run yet: nothing to align to
            log.warning(
                "subnet %d has run no epoch yet: snapshot at head block %d, not aligned", netuid, head
            )
            epoch_block, inputs_block, outputs_block = None, head, head
        else:
            epoch_block, inputs_block, outputs_block = last_step, last_step - 1, last_step
    aligned = epoch_block is not None
    vin = await client.at(inputs_block)
    vout = await client.at(outputs_block)
    same = inputs_block == outputs_block
    notes: list[str] = []

    # Single storage values, one batched request per block (append a read here, not a round trip).
    inputs_items: list[tuple[Descriptor, list | None]] = [
        (ST.BondsPenalty, [netuid]),
        (ST.TaoWeight, None),
        (ST.StakeThreshold, None),
        (ST.LastMechansimStepBlock, [netuid]),
        (ST.MechanismCountCurrent, [netuid]),
        (ST.MechanismEmissionSplit, [netuid]),
    ]
    outputs_items: list[tuple[Descriptor, list | None]] = [
        (ST.ValidatorTrust, [netuid]),
        (ST.StakeWeight, [netuid]),
        (ST.SubnetEpochIndex, [netuid]),  # commit-reveal subnets' commit expiry (see _epoch_index)
    ]
    if same:
        inputs_items += outputs_items
    graph_in, hyper, values_in, values_out, spec, graph_out = await _gather(
        _metagraph(vin, netuid),
        _hyperparameters_v3(vin, netuid),
        read_values(vin, inputs_items),
        _value(None) if same else read_values(vout, outputs_items),
        spec_version_at(vout),
        _value(None) if same else _metagraph(vout, netuid),
    )
    if graph_in is None or hyper is None:
        raise bt.ChainError(f"subnet {netuid} does not exist at block {inputs_block}")
    if spec is not None and spec < OLDEST_SUPPORTED_SPEC:
        raise CollectorError(
            f"block {outputs_block} runs runtime spec {spec}, older than the oldest supported ({OLDEST_SUPPORTED_SPEC})"
        )
    if same:
        values_in, values_out = values_in[:6], values_in[6:]
    bonds_penalty = _present(values_in[0], 65535, notes, "bonds_penalty")
    tao_weight = _present(values_in[1], 0, notes, "tao_weight")
    stake_threshold = _present(values_in[2], 0, notes, "stake_threshold")
    prev_step = _present(values_in[3], 0, notes, "last_mechanism_step_block")
    mech_count = _present(values_in[4], 1, [], "mechanism_count")  # before mechanisms: one
    split = _present(values_in[5], None, [], "emission_split")
    if hyper is _NO_V3:
        hyper = await _legacy_hyperparameters(vin, netuid, graph_in)
    commit_reveal = bool(hyper.get("commit_reveal_weights_enabled", False))
    weights_block = outputs_block if (aligned and commit_reveal) else inputs_block
    vw = await client.at(weights_block)
    mechanisms = range(max(1, int(mech_count)))
    index = [m * MECHANISM_STRIDE + netuid for m in mechanisms]

    if same:
        graph_out = graph_in
    trust = _present(values_out[0], None, notes, "validator_trust")
    stake_weight = _present(values_out[1], None, notes, "stake_weight")
    if graph_out is None:
        raise bt.ChainError(f"subnet {netuid} does not exist at block {outputs_block}")

    n = len(graph_in)
    hotkeys = graph_in.hotkeys
    coldkeys = graph_in.coldkeys()
    owner = graph_in.owner_hotkey
    replaced = [uid for uid, (a, b) in enumerate(zip(hotkeys, graph_out.hotkeys[:n], strict=False)) if a != b]
    if replaced:
        log.info(
            "subnet %d: uid(s) %s re-registered in block %d after the epoch; hotkeys are kept as the epoch saw them",
            netuid,
            replaced[:10],
            outputs_block,
        )

    neurons: dict[str, Any] = {
        "netuid": np.full(n, netuid, dtype=np.int32),
        "uid": np.arange(n, dtype=np.int32),
        "hotkey": hotkeys,
        "coldkey": coldkeys,
        "is_owner": np.array([hk == owner for hk in hotkeys], dtype=bool),
        "block_at_registration": graph_in.column("block_at_registration", np.int64),
        "alpha_stake": graph_in.column("alpha_stake", np.uint64),
        "tao_stake": graph_in.column("tao_stake", np.uint64),
        "total_stake": graph_in.column("total_stake", np.uint64),
        "validator_permit_prev": graph_in.column("validator_permit", bool),
        "prev_consensus": graph_in.column("consensus", np.uint16),
        "active": graph_out.column("active", bool, n),
        "validator_permit": graph_out.column("validator_permit", bool, n),
        "stake_weight": _column(stake_weight, n, np.uint16) if stake_weight is not None else _unknown(n),
        "consensus": graph_out.column("consensus", np.uint16, n),
        "validator_trust": _column(trust, n, np.uint16) if trust is not None else _unknown(n),
        "dividends": graph_out.column("dividends", np.uint16, n),
        "emission": graph_out.column("emission", np.uint64, n),
    }

    # The money reads need only the neurons: they run beside the mechanism, weight and commit reads.
    money = asyncio.ensure_future(
        _fetch_money(
            vin,
            vout,
            netuid,
            hotkeys=hotkeys,
            coldkeys=coldkeys,
            validators=np.asarray(neurons["validator_permit_prev"])
            | np.asarray(neurons["validator_permit"])
            | (np.asarray(neurons["dividends"]) > 0),
            aligned=aligned,
            owner_hotkey=owner,
        )
    )
    try:

        async def mechagraph(view: Any, graph: _Graph, m: int) -> dict:
            if m == 0:
                return {"incentives": graph.column("incentives", np.uint16), "last_update": None}
            record = await view.runtime(SUBNET_API.get_mechagraph, [netuid, m])
            if not isinstance(record, dict):
                raise bt.ChainError(f"mechanism {m} of subnet {netuid} missing at block {view.block}")
            return record

        views = [vin] if same else [vin, vout]

        async def commits(view: Any, item: Descriptor, key: int) -> list:
            try:
                return await view.query_map(item, [key])
            except ValueError as exc:  # not in this block's runtime: no commits of that kind
                log.info("subnet %d: %s.%s not at block %s (%s)", netuid, *item, view.block, exc)
                return []

        # Everything else of every mechanism (commits included) in one round of concurrent reads.
        per_mech_in, per_mech_out, weights, bonds, bonds_after, reads = await _gather(
            _gather(*(mechagraph(vin, graph_in, m) for m in mechanisms)),
            _value(None) if same else _gather(*(mechagraph(vout, graph_out, m) for m in mechanisms)),
            _gather(*(vw.query_map(ST.Weights, [i]) for i in index)),
            _gather(*(vin.query_map(ST.Bonds, [i]) for i in index)),
            _value(None) if same else _gather(*(vout.query_map(ST.Bonds, [i]) for i in index)),
            _gather(
                *(
                    _gather(
                        commits(vout, ST.TimelockedWeightCommits, i),
                        *(commits(v, ST.WeightCommits, i) for v in views),
                    )
                    for i in index
                )
            )
            if commit_reveal
            else _value(None),
        )
        if same:
            per_mech_out, bonds_after = per_mech_in, bonds

        uid_of = {hk: uid for uid, hk in enumerate(hotkeys)}
        tempo = int(hyper.get("tempo", graph_in.tempo))
        commit_blocks: list[np.ndarray | None] = [None for _ in mechanisms]
        legacy_at = None
        if spec is not None and spec < LEGACY_COMMITS_BEFORE_SPEC:
            legacy_at = outputs_block
            if commit_reveal:
                notes.append(
                    f"commit blocks decoded with the WeightCommits layout of runtimes before {LEGACY_COMMITS_BEFORE_SPEC}"
                )
        if commit_reveal:
            reveal_period = int(hyper.get("commit_reveal_period", 1))
            epoch_index = (
                0 if legacy_at is not None else _epoch_index(values_out[2], vout.block, netuid, tempo)
            )
            # At e the counter already holds the epoch that ran; a non-aligned snapshot shows the next one.
            current_epoch = epoch_index if aligned else epoch_index + 1
            for k, (v4_read, *v2_reads) in enumerate(reads):
                commit_blocks[k] = _commit_blocks(
                    n,
                    uid_of,
                    epoch_block=epoch_block,
                    current_epoch=current_epoch,
                    reveal_period=reveal_period,
                    v2_reads=v2_reads,
                    v4_read=v4_read,
                    legacy_at=legacy_at,
                )

        yuma_version = int(hyper.get("yuma_version", 2))
        subnet = {
            "netuid": netuid,
            "name": graph_in.name,
            "symbol": graph_in.symbol,
            "owner_hotkey": owner,
            "owner_coldkey": graph_in.owner_coldkey,
            "n": n,
            "tempo": tempo,
            "kappa": int(hyper["kappa"]),
            "bonds_moving_avg": int(hyper["bonds_moving_avg"]),
            "bonds_penalty": int(bonds_penalty),
            "activity_cutoff_factor_milli": int(hyper.get("activity_cutoff_factor", 13_889)),
            "yuma3": yuma_version >= 3,
            "liquid_alpha": bool(hyper.get("liquid_alpha_enabled", False)),
            "alpha_low": int(hyper.get("alpha_low", 45875)),
            "alpha_high": int(hyper.get("alpha_high", 58982)),
            "alpha_sigmoid_steepness": int(hyper.get("alpha_sigmoid_steepness", 1000)),
            "max_validators": int(hyper["max_validators"]),
            "commit_reveal": commit_reveal,
            "tao_weight": int(tao_weight),
            "stake_threshold": int(stake_threshold or 0),
            "mechanism_count": len(mechanisms),
            "emission_split": [int(s) for s in split] if split else None,
            "epoch_emission": None,  # pending emission drained at e is not in state at e - 1 or e
            "aligned": aligned,
            "epoch_block": epoch_block,
            "inputs_block": inputs_block,
            "weights_block": weights_block,
            "outputs_block": outputs_block,
            "last_mechanism_step_block": int(prev_step or 0),
            "decode_note": "; ".join(notes) or None,
        }

        mechanism_rows = []
        for k, m in enumerate(mechanisms):
            rec_in, rec_out = per_mech_in[k], per_mech_out[k]
            if m == 0:
                last_update = graph_in.column("last_update", np.int64)
            else:
                last_update = _column(rec_in.get("last_update"), n, np.int64)
            commit = commit_blocks[k]
            mechanism_rows.append(
                {
                    "netuid": np.full(n, netuid, dtype=np.int32),
                    "mechid": np.full(n, m, dtype=np.int32),
                    "uid": np.arange(n, dtype=np.int32),
                    "last_update": last_update,
                    "commit_block": commit if commit is not None else np.full(n, -1, dtype=np.int64),
                    "prev_incentive": _column(list(rec_in["incentives"]), n, np.uint16),
                    "incentive": _column(list(rec_out["incentives"]), n, np.uint16),
                }
            )

        money_subnet, money_hotkeys, money_children = await money
        subnet.update(money_subnet)
        if (
            spec is not None
        ):  # the block's own runtime, as its reads were decoded (also where System is absent)
            subnet["epoch_spec_version"] = spec

        return SubnetRows(
            netuid=netuid,
            subnet=subnet,
            neurons=neurons,
            hotkeys=money_hotkeys,
            child_keys=money_children,
            mechanism_neurons=mechanism_rows,
            weights=[(m, _sparse(rows)) for m, rows in zip(mechanisms, weights, strict=True)],
            bonds=[(m, _sparse(rows)) for m, rows in zip(mechanisms, bonds, strict=True)],
            bonds_after=[(m, _sparse(rows)) for m, rows in zip(mechanisms, bonds_after, strict=True)],
        )
    except BaseException:
        money.cancel()  # a failed read of the rest: no money reads left running
        if money.done() and not money.cancelled():
            money.exception()  # retrieved: the rest's error is the one raised
        raise


# --------------------------------------------------------------------------------------------------
# The money path (schema 2, issue 14): what the epoch distributed and where it went. Kept apart from
# the consensus reads above; every read here is optional (None when a runtime lacks the item).

U64F64_ONE = 2**64
I96F32_ONE = 2**32
DEFAULT_DELEGATE_TAKE = 11796  # the runtime's default Delegates value (18 %)


class Each(list):
    """Parameter sets of one item read at many keys (a ``query_batch``) inside a :func:`read_values`
    batch: :func:`_optional_values` gives the list of values, or None if the runtime lacks the item."""


def _optional_values(view: Any, items: list[tuple[Descriptor, list | None]]) -> list[Any]:
    """:func:`read_values` (one request, started now) as one awaitable per item, to unpack inside a
    gather; an item the runtime lacks, or a failed request, gives None as ``_optional`` does. An
    item whose params are :class:`Each` gives the list of its values, one per parameter set."""
    flat: list[tuple[Descriptor, list | None]] = []
    spans: list[tuple[int, int, bool]] = []
    for item, params in items:
        many = isinstance(params, Each)
        keys = [(item, p) for p in params] if isinstance(params, Each) else [(item, params)]
        spans.append((len(flat), len(flat) + len(keys), many))
        flat.extend(keys)

    async def read() -> list[Any] | None:
        try:
            return await read_values(view, flat)
        except (bt.ChainError, ValueError, KeyError) as exc:
            log.debug("optional reads failed: %s", exc)
            return None

    task = asyncio.ensure_future(read())

    async def part(i: int) -> Any:
        values = await task
        if values is None:
            return None
        start, stop, many = spans[i]
        chunk = values[start:stop]
        if any(isinstance(v, Missing) for v in chunk):
            return None
        return chunk if many else chunk[0]

    return [part(i) for i in range(len(items))]


def _spliced(values: list[Any], index: int, extra: Any) -> list[Any]:
    """``values`` with ``extra`` inserted at ``index`` (keeps an unpacking order readable)."""
    return [*values[:index], extra, *values[index:]]


async def _optional(aw: Any) -> Any:
    """A read that an older runtime may not have: None instead of an error."""
    try:
        return await aw
    except (bt.ChainError, ValueError, KeyError) as exc:
        log.debug("optional read failed: %s", exc)
        return None


def _maybe_int(value: Any) -> int | None:
    """A decoded integer, unwrapping newtypes such as PerU16 or a one-field dict; None when unread."""
    if value is None:
        return None
    if isinstance(value, dict):
        if "bits" in value:
            return int(value["bits"])
        return _maybe_int(next(iter(value.values()))) if len(value) == 1 else None
    if isinstance(value, list | tuple) and len(value) == 1:
        return _maybe_int(value[0])
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any, default: int = 0) -> int:
    """:func:`_maybe_int`, with ``default`` for a value that is missing or not an integer."""
    number = _maybe_int(value)
    return default if number is None else number


def _fixed(value: Any, one: int) -> float | None:
    """A fixed-point storage value (``{"bits": n}`` or raw bits) as a float; None when unread."""
    bits = _maybe_int(value)
    return None if bits is None else bits / one


def _identity_name(value: Any) -> str | None:
    """The ``name`` of an IdentitiesV2 record, decoded to text (kept raw: untrusted)."""
    if not isinstance(value, dict) or value.get("name") is None:
        return None
    name = utf8_text(value["name"])
    return name if isinstance(name, str) and name else None


LEGACY_ALPHA: Descriptor = ("SubtensorModule", "Alpha")  # AlphaV2's keys, U64F64 shares (spec 343)


async def _stake_positions(view: Any, hotkeys: list[str]) -> list[list[tuple[Any, Any]]]:
    """Each hotkey's stake positions ((coldkey, netuid) -> share) at ``view``'s block: ``AlphaV2``,
    or on a runtime before it ``Alpha``, which holds the same keys (its values are U64F64 shares)."""
    prefixes = [[hk] for hk in hotkeys]
    try:
        return await read_prefix_maps(view, ST.AlphaV2, prefixes)
    except ValueError:  # StorageFunctionNotFound: this block's runtime has no AlphaV2
        return await read_prefix_maps(view, LEGACY_ALPHA, prefixes)


def _nominator_count(entries: list[tuple[Any, Any]] | None, netuid: int) -> int | None:
    """Coldkeys holding stake to a hotkey on ``netuid``, from ``AlphaV2`` (or ``Alpha``) entries under
    the hotkey (keys (coldkey, netuid) after the hotkey prefix)."""
    if entries is None:
        return None
    count = 0
    for key, value in entries:
        parts = key if isinstance(key, list | tuple) else [key]
        if parts and _int(parts[-1], -1) == netuid and value not in (None, 0, {}):
            count += 1
    return count


def _per_hotkey_items(hotkeys: list[str], netuid: int) -> list[tuple[Descriptor, list | None]]:
    """The money read per hotkey, in :func:`_fetch_money`'s order: Delegates take, ChildkeyTake and
    own alpha on the subnet, own root stake (TotalHotkeyAlpha on netuid 0)."""
    return [
        (ST.Delegates, Each([[hk] for hk in hotkeys])),
        (ST.ChildkeyTake, Each([[hk, netuid] for hk in hotkeys])),
        (ST.TotalHotkeyAlpha, Each([[hk, netuid] for hk in hotkeys])),
        (ST.TotalHotkeyAlpha, Each([[hk, 0] for hk in hotkeys])),
    ]


async def _fetch_money(
    vin: Any,
    vout: Any,
    netuid: int,
    *,
    hotkeys: list[str],
    coldkeys: list[str],
    validators: np.ndarray,
    aligned: bool = True,
    owner_hotkey: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The money rows of one subnet: subnet columns, per-hotkey rows and parent/child relations.

    Blocks (aligned: vin = e - 1, vout = e). The epoch's E and its payout use state as it was when
    block e began, i.e. as read at e - 1: pending emission, owner cut settings, takes, own stakes,
    relations, identities. The recorded dividends (cleared and rewritten by the epoch), pool reserves,
    price and block e's own emission are read at e.

    E (``epoch_emission``) is DERIVED, not read: the coinbase of block e first adds block e's split
    of its alpha emission to the pending amounts, then the epoch drains them, so no state holds E.
    E = pending server + validator + root as read at e - 1 + block e's increment, which is
    ``analytics.model.returns.block_split`` of ``SubnetAlphaOutEmission`` (read at e, exact) with
    the owner cut (``SubnetOwnerCut``, ``OwnerCutEnabled``) and the root proportion. The chain
    recomputes the root proportion inside block e after that block's mints; we use ``RootProp`` as
    stored at e - 1, so block e's validator/root split (not the server half, nor the total beyond
    one rao) can differ by a rao. Root alpha is only accumulated while root selling is on (the sum
    of subnets' moving prices > 1), which we infer from PendingRootAlphaDivs at e - 1 > 0.
    A snapshot that is not epoch-aligned (vin = vout = B) drained nothing at B: E stays unknown.

    ``validators`` marks the uids whose money is read (those that can hold dividends: a permit
    before or after the epoch, or dividends); their parents are read too, registered or not.
    """
    from analytics.model.returns import block_split  # the model is pure: arrays in, amounts out

    n = len(hotkeys)
    uids = [uid for uid in range(n) if validators[uid] and hotkeys[uid]]
    keys = [hotkeys[uid] for uid in uids]
    pairs = [[hk, netuid] for hk in keys]
    validator_coldkeys = list(dict.fromkeys(coldkeys[uid] for uid in uids if coldkeys[uid]))
    # One round for everything the validators' keys decide: the reads at e - 1 in one request, the
    # recorded dividends, stake positions and pool at e beside it. Parents outside the validators
    # (known only from ParentKeys / ChildKeys) are read in a second round, only when there are any.
    (
        pending_server,
        pending_validator,
        pending_root,
        pending_cut,
        owner_cut_u16,
        cut_enabled,
        root_prop,
        ck_burn,
        min_take,
        min_take_subnet,
        parents_of,
        children_of,
        validator_names,
        takes,
        childkey_takes,
        alpha_own,
        root_own,
        alpha_divs,
        root_divs,
        nominators,
        tao_reserve,
        alpha_reserve,
        alpha_outstanding,
        price_rao,
        moving_price,
        block_alpha_out,
        tao_in_emission,
        excess_tao,
        gate_bar,
        bar_quantile,
        gate_exponent,
        bar_rank,
        runtime,
    ) = await _gather(
        *_optional_values(
            vin,
            [
                (ST.PendingServerEmission, [netuid]),
                (ST.PendingValidatorEmission, [netuid]),
                (ST.PendingRootAlphaDivs, [netuid]),
                (ST.PendingOwnerCut, [netuid]),
                (ST.SubnetOwnerCut, None),
                (ST.OwnerCutEnabled, [netuid]),
                (ST.RootProp, [netuid]),
                (ST.CKBurn, None),
                (ST.MinChildkeyTake, None),
                (ST.MinChildkeyTakePerSubnet, [netuid]),
                (ST.ParentKeys, Each(pairs)),
                (ST.ChildKeys, Each(pairs)),
                (ST.IdentitiesV2, Each([[ck] for ck in validator_coldkeys])),
                *_per_hotkey_items(keys, netuid),
            ],
        ),
        _optional(vout.query_map(ST.AlphaDividendsPerSubnet, [netuid])),
        _optional(vout.query_map(ST.RootAlphaDividendsPerSubnet, [netuid])),
        # every hotkey's stake positions in one request (a prefix scan per hotkey, batched)
        _optional(_stake_positions(vin, keys)),
        *_spliced(
            _optional_values(
                vout,
                [
                    (ST.SubnetTAO, [netuid]),
                    (ST.SubnetAlphaIn, [netuid]),
                    (ST.SubnetAlphaOut, [netuid]),
                    (ST.SubnetMovingPrice, [netuid]),
                    (ST.SubnetAlphaOutEmission, [netuid]),
                    (ST.SubnetTaoInEmission, [netuid]),
                    (ST.SubnetExcessTao, [netuid]),
                    (ST.EmissionGateBar, None),
                    (ST.EmissionBarQuantile, None),
                    (ST.EmissionGateExponent, None),
                    (ST.EmissionBarRank, None),
                    (bt.storage.System.LastRuntimeUpgrade, None),
                ],
            ),
            3,
            _optional(vout.runtime(bt.runtime_api.SwapRuntimeApi.current_alpha_price, [netuid])),
        ),
    )
    parents_of = parents_of or [[] for _ in keys]
    children_of = children_of or [[] for _ in keys]
    edges: dict[tuple[str, str], int] = {}  # (child, parent) -> proportion
    for child, entries in zip(keys, parents_of, strict=True):
        for proportion, parent in entries or []:
            edges[(child, str(parent))] = _int(proportion)
    for parent, entries in zip(keys, children_of, strict=True):
        for proportion, child in entries or []:
            edges.setdefault((str(child), parent), _int(proportion))
    read = set(keys)  # parents outside the validators (registered or not) are read too
    outside = list(dict.fromkeys(p for (c, p) in edges if p not in read and c in read))
    edge_parents = list(dict.fromkeys(p for _, p in edges))
    money_keys = keys + outside
    coldkey_of: dict[str, str | None] = {hotkeys[uid]: coldkeys[uid] for uid in uids}
    suspended_flags: list[Any] | None = []
    owners: list[Any] | None = []
    if edges:  # the parents' flags, and the outside parents' owners and money, in one more request
        (
            suspended_flags,
            owners,
            *outside_values,
            outside_nominators,
        ) = await _gather(
            *_optional_values(
                vin,
                [
                    (ST.ChildkeyThresholdSuspended, Each([[p] for p in edge_parents])),
                    (ST.Owner, Each([[hk] for hk in outside])),
                    *_per_hotkey_items(outside, netuid),
                ],
            ),
            _optional(_stake_positions(vin, outside)) if outside else _value([]),
        )
        takes, childkey_takes, alpha_own, root_own, nominators = (
            None if first is None or more is None else [*first, *more]
            for first, more in zip(
                (takes, childkey_takes, alpha_own, root_own, nominators),
                (*outside_values, outside_nominators),
                strict=True,
            )
        )
    nominators = nominators or [None] * len(money_keys)
    # A suspended parent's relations are inert (hidden from get_parents / get_children) except on
    # the subnet it owns (runtime docs of ChildkeyThresholdSuspended; a runtime without the item: none).
    suspended = {
        p
        for p, flag in zip(edge_parents, suspended_flags or [None] * len(edge_parents), strict=True)
        if flag is not None and p != owner_hotkey
    }
    for hk, owner in zip(outside, owners or [None] * len(outside), strict=True):
        coldkey_of[hk] = str(owner) if owner else None
    # Identities: the validators' coldkeys came with the first batch; the outside parents' owners
    # not among them in one more request (query_batch), only when there are any.
    name_of = dict(zip(validator_coldkeys, validator_names or [None] * len(validator_coldkeys), strict=True))
    identity_keys = list(dict.fromkeys(c for c in coldkey_of.values() if c and c not in name_of))
    names = (
        await _optional(vin.query_batch(ST.IdentitiesV2, [[ck] for ck in identity_keys]))
        if identity_keys
        else []
    )
    name_of.update(zip(identity_keys, names or [None] * len(identity_keys), strict=True))
    recorded_alpha = {str(hk): _int(v) for hk, v in alpha_divs or []}
    recorded_root = {str(hk): _int(v) for hk, v in root_divs or []}
    floor_take = max(_int(min_take), _int(min_take_subnet))  # get_effective_min_childkey_take
    uid_of = {hk: uid for uid, hk in enumerate(hotkeys)}

    def at(values: list[Any] | None, k: int, default: int = 0) -> int | None:
        return _int(values[k], default) if values is not None and k < len(values) else None

    hotkey_rows = [
        {
            "netuid": netuid,
            "hotkey": hk,
            "uid": uid_of.get(hk),
            "coldkey": coldkey_of.get(hk),
            "delegate_take": at(takes, k, DEFAULT_DELEGATE_TAKE),
            "childkey_take": None
            if childkey_takes is None
            else max(at(childkey_takes, k, 0) or 0, floor_take),
            "alpha_stake_own": at(alpha_own, k, 0),
            "root_stake_own": at(root_own, k, 0),
            "alpha_dividends": None if alpha_divs is None else recorded_alpha.get(hk, 0),
            "root_alpha_dividends": None if root_divs is None else recorded_root.get(hk, 0),
            "nominators": _nominator_count(nominators[k], netuid),
            "identity_name": _identity_name(name_of.get(coldkey_of.get(hk) or "")),
        }
        for k, hk in enumerate(money_keys)
    ]
    child_rows = [
        {
            "netuid": netuid,
            "child_hotkey": c,
            "parent_hotkey": p,
            "proportion": prop,
            "suspended": p in suspended,
        }
        for (c, p), prop in edges.items()
    ]

    pending = [_maybe_int(v) for v in (pending_server, pending_validator, pending_root, pending_cut)]
    alpha_out = _maybe_int(block_alpha_out)
    money: dict[str, Any] = {
        "block_alpha_out": alpha_out,
        "subnet_owner_cut": _maybe_int(owner_cut_u16),
        "root_proportion": _fixed(root_prop, I96F32_ONE),
        "ck_burn": _maybe_int(ck_burn),
        "tao_reserve": _maybe_int(tao_reserve),
        "alpha_reserve": _maybe_int(alpha_reserve),
        "alpha_outstanding": _maybe_int(alpha_outstanding),
        "price_rao": _maybe_int(price_rao),
        "moving_price": _fixed(moving_price, I96F32_ONE),
        "tao_in_emission": _maybe_int(tao_in_emission),
        "excess_tao": _maybe_int(excess_tao),
        "emission_gate_bar": _fixed(gate_bar, U64F64_ONE),
        "emission_bar_quantile": _fixed(bar_quantile, U64F64_ONE),
        "emission_gate_exponent": _fixed(gate_exponent, U64F64_ONE),
        "emission_bar_rank": _maybe_int(bar_rank),
        "epoch_spec_version": _maybe_int(runtime.get("spec_version")) if isinstance(runtime, dict) else None,
    }
    server, validator, root, cut = pending
    if (
        aligned
        and server is not None
        and validator is not None
        and root is not None
        and cut is not None
        and alpha_out is not None
        and owner_cut_u16 is not None
    ):
        block = block_split(
            alpha_out,
            owner_cut_u16=_int(owner_cut_u16),
            owner_cut_enabled=True if cut_enabled is None else bool(cut_enabled),
            root_proportion_bits=_int(root_prop),
            root_sell=root > 0,
        )
        money.update(
            {
                "pending_server": server + block.server,
                "pending_validator": validator + block.validator,
                "pending_root": root + block.root,
                "owner_cut": cut + block.owner_cut,
                "epoch_emission": server + validator + root + block.server + block.validator + block.root,
                "epoch_emission_source": "derived",
            }
        )
    return money, hotkey_rows, child_rows


def set_emission_shares(rows: Sequence[SubnetRows]) -> None:
    """Each subnet's share of the block's TAO emission: its TAO injected plus its excess TAO (chain
    buy) in its epoch block, over the sum across subnets. Only meaningful for a snapshot of every
    subnet (collect does it then); left None otherwise or when a subnet's amounts are unknown."""
    flows: list[int] = []
    for r in rows:
        tao_in, excess = r.subnet.get("tao_in_emission"), r.subnet.get("excess_tao")
        if tao_in is None or excess is None:
            return
        flows.append(int(tao_in) + int(excess))
    total = sum(flows)
    for r, flow in zip(rows, flows, strict=True):
        r.subnet["emission_share"] = flow / total if total else None


# --------------------------------------------------------------------------------------------------
# Rows -> Arrow tables


def _long_table(name: str, parts: list[tuple[int, int, np.ndarray]]) -> pa.Table:
    schema = SCHEMAS[name]
    sizes = [len(a) for _, _, a in parts]
    total = sum(sizes)
    if total == 0:
        return schema.empty_table()
    stacked = np.concatenate([a for _, _, a in parts]) if parts else np.empty((0, 3), dtype=np.int64)
    netuid = np.repeat(np.array([s for s, _, _ in parts], dtype=np.int32), sizes)
    mechid = np.repeat(np.array([m for _, m, _ in parts], dtype=np.int32), sizes)
    columns = [
        pa.array(netuid, pa.int32()),
        pa.array(mechid, pa.int32()),
        pa.array(stacked[:, 0].astype(np.int32), pa.int32()),
        pa.array(stacked[:, 1].astype(np.int32), pa.int32()),
        pa.array(stacked[:, 2].astype(np.uint16), pa.uint16()),
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _columns_table(name: str, blocks: list[dict[str, Any]]) -> pa.Table:
    schema = SCHEMAS[name]
    if not blocks:
        return schema.empty_table()
    arrays = []
    for fld in schema:
        values = [b[fld.name] for b in blocks]
        if isinstance(values[0], np.ndarray):
            data = np.concatenate(values)
            mask = data < 0 if fld.name in NULLABLE_UNKNOWN else None
            if mask is not None and mask.any():
                data = np.where(mask, 0, data)
            arrays.append(pa.array(data, fld.type, mask=mask))
        else:
            arrays.append(pa.array(list(itertools.chain.from_iterable(values)), fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def build_tables(rows: Sequence[SubnetRows]) -> dict[str, pa.Table]:
    """Arrow tables with exactly the columns of schema.sql (minus snapshot_id), ordered by key."""
    rows = sorted(rows, key=lambda r: r.netuid)
    return {
        "subnets": pa.Table.from_pylist([r.subnet for r in rows], schema=SCHEMAS["subnets"]),
        "neurons": _columns_table("neurons", [r.neurons for r in rows]),
        "mechanism_neurons": _columns_table(
            "mechanism_neurons", [m for r in rows for m in r.mechanism_neurons]
        ),
        "weights": _long_table("weights", [(r.netuid, m, a) for r in rows for m, a in r.weights]),
        "bonds": _long_table("bonds", [(r.netuid, m, a) for r in rows for m, a in r.bonds]),
        "bonds_after": _long_table("bonds_after", [(r.netuid, m, a) for r in rows for m, a in r.bonds_after]),
        "hotkeys": pa.Table.from_pylist([h for r in rows for h in r.hotkeys], schema=SCHEMAS["hotkeys"]),
        "child_keys": pa.Table.from_pylist(
            [c for r in rows for c in r.child_keys], schema=SCHEMAS["child_keys"]
        ),
    }


# --------------------------------------------------------------------------------------------------
# Input checks, lock file, clients


def parse_netuids(text: str) -> list[int] | None:
    """``"all"`` -> None (every subnet); ``"1,3,5"`` -> [1, 3, 5]; anything else -> CollectorError."""
    text = (text or "").strip()
    if text.lower() == "all":
        return None
    netuids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) > 65535:
            raise CollectorError(
                f"malformed netuid list {text!r}: use 'all' or comma-separated integers like 1,3,5"
            )
        if int(part) not in netuids:
            netuids.append(int(part))
    return netuids


def check_network(network: str) -> str:
    """A known network name or a ws:// / wss:// URL, else CollectorError."""
    if network in NETWORK_NAMES or (
        network.startswith(("ws://", "wss://")) and len(network.split("://", 1)[1]) > 0
    ):
        return network
    raise CollectorError(
        f"unknown network {network!r}: use one of {', '.join(NETWORK_NAMES)} or a ws(s):// URL"
    )


def check_db_path(db_path: str | os.PathLike[str]) -> Path:
    """The database path must be a file we can create or write; checked before touching the chain.

    Probes by creating (and removing) a file next to it: permission bits alone mislead for root and
    on read-only or virtual file systems.
    """
    path = Path(db_path)
    if path.is_dir():
        raise CollectorError(f"database path {path} is a directory, not a file")
    parent = path.parent
    if not parent.is_dir():
        raise CollectorError(f"cannot write database {path}: directory {parent} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".lens-write-probe-"):
            pass
        if path.exists():
            with open(path, "r+b"):
                pass
    except OSError as exc:
        raise CollectorError(f"cannot write database {path}: {exc.strerror or exc}") from None
    if path.exists():
        _check_existing_db(path)
    return path


def _check_existing_db(path: Path) -> None:
    """An existing file must be a usable database that is not the demo's, found out before the chain is
    asked (minutes of retries) and before anything is written. A file locked by another writer is left
    to the run lock and the writer's own retries."""
    try:
        store.check_lens_database(path)  # another application's DuckDB file: refused, never written
        if store.schema_version(path) == 0:
            return
        sources = set(store.list_snapshots(path)["source"])
    except store.DatabaseLockedError:
        return
    except store.StoreError as exc:
        raise CollectorError(str(exc)) from None
    if "demo" in sources:
        raise CollectorError(
            f"database {path} holds the demo network: collect into another file "
            "(default data/lens.duckdb, or --db PATH) so chain and demo snapshots never mix"
        )


@contextlib.contextmanager
def run_lock(db_path: Path) -> Iterator[Path]:
    """Hold ``<db>.lock`` for the whole run; CollectorBusy if another run holds it.

    The lock is a ``filelock.FileLock`` (released by the OS if the process dies); who holds it is
    written to ``<db>.lock.owner`` so the refusal can name the other run.
    """
    lock_path = db_path.with_name(db_path.name + ".lock")
    owner_path = lock_path.with_name(lock_path.name + ".owner")
    lock = FileLock(lock_path, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = owner_path.read_text().strip() or "another process"
        except OSError:
            holder = "another process"
        raise CollectorBusy(
            f"another collection run ({holder}) holds {lock_path}; not starting a second one"
        ) from None
    try:
        with contextlib.suppress(OSError):  # naming the holder is a courtesy, not a condition
            owner_path.write_text(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        yield lock_path
    finally:
        with contextlib.suppress(OSError):
            owner_path.unlink()
        lock.release()


def subtensor_for(network: str) -> Any:
    """An unopened client for a network name or ws(s):// URL (checked with :func:`check_network`)."""
    return bt.Subtensor(check_network(network))


def fresh_subtensor(like: Any) -> Any:
    """A new unopened client to the same chain: a new connection for RPC, the same backend for fakes."""
    substrate = getattr(getattr(like, "_client", None), "_substrate", None)
    if isinstance(substrate, WiredRpcSubstrate):  # recorded or replayed: the same recording
        return bt.Subtensor(_network_argument(like), substrate=substrate.renewed())
    if substrate is None or isinstance(substrate, bt.RpcSubstrate):
        return bt.Subtensor(_network_argument(like))
    return bt.Subtensor(like.network, substrate=substrate)


@contextlib.asynccontextmanager
async def _opened(subtensor: Any, policy: RetryPolicy) -> AsyncIterator[Any]:
    """``async with subtensor`` with deadlines on opening and closing."""
    client = await asyncio.wait_for(subtensor.__aenter__(), policy.timeout)
    try:
        yield client
    finally:
        try:
            await asyncio.wait_for(subtensor.__aexit__(None, None, None), policy.close_timeout)
        except Exception as exc:  # a close that fails or hangs must not hide the result
            log.debug("closing the client failed: %s", _describe(exc))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a run reads, reshapes and writes (restored after).

    A full network's reads allocate millions of short-lived containers (decoded storage values,
    per-neuron records) that reference counting frees; the collector's generation-2 passes over
    them found nothing to free yet took about a third of a collect's CPU (bench/collect.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ranges(values: Sequence[int]) -> str:
    """1,2,3,5 -> '1-3, 5'."""
    out: list[str] = []
    for _, group in itertools.groupby(enumerate(sorted(values)), key=lambda p: p[1] - p[0]):
        run = [v for _, v in group]
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(out)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out (no answer from the node within the deadline)"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# --------------------------------------------------------------------------------------------------
# The run


ProgressFn = Callable[[int, int, int, bool], None]


async def _collect_async(
    subtensor: Any,
    netuids: list[int] | None,
    block: int | None,
    policy: RetryPolicy,
    progress: ProgressFn | None,
    summary: CollectionSummary,
    already_stored: Callable[[int], bool],
    *,
    anchor: int | None = None,
    skip: Callable[[int], set[int]] | None = None,
    on_rows: Callable[[SubnetRows], None] | None = None,
    on_anchor: Callable[[dict[str, Any], list[int]], None] | None = None,
) -> tuple[list[SubnetRows], dict[str, Any] | None]:
    """Fetch every requested subnet, retrying failures on fresh clients. Returns rows and meta.

    ``anchor`` (backfill): read each subnet at its last epoch at or before that block instead of the
    head; requested subnets that did not exist there are left out, ``skip(anchor)`` names subnets
    already stored, and ``on_rows`` receives each subnet as it completes (written at once)."""
    pending: list[int] | None = None
    fetched: dict[int, SubnetRows] = {}
    meta: dict[str, Any] | None = None
    head: int | None = None
    total = 0
    client_source = subtensor
    epoch_blocks: dict[int, int] = {}  # LastMechansimStepBlock per subnet, as read with the anchor
    for attempt in range(1, policy.tries + 1):
        if attempt > 1:
            wait = policy.delay(attempt - 1)
            log.info("attempt %d of %d in %.1f s on a fresh client", attempt, policy.tries, wait)
            await asyncio.sleep(wait)
            client_source = fresh_subtensor(subtensor)
        try:
            async with _opened(client_source, policy) as client:
                if meta is None:
                    anchored, at_anchor, listed = await asyncio.wait_for(
                        _anchor(
                            client,
                            netuids,
                            block if block is not None else anchor,
                            summary.network,
                            pinned=block is not None,
                            missing_ok=anchor is not None,
                            last_steps=epoch_blocks,
                        ),
                        policy.timeout,
                    )
                    if skip is not None:
                        done = skip(anchored)
                        listed = [s for s in listed if s not in done]
                    if on_anchor is not None:
                        on_anchor(at_anchor, listed)
                    head, pending, meta = anchored, listed, at_anchor
                    summary.block = anchored
                    summary.failed.pop(-1, None)
                    total = len(listed)
                    log.info(
                        "%s: reading %d subnet(s) (%s) anchored at block %d, %s",
                        summary.network,
                        total,
                        _ranges(listed),
                        anchored,
                        "everything at that block" if block is not None else "each at its last epoch",
                    )
                    if already_stored(anchored):
                        summary.already_stored = True
                        return [], meta
                assert head is not None and pending is not None  # set with meta on the first answer
                sem = asyncio.Semaphore(policy.concurrency)
                if epoch_blocks:  # read with the anchor; a subnet without an entry reads its own
                    steps = {s: epoch_blocks[s] for s in pending if s in epoch_blocks}
                else:
                    steps = await asyncio.wait_for(_last_steps(client, head, pending, block), policy.timeout)

                async def one(
                    netuid: int,
                    sem: asyncio.Semaphore = sem,
                    client: Any = client,
                    head: int = head,
                    steps: dict[int, int] = steps,
                ) -> tuple[int, SubnetRows | BaseException]:
                    async with sem:
                        try:
                            return netuid, await asyncio.wait_for(
                                _fetch_subnet(client, netuid, head, block, steps.get(netuid)), policy.timeout
                            )
                        except Exception as exc:
                            return netuid, exc

                for future in asyncio.as_completed([one(s) for s in pending]):
                    netuid, result = await future
                    if isinstance(result, BaseException):
                        summary.failed[netuid] = _describe(result)
                        log.warning(
                            "subnet %d: attempt %d failed: %s", netuid, attempt, summary.failed[netuid]
                        )
                    else:
                        if on_rows is not None:
                            on_rows(result)
                        fetched[netuid] = result
                        summary.failed.pop(netuid, None)
                        summary.aligned[netuid] = bool(result.subnet["aligned"])
                    if progress:
                        progress(len(fetched), total, netuid, netuid in fetched)
        except CollectorError:
            raise
        except Exception as exc:
            reason = _describe(exc)
            log.warning("attempt %d failed: %s", attempt, reason)
            for netuid in pending if pending is not None else (netuids or []):
                summary.failed[netuid] = reason
            if pending is None and not netuids:
                summary.failed[-1] = reason  # nothing listed yet: the whole run failed
        if pending is not None:
            pending = [s for s in pending if s not in fetched]
            if not pending:
                summary.failed.pop(-1, None)
                break
    return [fetched[s] for s in sorted(fetched)], meta


async def _anchor(
    client: Any,
    netuids: list[int] | None,
    block: int | None,
    network: str,
    *,
    pinned: bool | None = None,
    missing_ok: bool = False,
    last_steps: dict[int, int] | None = None,
) -> tuple[int, dict[str, Any], list[int]]:
    """The anchor block, snapshot metadata and the netuids to read (checked against the chain).

    ``block``: the anchor (default the head); everything is read there when ``pinned`` (default: a
    block was given), else each subnet at its last epoch at or before it. ``missing_ok`` (backfill):
    a requested subnet that did not exist at the anchor is left out instead of an error.
    ``last_steps`` (not pinned): filled with every subnet's ``LastMechansimStepBlock`` there, read in
    the same round trip as the list of subnets (a subnet that ran no epoch has no entry: it reads its
    own; a failed read leaves it empty, then :func:`_last_steps` reads them all in one batch)."""
    pinned = block is not None if pinned is None else pinned
    head = await client.block()
    anchor = head if block is None else int(block)
    if anchor > head:
        raise CollectorError(f"block {anchor} is beyond the chain head ({head}) on {network}")
    view = await client.at(anchor)
    backfill_point = block is not None and not pinned  # a past anchor: the time is the block's own
    # The anchor's hash (its first touch: hash, header, runtime), then every read there at once.
    block_hash = await client._substrate.block_hash(anchor)
    answers: tuple[Any, ...] = await asyncio.gather(
        spec_version_at(view),
        view.query_map(ST.NetworksAdded),
        client.spec_version() if block is None else _value(None),
        view.query(("Timestamp", "Now")) if backfill_point else _value(None),
        _optional(view.query_map(ST.LastMechansimStepBlock))
        if last_steps is not None and not pinned
        else _value(None),
        return_exceptions=True,
    )
    spec, added, head_spec, stamp, steps = answers
    if spec is not None and not isinstance(spec, BaseException) and spec < OLDEST_SUPPORTED_SPEC:
        raise CollectorError(
            f"block {anchor} runs runtime spec {spec}, older than the oldest this collector decodes "
            f"(spec {OLDEST_SUPPORTED_SPEC}); pick a later block"
        )
    for answer in (spec, added, head_spec, stamp):  # the first failure, in the order they were read
        if isinstance(answer, BaseException):
            raise answer
    if last_steps is not None and isinstance(steps, list):
        last_steps.update((int(netuid), int(value or 0)) for netuid, value in steps)
    on_chain = sorted(int(k) for k, v in added if v)
    if netuids is None:
        chosen = [s for s in on_chain if s != 0]  # the root network runs no Yuma epoch
    elif missing_ok:
        chosen = [s for s in netuids if s in on_chain]
    else:
        missing = [s for s in netuids if s not in on_chain]
        if missing:
            raise CollectorError(
                f"netuid {', '.join(map(str, missing))} does not exist on {network} at block {anchor} "
                f"(subnets there: {_ranges(on_chain) or 'none'})"
            )
        chosen = list(netuids)
    meta = {
        "network": network,
        "block": anchor,
        "block_hash": block_hash,
        "taken_at": datetime.now(UTC).replace(tzinfo=None),
        "spec_version": int(head_spec) if block is None else spec,
        "sdk_version": f"bittensor {importlib.metadata.version('bittensor')}",
        "source": "chain",
        "note": f"pinned at block {anchor} (not epoch-aligned)" if pinned else "epoch-aligned",
    }
    if backfill_point:
        meta["taken_at"] = datetime.fromtimestamp(int(stamp) / 1000, UTC).replace(tzinfo=None)
        meta["note"] = f"backfill: epoch-aligned at or before block {anchor}"
    return anchor, meta, chosen


def collect(
    subtensor: Any,
    db_path: str | os.PathLike[str],
    *,
    netuids: Sequence[int] | None = None,
    block: int | None = None,
    policy: RetryPolicy | None = None,
    progress: ProgressFn | None = None,
) -> CollectionSummary:
    """Snapshot ``netuids`` (None = every subnet but root) into ``db_path``; see the module docstring.

    Raises CollectorError for bad input (nothing written) and CollectorBusy if another run holds the
    lock. Chain and database failures do not raise: they are in the summary and ``collection_runs``.
    """
    policy = policy or RetryPolicy()
    path = check_db_path(db_path)
    requested = list(dict.fromkeys(int(s) for s in netuids)) if netuids is not None else None
    summary = CollectionSummary(network=subtensor.network)
    started = datetime.now(UTC).replace(tzinfo=None)

    def already_stored(anchor: int) -> bool:
        if not path.exists() or path.stat().st_size == 0:
            return False
        try:
            listed = store.list_snapshots(path)
        except store.StoreError:
            return False  # ingest_snapshot is the authority; this only saves the fetch
        hit = listed[(listed["network"] == summary.network) & (listed["block"] == anchor)]
        if len(hit):
            summary.snapshot_id = None
            log.info(
                "%s block %d is already stored (snapshot %s): nothing to do",
                summary.network,
                anchor,
                int(hit["snapshot_id"].iloc[0]),
            )
            return True
        return False

    with run_lock(path), _gc_paused():
        rows, meta = asyncio.run(
            _collect_async(subtensor, requested, block, policy, progress, summary, already_stored)
        )
        if summary.already_stored:
            return summary
        summary.stored = []
        if rows and meta is not None:
            failed = {s: m for s, m in summary.failed.items() if s >= 0}
            if requested is None and not failed:
                set_emission_shares(rows)
            tables = build_tables(rows)
            if failed:
                meta["note"] += f"; failed subnets: {', '.join(map(str, sorted(failed)))}"
            try:
                snapshot_id = store.ingest_snapshot(
                    path, store.SnapshotData(meta=meta, tables=tables), lock_wait=policy.write_lock_wait()
                )
            except Exception as exc:  # nothing was committed: the transaction rolled back
                log.debug("database write failed", exc_info=True)
                for r in rows:
                    summary.failed[r.netuid] = f"database write failed: {_describe(exc)}"
            else:
                if snapshot_id is None:
                    summary.already_stored = True
                    log.info(
                        "%s block %s was stored meanwhile: nothing written", summary.network, meta["block"]
                    )
                else:
                    summary.snapshot_id = snapshot_id
                    summary.stored = [r.netuid for r in rows]
        run = {
            "started_at": started,
            "finished_at": datetime.now(UTC).replace(tzinfo=None),
            "network": summary.network,
            "status": summary.status,
            "snapshot_id": summary.snapshot_id,
            "subnets_ok": summary.stored,
            "subnets_failed": {("all" if s < 0 else s): m for s, m in sorted(summary.failed.items())} or None,
        }
        try:
            summary.run_id = store.record_run(path, run, lock_wait=policy.write_lock_wait())
        except store.StoreError as exc:
            log.error("could not record the run in %s: %s", path, exc)
    return summary


# --------------------------------------------------------------------------------------------------
# Backfill: past points, each collected as `collect` would have at that block

BLOCKS_PER_EVERY = {"epoch": 361, "day": 7200, "week": 50400}  # 12 s blocks; an epoch = tempo 360 + 1


def parse_every(text: str | int) -> int:
    """``epoch`` | ``day`` | ``week`` | a positive number of blocks -> the step in blocks."""
    value = str(text).strip().lower()
    if value in BLOCKS_PER_EVERY:
        return BLOCKS_PER_EVERY[value]
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise CollectorError(f"unknown --every {text!r}: use epoch, day, week or a number of blocks")


@dataclass
class BackfillSummary:
    """What a backfill stored per point (anchor block) and what failed; ``ok`` when nothing failed."""

    network: str
    points: list[int] = field(default_factory=list)
    stored: dict[int, list[int]] = field(default_factory=dict)  # point -> netuids written by this run
    already: list[int] = field(default_factory=list)  # points complete before this run
    failed: dict[int, dict[int, str]] = field(default_factory=dict)  # point -> netuid (-1: all) -> why
    snapshot_ids: dict[int, int] = field(default_factory=dict)
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        return "partial" if any(self.stored.values()) or self.already else "failed"


BackfillProgress = Callable[
    [int, int, int, int, int], None
]  # points done, points, point, subnets done, subnets


async def _time_of(client: Any, block: int) -> int:
    view = await client.at(block)
    return int(await view.query(("Timestamp", "Now")))


async def block_at(client: Any, when: datetime) -> int:
    """The last block whose timestamp is at or before ``when`` (binary search over Timestamp.Now)."""
    target = int(when.timestamp() * 1000)
    lo, hi = 1, await client.block()
    if await _time_of(client, hi) < target:
        return hi
    if await _time_of(client, lo) > target:
        return lo
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if await _time_of(client, mid) <= target:
            lo = mid
        else:
            hi = mid - 1
    return lo


async def resolve_range(
    subtensor: Any,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    start_block: int | None = None,
    end_block: int | None = None,
    policy: RetryPolicy | None = None,
) -> tuple[int, int]:
    """(start, end) blocks from dates or blocks, checked against the chain: CollectorError if the start
    is in the future, the end before the start, or the start older than the oldest supported runtime."""
    policy = policy or RetryPolicy()
    async with _opened(subtensor, policy) as client:
        head = await client.block()
        head_time = datetime.fromtimestamp(await _time_of(client, head) / 1000, UTC)
        if since is not None:
            if since > head_time:
                raise CollectorError(
                    f"--since {since:%Y-%m-%d %H:%M} is in the future (the chain's head is at {head_time:%Y-%m-%d %H:%M} UTC)"
                )
            start_block = await block_at(client, since)
        if until is not None:
            end_block = await block_at(client, until) if until < head_time else head
        start = int(start_block if start_block is not None else head)
        end = int(end_block if end_block is not None else head)
        if start > head:
            raise CollectorError(f"start block {start} is beyond the chain head ({head})")
        if end < start:
            raise CollectorError(f"the end of the range (block {end}) is before its start (block {start})")
        end = min(end, head)
        spec = await spec_version_at(await client.at(start))
        if spec is not None and spec < OLDEST_SUPPORTED_SPEC:
            raise CollectorError(
                f"block {start} runs runtime spec {spec}, older than the oldest this collector decodes "
                f"(spec {OLDEST_SUPPORTED_SPEC}); start later"
            )
        return start, end


def backfill(
    subtensor: Any,
    db_path: str | os.PathLike[str],
    *,
    start_block: int,
    end_block: int | None = None,
    every: str | int = "week",
    netuids: Sequence[int] | None = None,
    policy: RetryPolicy | None = None,
    progress: BackfillProgress | None = None,
    flush_seconds: float = 2.0,
) -> BackfillSummary:
    """Snapshot past points start_block, start_block + step, ... <= end_block (default the head): at
    each, every subnet at its last epoch at or before the point, through the same reads as
    :func:`collect`, one snapshot per point whose time is the block's own.

    Resumable and idempotent: subnets already stored at a point are skipped, and each subnet is
    written (whole, with its summary row) within ``flush_seconds`` of being read, so an interrupted
    run loses only what was in flight and a rerun continues. Same lock, retries and CollectorError /
    CollectorBusy as :func:`collect`; the run is recorded in ``collection_runs``.
    """
    policy = policy or RetryPolicy()
    step = parse_every(every)
    if start_block < 0 or (end_block is not None and end_block < start_block):
        raise CollectorError(
            f"the end of the range (block {end_block}) is before its start (block {start_block})"
        )
    path = check_db_path(db_path)
    requested = list(dict.fromkeys(int(s) for s in netuids)) if netuids is not None else None
    summary = BackfillSummary(network=subtensor.network)
    started = datetime.now(UTC).replace(tzinfo=None)

    def stored_now() -> dict[int, set[int]]:
        if not path.exists() or path.stat().st_size == 0:
            return {}
        try:
            return store.stored_subnets(path, summary.network)
        except store.StoreError:
            return {}

    with run_lock(path):
        head = asyncio.run(_head(subtensor, policy))
        end = head if end_block is None else min(int(end_block), head)
        if start_block > end:
            raise CollectorError(f"start block {start_block} is beyond the chain head ({head})")
        summary.points = list(range(int(start_block), end + 1, step))
        known = stored_now()
        for index, point in enumerate(summary.points):
            if requested is not None and point in known and set(requested) <= known[point]:
                summary.already.append(point)
                if progress:
                    progress(index + 1, len(summary.points), point, len(requested), len(requested))
                continue
            _backfill_point(
                subtensor, path, point, requested, policy, summary, known, progress, index, flush_seconds
            )
        failed = {
            str(p): {("all" if s < 0 else s): m for s, m in f.items()} for p, f in summary.failed.items()
        }
        run = {
            "started_at": started,
            "finished_at": datetime.now(UTC).replace(tzinfo=None),
            "network": summary.network,
            "status": summary.status,
            "snapshot_id": max(summary.snapshot_ids.values(), default=None),
            "subnets_ok": sorted({s for v in summary.stored.values() for s in v}),
            "subnets_failed": failed or None,
        }
        try:
            summary.run_id = store.record_run(path, run, lock_wait=policy.write_lock_wait())
        except store.StoreError as exc:
            log.error("could not record the run in %s: %s", path, exc)
    return summary


async def _head(subtensor: Any, policy: RetryPolicy) -> int:
    for attempt in range(1, policy.tries + 1):
        try:
            async with _opened(subtensor if attempt == 1 else fresh_subtensor(subtensor), policy) as client:
                return int(await asyncio.wait_for(client.block(), policy.timeout))
        except Exception as exc:
            if attempt == policy.tries:
                raise CollectorError(f"cannot reach {subtensor.network}: {_describe(exc)}") from None
            await asyncio.sleep(policy.delay(attempt))
    raise AssertionError("unreachable")


def _backfill_point(
    subtensor: Any,
    path: Path,
    point: int,
    requested: list[int] | None,
    policy: RetryPolicy,
    summary: BackfillSummary,
    known: dict[int, set[int]],
    progress: BackfillProgress | None,
    index: int,
    flush_seconds: float,
) -> None:
    """One point through collect's fetch loop, each subnet written as soon as it is read."""
    point_summary = CollectionSummary(network=summary.network)
    buffer: list[SubnetRows] = []
    meta_box: dict[str, Any] = {}
    last_flush = [time.monotonic()]
    written: list[int] = summary.stored.setdefault(point, [])
    counts = [0, 0]

    def flush() -> None:
        if not buffer or "meta" not in meta_box:
            return
        rows = list(buffer)
        buffer.clear()
        data = store.SnapshotData(meta=dict(meta_box["meta"]), tables=build_tables(rows))
        try:
            snapshot_id, added = store.add_subnets(path, data, lock_wait=policy.write_lock_wait())
        except Exception as exc:
            for r in rows:
                summary.failed.setdefault(point, {})[r.netuid] = f"database write failed: {_describe(exc)}"
            return
        summary.snapshot_ids[point] = snapshot_id
        written.extend(added)
        known.setdefault(point, set()).update(added)
        last_flush[0] = time.monotonic()

    def on_rows(rows: SubnetRows) -> None:
        buffer.append(rows)
        counts[0] += 1
        if progress:
            progress(index, len(summary.points), point, counts[0], counts[1])
        if time.monotonic() - last_flush[0] >= flush_seconds:
            flush()

    def skip(anchor: int) -> set[int]:
        return set(known.get(anchor, set()))

    def on_anchor(meta: dict[str, Any], chosen: list[int]) -> None:
        meta_box["meta"] = meta
        counts[1] = len(chosen)

    try:
        with _gc_paused():
            _rows, meta = asyncio.run(
                _collect_async(
                    subtensor,
                    requested,
                    None,
                    policy,
                    None,
                    point_summary,
                    lambda _anchor_block: False,
                    anchor=point,
                    skip=skip,
                    on_rows=on_rows,
                    on_anchor=on_anchor,
                )
            )
    except KeyboardInterrupt:  # Ctrl-C: keep every subnet already read, then stop
        flush()
        raise
    if meta is not None:
        meta_box["meta"] = meta
    flush()
    if point_summary.failed:
        summary.failed.setdefault(point, {}).update(point_summary.failed)
    if progress:
        progress(index + 1, len(summary.points), point, counts[0], counts[1])
    log.info(
        "point %d (%d of %d): %d subnet(s) written%s",
        point,
        index + 1,
        len(summary.points),
        len(written),
        f", {len(point_summary.failed)} failed" if point_summary.failed else "",
    )


# --------------------------------------------------------------------------------------------------
# Record and replay: the JSON-RPC frames the SDK's transport sent and received, as JSON lines
#
# The SDK dials its websocket through a replaceable factory (``RpcSession(connect_factory=...)``);
# a recorded client's factory wraps the real websocket and appends every frame to ``DIR/rpc.jsonl``,
# a replayed client's factory is a connection answering each request from that file. Everything
# above the socket is the real SDK: session, batches, runtime resolution, metadata, SCALE decoding.

RECORDING_FILE = "rpc.jsonl"
# 2: a long result the file already holds (a runtime's metadata, ~0.6 MB, fetched again by every
# connection) is written once; later copies name it by its digest. Format 1 files replay as before.
RECORDING_FORMAT = 2
READABLE_RECORDING_FORMATS = (1, 2)
SHARED_RESULT_CHARS = 64 * 1024  # results at least this long are written once per recording file


def _network_argument(subtensor: Any) -> str:
    """What to pass ``bt.Subtensor`` for another client to the same chain: a name, or the URL."""
    return subtensor.network if subtensor.network in NETWORK_NAMES else subtensor.endpoint


def _request_key(method: Any, params: Any) -> str:
    return json.dumps([method, params], sort_keys=True, separators=(",", ":"))


_FULL_COPY_TAIL = re.compile(rb'"result_of":\s*"([0-9a-f]{64})"\s*}\s*$')


def _long_results_in(path: Path) -> set[str]:
    """The digests of the long results ``path`` already holds in full: a command appends through more
    than one client (backfill resolves its range on one), and a rerun appends to the same file."""
    found: set[str] = set()
    with contextlib.suppress(OSError), path.open("rb") as lines:
        for line in lines:
            if len(line) >= SHARED_RESULT_CHARS and (match := _FULL_COPY_TAIL.search(line[-100:])):
                found.add(match.group(1).decode())
    return found


class _Recorder:
    """Appends JSON lines to ``DIR/rpc.jsonl``: a header, then each connection's frames."""

    def __init__(self, directory: str | os.PathLike[str], header: dict[str, Any]) -> None:
        self.dir = Path(directory)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._file = open(self.dir / RECORDING_FILE, "a", encoding="utf-8")  # noqa: SIM115 - whole run
        except OSError as exc:
            raise CollectorError(f"cannot write a recording in {self.dir}: {exc.strerror or exc}") from None
        self._written = _long_results_in(self.dir / RECORDING_FILE)  # digests already written in full
        self.write({"recording": "json-rpc", "format": RECORDING_FORMAT, **header})

    def write(self, line: dict[str, Any]) -> None:
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._file.flush()

    def got(self, conn: str, frame: Any) -> None:
        """A received frame; a long result the file already holds is named by its digest instead (each
        new connection downloads the runtime's metadata again: without this, a 52-point backfill's
        recording is mostly copies of it)."""
        result = frame.get("result") if isinstance(frame, dict) else None
        if not isinstance(result, str) or len(result) < SHARED_RESULT_CHARS:
            self.write({"conn": conn, "got": frame})
            return
        digest = hashlib.sha256(result.encode()).hexdigest()
        if digest in self._written:  # the later copies: the frame without its result
            frame = {k: v for k, v in frame.items() if k != "result"}
        self._written.add(digest)
        self.write({"conn": conn, "got": frame, "result_of": digest})

    async def connect(self, url: str) -> Any:
        """The SDK's own websocket dial to ``url``, every frame through it recorded."""
        from bittensor._transport.rpc import _default_connect

        conn = uuid.uuid4().hex[:12]  # unique across the runs appending to one recording
        ws = await _default_connect(url)
        self.write({"conn": conn, "url": url})
        return _RecordingConnection(ws, self, conn)


class _RecordingConnection:
    """A websocket that writes each frame it sends or receives to the recording (the SDK's
    ``WsConnection``: send, recv, close)."""

    def __init__(self, ws: Any, recorder: _Recorder, conn: str) -> None:
        self._ws, self._recorder, self._conn = ws, recorder, conn

    def _frame(self, text: str | bytes) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            return {"text": text if isinstance(text, str) else text.decode("utf-8", "replace")}

    async def send(self, message: str) -> None:
        self._recorder.write({"conn": self._conn, "sent": self._frame(message)})
        await self._ws.send(message)

    async def recv(self) -> str | bytes:
        message = await self._ws.recv()
        self._recorder.got(self._conn, self._frame(message))
        return message

    async def close(self) -> None:
        await self._ws.close()


class Recording:
    """A recording read back: its header and each request's answers, in the order they came.

    Requests are matched on (endpoint, method, params): a batch is its requests, ids are the
    replaying session's own. The same request asked again gets the next recorded answer, then the
    last one again (a head re-probed more often offline than live)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        path = Path(directory) / RECORDING_FILE
        if not path.is_file():
            raise CollectorError(f"no recording at {path} (make one with --record {directory})")
        self.path = path
        self.header: dict[str, Any] = {}
        self._answers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._served: dict[tuple[str, str], int] = {}
        self.missing: list[str] = []
        self._urls: dict[str, str] = {}  # connection -> endpoint
        self._asked: dict[tuple[str, Any], tuple[str, str]] = {}  # (connection, id) -> (endpoint, request)
        self._anywhere: dict[str, tuple[str, str]] = {}  # request -> the first endpoint that answered it
        self._results: dict[str, Any] = {}  # digest -> a long result written once (format 2)
        with path.open("rb") as lines:  # bytes: text that is not UTF-8 is a bad line, not a crash
            for number, line in enumerate(lines, 1):
                try:
                    self._take(json.loads(line))
                except (ValueError, KeyError, TypeError, AttributeError):
                    raise CollectorError(
                        f"recording {path} line {number} is not a recorded JSON-RPC frame (not JSON, or not "
                        "written by --record)"
                    ) from None
        if not self.header:
            raise CollectorError(f"recording {path} has no header line (not written by --record)")

    def _take(self, entry: Any) -> None:
        """One line: the header, a connection's endpoint, or a frame it sent or got (raises if neither)."""
        if not isinstance(entry, dict):
            raise ValueError
        if "recording" in entry:
            if entry.get("format") not in READABLE_RECORDING_FORMATS or not isinstance(
                entry.get("endpoint"), str
            ):
                raise ValueError
            self.header = self.header or entry
        elif "url" in entry:
            self._urls[str(entry["conn"])] = str(entry["url"])
        elif "sent" in entry or "got" in entry:
            conn = str(entry["conn"])
            frames: Any = entry["sent"] if "sent" in entry else entry["got"]
            if "result_of" in entry:  # a long result: its first copy holds it, later ones name it
                digest = str(entry["result_of"])
                if "result" in frames:
                    self._results[digest] = frames["result"]
                else:
                    frames = {**frames, "result": self._results[digest]}  # KeyError: a bad line
            for frame in frames if isinstance(frames, list) else [frames]:
                if "sent" in entry:
                    request = _request_key(frame["method"], frame["params"])
                    self._asked[conn, frame["id"]] = (self._urls[conn], request)
                elif (conn, frame.get("id")) in self._asked:  # a response (not a subscription's push)
                    answer = {k: v for k, v in frame.items() if k not in ("id", "jsonrpc")}
                    asked = self._asked.pop((conn, frame["id"]))
                    self._answers.setdefault(asked, []).append(answer)
                    self._anywhere.setdefault(asked[1], asked)
        else:
            raise ValueError

    def answer(self, url: str, request: dict[str, Any]) -> dict[str, Any]:
        """The response frame to one request frame, with the request's id."""
        method, params = request.get("method"), request.get("params", [])
        found = self._find(url, _request_key(method, params))
        if found not in self._answers and _is_metadata(method, params):
            found = self._same_runtime_metadata(url, method, params) or found
        answers = self._answers.get(found)
        if not answers:
            what = f"{method}{json.dumps(request.get('params', []))}"
            self.missing.append(what)
            log.warning("replay: %s is not in the recording", what)
            answer: dict[str, Any] = {
                "error": {"code": -32000, "message": f"replay: {what} is not in the recording"}
            }
        else:
            index = self._served.get(found, 0)
            self._served[found] = index + 1
            answer = answers[min(index, len(answers) - 1)]
        return {"jsonrpc": "2.0", "id": request.get("id"), **answer}

    def _find(self, url: str, key: str) -> tuple[str, str]:
        """The recorded request: asked of ``url``, else of another endpoint of the pool."""
        return (url, key) if (url, key) in self._answers else self._anywhere.get(key, (url, key))

    def _spec_at(self, url: str, block_hash: Any) -> Any:
        """The runtime version the node gave for ``block_hash`` (None: never asked)."""
        answers = self._answers.get(self._find(url, _request_key("state_getRuntimeVersion", [block_hash])))
        result = answers[0].get("result") if answers else None
        return result.get("specVersion") if isinstance(result, dict) else None

    def _same_runtime_metadata(self, url: str, method: Any, params: list[Any]) -> tuple[str, str] | None:
        """A recorded metadata answer for the same runtime version: the SDK downloads a runtime's
        metadata at whichever of its blocks it meets first, which concurrent reads need not repeat."""
        spec = self._spec_at(url, params[-1])
        if spec is None:
            return None
        for found in self._answers:
            other_method, other_params = json.loads(found[1])
            if (
                other_method == method
                and _is_metadata(other_method, other_params)
                and other_params[:-1] == params[:-1]
                and self._spec_at(found[0], other_params[-1]) == spec
            ):
                return found
        return None

    async def connect(self, url: str) -> Any:
        return _ReplayConnection(self, url)


def _is_metadata(method: Any, params: list[Any]) -> bool:
    """A runtime metadata request (its last parameter: the block hash, None for the head)."""
    if method == "state_call":
        return len(params) == 3 and params[0] == "Metadata_metadata_at_version"
    return method == "state_getMetadata" and len(params) == 1


class _ReplayConnection:
    """A websocket to no node: each frame sent is answered from the recording (a batch as a batch)."""

    def __init__(self, recording: Recording, url: str) -> None:
        self._recording, self._url = recording, url
        self._replies: asyncio.Queue[str | None] = asyncio.Queue()  # None: hung up

    async def send(self, message: str) -> None:
        frame = json.loads(message)
        if isinstance(frame, list):
            reply: Any = [self._recording.answer(self._url, f) for f in frame]
        else:
            reply = self._recording.answer(self._url, frame)
        self._replies.put_nowait(json.dumps(reply))

    async def recv(self) -> str:
        reply = await self._replies.get()
        if reply is None:
            self._replies.put_nowait(None)  # every later receive ends too
            raise ConnectionClosedOK(None, None)
        return reply

    def hang_up(self) -> None:
        """End the client's receive loop: the replies already queued, then a clean close."""
        self._replies.put_nowait(None)

    async def close(self) -> None:
        return None


def _runtimes_over_the_wire(session: Any) -> Any:
    """The SDK's runtime manager without its on-disk metadata cache: each spec's metadata is asked of
    the node once per connection, so a recording always holds the metadata it was decoded with."""
    from bittensor._transport.runtime import RuntimeManager

    class OverTheWire(RuntimeManager):
        async def _build_codec(
            self, spec_version: int, transaction_version: int, at_hash: str | None, *, spec_name: str = ""
        ) -> Any:
            metadata, _ = await self._download_metadata(at_hash)
            return self._make_codec(metadata, spec_version, transaction_version, spec_name=spec_name)

    return OverTheWire(session)


class WiredRpcSubstrate(bt.RpcSubstrate):
    """The SDK's RPC substrate whose websockets are dialled by ``connect(url)``: recorded, or replayed."""

    def __init__(
        self,
        endpoint: str,
        connect: Callable[[str], Any],
        *,
        fallback_endpoints: list[str] | None = None,
        archive_endpoints: list[str] | None = None,
    ) -> None:
        super().__init__(endpoint, fallback_endpoints=fallback_endpoints, archive_endpoints=archive_endpoints)
        self._dial = connect
        self._dialled: list[Any] = []

    async def _dial_and_keep(self, url: str) -> Any:
        connection = await self._dial(url)
        self._dialled.append(connection)
        return connection

    def _interface(self, endpoint: str, fallbacks: list[str]) -> Any:
        from bittensor._transport.interface import SubstrateConnection

        connection = SubstrateConnection(
            endpoint,
            fallback_urls=fallbacks,
            retry_forever=self.retry_forever,
            connect_factory=self._dial_and_keep,
        )
        connection._runtimes = _runtimes_over_the_wire(connection._session)
        return connection

    async def close(self) -> None:
        """Hang up a replay's connections, then the SDK's close. The SDK stops its receive loop by
        cancelling it, and Python 3.11's ``asyncio.wait_for`` drops that cancel when a reply is
        already waiting, as one always is in a replay (answers are queued when a request is sent):
        the close then hung until ``RetryPolicy.close_timeout`` (10 s per failed subnet attempt)."""
        for connection in self._dialled:
            if isinstance(connection, _ReplayConnection):
                connection.hang_up()
        await super().close()

    def renewed(self) -> WiredRpcSubstrate:
        """A new unopened substrate dialling the same way (a fresh client for a retry)."""
        return WiredRpcSubstrate(
            self.endpoint,
            self._dial,
            fallback_endpoints=self.fallback_endpoints,
            archive_endpoints=self.archive_endpoints,
        )


def recorded(subtensor: Any, directory: str | os.PathLike[str]) -> Any:
    """An unopened client to ``subtensor``'s node whose every JSON-RPC frame is recorded to ``directory``."""
    rpc = getattr(getattr(subtensor, "_client", None), "_substrate", None)
    if not isinstance(rpc, bt.RpcSubstrate):
        raise CollectorError("--record writes a node's JSON-RPC frames; this client does not talk to a node")
    network = _network_argument(subtensor)
    recorder = _Recorder(
        directory,
        {
            "network": network,
            "endpoint": rpc.endpoint,
            "archive": list(rpc.archive_endpoints),
            "sdk": importlib.metadata.version("bittensor"),
        },
    )
    wired = WiredRpcSubstrate(
        rpc.endpoint,
        recorder.connect,
        fallback_endpoints=rpc.fallback_endpoints,
        archive_endpoints=rpc.archive_endpoints,
    )
    return bt.Subtensor(network, substrate=wired)


def replayed(directory: str | os.PathLike[str]) -> Any:
    """An unopened client whose node is a recording made with :func:`recorded` (no network)."""
    recording = Recording(directory)
    header = recording.header
    wired = WiredRpcSubstrate(
        header["endpoint"], recording.connect, archive_endpoints=[str(u) for u in header.get("archive") or []]
    )
    return bt.Subtensor(str(header.get("network") or header["endpoint"]), substrate=wired)


def client_for(
    network: str,
    *,
    record: str | os.PathLike[str] | None = None,
    replay: str | os.PathLike[str] | None = None,
) -> Any:
    """The client a command runs on: the network, recorded to ``record``, or a replay of ``replay``."""
    if replay is not None:
        return replayed(replay)
    subtensor = subtensor_for(network)
    return recorded(subtensor, record) if record is not None else subtensor
