"""Send alerts through Apprise (Discord, Telegram, Slack, e-mail, JSON webhooks... as URLs).

One notification per alert and destination, so a JSON webhook receives exactly one POST per alert.
Secrets: an Apprise URL may hold a token or a password, so nothing here prints or logs it; a
destination is named by number, scheme and line (config.Destination.name), and Apprise's own log
lines are caught during a send, stripped of every part of the URL that could be secret, and only
then passed on as the failure reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from analytics.alerts.config import Destination

log = logging.getLogger("analytics.alerts")
TIMEOUT_SECONDS = 15.0
MASK = "***"


@dataclass(frozen=True)
class Message:
    """What one notification says (plain text)."""

    title: str
    body: str


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


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # pragma: no cover - a broken log call must not break delivery
            self.lines.append(record.msg if isinstance(record.msg, str) else "")


@contextmanager
def _apprise_logs_caught() -> Iterator[_Collect]:
    """Catch Apprise's log records during a send and keep them away from every other handler."""
    logger = logging.getLogger("apprise")
    handler = _Collect()
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate, _ = saved
        logger.setLevel(saved[1])


def send(destination: Destination, message: Message) -> str | None:
    """Send one notification; None when delivered, else the reason (secrets masked)."""
    import apprise  # loads its plugins: only when something is sent

    with _apprise_logs_caught() as caught:
        try:
            server = apprise.Apprise.instantiate(destination.url)
            if server is None:
                return "Apprise cannot parse this url"
            ok = server.notify(
                body=message.body,
                title=message.title,
                notify_type=apprise.NotifyType.WARNING,
                body_format=apprise.NotifyFormat.TEXT,
            )
        except Exception as exc:  # Apprise plugins raise all sorts; the run must go on
            return redact(f"{type(exc).__name__}: {exc}", destination.url)
    if ok:
        return None
    reason = caught.lines[-1] if caught.lines else "the service refused or could not be reached"
    return redact(reason, destination.url)[:300]
