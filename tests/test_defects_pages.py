"""Issue 12 items 8 and 9: what a new user sees: whole-number count axes, readable percent and α figures,
Tv coloured by health, empty cells instead of "None", and a split edit that keeps the number typed."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.app import ui
from analytics.model import emission
from analytics.views import health
from analytics.views.display import format_alpha

ROOT = Path(__file__).resolve().parent.parent


def run(page: str, db: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(db))
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_count_axes_have_whole_ticks() -> None:
    assert ui.integer_axis(pd.Series([0, 3, 5]), "validators") == {
        "tickformat": ",d",
        "rangemode": "nonnegative",
        "tick0": 0,
        "dtick": 1,
        "title": "validators",
    }
    assert "dtick" not in ui.integer_axis([0, 40])  # Plotly's own steps (5, 10...) are whole already
    assert ui.integer_axis([])["dtick"] == 1


def test_history_counts_validators_in_whole_numbers(demo_db: Path, monkeypatch) -> None:
    at = run("pages/5_History.py", demo_db, monkeypatch, netuid="1")
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)  # validators out of consensus
    assert spec["layout"]["yaxis"]["dtick"] == 1 and spec["layout"]["yaxis"]["tickformat"] == ",d"


def test_validator_detail_dividend_axis_rounds(demo_db: Path, monkeypatch) -> None:
    at = run("pages/3_Validator_detail.py", demo_db, monkeypatch, netuid="1")
    layout = json.loads(at.get("plotly_chart")[1].proto.spec)["layout"]
    titles = [a["text"] for a in layout["annotations"]]  # one subplot title per panel, top to bottom
    panel = next(i for i, t in enumerate(titles, start=1) if t.startswith("dividends"))
    axis = layout["yaxis" if panel == 1 else f"yaxis{panel}"]
    assert axis["tickformat"] == ",.2~g"  # d3: two significant digits (8, 0.0012, 1,200), never 8.434
    assert axis["nticks"] == 6


@pytest.mark.parametrize(
    ("tv", "band"),
    [(0.999, "ok"), (0.95, "ok"), (0.949, "minor"), (0.6, "major"), (0.1, "critical"), (1.0, "ok")],
)
def test_tv_bands(tv: float, band: str) -> None:
    assert ui.tv_band(tv) == band
    assert ui.tv_band(float("nan")) is None


def test_overview_colours_tv_by_health_and_leaves_missing_cells_empty(demo_db: Path, monkeypatch) -> None:
    at = run("app.py", demo_db, monkeypatch)
    subnets = at.dataframe[0]
    styles = subnets.proto.arrow_data.styler.styles
    healthy = subnets.value["stake_weighted_tv"] >= 0.95
    assert healthy.any()
    assert ui.TV_BAND_COLOURS["ok"] in styles and ui.TV_BAND_COLOURS["critical"] not in styles
    for frame in at.dataframe:  # no table shows "None" for a missing value
        assert frame.proto.HasField("placeholder") and frame.proto.placeholder == ""


@pytest.mark.parametrize(
    ("rao", "text"),
    [
        (126_242_763_265, "126.2428 α"),
        (10**9, "1 α"),
        (5 * 10**17, "500,000,000 α"),
        (123_456, "0.0001235 α"),
        (0, "0 α"),
    ],
)
def test_alpha_amounts_read_well(rao: int, text: str) -> None:
    assert format_alpha(rao) == text


def test_emission_split_states_e_readably(demo_db: Path, monkeypatch) -> None:
    at = run("pages/6_Emission_split.py", demo_db, monkeypatch, netuid="4")
    line = next(c.value for c in at.caption if c.value.startswith("Epoch emission E = "))
    amount = re.match(r"Epoch emission E = ([\d,]+(?:\.(\d+))?) α", line)
    assert amount and len(amount.group(2) or "") <= 4, line
    for frame in at.dataframe:
        assert frame.proto.placeholder == "" and frame.proto.HasField("placeholder")


@pytest.mark.parametrize(
    ("before", "index", "typed", "after"),
    [
        ([70, 30], 0, 50, [50, 50]),
        ([60, 30, 10], 0, 50, [50, Fraction(75, 2), Fraction(25, 2)]),
        ([100, 0, 0], 0, 40, [40, 30, 30]),
        ([25, 75], 1, 100, [0, 100]),
        ([100], 0, 40, [100]),
    ],
)
def test_keep_one_percent(before: list, index: int, typed: int, after: list) -> None:
    values = list(before)
    values[index] = typed
    result = emission.keep_one_percent(values, index)
    assert result == [Fraction(v) for v in after] and sum(result) == 100


def test_typing_a_percentage_keeps_it_and_says_what_the_others_became(demo_db: Path, monkeypatch) -> None:
    """The issue's reproduction: 50 typed for mechanism 0 of a 70/30 subnet was rescaled to 62.5/37.5."""
    at = run("pages/6_Emission_split.py", demo_db, monkeypatch, netuid="4")
    assert [c.value for c in at.code] == ["45875,19660"]  # 70 % / 30 %
    at.number_input(key="pct_4_2_0").set_value(50.0).run()
    assert not at.exception
    assert at.number_input(key="pct_4_2_0").value == 50.0
    assert at.number_input(key="pct_4_2_1").value == 50.0
    assert [c.value for c in at.code] == [emission.format_split(emission.percent_to_split([50, 50]))]
    assert any("mechanism 1 → 50.00 %" in c.value for c in at.caption)


def test_validators_tv_reads_as_health_not_a_red_bar(demo_db: Path, monkeypatch) -> None:
    """Each Tv cell carries its row's health level colour (the Overview's colours), no progress bar: a
    Tv of 0 on a validator that is "major" (not validating) reads major, as its Health cell does."""
    at = run("pages/1_Validators.py", demo_db, monkeypatch, netuid="1")
    frame = at.dataframe[0]
    assert json.loads(frame.proto.columns)["validator_trust"]["type_config"]["type"] == "number"
    cells: dict[tuple[int, int], str] = {}
    for selectors, css in re.findall(r"([^{}]+)\{([^}]*)\}", frame.proto.arrow_data.styler.styles):
        for row, col in re.findall(r"_row(\d+)_col(\d+)", selectors):
            cells[(int(row), int(col))] = css
    col = list(frame.value.columns).index("validator_trust")
    levels = frame.value["severity"]
    assert {"ok", "critical", "major"} <= set(levels)  # demo subnet 1 has them all
    assert (health.tv_levels(frame.value["validator_trust"]) != levels).any()  # Tv 0: "major", not "critical"
    for row, level in enumerate(levels):
        assert health.COLOURS[level] in cells[(row, col)], (row, level, cells.get((row, col)))
