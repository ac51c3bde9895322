"""The mechanism-lab page driven headless through Streamlit's AppTest: renders, reacts, and reports bad input.

The numbers behind it are checked without Streamlit in tests/test_mechanisms_views.py."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_pages import download_bytes, record_downloads

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "8_Mechanism_lab.py")


def run(**session: object) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in session.items():
        app.session_state[key] = value
    return app.run()


def shown(markdown: str) -> str:
    """What a reader sees of an escaped Markdown message (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def errors(app: AppTest) -> list[str]:
    return [shown(e.value) for e in app.error]


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def table_with(app: AppTest, *columns: str) -> pd.DataFrame:
    return next(
        d.value
        for d in app.dataframe
        if d.editing_mode == "read_only" and set(columns) <= set(d.value.columns)
    )


@pytest.fixture(scope="module")
def default_view() -> AppTest:
    return run()


def test_default_view_renders_both_tabs_without_errors(default_view: AppTest) -> None:
    assert not default_view.exception
    assert not default_view.error
    assert [t.label for t in default_view.tabs] == ["Subnet 9 (IOTA)", "Subnet 13 (data universe)"]
    assert metric(default_view, "B_eff (effective batch count)") == "61"  # 14 + 10 + 25 + 12
    assert metric(default_view, "Merge") == "triggers"  # 4 of 5 >= 0.8 * 5
    # 0.58*1*(1-12/1440)*50e6 + 0.58*0.3*(1-48/1440)*80e6 + 0.37*1*0.95*(20e6**2/40e6)
    # + 0.37*1*0.8*30e6 + 0.05*0.3*(1-480/1440)*60e6 + 0 (35 days old) = 55 209 333
    assert metric(default_view, "Raw score") == "55,209,333"
    assert metric(default_view, "Clean validations to recover") == "6"


def test_every_result_table_has_a_csv_download(default_view: AppTest) -> None:
    tables = [d for d in default_view.dataframe if d.editing_mode == "read_only"]
    buttons = [b.key for b in default_view.get("download_button")]
    assert len(tables) >= 8
    assert len([k for k in buttons if not k.startswith("csv_input_")]) == len(tables)
    # and every editable table can be saved as it stands
    assert len([k for k in buttons if k.startswith("csv_input_")]) == len(default_view.data_editor) == 5


def test_settings_come_from_the_link_and_an_unreadable_one_falls_back_to_the_default() -> None:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.query_params["sn9_bmin"] = "12"
    app.query_params["sn13_cred"] = "lots"
    app.run()
    assert not app.exception
    assert metric(app, "B_eff (effective batch count)") == "51"  # 14 + 25 + 12
    assert metric(app, "Scaled at credibility 0.9") == "42,424,700"  # "lots" ignored: default 0.9


def test_negative_b_min_shows_an_error_in_both_sections_not_an_exception() -> None:
    app = run()
    app.number_input(key="sn9_bmin").set_value(-1).run()
    assert not app.exception
    assert sum("B_min is -1" in e for e in errors(app)) == 2
    assert metric(app, "Raw score") == "55,209,333"  # the other tab is unaffected


def test_user_text_in_an_error_is_escaped_not_rendered_as_markdown() -> None:
    buckets = pd.DataFrame(
        {
            "source": ["**bold** [link](http://x)"],
            "label": ["a"],
            "age_days": [1.0],
            "bytes": [1.0],
            "bytes_all_miners": [1.0],
        }
    )
    app = run(sn13_buckets_base=buckets)
    assert not app.exception
    message = next(e.value for e in app.error if "no data-source weight" in shown(e.value))
    assert r"\*\*bold\*\* \[link\]\(http\:" in message


def uploader(app: AppTest, key: str):
    return next(u for u in app.get("file_uploader") if u.key == key)


def test_a_bucket_csv_replaces_the_table_and_reset_brings_the_example_back() -> None:
    app = run()
    csv = b"Source,Label,age_days,bytes,bytes_all_miners,notes\nreddit,r/Bitcoin,0,1000,1000,a\nx,#other,15,2000,4000,b\n"
    uploader(app, "sn13_buckets_upload").upload("mine.csv", csv, "text/csv").run()
    assert not app.exception and not app.error
    # reddit r/Bitcoin listed 1.0: 0.58*1*1*1000 = 580; x unlisted 0.3, 15 days ASF 0.75,
    # SB 2000**2/4000 = 1000: 0.37*0.3*0.75*1000 = 83.25; total 663.25
    assert metric(app, "Raw score") == "663"
    app.button(key="sn13_buckets_reset").click().run()
    assert metric(app, "Raw score") == "55,209,333"


def test_a_csv_without_the_needed_columns_is_refused_with_what_it_needs() -> None:
    app = run()
    uploader(app, "sn13_history_upload").upload("h.csv", b"valid,total\n1,2\n", "text/csv").run()
    assert not app.exception
    assert any("lacks column(s) valid_bytes, validated_bytes" in e for e in errors(app))
    assert metric(app, "Clean validations to recover") == "6"  # the example table is kept


def test_a_formula_typed_as_a_miner_name_is_neutralised_in_every_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    record_downloads(monkeypatch)
    batches = pd.DataFrame({"miner": ['=HYPERLINK("http://x")', "miner-B"], "backward_passes": [14, 10]})
    app = run(sn9_batches_base=batches)
    assert not app.exception
    for key in ("sn9_merge", "input_sn9_batches"):
        data = download_bytes(app, key)
        assert b"'=HYPERLINK" in data, key
        assert b"\n=HYPERLINK" not in data and not data.startswith(b"=")
