"""The Stake page through AppTest on the demo: ranking, one hotkey on every subnet, filters in the URL,
hostile parameters, and the CSV of exactly what is shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.data import demo, store
from analytics.views import export, health, returns, stake
from tests.test_pages import download_bytes, record_downloads

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/0_Stake.py"


@pytest.fixture
def db(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(demo_db))
    record_downloads(monkeypatch)
    return demo_db


def open_stake(**params: str) -> AppTest:
    """The Stake page as a link opens it: through app.py's navigation, straight to the page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(PAGE)  # before the first run a page is found by its file name, as st.Page names it
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def page_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "Demo data" not in w.value]


def operator_hotkey(db: Path) -> str:
    table = returns.returns_table(str(db), store.latest_snapshot_id(db))
    return str(table.loc[table["name"] == demo.OPERATORS[1], "hotkey"].iloc[0])


def test_ranks_every_validator_of_every_subnet_by_return_after_take(db: Path) -> None:
    at = open_stake()
    table = shown(at)
    sid = store.latest_snapshot_id(db)
    expected = returns.returns_table(str(db), sid, window_days=stake.DEFAULT_WINDOW)
    assert len(table) == len(expected) and set(table["netuid"]) == set(store.subnets(db, sid)["netuid"])
    ranked = table["return_tao_per_1000_per_day"].dropna()
    assert ranked.is_monotonic_decreasing and ranked.iloc[0] > ranked.iloc[-1] >= 0
    # the figures are the money path's, row for row
    merged = table.merge(expected, on=["netuid", "hotkey"], suffixes=("", "_money"))
    assert len(merged) == len(table)
    pd.testing.assert_series_equal(
        merged["return_tao_per_1000_per_day"], merged["return_tao_per_1000_per_day_money"], check_names=False
    )
    assert set(table["health"]) <= set(health.ORDER)
    assert at.title[0].value == "Where to stake · every subnet · 7 days"
    assert len(at.get("plotly_chart")) == 1, "the bubble chart; a validator's history once one is picked"
    at.session_state["stake_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert len(at.get("plotly_chart")) == 2
    assert at.subheader[-1].value == f"One validator over time · subnet {table.iloc[2]['netuid']}"
    assert any(table.iloc[2]["hotkey"] in t.value for t in at.text)


def test_hotkey_link_shows_every_subnet_it_validates(db: Path) -> None:
    hotkey = operator_hotkey(db)
    at = open_stake(hotkey=hotkey)
    assert page_warnings(at) == []
    table = shown(at)
    subnets = set(store.subnets(db, store.latest_snapshot_id(db))["netuid"])
    assert set(table["hotkey"]) == {hotkey} and set(table["netuid"]) == subnets, "one row per subnet"
    assert hotkey[:6] in at.title[0].value
    assert at.query_params["hotkey"] == hotkey
    assert len(at.get("plotly_chart")) == 2, "its return, Tv and stake over time"


def test_search_finds_a_name_across_subnets_and_filters_write_the_url(db: Path) -> None:
    at = open_stake()
    at.text_input(key="stake_query").set_value("kraken STAKE").run()
    table = shown(at)
    assert table["name"].str.casefold().str.contains("kraken stake").all() and table["netuid"].nunique() > 1
    assert at.query_params["q"] == "kraken STAKE"
    at.multiselect(key="stake_netuids").set_value([1, 3]).run()
    at.toggle(key="stake_in_consensus").set_value(True).run()
    table = shown(at)
    assert set(table["netuid"]) <= {1, 3} and not table["health"].isin(health.OUT_OF_CONSENSUS).any()
    assert at.query_params["netuid"] == "1,3" and at.query_params["in_consensus"] == "1"


@pytest.mark.parametrize(
    "params",
    [
        {
            "netuid": "abc",
            "window": "5",
            "min_stake": "-3",
            "in_consensus": "maybe",
            "hotkey": "<img src=x onerror=alert(1)>",
            "q": "\x00\u202e",
        },
        # an unknown subnet, NaN, a hotkey one character off (bad checksum)
        {"netuid": "1,999", "min_stake": "nan", "hotkey": "5GnWX81P7RmMEPnrNoRiuFgAcqm6opNpHn6oJ4n66k6kFZGX"},
    ],
)
def test_hostile_params_fall_back_with_a_warning(db: Path, params: dict[str, str]) -> None:
    at = open_stake(**params)
    assert not at.error
    warnings = page_warnings(at)
    assert len(warnings) == len(params) and all("not valid" in w for w in warnings), warnings
    assert len(shown(at)) == len(returns.returns_table(str(db), window_days=stake.DEFAULT_WINDOW))
    assert not set(params) & set(at.query_params), "the URL now holds the defaults"
    assert at.title[0].value == "Where to stake · every subnet · 7 days"


def test_unknown_but_valid_hotkey_says_so(db: Path) -> None:
    from analytics import ss58

    at = open_stake(hotkey=ss58.derive("nobody"))
    assert any("No validator with hotkey" in w for w in page_warnings(at))
    assert "hotkey" not in at.query_params


def test_csv_is_exactly_the_table_shown(db: Path) -> None:
    at = open_stake(netuid="2,5", min_stake="500", window="1")
    table = shown(at)
    assert set(table["netuid"]) <= {2, 5} and (table["stake_tao"] >= 500).all() and len(table) > 3
    data = download_bytes(at, "stake")
    assert data == export.csv_bytes(table)
    filters = stake.Filters(netuids=(2, 5), min_stake_tao=500.0)
    expected = stake.apply_filters(stake.stake_table(str(db), store.latest_snapshot_id(db), 1), filters)
    assert data == export.csv_bytes(expected)


def test_a_database_without_money_data_says_what_to_do(bare_db: Path) -> None:
    at = open_stake()
    assert not at.error
    assert any("no validator returns" in i.value for i in at.info)
    assert at.title[0].value.startswith("Where to stake")


def test_bubble_figure_draws_every_row_once_by_health_level(demo_db: Path) -> None:
    sid = store.latest_snapshot_id(demo_db)
    rows = stake.apply_filters(stake.stake_table(str(demo_db), sid), stake.Filters())
    rows.loc[0, "name"] = "<b>bold</b> & co"  # a chain string: shown as typed, never as HTML
    fig = stake.bubble_figure(rows)
    names = [t.name for t in fig.data]
    assert names == [lv for lv in health.ORDER if lv in set(rows["health"])]
    assert sum(len(t.x) for t in fig.data) == len(rows) and all(t.type == "scatter" for t in fig.data)
    for trace in fig.data:  # every row in its level's trace, at (stake, return), coloured by level
        mine = rows[rows["health"] == trace.name]
        assert list(trace.y) == list(mine["return_tao_per_1000_per_day"])
        assert list(trace.x) == list(mine["stake_tao"].clip(lower=1e-3))
        assert (
            list(trace.customdata[:, 0]) == list(mine["netuid"])
            and trace.marker.color == health.COLOURS[trace.name]
        )
    texts = [t for trace in fig.data for t in trace.text]
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co<br>hotkey " + rows.loc[0, "hotkey"] in texts
    # the largest stake draws the largest bubble, BUBBLE_MAX_PX across (plotly's area sizing)
    sizes = np.concatenate([t.marker.size for t in fig.data])
    ref = fig.data[0].marker.sizeref
    assert 2 * sizes.max() / ref == pytest.approx(stake.BUBBLE_MAX_PX**2)
    assert fig.layout.xaxis.type == "log"
    many = pd.concat([rows] * (stake.WEBGL_FROM // len(rows) + 1), ignore_index=True)
    assert {t.type for t in stake.bubble_figure(many).data} == {"scattergl"}, "WebGL beyond 1,000 points"
