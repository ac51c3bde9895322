"""One vocabulary on every page: the health levels, the validator count, freshness and headings.

Issue 15: Overview counted 4 critical on demo subnet 1 where Validators said 1 (inactive validators
without weights were a Tv band on one page and "not validating" on the other), and 64 validators
against 65. Now analytics/views/health.py defines both, and every page counts through it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics.data import store
from analytics.model import consensus
from analytics.views import export, freshness, health

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
U16 = 65535


def tv(clipped: float) -> int:
    return round((1.0 - clipped) * U16)


def test_health_levels_follow_the_consensus_thresholds() -> None:
    c = consensus
    trust = [
        tv(c.CLIPPED_CRITICAL + 0.01),
        tv(c.CLIPPED_MAJOR + 0.01),
        tv(c.CLIPPED_MINOR + 0.01),
        tv(0.0),
        tv(0.02),  # inactive but in consensus: not validating, major
        tv(0.9),  # inactive and mostly clipped: stays critical
        0,  # active, no weight counts: not validating, major
        tv(0.0),  # no permit
    ]
    permit = [True] * 7 + [False]
    active = [True, True, True, True, False, False, True, True]
    levels = health.health_levels(trust, permit, active)
    assert list(levels) == ["critical", "major", "minor", "ok", "major", "critical", "major", "no permit"]
    reasons = health.health_reasons(trust, permit, active)
    assert "inactive" in reasons[4] and "permit" in reasons[7] and "clipped" in reasons[0]
    assert health.counts(levels) == {"critical": 2, "major": 3, "minor": 1, "ok": 1}
    assert np.array_equal(health.is_validator(permit), np.array(permit))


def test_every_table_counts_the_same_validators_and_levels(demo_db: Path) -> None:
    db = str(demo_db)
    sid = store.latest_snapshot_id(db)
    assert sid is not None
    overview = export.subnets_table(db, sid).set_index("netuid")
    for netuid in overview.index:
        history = export.history_table(db, sid, int(netuid)).iloc[-1]
        table = export.validators_table(db, sid, int(netuid), 0)
        listed = table[table["severity"] != health.NO_PERMIT]
        per_level = health.counts(listed["severity"])
        for source in (overview.loc[netuid], history):
            assert source["validators"] == len(listed), netuid
            assert {lv: source[f"tv_{lv}"] for lv in health.LEVELS} == per_level, netuid
            assert source["out_of_consensus"] == sum(per_level[lv] for lv in health.OUT_OF_CONSENSUS)
    # The case the issue names: demo subnet 1 has one critical validator and 64 with a permit.
    assert overview.loc[1, "tv_critical"] == 1 and overview.loc[1, "validators"] == 64


def test_pages_show_the_same_counts_and_name_the_subnet(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(demo_db))
    at = AppTest.from_file(APP, default_timeout=60).run()
    overview = at.dataframe[0].value.set_index("netuid").loc[1]
    counts = {}
    for page in ("pages/1_Validators.py", "pages/5_History.py"):
        at.switch_page(page)
        at.query_params = {"netuid": "1"}
        at.run()
        assert not at.exception and not at.error
        assert at.title[0].value.endswith("· subnet 1 · demo inference"), at.title[0].value
        counts[page] = {m.label: m.value for m in at.metric}
    assert counts["pages/1_Validators.py"]["Validators"] == str(overview["validators"])
    assert counts["pages/1_Validators.py"]["Out of consensus"] == str(overview["out_of_consensus"])
    assert counts["pages/5_History.py"]["Out of consensus now"] == str(overview["out_of_consensus"])
    # A chain name with markup stays out of the heading; the number still names the subnet.
    at.switch_page("pages/1_Validators.py")
    at.query_params = {"netuid": "7"}
    at.run()
    assert at.title[0].value == "Validators · subnet 7"


def test_freshness_words() -> None:
    now = "2026-12-03 07:00"
    assert freshness.freshness_text(7_754_400, "2026-11-30 07:00", now) == "block 7,754,400 · 3 days ago"
    assert freshness.age_text("2026-12-03 06:59:30", now) == "just now"
    assert freshness.age_text("2026-12-03 05:00", now) == "2 hours ago"
    assert freshness.age_text("2026-03-23 06:00", now) == "8 months ago"
    assert not freshness.is_stale("2026-11-26 07:00", now)  # a week: the cron is on time
    assert freshness.is_stale("2026-11-25 06:00", now)  # more than 8 days: a run was missed


def test_every_data_page_says_how_old_its_snapshot_is(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(demo_db))
    at = AppTest.from_file(APP, default_timeout=60).run()  # the Overview
    for page in [None, *sorted((ROOT / "pages").glob("[0-9]*.py"))]:  # not overview.py: the Overview's path
        if page is not None:
            if page.name.startswith("8_"):  # the Mechanism lab has no database
                continue
            at.switch_page(f"pages/{page.name}")
            at.run()
        assert not at.exception, page
        captions = [c.value for c in at.caption]
        assert any(c.startswith("Snapshot: block 7,754,400 · ") for c in captions), (page, captions)
        assert not any("collection seems to have stopped" in w.value for w in at.warning), "demo: no warning"


def test_a_stale_database_is_called_out(bare_db: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    stale = [w.value for w in at.warning if "collection seems to have stopped" in w.value]
    assert stale and "block 1,000" in stale[0]
