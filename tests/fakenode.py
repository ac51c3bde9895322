"""An in-memory substrate node: a local websocket JSON-RPC server answering from a :class:`FakeChain`.

``bt.Subtensor("ws://127.0.0.1:PORT")`` then runs the real SDK end to end — its websocket session,
JSON-RPC framing and batches, runtime resolution, metadata download, storage keys and SCALE codec —
against the fake chain's state. Values are SCALE-encoded with the SDK's own codec for a real runtime's
metadata (finney spec 343, ../shared/realdata/sdk-integration-sn1-6852690), so the node looks like a
finney node at that runtime to every block: an item spec 343 lacks is missing as on an old runtime.

Served: ``chain_getBlockHash``, ``chain_getHead``, ``chain_getFinalizedHead``, ``chain_getHeader``,
``state_getRuntimeVersion``, ``state_getMetadata``, ``state_call`` (runtime APIs, and
``Metadata_metadata_at_version``), ``state_getStorage(At)``, ``state_queryStorageAt``,
``state_getKeysPaged``; single frames and batches. A read the chain refuses (``ChainError``) is a
JSON-RPC error frame, as a node's error is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from bittensor import ChainError
from bittensor._transport.codec import RuntimeCodec, StorageEntry, strip_option_opaque_metadata
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.conftest import REALDATA, require_realdata
from tests.fakechain import FakeChain, block_hash_of

SPEC = 343
REAL = REALDATA / "sdk-integration-sn1-6852690"
_SKIP = {"Blake2_128Concat": 16, "Twox64Concat": 8, "Identity": 0}
_ZERO_HASH = "0x" + "00" * 32
_STATE_READS = frozenset(
    {"state_call", "state_getStorage", "state_getStorageAt", "state_queryStorageAt", "state_getKeysPaged"}
)


class NodeError(Exception):
    """A JSON-RPC error answer (code, message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def metadata_hex() -> str:
    """The ``Metadata_metadata_at_version(15)`` answer of a finney spec-343 node (skips without it)."""
    real = require_realdata(REAL)
    return (real / "integration_websocket_at_version.txt").read_text().strip()


class ChainNode:
    """A substrate node's JSON-RPC answers over a FakeChain, SCALE-encoded for spec 343."""

    def __init__(self, chain: FakeChain, *, pruned_below: int | None = None) -> None:
        self.chain = chain
        self.pruned_below = pruned_below  # a lite node: state of older blocks is discarded
        self._all_hashes: dict[str, int] = {}
        self.metadata = metadata_hex()
        blob = strip_option_opaque_metadata(bytes.fromhex(self.metadata.removeprefix("0x")))
        assert blob is not None
        self.codec = RuntimeCodec(blob, spec_version=SPEC, transaction_version=1)
        self.legacy_metadata = "0x" + blob.hex()
        self._entries: dict[bytes, StorageEntry] = {}
        for pallet in self.codec.metadata_ir().pallets:
            for item in pallet.storage:
                entry = self.codec.storage_entry(pallet.name, item.name)
                self._entries[self.codec.storage_key(entry, [])[:32]] = entry
        self._listed: dict[tuple[str, str], str | None] = {}  # (block hash, key) -> value of a scanned map
        self.methods: list[str] = []  # every method asked, in order (observability for tests)
        self.frames = 0

    # -- blocks ----------------------------------------------------------------------------------

    def _number(self, block_hash: str | None) -> int:
        if block_hash is None:
            return self.chain.head
        n = self.chain._hashes.get(block_hash)
        if n is None and not self._all_hashes:  # a hash another node gave out: every block's is known
            self._all_hashes = {block_hash_of(b): b for b in range(self.chain.head + 1)}
        n = n if n is not None else self._all_hashes.get(block_hash)
        if n is not None:
            self.chain._hashes[block_hash] = n  # the chain answers reads at it from now on
            return n
        raise NodeError(4003, f"Client error: UnknownBlock: header not found for {block_hash}")

    def _discarded(self, block_hash: str | None) -> bool:
        """A lite node's refusal: the state at ``block_hash`` is older than it keeps."""
        if self.pruned_below is None or block_hash is None:
            return False
        return self._number(block_hash) < self.pruned_below

    async def _hash(self, block: int) -> str:
        return await self.chain.block_hash(block)  # registers the hash with the chain

    async def _header(self, block_hash: str | None) -> dict[str, Any] | None:
        n = self._number(block_hash)
        parent = await self._hash(n - 1) if n > 0 else _ZERO_HASH
        return {"number": hex(n), "parentHash": parent, "stateRoot": _ZERO_HASH, "digest": {"logs": []}}

    # -- storage ---------------------------------------------------------------------------------

    def _decode_params(self, entry: StorageEntry, rest: bytes) -> list[Any]:
        """The key's parameters after the item prefix (as many as ``rest`` holds), via its hashers."""
        params: list[Any] = []
        for hasher, type_string in zip(entry.param_hashers, entry.param_types, strict=True):
            if not rest:
                break
            rest = rest[_SKIP[hasher] :]
            value = self.codec.decode(type_string, rest, strict=False)
            params.append(value)
            rest = rest[len(self.codec.encode(type_string, value)) :]
        if rest:
            raise NodeError(-32602, "storage key longer than its item's parameters")
        return params

    def _item(self, key_hex: str) -> tuple[StorageEntry, list[Any]]:
        key = bytes.fromhex(key_hex.removeprefix("0x"))
        entry = self._entries.get(key[:32])
        if entry is None:
            raise NodeError(-32602, f"no storage item at {key_hex[:66]}")
        return entry, self._decode_params(entry, key[32:])

    async def _value(self, key_hex: str, block_hash: str | None) -> str | None:
        entry, params = self._item(key_hex)
        if len(params) != len(entry.param_types):
            return None  # a prefix holds no value itself
        block_hash = block_hash or await self._hash(self.chain.head)
        if (block_hash, key_hex) in self._listed:
            return self._listed[block_hash, key_hex]
        try:
            value = await self.chain.query(entry.pallet, entry.name, params, block_hash)
        except ValueError:  # the chain's runtime at that block does not have the item
            return None
        except ChainError:  # a map the chain serves only by prefix: scan the key's own prefix
            if not params:
                raise
            await self._keys(self._prefix(entry, params[:-1]), 2**31, None, block_hash)
            return self._listed.get((block_hash, key_hex))
        return self._encoded(entry, value)

    def _prefix(self, entry: StorageEntry, params: list[Any]) -> str:
        return "0x" + self.codec.storage_key(entry, params).hex()

    def _encoded(self, entry: StorageEntry, value: Any) -> str | None:
        if value is None and entry.modifier != "Default":
            return None
        try:
            return "0x" + self.codec.encode(entry.value_type, value).hex()
        except ValueError as exc:
            raise ValueError(f"{entry.pallet}.{entry.name}: {exc}") from exc

    async def _keys(
        self, prefix_hex: str, count: int, start: str | None, block_hash: str | None
    ) -> list[str]:
        entry, params = self._item(prefix_hex)
        block_hash = block_hash or await self._hash(self.chain.head)
        if not entry.param_types:
            return [prefix_hex] if start in (None, prefix_hex) else []
        free = len(entry.param_types) - len(params)
        if free < 1:
            return []
        try:
            pairs = await self.chain.query_map(entry.pallet, entry.name, params, block_hash)
        except ValueError:
            return []
        keys = []
        for key, value in pairs:
            parts = list(key) if free > 1 else [key]
            key_hex = self._prefix(entry, [*params, *parts])
            self._listed[block_hash, key_hex] = self._encoded(entry, value)
            keys.append(key_hex)
        keys.sort()
        return [k for k in keys if start is None or k > start][:count]

    # -- runtime API -----------------------------------------------------------------------------

    async def _call(self, name: str, data_hex: str, block_hash: str | None) -> str:
        if name == "Metadata_metadata_at_version":
            return self.metadata
        api, _, method = name.partition("_")
        definition = self.codec.runtime_api_map.get(api, {}).get(method)
        if definition is None:
            raise NodeError(-32000, f"Client error: Execution failed: Exported method {name} is not found")
        data = bytes.fromhex(data_hex.removeprefix("0x"))
        args = []
        for _, type_string in definition["inputs"]:
            value = self.codec.decode(type_string, data, strict=False)
            args.append(value)
            data = data[len(self.codec.encode(type_string, value)) :]
        block_hash = block_hash or await self._hash(self.chain.head)
        value = await self.chain.runtime_call(api, method, args, block_hash)
        return "0x" + self.codec.encode(definition["output"], value).hex()

    # -- JSON-RPC --------------------------------------------------------------------------------

    async def answer(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of one request (raises NodeError for an error answer)."""
        self.methods.append(method)
        at = params[-1] if params else None
        if method == "chain_getBlockHash":
            n = int(params[0]) if params and params[0] is not None else self.chain.head
            return await self._hash(n) if 0 <= n <= self.chain.head else None
        if method in ("chain_getHead", "chain_getFinalizedHead"):
            return await self._hash(self.chain.head)
        if method == "chain_getHeader":
            return await self._header(at)
        if method == "state_getRuntimeVersion":
            self._number(at)
            return {"specName": "node-subtensor", "specVersion": SPEC, "transactionVersion": 1, "apis": []}
        if method == "state_getMetadata":
            return self.legacy_metadata
        if method in _STATE_READS and self._discarded(params[-1] if len(params) > 1 else None):
            raise NodeError(4003, f"Client error: State already discarded for {at}")
        if method == "state_call":
            return await self._call(params[0], params[1], params[2] if len(params) > 2 else None)
        if method in ("state_getStorage", "state_getStorageAt"):
            return await self._value(params[0], params[1] if len(params) > 1 else None)
        if method == "state_queryStorageAt":
            block_hash = params[1] if len(params) > 1 and params[1] else await self._hash(self.chain.head)
            changes = [[key, await self._value(key, block_hash)] for key in params[0]]
            return [{"block": block_hash, "changes": changes}]
        if method == "state_getKeysPaged":
            prefix, count, start = params[0], int(params[1]), params[2] if len(params) > 2 else None
            return await self._keys(prefix, count, start, params[3] if len(params) > 3 else None)
        raise NodeError(-32601, f"Method not found: {method}")

    async def respond(self, request: dict[str, Any]) -> dict[str, Any]:
        """One response frame for one request frame."""
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        try:
            reply["result"] = await self.answer(str(request.get("method")), list(request.get("params") or []))
        except NodeError as exc:
            reply["error"] = {"code": exc.code, "message": str(exc)}
        except ChainError as exc:
            reply["error"] = {"code": -32000, "message": f"Client error: {exc}"}
        except Exception as exc:  # a state the node cannot encode: answer, so a test fails fast and says why
            reply["error"] = {"code": -32603, "message": f"fake node: {type(exc).__name__}: {exc}"}
        return reply

    async def handle(self, text: str) -> str:
        """The response text for one received frame (a request or a batch)."""
        self.frames += 1
        message = json.loads(text)
        if isinstance(message, list):
            return json.dumps([await self.respond(m) for m in message])
        return json.dumps(await self.respond(message))


class Served:
    """A running node: its ``url``, the ``node`` answering, and ``stop()``."""

    def __init__(self, node: ChainNode) -> None:
        self.node = node
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._server: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fakenode", daemon=True)

    async def _session(self, ws: ServerConnection) -> None:
        async def one(text: str | bytes) -> None:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(await self.node.handle(text if isinstance(text, str) else text.decode()))

        tasks = set()
        with contextlib.suppress(ConnectionClosed):
            async for text in ws:  # frames are answered concurrently, as a node does
                task = asyncio.ensure_future(one(text))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await serve(self._session, "127.0.0.1", 0, max_size=None)
            port = self._server.sockets[0].getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}"

        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> Served:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection; the node is gone."""

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextlib.contextmanager
def serving(chain: FakeChain, *, pruned_below: int | None = None) -> Iterator[Served]:
    """A local websocket node over ``chain`` on a free port, stopped on exit (``pruned_below``: a
    lite node that has discarded the state of blocks before that one)."""
    served = Served(ChainNode(chain, pruned_below=pruned_below)).start()
    try:
        yield served
    finally:
        served.stop()
