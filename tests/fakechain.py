"""An in-memory Bittensor chain implementing the SDK's ``bittensor.Substrate`` protocol.

The real bittensor 11 client runs on top of it (``bt.Subtensor(network, substrate=FakeChain(...))``):
every storage read and runtime call the collector makes goes through the SDK's own namespaces,
snapshots and decoders, and is answered here with values shaped exactly as the SDK's transport
hands them over after SCALE decoding (ss58 strings for accounts, lists of tuples for
``Vec<(u16, u16)>``, ``{"bits": n}`` for fixed point, lists of byte values for the metagraph's
name and symbol, ``{"U16": v}`` tagged hyperparameters...). tests/test_collector_fakechain.py checks
those shapes against a real runtime's metadata by SCALE round trip.

State is versioned by block: ``chain.set_subnet(block, subnet)`` makes ``subnet`` that subnet's state
from ``block`` on (until a later one), so a test can lay out a subnet at e - 1, e and the head and
check that the collector pins each read to the right block. Matrices are kept as numpy
arrays and turned into Python lists per request, as a transport would decode them, so a whole
network fits in memory for the benchmark.

Failure injection: ``refuse_connections`` (connect raises as a refused socket does), ``hang``
(every request waits forever, as a silent node does), ``chain_errors`` (netuid -> message: reads
about that subnet raise ``ChainError``), ``fail_requests`` (the next N requests raise a
connection error).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bittensor import Balance, ChainError, RpcConnectionError, Subtensor
from bittensor._transport.codec import ss58_encode

MAX_SUBNETS = 4096  # mechanism storage index = mechid * 4096 + netuid
MONEY_ITEMS = frozenset(
    {
        "SubnetOwnerCut",
        "CKBurn",
        "MinChildkeyTake",
        "EmissionGateBar",
        "EmissionBarQuantile",
        "EmissionGateExponent",
        "EmissionBarRank",
        "Delegates",
        "Owner",
        "IdentitiesV2",
        "TotalHotkeyAlpha",
        "ChildkeyTake",
        "ParentKeys",
        "ChildKeys",
        "PendingServerEmission",
        "PendingValidatorEmission",
        "PendingRootAlphaDivs",
        "PendingOwnerCut",
        "OwnerCutEnabled",
        "RootProp",
        "SubnetAlphaOutEmission",
        "SubnetTaoInEmission",
        "SubnetExcessTao",
        "SubnetTAO",
        "SubnetAlphaIn",
        "SubnetAlphaOut",
        "SubnetMovingPrice",
        "MinChildkeyTakePerSubnet",
        "ChildkeyThresholdSuspended",
    }
)
SPEC_VERSION = 425


# SubtensorModule items per subnet: name -> (storage default, the value from a Subnet's state). Only
# the item asked for is turned into what the transport would hand over (a list from an array).
SUBNET_ITEMS: dict[str, tuple[Any, Any]] = {
    "NetworksAdded": (False, lambda sn: True),
    "SubnetworkN": (0, lambda sn: sn.n),
    "Tempo": (360, lambda sn: sn.tempo),
    "LastMechansimStepBlock": (0, lambda sn: sn.last_mechanism_step_block),
    "BondsPenalty": (65535, lambda sn: sn.bonds_penalty),
    "MechanismCountCurrent": (1, lambda sn: len(sn.mechanisms)),
    "MechanismEmissionSplit": (
        None,
        lambda sn: None if sn.emission_split is None else list(sn.emission_split),
    ),
    "SubnetEpochIndex": (0, lambda sn: sn.epoch_index),
    "RevealPeriodEpochs": (1, lambda sn: sn.reveal_period),
    "CommitRevealWeightsEnabled": (True, lambda sn: sn.commit_reveal),
    "Yuma3On": (False, lambda sn: sn.yuma3),
    "AlphaSigmoidSteepness": (1000, lambda sn: sn.alpha_sigmoid_steepness),
    "ValidatorTrust": ([], lambda sn: sn.validator_trust.tolist()),
    "StakeWeight": ([], lambda sn: sn.stake_weight.tolist()),
    "Consensus": ([], lambda sn: sn.consensus.tolist()),
    "Dividends": ([], lambda sn: sn.dividends.tolist()),
    "Emission": ([], lambda sn: sn.emission.tolist()),
    "Active": ([], lambda sn: sn.active.tolist()),
    "ValidatorPermit": ([], lambda sn: sn.validator_permit.tolist()),
}


# The money items (MONEY_ITEMS) by where the node keeps them: chain-wide (from Globals), per (hotkey,
# subnet) (SubnetMoney attribute, storage default) and per subnet (from SubnetMoney).
GLOBAL_MONEY: dict[str, Any] = {
    "SubnetOwnerCut": lambda g: g.subnet_owner_cut,
    "CKBurn": lambda g: g.ck_burn,
    "MinChildkeyTake": lambda g: g.min_childkey_take,
    "EmissionGateBar": lambda g: {"bits": g.emission_gate_bar},
    "EmissionBarQuantile": lambda g: {"bits": g.emission_bar_quantile},
    "EmissionGateExponent": lambda g: {"bits": g.emission_gate_exponent},
    "EmissionBarRank": lambda g: g.emission_bar_rank,
}
HOTKEY_MONEY: dict[str, tuple[str, Any]] = {
    "TotalHotkeyAlpha": ("alpha_stake", 0),
    "ChildkeyTake": ("childkey_take", 0),
    "ParentKeys": ("parents", []),
    "ChildKeys": ("children", []),
}
SUBNET_MONEY: dict[str, Any] = {
    "PendingServerEmission": lambda m: m.pending_server,
    "PendingValidatorEmission": lambda m: m.pending_validator,
    "PendingRootAlphaDivs": lambda m: m.pending_root,
    "PendingOwnerCut": lambda m: m.pending_owner_cut,
    "OwnerCutEnabled": lambda m: m.owner_cut_enabled,
    "RootProp": lambda m: {"bits": m.root_prop_bits},
    "SubnetAlphaOutEmission": lambda m: m.alpha_out_emission,
    "SubnetTaoInEmission": lambda m: m.tao_in_emission,
    "SubnetExcessTao": lambda m: m.excess_tao,
    "SubnetTAO": lambda m: m.tao_reserve,
    "SubnetAlphaIn": lambda m: m.alpha_reserve,
    "SubnetAlphaOut": lambda m: m.alpha_outstanding,
    "SubnetMovingPrice": lambda m: {"bits": m.moving_price_bits},
    "MinChildkeyTakePerSubnet": lambda m: m.min_childkey_take,
}


def fake_subtensor(chain: FakeChain, network: str = "local") -> Subtensor:
    """An unopened real SDK client over the fake chain (what tests and the bench hand to collect)."""
    return Subtensor(network, substrate=chain)


def account(seed: str) -> str:
    """A deterministic, valid ss58 address derived from a seed string."""
    return ss58_encode(hashlib.blake2b(seed.encode(), digest_size=32).digest())


def block_hash_of(block: int) -> str:
    return "0x" + hashlib.blake2b(f"block-{block}".encode(), digest_size=32).hexdigest()


@dataclass
class Matrix:
    """A sparse u16 matrix as the chain stores it: per row, the (column, value) entries in order."""

    rows: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def from_dense(cls, dense: np.ndarray, present: np.ndarray | None = None) -> Matrix:
        """Rows with at least one present entry; ``present`` marks entries stored (zeros included)."""
        dense = np.asarray(dense)
        present = dense > 0 if present is None else np.asarray(present, dtype=bool)
        rows = {}
        for i in np.flatnonzero(present.any(axis=1)):
            cols = np.flatnonzero(present[i]).astype(np.uint16)
            rows[int(i)] = (cols, dense[i, cols].astype(np.uint16))
        return cls(rows)

    def to_dense(self, n: int) -> np.ndarray:
        out = np.zeros((n, n), dtype=np.int64)
        for i, (cols, vals) in self.rows.items():
            out[i, cols.astype(np.int64)] = vals
        return out

    def entries(self) -> list[tuple[int, int, int]]:
        """(row, column, value) for every stored entry, explicit zeros included."""
        return [
            (i, int(c), int(v))
            for i, (cols, vals) in sorted(self.rows.items())
            for c, v in zip(cols, vals, strict=True)
        ]

    def decoded(self) -> list[tuple[int, list[tuple[int, int]]]]:
        """The ``query_map`` answer: ``[(row, [(col, value), ...]), ...]``."""
        return [
            (i, list(zip(cols.tolist(), vals.tolist(), strict=True))) for i, (cols, vals) in self.rows.items()
        ]


@dataclass
class Mechanism:
    """What the chain keeps per mechanism (storage index mechid * 4096 + netuid)."""

    weights: Matrix
    bonds: Matrix
    incentive: np.ndarray  # u16 per uid
    last_update: np.ndarray  # block per uid
    # CR-v2 WeightCommits: hotkey -> [(hash, commit_epoch, commit_block, reveal_block)]
    weight_commits: dict[str, list[tuple[str, int, int, int]]] = field(default_factory=dict)
    # CR-v4 TimelockedWeightCommits: commit_epoch -> [(hotkey, commit_block, ciphertext, reveal_round)]
    timelocked_commits: dict[int, list[tuple[str, int, str, int]]] = field(default_factory=dict)


@dataclass
class SubnetMoney:
    """A subnet's money state at one block (schema 2 reads), raw chain units; defaults = storage defaults.

    Per-hotkey items are keyed by hotkey; ``parents`` maps a child to its ParentKeys vector
    [(proportion u64, parent)], ``children`` a parent to its ChildKeys vector; ``stakers`` a hotkey to
    the coldkeys holding stake to it on this subnet (AlphaV2 entries)."""

    pending_server: int = 0
    pending_validator: int = 0
    pending_root: int = 0
    pending_owner_cut: int = 0
    owner_cut_enabled: bool = True
    root_prop_bits: int = 0  # U96F32
    alpha_out_emission: int = 0  # SubnetAlphaOutEmission (this block's)
    tao_in_emission: int = 0
    excess_tao: int = 0
    tao_reserve: int = 0
    alpha_reserve: int = 0
    alpha_outstanding: int = 0
    price_rao: int = 0
    moving_price_bits: int = 0  # I96F32
    min_childkey_take: int = 0  # MinChildkeyTakePerSubnet
    childkey_take: dict[str, int] = field(default_factory=dict)
    alpha_stake: dict[str, int] = field(default_factory=dict)  # TotalHotkeyAlpha on this subnet
    parents: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    children: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    alpha_dividends: dict[str, int] = field(default_factory=dict)
    root_dividends: dict[str, int] = field(default_factory=dict)
    stakers: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Accounts:
    """Chain-wide per-account state at one block: takes, root stake, owners, identities."""

    delegate_take: dict[str, int] = field(default_factory=dict)  # Delegates (missing = 11796)
    root_stake: dict[str, int] = field(default_factory=dict)  # TotalHotkeyAlpha on netuid 0
    owner: dict[str, str] = field(default_factory=dict)  # Owner: hotkey -> coldkey
    identity: dict[str, str] = field(default_factory=dict)  # IdentitiesV2 name by coldkey
    suspended: set[str] = field(default_factory=set)  # ChildkeyThresholdSuspended parents


@dataclass
class Subnet:
    """One subnet's state at one block, in raw chain units."""

    netuid: int
    hotkeys: list[str]
    coldkeys: list[str]
    block_at_registration: np.ndarray
    alpha_stake: np.ndarray  # rao
    tao_stake: np.ndarray  # rao
    total_stake: np.ndarray  # rao
    active: np.ndarray  # bool
    validator_permit: np.ndarray  # bool
    consensus: np.ndarray  # u16
    dividends: np.ndarray  # u16
    validator_trust: np.ndarray  # u16
    stake_weight: np.ndarray  # u16
    emission: np.ndarray  # rao
    mechanisms: list[Mechanism]
    name: str = "fake"
    symbol: str = "α"
    owner_hotkey: str = ""
    owner_coldkey: str = ""
    tempo: int = 360
    kappa: int = 32767
    bonds_moving_avg: int = 900_000
    bonds_penalty: int = 65535
    activity_cutoff_factor_milli: int = 13_889
    yuma3: bool = False
    liquid_alpha: bool = False
    alpha_low: int = 45875
    alpha_high: int = 58982
    alpha_sigmoid_steepness: int = 1000
    max_validators: int = 128
    commit_reveal: bool = False
    reveal_period: int = 1
    epoch_index: int = 0
    emission_split: list[int] | None = None
    last_mechanism_step_block: int = 0
    network_registered_at: int = 1
    money: SubnetMoney = field(default_factory=SubnetMoney)

    @property
    def n(self) -> int:
        return len(self.hotkeys)


@dataclass
class Globals:
    """Chain-wide storage at one block."""

    tao_weight: int = 3_320_413_933_267_719_290  # raw u64 (0.18 of u64::MAX)
    stake_threshold: int = 0
    subnet_owner_cut: int = 11796
    ck_burn: int = 0
    min_childkey_take: int = 0
    emission_gate_bar: int = 0  # U64F64 bits
    emission_bar_quantile: int = int(0.61 * 2**64)
    emission_gate_exponent: int = 3 * 2**64
    emission_bar_rank: int = 32


class FakeChain:
    """A ``bittensor.Substrate`` backed by :class:`ChainState` snapshots keyed by block."""

    def __init__(self, head: int, *, spec_version: int = SPEC_VERSION, latency: float = 0.0):
        self.head = head
        self.spec = spec_version
        self.latency = latency
        self.token_symbols: dict[int, str] = {}
        self._subnets: dict[int, dict[int, Subnet | None]] = {}
        self._globals: dict[int, Globals] = {}
        self._accounts: dict[int, Accounts] = {}
        self._specs: dict[int, int] = {0: spec_version}  # block -> runtime spec in force from it
        self.timestamp_ms = 1_700_000_000_000
        self._hashes: dict[str, int] = {}
        # (kind, key, block) -> the state in force there: the node's index, rebuilt on any set_*.
        self._in_force: dict[tuple, Any] = {}
        # Failure injection.
        self.refuse_connections = False
        self.hang = False
        self.chain_errors: dict[int, str] = {}
        self.fail_requests = 0
        self.legacy_runtime = False  # no hyperparams v3 nor SubnetEpochIndex, as on runtimes before them
        # spec -> storage items that runtimes older than that spec do not have.
        self.absent_before: dict[int, set[str]] = {423: {"SubnetEpochIndex", "TimelockedWeightCommits"}}
        self.without_money = False  # a runtime before the money items (MONEY_ITEMS, pool price API)
        # Observability for tests.
        self.connects = 0
        self.closes = 0
        self.requests: list[tuple[str, str, tuple, int]] = []  # (kind, name, params, block)

    # -- state --------------------------------------------------------------------------------

    def _latest(self, kind: str, key: Any, timeline: dict[int, Any], block: int, default: Any) -> Any:
        """The entry of ``timeline`` in force at ``block`` (the last set at or before it), looked up
        once per (kind, key, block): the node's own index (server-side work, not the client's)."""
        memo = (kind, key, block)
        if memo in self._in_force:
            return self._in_force[memo]
        known = [b for b in timeline if b <= block]
        value = timeline[max(known)] if known else default
        self._in_force[memo] = value
        return value

    def set_subnet(self, block: int, subnet: Subnet | None) -> None:
        """``subnet`` is that subnet's state from ``block`` on (None: the subnet is gone)."""
        self._subnets.setdefault(subnet.netuid, {})[block] = subnet
        self._in_force.clear()

    def remove_subnet(self, block: int, netuid: int) -> None:
        """The subnet is dissolved from ``block`` on."""
        self._subnets.setdefault(netuid, {})[block] = None
        self._in_force.clear()

    def set_globals(self, block: int, values: Globals) -> None:
        self._globals[block] = values
        self._in_force.clear()

    def subnet_at(self, netuid: int, block: int) -> Subnet | None:
        return self._latest("subnet", netuid, self._subnets.get(netuid, {}), block, None)

    def netuids_at(self, block: int) -> list[int]:
        return sorted(s for s in self._subnets if s >= 0 and self.subnet_at(s, block) is not None)

    def set_accounts(self, block: int, values: Accounts) -> None:
        self._accounts[block] = values
        self._in_force.clear()

    def accounts_at(self, block: int) -> Accounts:
        known = self._latest("accounts", None, self._accounts, block, None)
        return known if known is not None else Accounts()

    def upgrade_runtime(self, block: int, spec_version: int) -> None:
        """A runtime upgrade: blocks from ``block`` on run ``spec_version``."""
        self._specs[block] = spec_version
        self.spec = self._specs[max(self._specs)]
        self._in_force.clear()

    def spec_at(self, block: int) -> int:
        return self._latest("spec", None, self._specs, block, None)

    def legacy_at(self, block: int) -> bool:
        """No get_subnet_hyperparams_v3 nor SubnetEpochIndex at this block."""
        return self.legacy_runtime or self.spec_at(block) < 423

    def globals_at(self, block: int) -> Globals:
        known = self._latest("globals", None, self._globals, block, None)
        return known if known is not None else Globals()

    # -- protocol: lifecycle ------------------------------------------------------------------------

    def balance(self, rao: int, netuid: int = 0) -> Balance:
        symbol = self.token_symbols.get(netuid) if netuid else None
        return Balance(int(rao), netuid, symbol)

    async def connect(self) -> None:
        self.connects += 1
        if self.refuse_connections:
            raise RpcConnectionError(
                "[Errno 111] Connect call failed ('127.0.0.1', 9944): Connection refused"
            )
        await self._gate()

    async def close(self) -> None:
        self.closes += 1

    async def _gate(self, latency: float | None = None) -> None:
        if self.hang:
            await asyncio.Event().wait()  # a node that never answers
        if self.fail_requests > 0:
            self.fail_requests -= 1
            raise RpcConnectionError("connection reset by peer")
        latency = self.latency if latency is None else latency
        if latency:
            await asyncio.sleep(latency)

    # -- protocol: chain metadata -------------------------------------------------------------------

    async def block_hash(self, block: int | None = None) -> str:
        block = self.head if block is None else int(block)
        digest = block_hash_of(block)
        if digest in self._hashes:  # the SDK's transport caches finalized number -> hash (and runtime)
            await self._gate(latency=0.0)
            return digest
        # First touch of a block over RPC: chain_getBlockHash, then chain_getHeader and
        # state_getRuntimeVersion (the transport's codec_at), three round trips in a row.
        await self._gate(latency=3 * self.latency)
        if block > self.head or block < 0:
            raise ChainError(f"Block not found for block {block}")
        self._hashes[digest] = block
        return digest

    async def block_number(self) -> int:
        await self._gate()
        return self.head

    async def finalized_block_number(self) -> int:
        await self._gate()
        return self.head

    async def block_time(self) -> float:
        return 12.0

    async def spec_version(self) -> int:
        await self._gate()
        return self.spec

    async def constant(self, module: str, name: str) -> Any:
        raise ChainError(f"constant {module}.{name} is not served by the fake chain")

    def _block_of(self, block_hash: str | None) -> int:
        if block_hash is None:
            return self.head
        if block_hash not in self._hashes:
            raise ChainError(f"unknown block hash {block_hash}")
        return self._hashes[block_hash]

    def _subnet(self, block: int, netuid: int) -> Subnet | None:
        if netuid in self.chain_errors:
            raise ChainError(self.chain_errors[netuid])
        return self.subnet_at(netuid, block)

    # -- protocol: storage ------------------------------------------------------------------------

    async def query(self, module: str, storage_function: str, params=None, block_hash=None) -> Any:
        await self._gate()
        block = self._block_of(block_hash)
        params = list(params or [])
        self.requests.append(("query", f"{module}.{storage_function}", tuple(params), block))
        return self._stored(module, storage_function, params, block)

    async def query_multi(self, requests: list[tuple[str, str, list]], block_hash=None) -> list:
        """Many single values in one request (as one ``state_queryStorageAt`` over every key); an item
        this block's runtime lacks comes back as ``collector.Missing``, as the RPC path gives it."""
        from analytics.data.collector import Missing

        await self._gate()
        block = self._block_of(block_hash)
        self.requests.append(("query_multi", ",".join(f"{m}.{f}" for m, f, _ in requests), (), block))
        out = []
        for module, name, params in requests:
            try:
                out.append(self._stored(module, name, list(params), block))
            except ValueError as exc:
                out.append(Missing((module, name), str(exc)))
        return out

    async def spec_version_at(self, block_hash: str) -> int:
        await self._gate()
        block = self._block_of(block_hash)
        self.requests.append(("spec_version_at", "", (), block))
        return self.spec_at(block)

    def _absent(self, block: int, storage_function: str) -> bool:
        """An item the runtime at ``block`` does not have (legacy runtimes, see ``absent_before``)."""
        spec = self.spec_at(block)
        return any(
            spec < before and storage_function in items for before, items in self.absent_before.items()
        )

    def _stored(self, module: str, storage_function: str, params: list, block: int) -> Any:
        if self._absent(block, storage_function):
            raise ValueError(f"Storage function {module}.{storage_function} not found")  # as the SDK does
        if module == "Timestamp" and storage_function == "Now":
            return self.timestamp_ms + block * 12_000
        if module == "System" and storage_function == "LastRuntimeUpgrade":
            return {"spec_version": self.spec_at(block), "spec_name": "node-subtensor"}
        if module == "SubtensorModule" and storage_function in MONEY_ITEMS:
            if self.without_money:  # what the SDK raises for an item missing from the metadata
                raise ValueError(f"Storage function SubtensorModule.{storage_function} not found")
            return self._money_query(storage_function, params, block)
        if module != "SubtensorModule":
            raise ChainError(f"storage {module}.{storage_function} is not served by the fake chain")
        if storage_function == "TaoWeight":
            return self.globals_at(block).tao_weight
        if storage_function == "StakeThreshold":
            return self.globals_at(block).stake_threshold
        if self.legacy_at(block) and storage_function == "SubnetEpochIndex":
            raise ValueError("Storage function SubtensorModule.SubnetEpochIndex not found")  # as the SDK does
        index = int(params[0])
        netuid, mechid = index % MAX_SUBNETS, index // MAX_SUBNETS
        sn = self._subnet(block, netuid)
        per_mechanism = {"LastUpdate", "Incentive"}
        if storage_function in per_mechanism:
            if sn is None or mechid >= len(sn.mechanisms):
                return []
            mech = sn.mechanisms[mechid]
            return (mech.last_update if storage_function == "LastUpdate" else mech.incentive).tolist()
        if storage_function not in SUBNET_ITEMS:
            raise ChainError(f"storage SubtensorModule.{storage_function} is not served by the fake chain")
        default, value = SUBNET_ITEMS[storage_function]
        if sn is None:
            return list(default) if isinstance(default, list) else default
        return value(sn)

    def _money_query(self, item: str, params: list, block: int) -> Any:
        """The schema-2 storage items (see MONEY_ITEMS), with the runtime's ValueQuery defaults."""
        if item in GLOBAL_MONEY:
            return GLOBAL_MONEY[item](self.globals_at(block))
        if item == "Delegates":
            return self.accounts_at(block).delegate_take.get(params[0], 11796)
        if item == "Owner":
            return self.accounts_at(block).owner.get(params[0])
        if item == "ChildkeyThresholdSuspended":  # OptionQuery of (): () when set, None otherwise
            return () if params[0] in self.accounts_at(block).suspended else None
        if item == "IdentitiesV2":
            name = self.accounts_at(block).identity.get(params[0])
            if name is None:
                return None
            blank: list[int] = []  # ChainIdentityV2: every field the runtime type has
            fields = ("url", "github_repo", "image", "discord", "description", "additional")
            return {"name": list(name.encode()), **dict.fromkeys(fields, blank)}
        if item in HOTKEY_MONEY:
            hotkey, netuid = params[0], int(params[1])
            if item == "TotalHotkeyAlpha" and netuid == 0:
                return self.accounts_at(block).root_stake.get(hotkey, 0)
            sn = self._subnet(block, netuid)
            money = sn.money if sn is not None else SubnetMoney()
            attribute, default = HOTKEY_MONEY[item]
            value = getattr(money, attribute).get(hotkey, default)
            return value if isinstance(value, int) else copy.deepcopy(value)  # a fresh decoded value
        sn = self._subnet(block, int(params[0]))
        return SUBNET_MONEY[item](sn.money if sn is not None else SubnetMoney())

    async def map_has_entries(self, module, storage_function, params, block_hash=None) -> bool:
        return bool(await self.query_map(module, storage_function, params, block_hash))

    async def query_map(self, module: str, storage_function: str, params=None, block_hash=None) -> list:
        await self._gate()
        block = self._block_of(block_hash)
        params = list(params or [])
        self.requests.append(("query_map", f"{module}.{storage_function}", tuple(params), block))
        return await self._map(module, storage_function, params, block)

    async def _map(self, module: str, storage_function: str, params: list, block: int) -> list:
        """One map's (key, value) pairs under ``params`` at ``block`` (no request counted)."""
        if self._absent(block, storage_function):
            raise ValueError(f"Storage function {module}.{storage_function} not found")
        if module != "SubtensorModule":
            raise ChainError(f"storage {module}.{storage_function} is not served by the fake chain")
        if storage_function == "NetworksAdded":
            return [(netuid, True) for netuid in self.netuids_at(block)]
        if storage_function == "LastMechansimStepBlock":  # a subnet that ran no epoch has no entry
            values = ((s, self._stored(module, storage_function, [s], block)) for s in self.netuids_at(block))
            return [(s, v) for s, v in values if v]
        if storage_function == "TokenSymbol":
            return [(s, self.subnet_at(s, block).symbol) for s in self.netuids_at(block)]  # Vec<u8> as text
        if self.without_money and storage_function in (
            "AlphaV2",
            "Alpha",
            "AlphaDividendsPerSubnet",
            "RootAlphaDividendsPerSubnet",
        ):
            raise ValueError(f"Storage function SubtensorModule.{storage_function} not found")
        if storage_function in ("AlphaV2", "Alpha"):  # prefix [hotkey]: ((coldkey, netuid), share)
            hotkey = params[0]
            # AlphaV2 shares are SafeFloat; the runtimes before it kept them in Alpha as U64F64
            share = {"mantissa": 1, "exponent": 0} if storage_function == "AlphaV2" else {"bits": 2**64}
            out = []
            for s in self.netuids_at(block):
                for coldkey in self.subnet_at(s, block).money.stakers.get(hotkey, []):
                    out.append(((coldkey, s), share))
            return out
        if storage_function in ("AlphaDividendsPerSubnet", "RootAlphaDividendsPerSubnet"):
            sn = self._subnet(block, int(params[0]))
            if sn is None:
                return []
            values = (
                sn.money.alpha_dividends if storage_function.startswith("Alpha") else sn.money.root_dividends
            )
            return [(hk, v) for hk, v in values.items() if v]  # the chain stores only non-zero amounts
        index = int(params[0])
        netuid, mechid = index % MAX_SUBNETS, index // MAX_SUBNETS
        sn = self._subnet(block, netuid)
        if sn is None or mechid >= len(sn.mechanisms):
            return []
        mech = sn.mechanisms[mechid]
        if storage_function == "Weights":
            return mech.weights.decoded()
        if storage_function == "Bonds":
            return mech.bonds.decoded()
        if storage_function == "WeightCommits":
            return [(hotkey, [tuple(c) for c in commits]) for hotkey, commits in mech.weight_commits.items()]
        if storage_function == "TimelockedWeightCommits":
            return [
                (epoch, [tuple(c) for c in commits]) for epoch, commits in mech.timelocked_commits.items()
            ]
        raise ChainError(f"storage map SubtensorModule.{storage_function} is not served by the fake chain")

    async def query_map_multi(
        self, module: str, storage_function: str, prefixes: list, block_hash=None
    ) -> list:
        """Many prefix scans of one map in one request, as the collector's RPC path batches them
        (every ``state_getKeysPaged`` in one JSON-RPC frame, then the values); answers as query_map."""
        await self._gate()
        block = self._block_of(block_hash)
        self.requests.append(("query_map_multi", f"{module}.{storage_function}", (), block))
        if storage_function == "AlphaV2" and not self.without_money and not self._absent(block, "AlphaV2"):
            # the node's side of the scan, indexed once per request (not once per hotkey)
            wanted = {str(p[0]): [] for p in prefixes}
            for s in self.netuids_at(block):
                for hotkey, coldkeys in self.subnet_at(s, block).money.stakers.items():
                    if hotkey in wanted:
                        wanted[hotkey].extend(
                            ((coldkey, s), {"mantissa": 1, "exponent": 0}) for coldkey in coldkeys
                        )
            return [list(wanted[str(p[0])]) for p in prefixes]
        return [await self._map(module, storage_function, list(params), block) for params in prefixes]

    async def query_batch(self, module, storage_function, param_sets, block_hash=None) -> list:
        """One storage item for many keys in one request (``state_queryStorageAt``)."""
        await self._gate()
        block = self._block_of(block_hash)
        self.requests.append(("query_batch", f"{module}.{storage_function}", (), block))
        return [self._stored(module, storage_function, list(p), block) for p in param_sets]

    # -- protocol: runtime API -----------------------------------------------------------------------

    async def runtime_call(self, api: str, method: str, params: list, block_hash=None) -> Any:
        await self._gate()
        block = self._block_of(block_hash)
        self.requests.append(("runtime", f"{api}.{method}", tuple(params), block))
        if (api, method) == ("Core", "version"):
            return {
                "spec_name": "node-subtensor",
                "spec_version": self.spec_at(block),
                "transaction_version": 1,
            }
        if api == "SwapRuntimeApi" and self.without_money:
            raise ValueError(f"Runtime API Call '{api}.{method}' not found in registry")
        if api == "SwapRuntimeApi" and method == "current_alpha_price":
            sn = self._subnet(block, int(params[0]))
            return 0 if sn is None else sn.money.price_rao
        if api != "SubnetInfoRuntimeApi":
            raise ChainError(f"runtime API {api}.{method} is not served by the fake chain")
        netuid = int(params[0])
        sn = self._subnet(block, netuid)
        if method == "get_metagraph":
            return None if sn is None else metagraph_record(sn, 0, block)
        if method == "get_mechagraph":
            mechid = int(params[1])
            if sn is None or mechid >= len(sn.mechanisms):
                return None
            return metagraph_record(sn, mechid, block)
        if method == "get_subnet_hyperparams_v3":
            if self.legacy_at(block):  # what the SDK raises for an API missing from the runtime's metadata
                raise ValueError(f"Runtime API Call '{api}.{method}' not found in registry")
            return None if sn is None else hyperparams_record(sn)
        raise ChainError(f"runtime API {api}.{method} is not served by the fake chain")

    # -- protocol: the rest is not needed for reads ---------------------------------------------------

    def __getattr__(self, name: str):
        raise AttributeError(f"FakeChain does not implement {name!r}")


def metagraph_record(sn: Subnet, mechid: int, block: int) -> dict:
    """``Option<Metagraph<AccountId32>>`` as the transport decodes it (get_metagraph / get_mechagraph)."""
    n = sn.n
    mech = sn.mechanisms[mechid]
    zeros = [0] * n
    return {
        "netuid": mechid * MAX_SUBNETS + sn.netuid if mechid else sn.netuid,
        "name": list(sn.name.encode()),
        "symbol": list(sn.symbol.encode()),
        "identity": None,
        "network_registered_at": sn.network_registered_at,
        "owner_hotkey": sn.owner_hotkey,
        "owner_coldkey": sn.owner_coldkey,
        "block": block,
        "tempo": sn.tempo,
        "last_step": sn.last_mechanism_step_block,
        "blocks_since_last_step": max(0, block - sn.last_mechanism_step_block),
        "subnet_emission": 0,
        "alpha_in": 10**15,
        "alpha_out": 10**15,
        "tao_in": 10**13,
        "alpha_out_emission": 10**9,
        "alpha_in_emission": 10**9,
        "tao_in_emission": 10**7,
        "pending_alpha_emission": 0,
        "pending_root_emission": 0,
        "subnet_volume": 0,
        "moving_price": {"bits": 2**32 // 100},
        "rho": 10,
        "kappa": sn.kappa,
        "min_allowed_weights": 1,
        "max_weights_limit": 65535,
        "weights_version": 0,
        "weights_rate_limit": 100,
        "activity_cutoff": max(1, sn.activity_cutoff_factor_milli * sn.tempo // 1000),
        "max_validators": sn.max_validators,
        "num_uids": n,
        "max_uids": 256,
        "burn": 500_000,
        "difficulty": 10_000_000,
        "registration_allowed": True,
        "pow_registration_allowed": False,
        "immunity_period": 5000,
        "min_difficulty": 10_000_000,
        "max_difficulty": 10**18,
        "min_burn": 500_000,
        "max_burn": 100_000_000_000,
        "adjustment_alpha": 0,
        "adjustment_interval": 112,
        "target_regs_per_interval": 2,
        "max_regs_per_block": 1,
        "serving_rate_limit": 10,
        "commit_reveal_weights_enabled": sn.commit_reveal,
        "commit_reveal_period": sn.reveal_period,
        "liquid_alpha_enabled": sn.liquid_alpha,
        "alpha_high": sn.alpha_high,
        "alpha_low": sn.alpha_low,
        "bonds_moving_avg": sn.bonds_moving_avg,
        "hotkeys": list(sn.hotkeys),
        "coldkeys": list(sn.coldkeys),
        "identities": [None] * n,
        "axons": [
            {
                "block": 0,
                "version": 0,
                "ip": 0,
                "port": 0,
                "ip_type": 4,
                "protocol": 4,
                "placeholder1": 0,
                "placeholder2": 0,
            }
        ]
        * n,
        "active": sn.active.tolist(),
        "validator_permit": sn.validator_permit.tolist(),
        "pruning_score": [],
        "last_update": mech.last_update.tolist(),
        "emission": sn.emission.tolist(),
        "dividends": sn.dividends.tolist(),
        "incentives": mech.incentive.tolist(),
        "consensus": sn.consensus.tolist(),
        "trust": [],
        "rank": [],
        "block_at_registration": sn.block_at_registration.tolist(),
        "alpha_stake": sn.alpha_stake.tolist(),
        "tao_stake": sn.tao_stake.tolist(),
        "total_stake": sn.total_stake.tolist(),
        "tao_dividends_per_hotkey": [(hk, 0) for hk in sn.hotkeys],
        "alpha_dividends_per_hotkey": [(hk, z) for hk, z in zip(sn.hotkeys, zeros, strict=True)],
    }


def hyperparams_record(sn: Subnet) -> list[dict]:
    """``Option<SubnetHyperparamsV3>``: a list of ``{"name", "value": {tag: payload}}`` entries."""
    entries = [
        ("kappa", "U16", sn.kappa),
        ("immunity_period", "U16", 5000),
        ("min_allowed_weights", "U16", 1),
        ("max_weights_limit", "U16", 65535),
        ("tempo", "U16", sn.tempo),
        ("weights_version", "U64", 0),
        ("weights_rate_limit", "U64", 100),
        ("activity_cutoff", "U64", max(1, sn.activity_cutoff_factor_milli * sn.tempo // 1000)),
        ("activity_cutoff_factor", "U32", sn.activity_cutoff_factor_milli),
        ("registration_allowed", "Bool", True),
        ("target_regs_per_interval", "U16", 2),
        ("min_burn", "TaoBalance", 500_000),
        ("max_burn", "TaoBalance", 100_000_000_000),
        ("burn_half_life", "U16", 0),
        ("burn_increase_mult", "U64F64", {"bits": 2**64}),
        ("bonds_moving_avg", "U64", sn.bonds_moving_avg),
        ("max_regs_per_block", "U16", 1),
        ("serving_rate_limit", "U64", 10),
        ("max_validators", "U16", sn.max_validators),
        ("commit_reveal_period", "U64", sn.reveal_period),
        ("commit_reveal_weights_enabled", "Bool", sn.commit_reveal),
        ("alpha_high", "U16", sn.alpha_high),
        ("alpha_low", "U16", sn.alpha_low),
        ("liquid_alpha_enabled", "Bool", sn.liquid_alpha),
        ("alpha_sigmoid_steepness", "I32F32", {"bits": sn.alpha_sigmoid_steepness * 2**32}),
        ("yuma_version", "U16", 3 if sn.yuma3 else 2),
        ("subnet_is_active", "Bool", True),
        ("transfers_enabled", "Bool", True),
        ("bonds_reset_enabled", "Bool", False),
        ("user_liquidity_enabled", "Bool", False),
        ("owner_cut_enabled", "Bool", True),
    ]
    return [{"name": name, "value": {tag: value}} for name, tag, value in entries]


# --------------------------------------------------------------------------------------------------
# Builders


def _max_upscaled(rng: np.random.Generator, k: int) -> np.ndarray:
    """k weights as ``set_weights`` stores them: the largest is 65535."""
    raw = rng.integers(1, 1000, size=k).astype(np.float64)
    return np.floor(raw / raw.max() * 65535).astype(np.int64)


def random_matrix(
    rng: np.random.Generator, n: int, rows: np.ndarray, *, density: float = 1.0, zeros: float = 0.0
) -> Matrix:
    """A stored u16 matrix: ``rows`` set entries on ~density of the columns, ~zeros of them explicit 0."""
    dense = np.zeros((n, n), dtype=np.int64)
    present = np.zeros((n, n), dtype=bool)
    for i in rows:
        cols = np.flatnonzero(rng.random(n) < density)
        if len(cols) == 0:
            cols = np.array([int(rng.integers(n))])
        present[i, cols] = True
        dense[i, cols] = _max_upscaled(rng, len(cols))
        dense[i, cols[rng.random(len(cols)) < zeros]] = 0
    return Matrix.from_dense(dense, present)


def random_subnet(
    netuid: int,
    *,
    n: int = 256,
    validators: int = 64,
    mechanisms: int = 1,
    split: list[int] | None = None,
    seed: int = 0,
    block: int = 10_000,
    commit_reveal: bool = False,
    with_weights: bool = True,
    zeros: float = 0.05,
    density: float = 1.0,
) -> Subnet:
    """A subnet with arbitrary (not Yuma-consistent) raw values; validators are uids 0..validators-1."""
    rng = np.random.default_rng([netuid, seed])
    vals = np.arange(validators)
    hotkeys = [account(f"hotkey-{netuid}-{uid}-{seed}") for uid in range(n)]
    coldkeys = [account(f"coldkey-{netuid}-{uid % 7}") for uid in range(n)]
    alpha = rng.integers(10**9, 10**12, size=n, dtype=np.int64).astype(np.uint64)
    alpha[vals] = rng.integers(10**13, 10**15, size=validators, dtype=np.int64).astype(np.uint64)
    tao = np.zeros(n, dtype=np.uint64)
    tao[vals] = rng.integers(0, 10**13, size=validators, dtype=np.int64).astype(np.uint64)
    permit = np.zeros(n, dtype=bool)
    permit[vals] = True
    mechs = []
    for _ in range(mechanisms):
        mechs.append(
            Mechanism(
                weights=random_matrix(rng, n, vals, density=density, zeros=zeros)
                if with_weights
                else Matrix(),
                bonds=random_matrix(rng, n, vals, density=density / 2, zeros=0.0),
                incentive=rng.integers(0, 65536, size=n).astype(np.uint16),
                last_update=rng.integers(block - 2000, block, size=n).astype(np.int64),
            )
        )
    return Subnet(
        netuid=netuid,
        name=f"subnet {netuid}",
        symbol="α",
        owner_hotkey=hotkeys[0],
        owner_coldkey=coldkeys[0],
        hotkeys=hotkeys,
        coldkeys=coldkeys,
        block_at_registration=rng.integers(0, block - 3000, size=n).astype(np.int64),
        alpha_stake=alpha,
        tao_stake=tao,
        total_stake=alpha + tao // np.uint64(5),
        active=rng.random(n) < 0.9,
        validator_permit=permit,
        consensus=rng.integers(0, 65536, size=n).astype(np.uint16),
        dividends=rng.integers(0, 65536, size=n).astype(np.uint16),
        validator_trust=rng.integers(0, 65536, size=n).astype(np.uint16),
        stake_weight=rng.integers(0, 65536, size=n).astype(np.uint16),
        emission=rng.integers(0, 10**9, size=n, dtype=np.int64).astype(np.uint64),
        mechanisms=mechs,
        commit_reveal=commit_reveal,
        emission_split=split,
        tempo=360,
    )


def perturbed(sn: Subnet, seed: int, *, weights: bool = True, outputs: bool = True) -> Subnet:
    """A copy of ``sn`` with new outputs (and weights, bonds): the same subnet some blocks later."""
    out = copy.deepcopy(sn)
    rng = np.random.default_rng([sn.netuid, seed, 99])
    n = out.n
    if outputs:
        for name in ("consensus", "dividends", "validator_trust", "stake_weight"):
            setattr(out, name, rng.integers(0, 65536, size=n).astype(np.uint16))
        out.emission = rng.integers(0, 10**9, size=n, dtype=np.int64).astype(np.uint64)
        out.active = rng.random(n) < 0.8
        out.validator_permit = rng.random(n) < 0.3
    for mech in out.mechanisms:
        if outputs:
            mech.incentive = rng.integers(0, 65536, size=n).astype(np.uint16)
            rows = np.array(sorted(mech.bonds.rows), dtype=np.int64)
            mech.bonds = random_matrix(rng, n, rows, density=0.5) if len(rows) else Matrix()
        if weights and mech.weights.rows:
            rows = np.array(sorted(mech.weights.rows), dtype=np.int64)
            mech.weights = random_matrix(rng, n, rows, density=0.8, zeros=0.05)
    return out


def epoch_timeline(
    chain: FakeChain, before: Subnet, *, epoch_block: int, after: Subnet | None = None, head_seed: int = 7
) -> tuple[Subnet, Subnet, Subnet]:
    """Lay out a subnet's epoch at ``epoch_block`` e: ``before`` from 0 to e - 1, its epoch outputs
    (``after``, default a perturbed copy) from e, and moved-on state from e + 1 (weights and stake
    changed, no new epoch), so a read pinned to the wrong block shows. Returns (before, at e, head)."""
    before.last_mechanism_step_block = epoch_block - before.tempo
    if (
        after is None
    ):  # new outputs; new weights too (reveals on CR subnets, set_weights after the epoch else)
        after = perturbed(before, epoch_block)
        after.alpha_stake = after.alpha_stake + np.uint64(777)  # the epoch's emission, staked
    at_e = after
    at_e.last_mechanism_step_block = epoch_block
    at_e.epoch_index = before.epoch_index + 1
    later = perturbed(at_e, epoch_block + 1, outputs=False)
    later.alpha_stake = later.alpha_stake + np.uint64(12345)
    chain.set_subnet(0, before)
    chain.set_subnet(epoch_block, at_e)
    chain.set_subnet(epoch_block + 1, later)
    return before, at_e, later


@dataclass
class Epoch:
    """A subnet laid out around its last epoch e: state at e - 1, at e, and after e."""

    before: Subnet
    at_e: Subnet
    later: Subnet
    e: int | None  # None: the subnet has run no epoch (collected at the head, not aligned)
    commit_blocks: dict[int, int] = field(default_factory=dict)  # uid -> expected commit block (mech 0)


def sample_network(head: int = 50_000) -> tuple[FakeChain, dict[int, Epoch]]:
    """The network the collector tests run on (subnet -> what it holds):

    0: root (skipped by --netuid all); 1: 256 uids, 64 validators, 2 mechanisms with an uneven split,
    explicit zero weights, uid 200 re-registered before the epoch (weights to it zeroed) and again in
    block e after the epoch; 2: commit-reveal, block-e weights differ from block e - 1, with v2 and
    v4 commits (expired, active, made in block e); 3: no weights at all; 5: no epoch run yet.
    """
    chain = FakeChain(head)
    chain.set_globals(0, Globals(tao_weight=3_320_413_933_267_719_290, stake_threshold=1_000))
    chain.set_globals(head - 10, Globals(tao_weight=1_844_674_407_370_955_161, stake_threshold=5_000))
    epochs: dict[int, Epoch] = {}

    root = random_subnet(0, n=8, validators=4)
    chain.set_subnet(0, root)

    e1 = head - 70
    sn1 = random_subnet(1, mechanisms=2, split=[16384, 49151], zeros=0.05)
    sn1.block_at_registration[200] = e1 - 50
    for mech in sn1.mechanisms:
        for i, (cols, vals) in mech.weights.rows.items():
            if i != 200:
                keep = np.union1d(cols, [200]).astype(np.uint16)
                new_vals = np.zeros(len(keep), dtype=np.uint16)
                new_vals[np.searchsorted(keep, cols)] = vals
                new_vals[np.searchsorted(keep, 200)] = 0  # clear_neuron keeps the entry as 0
                mech.weights.rows[i] = (keep, new_vals)
    before, at_e, later = epoch_timeline(chain, sn1, epoch_block=e1)
    at_e.hotkeys[200] = account("re-registered-in-block-e")
    at_e.block_at_registration[200] = e1
    epochs[1] = Epoch(before, at_e, later, e1)

    e2 = head - 130
    sn2 = random_subnet(2, commit_reveal=True, n=128, validators=32)
    sn2.epoch_index = 10
    hk = sn2.hotkeys
    sn2.mechanisms[0].weight_commits = {
        hk[9]: [("0x" + "11" * 32, 9, e2 - 500, e2 - 400), ("0x" + "22" * 32, 10, e2 - 100, e2)],
        account("not-registered-here"): [("0x" + "33" * 32, 10, e2 - 90, e2)],
    }
    before, at_e, later = epoch_timeline(chain, sn2, epoch_block=e2)
    at_e.mechanisms[0].weight_commits = {}  # hk[9] revealed by an extrinsic in block e
    at_e.mechanisms[0].timelocked_commits = {
        9: [(hk[5], e2 - 400, "0xff01", 1)],  # expired
        10: [(hk[6], e2 - 200, "0xff02", 2), (hk[6], e2 - 150, "0xff03", 3)],
        11: [(hk[7], e2, "0xff04", 4)],  # committed in block e, after the epoch
    }
    epochs[2] = Epoch(before, at_e, later, e2, commit_blocks={6: e2 - 200, 9: e2 - 100})

    e3 = head - 200
    sn3 = random_subnet(3, with_weights=False, n=64, validators=8)
    before, at_e, later = epoch_timeline(chain, sn3, epoch_block=e3)
    epochs[3] = Epoch(before, at_e, later, e3)

    sn5 = random_subnet(5, n=16, validators=4)
    chain.set_subnet(0, sn5)
    epochs[5] = Epoch(sn5, sn5, sn5, None)

    # The money path: a runtime upgrade between the epochs (so each e has its own spec), accounts
    # changed in block e1 (subnet 1 must read takes and identities at e - 1), money state per block.
    chain.upgrade_runtime(e3 + 10, 440)
    chain.upgrade_runtime(e1 + 5, 459)
    chain.set_globals(
        0, Globals(tao_weight=3_320_413_933_267_719_290, stake_threshold=1_000, ck_burn=2**64 // 50)
    )
    accounts = Accounts()
    for netuid in (1, 2, 3):
        add_money(epochs[netuid], accounts)
    chain.set_accounts(0, accounts)
    changed = copy.deepcopy(accounts)
    for hotkey in epochs[1].before.hotkeys[:8]:
        changed.delegate_take[hotkey] = 65535 - changed.delegate_take.get(hotkey, 11796)
        changed.root_stake[hotkey] = changed.root_stake.get(hotkey, 0) + 999
    for coldkey in list(changed.identity):
        changed.identity[coldkey] = "renamed after the epoch"
    chain.set_accounts(e1, changed)
    return chain, epochs


def add_money(ep: Epoch, accounts: Accounts) -> None:
    """Money state around a subnet's epoch e: pending emission at e - 1 (drained at e), recorded
    dividends, pool and block e's emission at e, takes / stakes / relations that move at e and after,
    so a read at the wrong block shows. Validators 1 and 2 are parents of validator 3 (1 shares its
    coldkey), and an unregistered hotkey is a parent of validator 4."""
    netuid = ep.before.netuid
    rng = np.random.default_rng([netuid, 4242])
    hotkeys, coldkeys = ep.before.hotkeys, ep.before.coldkeys
    outside = account(f"outside-parent-{netuid}")
    before = SubnetMoney(
        pending_server=int(rng.integers(10**11, 10**12)),
        pending_validator=int(rng.integers(10**11, 10**12)),
        pending_root=int(rng.integers(10**10, 10**11)),
        pending_owner_cut=int(rng.integers(10**10, 10**11)),
        root_prop_bits=int(rng.integers(0, 2**31)),
        alpha_out_emission=int(rng.integers(10**8, 10**9)),  # block e - 1's own: must not be used
        min_childkey_take=655 * (netuid % 2),
        childkey_take={hk: int(rng.integers(0, 11797)) for hk in hotkeys[:10]},
        alpha_stake={hk: int(rng.integers(10**12, 10**15)) for hk in [*hotkeys, outside]},
        parents={
            hotkeys[3]: [(2**63, hotkeys[1]), (2**62, hotkeys[2])],
            hotkeys[4]: [(2**64 - 1, outside)],
            hotkeys[6]: [(2**60, hotkeys[0])],  # the subnet owner: never inert
        },
        children={
            hotkeys[1]: [(2**63, hotkeys[3])],
            hotkeys[2]: [(2**62, hotkeys[3]), (2**61, account(f"unregistered-child-{netuid}"))],
        },
        alpha_dividends={hk: 5 for hk in hotkeys[:4]},  # stale: the previous epoch's
        stakers={
            hk: [account(f"staker-{netuid}-{k}") for k in range(int(rng.integers(0, 6)))]
            for hk in hotkeys[:12]
        },
        price_rao=1,
    )
    at_e = copy.deepcopy(before)
    at_e.pending_server = at_e.pending_validator = at_e.pending_root = at_e.pending_owner_cut = 0  # drained
    at_e.alpha_out_emission = int(rng.integers(10**9, 2 * 10**9))
    at_e.tao_in_emission, at_e.excess_tao = int(rng.integers(10**6, 10**7)), int(rng.integers(0, 10**6))
    at_e.tao_reserve, at_e.alpha_reserve = (
        int(rng.integers(10**14, 10**15)),
        int(rng.integers(10**15, 10**16)),
    )
    at_e.alpha_outstanding = int(rng.integers(10**15, 10**16))
    at_e.price_rao = at_e.tao_reserve * 10**9 // at_e.alpha_reserve
    at_e.moving_price_bits = int(rng.integers(2**25, 2**30))
    at_e.alpha_dividends = {hk: int(rng.integers(0, 10**10)) for hk in hotkeys[:20]} | {outside: 123}
    at_e.root_dividends = {hk: int(rng.integers(0, 10**9)) for hk in hotkeys[:6]}
    at_e.childkey_take = {hk: 11796 for hk in hotkeys[:10]}  # changed by an extrinsic in block e
    at_e.alpha_stake = {hk: v + 777 for hk, v in before.alpha_stake.items()}  # the epoch's payout
    at_e.parents = {}  # relations changed after the epoch ran
    later = copy.deepcopy(at_e)
    later.price_rao, later.alpha_outstanding = at_e.price_rao + 1, at_e.alpha_outstanding + 1
    ep.before.money, ep.at_e.money, ep.later.money = before, at_e, later
    for k, hotkey in enumerate(hotkeys[:16]):
        accounts.delegate_take[hotkey] = [0, 11796, 3277, 655][k % 4]
        accounts.root_stake[hotkey] = int(rng.integers(0, 10**13))
    accounts.owner[outside] = account(f"outside-owner-{netuid}")
    accounts.suspended |= {hotkeys[2], hotkeys[0]}  # below the stake threshold
    accounts.identity[coldkeys[1]] = f"<b>validator</b> \u202e{netuid}"
    accounts.identity[accounts.owner[outside]] = "outside parent"


def expected_rows(chain: FakeChain, epochs: dict[int, Epoch], block: int | None = None) -> dict[str, list]:
    """The rows each table must hold for ``epochs`` (aligned, or everything at ``block``)."""
    out: dict[str, list] = {t: [] for t in ("subnets", "neurons", "mechanism_neurons", "weights", "bonds")}
    out["bonds_after"] = []
    out["hotkeys"], out["child_keys"] = [], []
    for netuid, ep in sorted(epochs.items()):
        if block is not None:
            src_in = src_out = chain.subnet_at(netuid, block)
            ib = ob = wb = block
            e = None
        elif ep.e is None:
            src_in = src_out = ep.before
            ib = ob = wb = chain.head
            e = None
        else:
            src_in, src_out, e = ep.before, ep.at_e, ep.e
            ib, ob = e - 1, e
            wb = e if src_in.commit_reveal else e - 1
        src_w = src_out if wb == ob else src_in
        g = chain.globals_at(ib)
        n = src_in.n
        out["subnets"].append(
            {
                "netuid": netuid,
                "name": src_in.name,
                "symbol": src_in.symbol,
                "owner_hotkey": src_in.owner_hotkey,
                "owner_coldkey": src_in.owner_coldkey,
                "n": n,
                "tempo": src_in.tempo,
                "kappa": src_in.kappa,
                "bonds_moving_avg": src_in.bonds_moving_avg,
                "bonds_penalty": src_in.bonds_penalty,
                "activity_cutoff_factor_milli": src_in.activity_cutoff_factor_milli,
                "yuma3": src_in.yuma3,
                "liquid_alpha": src_in.liquid_alpha,
                "alpha_low": src_in.alpha_low,
                "alpha_high": src_in.alpha_high,
                "alpha_sigmoid_steepness": src_in.alpha_sigmoid_steepness,
                "max_validators": src_in.max_validators,
                "commit_reveal": src_in.commit_reveal,
                "tao_weight": g.tao_weight,
                "stake_threshold": g.stake_threshold,
                "mechanism_count": len(src_in.mechanisms),
                "emission_split": src_in.emission_split,
                "epoch_emission": None,
                "aligned": e is not None,
                "epoch_block": e,
                "inputs_block": ib,
                "weights_block": wb,
                "outputs_block": ob,
                "last_mechanism_step_block": src_in.last_mechanism_step_block,
                "decode_note": None,
            }
        )
        money, hotkey_rows, child_rows = expected_money(chain, ep, block)
        out["subnets"][-1].update(money)
        out["hotkeys"].extend(hotkey_rows)
        out["child_keys"].extend(child_rows)
        for uid in range(n):
            out["neurons"].append(
                {
                    "netuid": netuid,
                    "uid": uid,
                    "hotkey": src_in.hotkeys[uid],
                    "coldkey": src_in.coldkeys[uid],
                    "is_owner": src_in.hotkeys[uid] == src_in.owner_hotkey,
                    "block_at_registration": int(src_in.block_at_registration[uid]),
                    "alpha_stake": int(src_in.alpha_stake[uid]),
                    "tao_stake": int(src_in.tao_stake[uid]),
                    "total_stake": int(src_in.total_stake[uid]),
                    "validator_permit_prev": bool(src_in.validator_permit[uid]),
                    "prev_consensus": int(src_in.consensus[uid]),
                    "active": bool(src_out.active[uid]),
                    "validator_permit": bool(src_out.validator_permit[uid]),
                    "stake_weight": int(src_out.stake_weight[uid]),
                    "consensus": int(src_out.consensus[uid]),
                    "validator_trust": int(src_out.validator_trust[uid]),
                    "dividends": int(src_out.dividends[uid]),
                    "emission": int(src_out.emission[uid]),
                }
            )
        for m, mech in enumerate(src_in.mechanisms):
            for uid in range(n):
                commit = ep.commit_blocks.get(uid) if (m == 0 and src_in.commit_reveal) else None
                out["mechanism_neurons"].append(
                    {
                        "netuid": netuid,
                        "mechid": m,
                        "uid": uid,
                        "last_update": int(mech.last_update[uid]),
                        "commit_block": commit,
                        "prev_incentive": int(mech.incentive[uid]),
                        "incentive": int(src_out.mechanisms[m].incentive[uid]),
                    }
                )
            for table, matrix, value in (
                ("weights", src_w.mechanisms[m].weights, "weight"),
                ("bonds", mech.bonds, "bond"),
                ("bonds_after", src_out.mechanisms[m].bonds, "bond"),
            ):
                out[table].extend(
                    {"netuid": netuid, "mechid": m, "validator_uid": i, "miner_uid": j, value: v}
                    for i, j, v in matrix.entries()
                )
    return out


def history_timeline(chain: FakeChain, first: Subnet, epochs: list[int], *, seed: int = 0) -> list[Subnet]:
    """A subnet with an epoch at each block of ``epochs``: new outputs from e, then weights and stake
    moved on from e + 1, so the state differs block by block around every epoch. Returns the state
    from each e (the epoch's outputs)."""
    state = copy.deepcopy(first)
    state.last_mechanism_step_block = max(0, epochs[0] - state.tempo - 1)
    chain.set_subnet(0, state)
    outputs = []
    for k, e in enumerate(epochs):
        at_e = perturbed(state, seed * 1000 + k)
        at_e.alpha_stake = at_e.alpha_stake + np.uint64(100 + k)
        at_e.last_mechanism_step_block = e
        at_e.epoch_index = state.epoch_index + 1
        chain.set_subnet(e, at_e)
        state = perturbed(at_e, seed * 1000 + k + 500, outputs=False)
        state.alpha_stake = state.alpha_stake + np.uint64(7)
        chain.set_subnet(e + 1, state)
        outputs.append(at_e)
    return outputs


def history_network(
    *, head: int = 20_000, every: int = 1_000, subnets: tuple[int, ...] = (1, 2, 3), n: int = 16
) -> FakeChain:
    """Small subnets with an epoch every ``every`` blocks (offset per subnet), up to the head."""
    chain = FakeChain(head)
    chain.set_subnet(0, random_subnet(0, n=4, validators=2))
    for netuid in subnets:
        sn = random_subnet(netuid, n=n, validators=4, commit_reveal=netuid == 2, seed=netuid)
        sn.tempo = every - 1
        offset = 37 * netuid
        history_timeline(chain, sn, list(range(offset + every, head, every)), seed=netuid)
    return chain


def point_epochs(chain: FakeChain, point: int, netuids: list[int]) -> dict[int, Epoch]:
    """What a backfill point must hold: each subnet at its last epoch at or before ``point``."""
    out = {}
    for netuid in netuids:
        e = chain.subnet_at(netuid, point).last_mechanism_step_block
        out[netuid] = Epoch(
            chain.subnet_at(netuid, e - 1), chain.subnet_at(netuid, e), chain.subnet_at(netuid, e + 1), e
        )
    return out


def expected_money(
    chain: FakeChain, ep: Epoch, block: int | None = None
) -> tuple[dict, list[dict], list[dict]]:
    """What the collector must store for a subnet's money path: (subnet columns, hotkeys rows,
    child_keys rows). Inputs as at e - 1, recorded dividends / pool / block e's emission as at e; E from
    the pending amounts at e - 1 plus block e's split of SubnetAlphaOutEmission (U96F32, floored)."""
    netuid = ep.before.netuid
    if block is not None or ep.e is None:
        b = chain.head if block is None else block
        src_in = src_out = chain.subnet_at(netuid, b)
        ib = ob = b
        aligned = False
    else:
        src_in, src_out, ib, ob, aligned = ep.before, ep.at_e, ep.e - 1, ep.e, True
    g_in, g_out, acc = chain.globals_at(ib), chain.globals_at(ob), chain.accounts_at(ib)
    m_in, m_out = src_in.money, src_out.money
    n = src_in.n
    validators = [
        uid
        for uid in range(n)
        if src_in.validator_permit[uid] or src_out.validator_permit[uid] or src_out.dividends[uid] > 0
    ]
    keys = [src_in.hotkeys[uid] for uid in validators]
    edges: dict[tuple[str, str], int] = {}
    for hk in keys:  # ParentKeys of each validator, then ChildKeys of each validator
        for prop, p in m_in.parents.get(hk, []):
            edges[(hk, p)] = prop
    for hk in keys:
        for prop, c in m_in.children.get(hk, []):
            edges.setdefault((c, hk), prop)
    children = [
        {
            "netuid": netuid,
            "child_hotkey": c,
            "parent_hotkey": p,
            "proportion": prop,
            "suspended": p in acc.suspended and p != src_in.owner_hotkey,
        }
        for (c, p), prop in edges.items()
    ]
    outside = list(dict.fromkeys(p for (c, p) in edges if p not in keys and c in keys))
    uid_of = {hk: uid for uid, hk in enumerate(src_in.hotkeys)}
    floor_take = max(g_in.min_childkey_take, m_in.min_childkey_take)
    rows = []
    for hk in keys + outside:
        uid = uid_of.get(hk)
        coldkey = src_in.coldkeys[uid] if hk in keys else acc.owner.get(hk)
        rows.append(
            {
                "netuid": netuid,
                "hotkey": hk,
                "uid": uid,
                "coldkey": coldkey,
                "delegate_take": acc.delegate_take.get(hk, 11796),
                "childkey_take": max(m_in.childkey_take.get(hk, 0), floor_take),
                "alpha_stake_own": m_in.alpha_stake.get(hk, 0),
                "root_stake_own": acc.root_stake.get(hk, 0),
                "alpha_dividends": m_out.alpha_dividends.get(hk, 0),
                "root_alpha_dividends": m_out.root_dividends.get(hk, 0),
                "nominators": len(m_in.stakers.get(hk, [])),
                "identity_name": acc.identity.get(coldkey),
            }
        )
    subnet = {
        "block_alpha_out": m_out.alpha_out_emission,
        "subnet_owner_cut": g_in.subnet_owner_cut,
        "root_proportion": m_in.root_prop_bits / 2**32,
        "ck_burn": g_in.ck_burn,
        "tao_reserve": m_out.tao_reserve,
        "alpha_reserve": m_out.alpha_reserve,
        "alpha_outstanding": m_out.alpha_outstanding,
        "price_rao": m_out.price_rao,
        "moving_price": m_out.moving_price_bits / 2**32,
        "tao_in_emission": m_out.tao_in_emission,
        "excess_tao": m_out.excess_tao,
        "emission_gate_bar": g_out.emission_gate_bar / 2**64,
        "emission_bar_quantile": g_out.emission_bar_quantile / 2**64,
        "emission_gate_exponent": g_out.emission_gate_exponent / 2**64,
        "emission_bar_rank": g_out.emission_bar_rank,
        "epoch_spec_version": chain.spec_at(ob),
        "emission_share": None,
        **dict.fromkeys(
            (
                "epoch_emission",
                "epoch_emission_source",
                "pending_server",
                "pending_validator",
                "pending_root",
                "owner_cut",
            )
        ),
    }
    if aligned:  # block e's split of its alpha emission, U96F32 as emit_to_subnets does it
        one = 2**32
        rest = m_out.alpha_out_emission * one
        cut_bits = (rest * ((g_in.subnet_owner_cut * one * one) // (65535 * one))) >> 32
        rest -= cut_bits
        root_bits = (((m_in.root_prop_bits * rest) >> 32) * (one // 2)) >> 32
        server_bits = (rest * (one // 2)) >> 32
        validator_bits = rest - server_bits - root_bits
        root = (root_bits >> 32) if m_in.pending_root > 0 else 0
        subnet.update(
            pending_server=m_in.pending_server + (server_bits >> 32),
            pending_validator=m_in.pending_validator + (validator_bits >> 32),
            pending_root=m_in.pending_root + root,
            owner_cut=m_in.pending_owner_cut + (cut_bits >> 32),
            epoch_emission_source="derived",
        )
        subnet["epoch_emission"] = (
            subnet["pending_server"] + subnet["pending_validator"] + subnet["pending_root"]
        )
    return subnet, rows, children


def with_emission_shares(expected: dict[str, list]) -> dict[str, list]:
    """``expected`` for a snapshot of every subnet: each subnet's share of block emission (its TAO
    in + excess TAO over the sum), as collect stores it then."""
    rows = expected["subnets"]
    flows = [r["tao_in_emission"] + r["excess_tao"] for r in rows]
    for r, flow in zip(rows, flows, strict=True):
        r["emission_share"] = flow / sum(flows) if sum(flows) else None
    return expected
