"""SS58 addresses (Substrate's account format): decode and check one without the chain SDK.

An SS58 address is base58( prefix ‖ 32-byte account id ‖ checksum ), where the checksum is the first
two bytes of blake2b-512(b"SS58PRE" ‖ prefix ‖ account id) and the prefix is one byte for network
ids below 64 (Bittensor uses 42) or two bytes for 64..16383. A typo in a watched key almost always
breaks the checksum, so the watchlist refuses it instead of silently watching nothing.
"""

from __future__ import annotations

import hashlib

__all__ = ["ALPHABET", "SS58Error", "check", "encode", "is_valid"]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_PREFIX = b"SS58PRE"
ACCOUNT_BYTES = 32


class SS58Error(ValueError):
    """Not an SS58 account address; the message says why in a few words."""


def _b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise SS58Error(f"character {char!r} is not base58")
        number = number * 58 + _INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading + body


def _b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = ALPHABET[rem] + out
    leading = len(data) - len(data.lstrip(b"\x00"))
    return "1" * leading + out


def _checksum(prefix_and_account: bytes) -> bytes:
    return hashlib.blake2b(_PREFIX + prefix_and_account, digest_size=64).digest()[:2]


def check(address: str) -> int:
    """The network prefix of a valid SS58 account address; SS58Error saying why otherwise."""
    if not isinstance(address, str) or not address:
        raise SS58Error("empty")
    if not 40 <= len(address) <= 60:
        raise SS58Error(f"{len(address)} characters, an SS58 account address has 47-48")
    raw = _b58decode(address)
    if not raw:
        raise SS58Error("empty after decoding")
    prefix_len = 1 if raw[0] < 64 else 2
    if len(raw) != prefix_len + ACCOUNT_BYTES + 2:
        raise SS58Error(f"decodes to {len(raw)} bytes, not a 32-byte account id")
    if raw[0] >= 128:
        raise SS58Error("reserved address type")
    body, checksum = raw[:-2], raw[-2:]
    if _checksum(body) != checksum:
        raise SS58Error("checksum mismatch (a mistyped character?)")
    if prefix_len == 1:
        return raw[0]
    return ((raw[0] & 0x3F) << 2) | (raw[1] >> 6) | ((raw[1] & 0x3F) << 8)


def is_valid(address: str) -> bool:
    """True when `address` is a well-formed SS58 account address."""
    try:
        check(address)
    except SS58Error:
        return False
    return True


def encode(account_id: bytes, prefix: int = 42) -> str:
    """The SS58 address of a 32-byte account id (one-byte network prefixes, 0..63)."""
    if len(account_id) != ACCOUNT_BYTES:
        raise SS58Error(f"account id has {len(account_id)} bytes, not 32")
    if not 0 <= prefix < 64:
        raise SS58Error("only one-byte prefixes (0..63) are supported")
    body = bytes([prefix]) + account_id
    return _b58encode(body + _checksum(body))
