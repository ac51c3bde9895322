"""analytics/ui.py on its own: DB resolution, query-parameter pickers, text escaping, caching rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.app import ui
from analytics.data import demo, store

ROOT = Path(__file__).resolve().parent.parent


def test_db_from_argument_then_environment_then_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAGRAPH_LENS_DB", "/data/env.duckdb")
    assert ui.configured_db(["--db", "/data/arg.duckdb"]) == Path("/data/arg.duckdb")
    assert ui.configured_db(["--other", "x"]) == Path("/data/env.duckdb")
    monkeypatch.delenv("METAGRAPH_LENS_DB")
    assert ui.configured_db([]) == store.DEMO_DB_PATH


def test_text_helpers_never_let_markup_through() -> None:
    assert ui.plot_text("<b>x</b> & co") == "&lt;b&gt;x&lt;/b&gt; &amp; co"
    assert ui.plot_text(["<a href='x'>"]) == ["&lt;a href=&#x27;x&#x27;&gt;"]
    # a column at once: the Series form escapes each cell as the string form does, a missing cell too
    cells = ["<b>x</b> & co", "a'b\"c", "ok\u202egnp", None]
    assert ui.plot_text(pd.Series(cells, dtype=object)).tolist() == [
        ui.plot_text(str(c)) for c in cells[:3]
    ] + ["nan"]
    quoted = ui.code("a`b\n[link](http://evil)")
    assert quoted.startswith("`") and quoted.endswith("`") and quoted.count("`") == 2 and "\n" not in quoted


def test_cached_refuses_functions_it_cannot_import_again() -> None:
    def inner(db: str) -> int:
        return 1

    with pytest.raises(TypeError, match="importable"):
        ui.cached(inner, "x.duckdb")


def picker_app() -> None:
    import streamlit as st

    from analytics.app import ui

    value = ui.bound_select("Colour", ["red", "green", "blue"], "colour", parse=str, default="green")
    st.text(f"chosen={value}")


def chosen(at: AppTest) -> str:
    return at.text[0].value.split("=", 1)[1]


def test_bound_select_precedence_and_bad_values() -> None:
    at = AppTest.from_function(picker_app).run()
    assert chosen(at) == "green" and at.query_params["colour"] == "green"  # default, written to the URL

    at.selectbox(key="pick_colour").set_value("blue").run()
    assert chosen(at) == "blue" and at.query_params["colour"] == "blue"  # the user's choice

    at.query_params = {}
    at.run()
    assert chosen(at) == "blue", "the session remembers the choice when the URL has none"

    at.query_params = {"colour": "red"}
    at.run()
    assert chosen(at) == "red", "a link wins"

    at.query_params = {"colour": "<script>"}
    at.run()
    assert chosen(at) == "red" and not at.exception
    assert "`<script>`" in at.warning[0].value and "red" in at.warning[0].value


def test_first_start_builds_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "data" / "demo.duckdb"
    target.parent.mkdir()
    monkeypatch.delenv("METAGRAPH_LENS_DB", raising=False)
    monkeypatch.setattr(store, "DEMO_DB_PATH", target)
    # A small demo (one subnet, two weeks): the test is about the first start, not the demo's size.
    monkeypatch.setattr(demo, "SUBNETS", (demo.SubnetSpec(1, "tiny", "α", n=32, validators=6, stakers=2),))
    monkeypatch.setattr(demo, "WEEKS", 2)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception and not at.error
    assert target.exists()
    assert any("Demo data" in w.value for w in at.warning)


def test_style_tv_tints_each_tv_cell_by_its_level() -> None:
    tv = [0.99, 0.95, 0.9, 0.7, 0.3, np.nan]
    styled = ui.style_tv(pd.DataFrame({"tv": tv, "other": tv}), "tv")._compute().ctx
    for row, value in enumerate(tv):
        css = "; ".join(f"{k}: {v}" for k, v in styled.get((row, 0), []))
        assert css == ui._level_css(ui.tv_band(value)), (value, css)
        assert (row, 1) not in styled, "only the named columns are tinted"
    assert len({tuple(styled[(r, 0)]) for r in range(1, 5)}) == 4, "ok, minor, major, critical: four tints"
