"""pages/6_Emission_split.py in Streamlit's AppTest, on a real DuckDB written through the store."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("analytics.app.ui")
pytest.importorskip("analytics.data.snapshot")

from streamlit.testing.v1 import AppTest

from tests.test_emission_stored import write_split_db

PAGE = Path(__file__).resolve().parent.parent / "pages" / "6_Emission_split.py"


@pytest.fixture(scope="module")
def split_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_split_db(tmp_path_factory.mktemp("page") / "split.duckdb")


def open_page(db: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(db))
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def frame_with(at: AppTest, column: str):
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with a {column!r} column"
    return frames


def test_current_split_and_per_mechanism_tables(split_db: Path, monkeypatch) -> None:
    at = open_page(split_db, monkeypatch, netuid="7")
    assert [m.value for m in at.metric] == ["2", "16383 / 49152", "25.00 % / 75.00 %"]
    split = frame_with(at, "u16")[0]
    assert split["u16"].tolist() == [16383, 49152]
    assert split["emission α"].tolist() == [0.249988556, 0.750011444]
    mechanism_0 = frame_with(at, "incentive u16")[0]
    assert mechanism_0["incentive u16"].tolist() == [0, 39320, 26213]
    assert mechanism_0["validator α"].tolist()[0] == 124_994_278 / 1e9
    totals = frame_with(at, "stored Emission α")[0]
    assert totals["payout α"].sum() == pytest.approx(1.0, abs=1e-8)
    assert any("not the payout" in c.value for c in at.caption)
    # Untouched editor: the vector to submit is the current one and nothing changes.
    assert [c.value for c in at.code] == ["16383,49152"]
    assert at.query_params["split"] == "16383,49152"
    assert any("changes nothing" in c.value or "pays every UID the same" in c.value for c in at.caption)
    comparison = frame_with(at, "change α")
    assert all(frame.empty for frame in comparison[:2])
    assert (comparison[2]["change α"] == 0).all()


def set_percents(at: AppTest, netuid: int, percents: list[float]) -> None:
    """Type a split in percent into the page's editor (subnet ``netuid``), then rerun."""
    for k, value in enumerate(percents):
        at.number_input(key=f"pct_{netuid}_{len(percents)}_{k}").set_value(value)
    at.run()


def test_percent_what_if_shows_vector_winners_and_losers(split_db: Path, monkeypatch) -> None:
    at = open_page(split_db, monkeypatch, netuid="7")
    set_percents(at, 7, [50.0, 50.0])
    assert not at.exception
    assert [c.value for c in at.code] == ["32768,32767"]
    winners, losers = frame_with(at, "change α")[:2]
    # Miner 1 earns mostly in mechanism 0 (which grows from 25 % to 50 %), miner 2 mostly in mechanism 1.
    assert winners["uid"].tolist() == [1]
    assert losers["uid"].tolist() == [2]
    assert winners["change α"].iloc[0] > 0 > losers["change α"].iloc[0]
    assert len(at.get("plotly_chart")) == 1


def test_u16_editor_rejects_a_bad_sum_with_the_nearest_valid_split(split_db: Path, monkeypatch) -> None:
    at = open_page(split_db, monkeypatch, netuid="7")
    at.radio(key="split_mode_7").set_value("u16").run()
    at.number_input(key="u16_7_2_0").set_value(1000).run()
    assert not at.exception
    assert any("sum to 50152" in e.value for e in at.error)
    assert any(t.value.startswith("Nearest valid split: ") for t in at.text)
    assert len(at.get("plotly_chart")) == 0


def test_deep_link_split(split_db: Path, monkeypatch) -> None:
    at = open_page(split_db, monkeypatch, netuid="7", split="13107,52428")
    assert [c.value for c in at.code] == ["13107,52428"]
    bad = open_page(split_db, monkeypatch, netuid="7", split="1,2")
    assert any("not valid for subnet 7" in w.value for w in bad.warning)
    assert [c.value for c in bad.code] == ["16383,49152"]


def test_a_what_if_does_not_follow_to_another_subnet(split_db: Path, monkeypatch) -> None:
    at = open_page(split_db, monkeypatch, netuid="7", split="13107,52428")
    at.selectbox(key="pick_netuid").set_value(9).run()
    assert not at.exception
    # the old subnet's split is dropped, not reported as invalid (the only warning: this old test
    # database's newest snapshot is months old, which every page now says)
    assert [w.value for w in at.warning if "collection seems to have stopped" not in w.value] == []
    assert [c.value for c in at.code] == ["32768,32767"]  # subnet 9: even split, made explicit


def test_single_mechanism_subnet_has_no_what_if(split_db: Path, monkeypatch) -> None:
    at = open_page(split_db, monkeypatch, netuid="8")
    assert any("single incentive mechanism" in i.value for i in at.info)
    assert any("several mechanisms in this snapshot: 7, 9, 10" in i.value for i in at.info)


def test_a_damaged_stored_split_is_a_clear_error(split_db: Path, monkeypatch) -> None:
    at = open_page(split_db, monkeypatch, netuid="10")
    assert any("stored split (1,2) is not one the chain accepts" in e.value for e in at.error)
    assert len(at.code) == 0
    assert len(at.code) == 0


def test_missing_epoch_emission_asks_for_an_amount(split_db: Path, monkeypatch) -> None:
    at = open_page(split_db, monkeypatch, netuid="9")
    assert at.number_input(key="epoch_emission").value == 1.0
    split = frame_with(at, "u16")[0]
    assert split["u16"].isna().all()  # unset: even
    assert split["emission α"].tolist() == [0.5, 0.5]


def test_page_runs_on_the_demo_database(request: pytest.FixtureRequest, monkeypatch) -> None:
    try:
        demo_db = request.getfixturevalue("demo_db")
    except pytest.FixtureLookupError:
        pytest.skip("the demo_db fixture (tests/conftest.py) is not available yet")
    at = open_page(Path(demo_db), monkeypatch, netuid="4")
    assert any("Demo data" in w.value for w in at.warning)
    assert frame_with(at, "u16")[0]["u16"].tolist() == [45875, 19660]
    assert [c.value for c in at.code] == ["45875,19660"]
    assert any("recomputed by the Yuma engine" in i.value for i in at.info)
    set_percents(at, 4, [50.0, 50.0])
    assert not at.exception
    assert [c.value for c in at.code] == ["32768,32767"]
    winners, losers = frame_with(at, "change α")[:2]
    assert len(winners) and len(losers)
