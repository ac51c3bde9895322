"""The Watchlist page (AppTest) and the watch links of Validators and Validator detail."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from analytics.alerts import config
from analytics.data import store
from analytics.views import export
from tests.test_link_text_is_literal import assert_literal

ROOT = Path(__file__).resolve().parent.parent
CRAFTED = "**BOLD** [phish](http://evil.example) <b>x</b>"


@pytest.fixture
def db(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, copy)
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(copy))
    return copy


def page(name: str, params: dict[str, object], *, via_app: bool = False) -> AppTest:
    """Run a page (through app.py when it links to other pages, which needs the app's page list)."""
    at = AppTest.from_file(str(ROOT / ("app.py" if via_app else f"pages/{name}")), default_timeout=60)
    if via_app:  # straight to the page through app.py's navigation, as a link opens it
        at.switch_page(f"pages/{name}")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def validators(db: Path):
    return export.validators_table(str(db), store.latest_snapshot_id(db), 1, 0)


def test_watchlist_shows_state_history_and_the_toml_to_write(db: Path, tmp_path: Path) -> None:
    table = validators(db)
    out = table[table["severity"].isin(export.OUT_OF_CONSENSUS)].iloc[0]["hotkey"]
    healthy = table[table["severity"] == "ok"].iloc[0]["hotkey"]
    store.record_alerts(
        db, store.latest_snapshot_id(db),
        [{"rule": "out_of_consensus", "key": out, "netuid": 1, "hotkey": out, "event": False,
          "message": "remembered alert", "details": {}}], ["d"], [],
    )  # fmt: skip
    at = page("9_Watchlist.py", {"watch": [out, healthy, CRAFTED]})
    assert not at.exception
    [warning] = [w.value for w in at.warning if "not a Bittensor SS58 address" in w.value]
    assert_literal(warning)
    state, now, history = (at.dataframe[i].value for i in range(3))
    assert (
        state["hotkey"].tolist()[:2] == [out, healthy] and state.loc[0, "severity"] in export.OUT_OF_CONSENSUS
    )
    assert "out_of_consensus" in now["rule"].tolist() and set(now["hotkey"]) == {out}
    assert history["message"].tolist() == ["remembered alert"] and bool(history.loc[0, "open"])
    toml = at.code[0].value
    saved = tmp_path / "alerts.toml"
    saved.write_text(toml)
    parsed = config.load(saved)
    assert [w.hotkey for w in parsed.watches] == [out, healthy]
    assert at.session_state["watchlist_keys"] == [out, healthy]


def test_watchlist_without_keys_says_how_to_add_one(db: Path) -> None:
    at = page("9_Watchlist.py", {})
    assert not at.exception
    assert any("No hotkey is watched yet" in i.value for i in at.info)


def test_validators_link_adds_the_hotkey_to_the_watchlist_link(db: Path) -> None:
    at = page("1_Validators.py", {"netuid": "1"})
    assert not at.exception
    shown = next(df.value for df in at.dataframe if "watch" in df.value.columns)
    row = shown.iloc[0]
    url = urlsplit(row["watch"])
    assert url.path == "Watchlist" and parse_qs(url.query)["watch"] == [row["hotkey"]]


def test_validator_detail_links_to_the_watchlist(db: Path) -> None:
    hotkey = validators(db).iloc[0]["hotkey"]
    at = page("3_Validator_detail.py", {"netuid": "1", "validator": hotkey}, via_app=True)
    assert not at.exception
    [link] = [el for el in at.get("page_link")]
    assert "watch" in link.proto.label
    assert parse_qs(link.proto.query_string)["watch"] == [hotkey]


def test_validator_detail_run_alone_still_links_to_the_watchlist(db: Path) -> None:
    """Without app.py's navigation (the page script by itself) the link is a Markdown link to the same URL."""
    hotkey = validators(db).iloc[0]["hotkey"]
    at = page("3_Validator_detail.py", {"netuid": "1", "validator": hotkey})
    assert not at.exception
    [link] = [m.value for m in at.markdown if m.value.startswith("[watch this validator](")]
    url = urlsplit(link[len("[watch this validator](") : -1])
    assert url.path == "Watchlist" and parse_qs(url.query)["watch"] == [hotkey]
