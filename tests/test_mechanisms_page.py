"""The mechanism-lab page driven headless through Streamlit's AppTest: renders, reacts, and reports bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

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
    assert len([k for k in buttons if not k.startswith("download_input_")]) == len(tables)
    # and every editable table can be saved as it stands
    assert len([k for k in buttons if k.startswith("download_input_")]) == len(default_view.data_editor) == 5


def test_incentive_at_the_last_sync_by_hand(default_view: AppTest) -> None:
    at = table_with(default_view, "t_decay_h", "raw_incentive", "share")
    short = at[at["t_decay_h"] == 2].set_index("miner")
    # t = 14 h, t_decay = 2 h: epochs at 12 h and 14 h count. steady 12 + 12, late joiner 20 + 20,
    # early burst 0, below B_min (8 < 10) 0.
    assert short["raw_incentive"].to_dict() == {
        "steady": 24,
        "early burst": 0,
        "late joiner": 40,
        "below B_min": 0,
    }
    assert short.loc["late joiner", "share"] == pytest.approx(40 / 64)
    long = at[at["t_decay_h"] == 10].set_index("miner")
    # t_decay = 10 h keeps the epochs at 4..14 h: steady 6 * 12, early burst only its 4 h epoch (30),
    # late joiner 4 * 20.
    assert long.loc["steady", "raw_incentive"] == 72
    assert long.loc["early burst", "raw_incentive"] == 30
    assert long.loc["late joiner", "raw_incentive"] == 80


def test_changing_b_min_changes_who_qualifies() -> None:
    app = run()
    app.number_input(key="sn9_bmin").set_value(13).run()
    assert not app.exception
    assert metric(app, "B_eff (effective batch count)") == "39"  # only 14 and 25 reach 13
    assert metric(app, "Merge") == "waits"


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


def test_source_weights_not_summing_to_one_show_an_error_not_an_exception() -> None:
    app = run()
    app.number_input(key="dsw_reddit").set_value(0.6).run()
    assert not app.exception
    assert any("sum to 1.02" in e for e in errors(app))
    assert metric(app, "B_eff (effective batch count)") == "61"  # the other tab is unaffected


def test_negative_bytes_in_the_bucket_table_show_an_error() -> None:
    buckets = pd.DataFrame(
        {
            "source": ["reddit"],
            "label": ["r/x"],
            "age_days": [1.0],
            "bytes": [-5.0],
            "bytes_all_miners": [10.0],
        }
    )
    app = run(sn13_buckets_base=buckets)
    assert not app.exception
    assert any("cannot be negative" in e for e in errors(app))


def test_all_data_older_than_thirty_days_scores_zero_on_the_page() -> None:
    buckets = pd.DataFrame(
        {
            "source": ["reddit", "x"],
            "label": ["a", "b"],
            "age_days": [31.0, 90.0],
            "bytes": [1e6, 1e6],
            "bytes_all_miners": [1e6, 1e6],
        }
    )
    app = run(sn13_buckets_base=buckets)
    assert not app.exception and not app.error
    assert metric(app, "Raw score") == "0"


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


def test_bad_timeline_and_t_decay_show_errors() -> None:
    timeline = pd.DataFrame(
        {"epoch": [1, 1], "time_h": [0.0, 0.0], "miner": ["a", "a"], "backward_passes": [10, 12]}
    )
    app = run(sn9_timeline_base=timeline)
    assert not app.exception
    assert any("repeats miner" in e for e in errors(app))
    app = run()
    app.text_input(key="sn9_tdecay").set_value("2, soon").run()
    assert not app.exception
    assert any("not a number of hours" in e for e in errors(app))


def test_failure_share_changes_the_recovery_count() -> None:
    app = run()
    app.number_input(key="sn13_fail").set_value(0.5).run()
    assert not app.exception
    # 0.9 -> 0.15*0.5 + 0.85*0.9 = 0.84; clean: 0.864, 0.8844, 0.90174 -> 3
    assert metric(app, "Clean validations to recover") == "3"


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


def test_a_label_listed_twice_is_refused() -> None:
    labels = pd.DataFrame({"source": ["x", "X"], "label": ["#tao", "#TAO"], "scale_factor": [1.0, 2.0]})
    app = run(sn13_labels_base=labels)
    assert not app.exception
    assert any("lists X #TAO again" in e for e in errors(app))


def test_scoring_one_per_qualifying_sync_evens_out_throughput() -> None:
    app = run()
    app.radio(key="sn9_rule").set_value("per_sync").run()
    assert not app.exception
    at = table_with(app, "t_decay_h", "raw_incentive", "share")
    short = at[at["t_decay_h"] == 2].set_index("miner")
    # t = 14 h, t_decay = 2 h: the syncs at 12 h and 14 h; steady and late joiner reach B_min in both.
    assert short["raw_incentive"].to_dict() == {
        "steady": 2,
        "early burst": 0,
        "late joiner": 2,
        "below B_min": 0,
    }
    assert short.loc["steady", "share"] == pytest.approx(0.5)
