"""Send alerts through Apprise (Discord, Telegram, Slack, e-mail, JSON webhooks... as URLs).

One notification per alert and destination, so a JSON webhook receives exactly one POST per alert.
Secrets: an Apprise URL may hold a token or a password, so nothing here prints or logs it; a
destination is named by number, scheme and line (config.Destination.name), and Apprise's own log
lines are caught during a send, stripped of every part of the URL that could be secret, and only
then passed on as the failure reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from analytics.alerts.config import Destination
from analytics.alerts.secrets import apprise_logs_caught, redact

log = logging.getLogger("analytics.alerts")
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Message:
    """What one notification says (plain text)."""

    title: str
    body: str


def send(destination: Destination, message: Message) -> str | None:
    """Send one notification; None when delivered, else the reason (secrets masked)."""
    import apprise  # loads its plugins: only when something is sent

    with apprise_logs_caught() as caught:
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
