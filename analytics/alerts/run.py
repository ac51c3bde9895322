"""One alerts run: evaluate, remember what is new, (re)send what is undelivered.

Order matters for "nothing twice": new alerts and their pending deliveries are written first (one
transaction), then each delivery is attempted and its outcome written at once; a delivery that
failed stays pending and is retried by the next run, a delivered one is never sent again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from analytics.alerts import deliver
from analytics.alerts.config import Watchlist
from analytics.alerts.evaluate import findings, load_frames, plan
from analytics.alerts.rules import Finding
from analytics.data import store

log = logging.getLogger("analytics.alerts")


@dataclass
class RunResult:
    """What a run found and did. alerts: one dict per alert handled (see `as_record`)."""

    snapshot_id: int
    alerts: list[dict[str, Any]] = field(default_factory=list)
    resolved: int = 0
    failed: int = 0  # deliveries that failed this run (retried next run)
    delivered: int = 0

    @property
    def ok(self) -> bool:
        return self.failed == 0


def as_record(finding: Finding, snapshot_id: int) -> dict[str, Any]:
    """The JSON object of one alert: rule, hotkey, netuid, snapshot_id, message, key, event, details."""
    return {
        "rule": finding.rule,
        "hotkey": finding.hotkey,
        "netuid": finding.netuid,
        "snapshot_id": snapshot_id,
        "message": finding.message,
        "key": finding.key,
        "event": finding.event,
        **({"reason": finding.details["reason"]} if "reason" in finding.details else {}),
        "details": finding.details,
    }


def _message(row: dict[str, Any]) -> deliver.Message:
    return deliver.Message(
        title=f"metagraph-lens: {row['rule']} on subnet {row['netuid']}",
        body=f"{row['message']}\n(snapshot {row['snapshot_id']})",
    )


@contextmanager
def _shared_reads() -> Iterator[None]:
    """The run's reads as cursors on the store's shared read-only connection (store.SharedReader):
    a run makes about ten reads, and each fresh connection costs ~25 ms of CPU. A write in between
    closes it (the store does); it is closed at the end unless the app had it on already."""
    was_on = store.SHARED_READER.enabled
    store.keep_reader_open(True)
    try:
        yield
    finally:
        store.keep_reader_open(was_on)


def run(db_path: str | os.PathLike[str], watchlist: Watchlist, *, dry_run: bool = False) -> RunResult:
    """Evaluate `watchlist` on the newest snapshot; unless dry_run, remember and deliver.

    dry_run: the new alerts only (what a real run would send now), nothing written or sent.
    """
    with _shared_reads():
        return _run(str(db_path), watchlist, dry_run=dry_run)


def _run(db: str, watchlist: Watchlist, *, dry_run: bool) -> RunResult:
    if not dry_run:
        store.initialise(db)  # an older database is upgraded in place before anything is read
    frames = load_frames(db, watchlist)
    evaluation = findings(watchlist, frames)
    decided = plan(evaluation, store.open_alerts(db), store.alerts_on_snapshot(db, frames.snapshot_id))
    result = RunResult(frames.snapshot_id, resolved=len(decided.resolve))
    if dry_run:
        result.alerts = [as_record(f, frames.snapshot_id) for f in decided.new]
        return result

    destinations = {d.id: d for d in watchlist.destinations}
    if decided.new or decided.resolve:
        store.record_alerts(
            db,
            frames.snapshot_id,
            [
                {"rule": f.rule, "key": f.key, "netuid": f.netuid, "hotkey": f.hotkey, "event": f.event,
                 "message": f.message, "details": f.details}
                for f in decided.new
            ],
            list(destinations),
            decided.resolve,
        )  # fmt: skip
    if decided.new:
        log.info("snapshot %d: %d new alert(s)", frames.snapshot_id, len(decided.new))
    if decided.resolve:
        log.info("snapshot %d: %d alert episode(s) over", frames.snapshot_id, len(decided.resolve))
    if not destinations:
        result.alerts = [dict(as_record(f, frames.snapshot_id), delivered=False) for f in decided.new]
        if decided.new:
            log.warning(
                "no [[notify]] destination in %s: the alerts are remembered and printed only", watchlist.path
            )
        return result

    handled: dict[int, dict[str, Any]] = {}
    for row in store.pending_deliveries(db, list(destinations)).to_dict("records"):
        alert_id = int(row["alert_id"])
        record = handled.setdefault(
            alert_id,
            {
                "rule": row["rule"],
                "hotkey": row["hotkey"] if isinstance(row["hotkey"], str) else None,
                "netuid": int(row["netuid"]),
                "snapshot_id": int(row["snapshot_id"]),
                "message": row["message"],
                "key": row["key"],
                "event": bool(row["event"]),
                "details": json.loads(row["details"]) if isinstance(row["details"], str) else {},
                "alert_id": alert_id,
                "retry": int(row["attempts"]) > 0,
                "delivered": True,
            },
        )
        if "reason" in record["details"]:
            record["reason"] = record["details"]["reason"]
        destination = destinations[str(row["destination"])]
        error = deliver.send(destination, _message(record))
        store.record_delivery(db, alert_id, destination.id, ok=error is None, error=error)
        if error is None:
            result.delivered += 1
        else:
            result.failed += 1
            record["delivered"] = False
            log.error("alert %d (%s) not delivered to %s: %s; retried on the next run",
                      alert_id, record["rule"], destination.name, error)  # fmt: skip
    result.alerts = list(handled.values())
    return result
