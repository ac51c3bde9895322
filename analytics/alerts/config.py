"""The watchlist file (TOML): what to watch, which rules, where to send alerts.

Shape (more keys are refused, so a typo is caught instead of silently watching nothing)::

    [[watch]]
    hotkey = "5F…"             # or coldkey = "5F…", or netuid = 3 (alone: every validator of it)
    netuid = 3                 # optional with hotkey / coldkey: only this subnet
    label = "my validator"     # optional, shown in messages
    rules = ["out_of_consensus", "tv_below:0.8", "stale_weights:1000", "deregistered"]

    [[notify]]
    url = "json://127.0.0.1:8080/hook"   # any Apprise URL

`load(path)` returns a :class:`Watchlist` or raises :class:`ConfigError` whose message names the line
of the file. Apprise URLs are checked here (parsed by Apprise) but never put into a message: they may
hold tokens and passwords.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics import config as lens_config
from analytics import ss58
from analytics.alerts import rules as rules_mod
from analytics.alerts.secrets import apprise_logs_caught
from analytics.errors import InputError

# data/alerts.toml next to the databases (data/lens.duckdb), whatever the working directory (an alias:
# the path lives in analytics.config; `alerts` reads that at run time, so a test can move it).
DEFAULT_CONFIG = lens_config.ALERTS_CONFIG_PATH
NETUID_MAX = 65535
WATCH_KEYS = frozenset({"hotkey", "coldkey", "netuid", "label", "rules"})
NOTIFY_KEYS = frozenset({"url", "label"})
TOP_KEYS = frozenset({"watch", "notify"})


class ConfigError(InputError):
    """A bad watchlist: one line naming the file and the line, for `error:` and exit code 2."""


@dataclass(frozen=True)
class Watch:
    """One [[watch]] entry: what it selects and the rules checked on it."""

    hotkey: str | None
    coldkey: str | None
    netuid: int | None
    rules: tuple[rules_mod.Rule, ...]
    label: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Destination:
    """One [[notify]] Apprise URL. `__repr__` and `name` never show the URL (it may hold secrets)."""

    url: str = field(repr=False)
    line: int = 0
    index: int = 1
    label: str | None = None

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower() if "://" in self.url else "?"

    @property
    def id(self) -> str:
        """A stable identifier stored with each delivery: a hash of the URL, never the URL."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        """How logs and messages name it: its label, or number, scheme and line; never the URL."""
        base = f"notify #{self.index} ({self.scheme}, line {self.line})"
        return f"{base} {self.label!r}" if self.label else base


@dataclass(frozen=True)
class Watchlist:
    """A parsed watchlist file."""

    path: Path
    watches: tuple[Watch, ...]
    destinations: tuple[Destination, ...]

    def hotkeys(self) -> list[str]:
        return [w.hotkey for w in self.watches if w.hotkey]


# --------------------------------------------------------------------------------------------------
# Line numbers: tomllib gives none for values, so find them in the text (good enough for the usual
# one-key-per-line layout; falls back to the table's header line).

_HEADER = re.compile(r"^\s*\[\[\s*(\w+)\s*\]\]")


def _table_lines(text: str, name: str) -> list[tuple[int, int]]:
    """(first, last) line numbers (1-based) of each [[name]] table, in file order."""
    lines = text.splitlines()
    starts = [(i + 1, m.group(1)) for i, line in enumerate(lines) if (m := _HEADER.match(line))]
    spans = []
    for k, (start, table) in enumerate(starts):
        if table != name:
            continue
        end = next((s - 1 for s, _ in starts[k + 1 :]), len(lines))
        other = [i + 1 for i, line in enumerate(lines[start:end], start) if re.match(r"^\s*\[[^\[]", line)]
        spans.append((start, (other[0] - 1) if other else end))
    return spans


class _Locator:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.spans = {name: _table_lines(text, name) for name in TOP_KEYS}

    def table(self, name: str, index: int) -> int:
        spans = self.spans.get(name, [])
        return spans[index][0] if index < len(spans) else 1

    def find(self, name: str, index: int, needle: str) -> int:
        """The line of table `name` #index holding `needle` (a key `needle =` or a quoted value)."""
        spans = self.spans.get(name, [])
        if index >= len(spans):
            return 1
        start, end = spans[index]
        key = re.compile(rf"^\s*{re.escape(needle)}\s*=")
        for number in range(start, end + 1):
            if key.match(self.lines[number - 1]):
                return number
        quoted = (f'"{needle}"', f"'{needle}'")
        for number in range(start, end + 1):
            if any(q in self.lines[number - 1] for q in quoted):
                return number
        return start


# --------------------------------------------------------------------------------------------------


def _apprise_parses(url: str) -> bool:
    import apprise  # imported only when a watchlist is read: it loads ~100 plugins

    with apprise_logs_caught():  # Apprise logs the loaded URL, token included, at DEBUG
        return apprise.Apprise.instantiate(url) is not None


def load(path: str | Path) -> Watchlist:
    """Read and check a watchlist file; ConfigError (naming the line) for anything wrong."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such watchlist file (see the README's alerts example)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read ({type(exc).__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc), text)
        raise ConfigError(f"{where} line {line}: not valid TOML ({_short(exc)})") from None
    locate = _Locator(text)

    def fail(line: int, message: str) -> ConfigError:
        return ConfigError(f"{where} line {line}: {message}")

    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        line = next(
            (i + 1 for i, s in enumerate(locate.lines) if s.strip().strip("[]").strip() == unknown[0]), 1
        )
        raise fail(line, f"unknown section or key {unknown[0]!r} (expected [[watch]] and [[notify]])")
    raw_watches = data.get("watch", [])
    raw_notify = data.get("notify", [])
    if not isinstance(raw_watches, list) or not all(isinstance(w, dict) for w in raw_watches):
        raise fail(1, "'watch' must be a list of [[watch]] tables")
    if not isinstance(raw_notify, list) or not all(isinstance(n, dict) for n in raw_notify):
        raise fail(1, "'notify' must be a list of [[notify]] tables")
    if not raw_watches:
        raise fail(1, "no [[watch]] entry: nothing to watch")

    watches = [_watch(w, i, locate, fail) for i, w in enumerate(raw_watches)]
    destinations = []
    for i, entry in enumerate(raw_notify):
        header = locate.table("notify", i)
        extra = sorted(set(entry) - NOTIFY_KEYS)
        if extra:
            raise fail(
                locate.find("notify", i, extra[0]), f"unknown key {extra[0]!r} in [[notify]] (expected url)"
            )
        url = entry.get("url")
        line = locate.find("notify", i, "url") if "url" in entry else header
        if not isinstance(url, str) or not url.strip():
            raise fail(line, '[[notify]] needs url = "<an Apprise URL>"')
        if not _apprise_parses(url.strip()):
            scheme = url.split("://", 1)[0] if "://" in url else ""
            hint = f"scheme {scheme!r} unknown or the rest malformed" if scheme.isalnum() else "no scheme://"
            raise fail(
                line,
                f"Apprise cannot parse this notify url ({hint}; the url is not shown: it may hold secrets)",
            )
        label = entry.get("label")
        if label is not None and not isinstance(label, str):
            raise fail(locate.find("notify", i, "label"), "label must be a string")
        destinations.append(Destination(url=url.strip(), line=line, index=i + 1, label=label))
    return Watchlist(path=path, watches=tuple(watches), destinations=tuple(destinations))


def _watch(
    entry: dict[str, Any],
    index: int,
    locate: _Locator,
    fail: Callable[[int, str], ConfigError],
) -> Watch:
    header = locate.table("watch", index)
    extra = sorted(set(entry) - WATCH_KEYS)
    if extra:
        raise fail(
            locate.find("watch", index, extra[0]),
            f"unknown key {extra[0]!r} in [[watch]] (expected hotkey, coldkey, netuid, label, rules)",
        )
    keys = {}
    for kind in ("hotkey", "coldkey"):
        if kind not in entry:
            continue
        value = entry[kind]
        line = locate.find("watch", index, kind)
        if not isinstance(value, str):
            raise fail(line, f"{kind} must be a string (an SS58 address)")
        value = value.strip()
        try:
            ss58.decode(value)  # Bittensor's prefix 42: the form the chain and the store use
        except ValueError as exc:
            raise fail(line, f"{kind} {value[:60]!r} is not a valid SS58 address: {exc}") from None
        keys[kind] = value
    if len(keys) == 2:
        raise fail(header, "a [[watch]] names a hotkey or a coldkey, not both (use two entries)")
    netuid = entry.get("netuid")
    if netuid is not None and (
        isinstance(netuid, bool) or not isinstance(netuid, int) or not 0 <= netuid <= NETUID_MAX
    ):
        raise fail(locate.find("watch", index, "netuid"), f"netuid must be a whole number 0..{NETUID_MAX}")
    if not keys and netuid is None:
        raise fail(header, 'a [[watch]] needs hotkey = "…", coldkey = "…" or netuid = N')
    raw_rules = entry.get("rules")
    rules_line = locate.find("watch", index, "rules") if "rules" in entry else header
    if not isinstance(raw_rules, list) or not raw_rules or not all(isinstance(r, str) for r in raw_rules):
        raise fail(
            rules_line, 'rules must be a non-empty list of strings, e.g. ["out_of_consensus", "tv_below:0.8"]'
        )
    parsed = []
    for text in raw_rules:
        try:
            rule = rules_mod.parse_rule(text)
        except rules_mod.RuleError as exc:
            raise fail(locate.find("watch", index, text) if text else rules_line, str(exc)) from None
        if rule.spec.scope == "subnet" and not keys and netuid is None:  # pragma: no cover - guarded above
            raise fail(rules_line, f"{rule.text} needs a netuid")
        if rule not in parsed:
            parsed.append(rule)
    label = entry.get("label")
    if label is not None and not isinstance(label, str):
        raise fail(locate.find("watch", index, "label"), "label must be a string")
    return Watch(
        hotkey=keys.get("hotkey"),
        coldkey=keys.get("coldkey"),
        netuid=netuid,
        rules=tuple(parsed),
        label=label,
        line=header,
    )


def _line_from_message(message: str, text: str) -> int:
    """The line a tomllib error names ('at line 3, column 5'; 'at end of document' = the last line)."""
    m = re.search(r"line (\d+)", message)
    if m:
        return int(m.group(1))
    return max(len(text.splitlines()), 1) if "end of document" in message else 1


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", text)


def toml_for(hotkeys: list[str], rules: list[str], *, url: str = "json://127.0.0.1:8080/hook") -> str:
    """The watchlist text a user would write to watch `hotkeys` with `rules` (the Watchlist page)."""
    quoted_rules = ", ".join(_toml_string(r) for r in rules)
    parts = [f"[[watch]]\nhotkey = {_toml_string(h)}\nrules = [{quoted_rules}]\n" for h in hotkeys]
    parts.append(f"[[notify]]\nurl = {_toml_string(url)}   # any Apprise URL\n")
    return "\n".join(parts)


def _toml_string(value: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
