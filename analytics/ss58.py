"""SS58 addresses (Substrate's account format) for 32-byte keys: encode, decode, validate.

The chain's accounts are ss58 strings with network prefix 42 (Bittensor). The demo derives its keys
with :func:`encode`, and the CLI checks a ``--hotkey`` with :func:`is_valid`, so demo and chain keys
are treated alike. Format: base58(prefix byte + 32-byte key + the first 2 bytes of
blake2b-512(b"SS58PRE" + prefix byte + key)). Only the one-byte prefixes (0..63) are supported.
"""

from __future__ import annotations

import hashlib

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
PREFIX = 42  # Bittensor's ss58 format
KEY_BYTES = 32


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(b"SS58PRE" + payload, digest_size=64).digest()[:2]


def _b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = ALPHABET[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise ValueError(f"{char!r} is not a base58 character")
        number = number * 58 + _INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def encode(key: bytes, prefix: int = PREFIX) -> str:
    """The ss58 address of a 32-byte public key."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a public key has {KEY_BYTES} bytes, not {len(key)}")
    if not 0 <= prefix < 64:
        raise ValueError("only one-byte ss58 prefixes (0..63) are supported")
    payload = bytes([prefix]) + key
    return _b58encode(payload + _checksum(payload))


def decode(address: str, prefix: int | None = PREFIX) -> bytes:
    """The 32-byte key of an address; ValueError for a malformed one or another network's prefix."""
    if not isinstance(address, str) or not 40 <= len(address) <= 60:
        raise ValueError("not an ss58 address (wrong length)")
    raw = _b58decode(address)
    if len(raw) != 1 + KEY_BYTES + 2:
        raise ValueError("not an ss58 address of a 32-byte key")
    payload, check = raw[:-2], raw[-2:]
    if _checksum(payload) != check:
        raise ValueError("ss58 checksum mismatch (a typo in the address?)")
    if prefix is not None and payload[0] != prefix:
        raise ValueError(f"ss58 prefix {payload[0]} is not the Bittensor prefix {prefix}")
    return payload[1:]


def is_valid(address: object, prefix: int | None = PREFIX) -> bool:
    """True for a well-formed ss58 address of a 32-byte key (with the given prefix)."""
    try:
        decode(address, prefix)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def derive(seed: str | bytes) -> str:
    """A deterministic, valid address derived from a seed (for demo and test keys)."""
    data = seed.encode() if isinstance(seed, str) else seed
    return encode(hashlib.blake2b(data, digest_size=KEY_BYTES).digest())
