"""Keep Apprise URLs' secrets (tokens, passwords) out of every message, log line and database row.

`redact(text, url)` masks every part of a URL that could be secret; `apprise_logs_caught()` catches
Apprise's own log records (it logs loaded URLs with their path tokens at DEBUG) so that none reaches
another handler, and hands them over for redaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"


def secrets_of(url: str) -> list[str]:
    """The parts of an Apprise URL that may be secret: user, password, path segments, query values,
    and the URL itself; longest first (so a part inside another is masked whole)."""
    parts = {url}
    try:
        split = urlsplit(url)
        parts |= {split.username or "", split.password or "", split.fragment}
        parts |= {unquote(p) for p in split.path.split("/")} | set(split.path.split("/"))
        for _, value in parse_qsl(split.query, keep_blank_values=False):
            parts.add(value)
        parts.add(split.netloc)
        if "@" in split.netloc:
            parts.add(split.netloc.rsplit("@", 1)[0])
    except ValueError:
        pass
    # Host names and ports are not secret, but very short fragments would mask ordinary words.
    host = ""
    with suppress(ValueError):
        host = urlsplit(url).hostname or ""
    return sorted((p for p in parts if len(p) >= 4 and p != host), key=len, reverse=True)


def redact(text: str, url: str) -> str:
    """`text` with every possibly secret part of `url` replaced by ***."""
    for secret in secrets_of(url):
        text = text.replace(secret, MASK)
    # Whatever Apprise printed as user:password@ is masked too, whatever the URL looked like.
    return re.sub(r"(//[^/\s:@]*):[^@\s/]+@", rf"\1:{MASK}@", text)


# The loggers that can see a URL during a send: Apprise logs loaded URLs (path tokens included) at
# DEBUG, urllib3 logs each request line with its path.
SENDING_LOGGERS = ("apprise", "urllib3", "requests")


class CaughtLogs(logging.Handler):
    """Keeps the warning-or-worse messages of a send (to be redacted before anyone sees them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # pragma: no cover - a broken log call must not break delivery
            self.lines.append(record.msg if isinstance(record.msg, str) else "")


@contextmanager
def apprise_logs_caught() -> Iterator[CaughtLogs]:
    """Catch the sending libraries' log records and keep them away from every other handler."""
    handler = CaughtLogs()
    loggers = [logging.getLogger(name) for name in SENDING_LOGGERS]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
        lg.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        for lg, (propagate, level) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.propagate = propagate
            lg.setLevel(level)
