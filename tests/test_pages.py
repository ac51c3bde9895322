"""Every page through Streamlit's AppTest on the shared demo database.

Default view, each selector, deep links, bad parameters, empty / missing / corrupt / locked
databases, untrusted chain strings, and the CSV behind the download buttons byte for byte against
`python -m analytics export`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from analytics.cli import main as cli_main
from analytics.data import store
from analytics.views import export

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = {
    "overview": None,
    "validators": "pages/1_Validators.py",
    "miner": "pages/2_Miner.py",
    "validator": "pages/3_Validator_detail.py",
    "matrix": "pages/4_Weight_matrix.py",
    "history": "pages/5_History.py",
}
TWO_MECHANISMS = 4  # demo subnet with two incentive mechanisms
MARKUP_SUBNET = 7  # demo subnet whose name holds HTML


class RecordingStorage(app_test_module.MemoryMediaFileStorage):
    """The AppTest media storage, remembered so tests can read what a download button holds."""

    latest: RecordingStorage | None = None

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint)
        RecordingStorage.latest = self


class RecordingManager(app_test_module.MediaFileManager):
    """The AppTest media file manager, remembered so tests can click a deferred download (ui.csv_download
    writes its CSV on click) the way the browser does: run its callable, then read the stored file."""

    latest: RecordingManager | None = None

    def __init__(self, storage: Any) -> None:
        super().__init__(storage)
        RecordingManager.latest = self


def record_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next AppTest runs' download buttons readable with :func:`download_bytes`."""
    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)
    monkeypatch.setattr(app_test_module, "MediaFileManager", RecordingManager)


@pytest.fixture
def db(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(demo_db))
    record_downloads(monkeypatch)
    return demo_db


def open_page(page: str, **params: object) -> AppTest:
    """Run the app on `page` with query parameters (as a link to it does), return the finished AppTest.

    The first run goes straight to the page through app.py's navigation, without rendering the
    Overview first: these tests start from a fresh session, as a deep link does."""
    at = AppTest.from_file(APP, default_timeout=60)
    path = PAGES[page]
    if path is not None:
        at.switch_page(path)  # before the first run a page is found by its file name, as st.Page names it
    at.query_params.update({k: str(v) for k, v in params.items()})
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def warnings_of(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "Demo data" not in w.value]


def frame_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    """The first dataframe on the page that has `column`."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column} column")


def download_bytes(at: AppTest, key: str) -> bytes:
    """The bytes behind the download button created with ui.csv_download(..., key=key), as a click
    fetches them (the button's deferred file: its callable run, its file read from the storage)."""
    buttons = [b for b in at.get("download_button") if b.proto.id.endswith(f"csv_{key}")]
    assert buttons, f"no download button csv_{key}"
    assert RecordingManager.latest is not None and RecordingStorage.latest is not None
    url = RecordingManager.latest.execute_deferred(buttons[0].proto.deferred_file_id)
    return RecordingStorage.latest.get_file(url.rsplit("/", 1)[1]).content


def cli_bytes(db: Path, tmp_path: Path, *args: str) -> bytes:
    out = tmp_path / "cli.csv"
    assert cli_main(["export", "--db", str(db), *args, "--out", str(out)]) == 0
    return out.read_bytes()


def latest(db: Path) -> int:
    sid = store.latest_snapshot_id(db)
    assert sid is not None
    return sid


# --------------------------------------------------------------------------------------------------
# Default views


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_with_the_demo_banner_and_a_csv(db: Path, page: str) -> None:
    at = open_page(page)
    assert_clean(at)
    assert any("Demo data" in w.value for w in at.warning), "the demo banner is missing"
    assert at.get("download_button"), "every page offers its data as CSV"
    assert at.query_params["snapshot"] == str(latest(db)), "the selection is written to the URL"
    if page != "overview":
        assert at.query_params["netuid"] == "1"


def test_overview_lists_every_subnet_with_consensus_health(db: Path) -> None:
    at = open_page("overview")
    table = at.dataframe[0].value
    subnets = store.subnets(db, latest(db))
    assert sorted(table["netuid"]) == sorted(subnets["netuid"])
    row = table.set_index("netuid").loc[TWO_MECHANISMS]
    assert row["mechanisms"] == 2 and row["split"] == "70% / 30%"
    assert (table["validators"] > 0).all()
    assert table["stake_weighted_tv"].between(0, 1).all()


def test_overview_row_selection_links_to_the_subnet_pages(db: Path) -> None:
    at = open_page("overview")
    at.session_state["subnets_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert_clean(at)
    netuid = int(at.dataframe[0].value.iloc[1]["netuid"])
    links = at.get("page_link")
    assert {link.proto.page for link in links} >= {"Validators", "Miner", "History"}
    assert all(f"netuid={netuid}" in link.proto.query_string for link in links)


def test_overview_counts_validators_below_the_consensus_threshold(db: Path) -> None:
    """Overview's 'out of consensus': permit holders whose stored Tv is below 1 - consensus.CLIPPED_MAJOR."""
    overview = open_page("overview").dataframe[0].value.set_index("netuid")
    for netuid in (1, 2):
        neurons = store.neurons(db, latest(db), netuid)
        below = (neurons["validator_trust"] / 65535 < export.OUT_OF_CONSENSUS_TV) & neurons[
            "validator_permit"
        ]
        assert overview.loc[netuid, "out_of_consensus"] == int(below.sum()) > 0


def test_validators_page_puts_the_out_of_consensus_first_with_reasons(db: Path) -> None:
    from analytics.data.demo import DEMO_CASES

    at = open_page("validators", netuid=1)
    assert_clean(at)
    table = frame_with(at, "reason")
    order = [export.SEVERITY_ORDER.index(s) for s in table["severity"]]
    assert order == sorted(order), "most severe first"
    assert table.iloc[0]["severity"] in export.OUT_OF_CONSENSUS
    assert table["reason"].str.len().gt(0).all()
    cases = DEMO_CASES[1]
    by_uid = table.set_index("uid")
    assert by_uid.loc[cases["far_from_consensus"], "severity"] in ("major", "critical")
    assert "clipped" in by_uid.loc[cases["far_from_consensus"], "reason"]
    assert "stale" in by_uid.loc[cases["stale_weights"], "reason"]
    assert by_uid.loc[cases["no_permit"], "severity"] == "no permit"
    summary = frame_with(at, "reasons")
    assert summary["severity"].map(export.SEVERITY_ORDER.index).is_monotonic_increasing
    assert summary["validators"].sum() == len(table)
    text = " ".join(summary["reasons"])
    assert "above consensus" in text and "inactive" in text and "no permit" in text
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Out of consensus"]) == int(table["severity"].isin(export.OUT_OF_CONSENSUS).sum())
    assert metrics["Recomputed Tv = chain"] == "all", "the demo is computed by our engine: Tv must match"


def test_earnings_follow_the_documented_formula(db: Path) -> None:
    """Subnet 8 runs at tempo 720: an epoch every 720 blocks, 7200 / 720 = 10 epochs a day."""
    table = export.validators_table(str(db), latest(db), 8, 0)
    a = export.subnet_analysis(str(db), latest(db), 8)
    row = table[(table["stake_alpha"] > 0) & (table["dividend_share"] > 0)].iloc[0]
    per_epoch = a.aggregate.validator_emission[int(row["uid"])]
    stake_rao = row["stake_alpha"] * 1e9
    assert per_epoch > 0
    assert row["earn_per_1000_per_day"] == pytest.approx(per_epoch / stake_rao * 1000 * 7200 / 720)


# --------------------------------------------------------------------------------------------------
# Selectors and deep links


def test_subnet_selector_updates_the_url_and_the_table(db: Path) -> None:
    at = open_page("validators")
    at.selectbox(key="pick_netuid").set_value(2).run()
    assert_clean(at)
    assert at.query_params["netuid"] == "2"
    hotkeys = set(store.neurons(db, latest(db), 2)["hotkey"])
    assert set(frame_with(at, "reason")["hotkey"]) <= hotkeys


def test_snapshot_selector_goes_back_in_time(db: Path) -> None:
    snaps = store.list_snapshots(db)
    older = int(snaps.iloc[-1]["snapshot_id"])
    at = open_page("overview")
    at.selectbox(key="pick_snapshot").set_value(older).run()
    assert_clean(at)
    assert at.query_params["snapshot"] == str(older)
    assert at.metric[1].value == f"{int(snaps.iloc[-1]['block']):,}"


def test_mechanism_selector_on_a_two_mechanism_subnet(db: Path, tmp_path: Path) -> None:
    at = open_page("matrix", netuid=TWO_MECHANISMS)
    assert_clean(at)
    at.selectbox(key="pick_mechid").set_value(1).run()
    assert_clean(at)
    assert at.query_params["mechid"] == "1"
    expected = cli_bytes(db, tmp_path, "--table", "weights", "--netuid", str(TWO_MECHANISMS), "--mechid", "1")
    assert download_bytes(at, "weights") == expected


def test_miner_deep_link_and_selector(db: Path, tmp_path: Path) -> None:
    at = open_page("miner", snapshot=latest(db), netuid=2, miner=17)
    assert_clean(at)
    assert at.selectbox(key="pick_miner").value == 17
    table = at.dataframe[0].value
    assert set(table["miner_uid"]) == {17}
    assert (table["clipped"] >= 0).all()
    assert ((table["kept"] - table[["weight", "consensus"]].min(axis=1)).abs() < 1e-9).all()
    at.selectbox(key="pick_miner").set_value(18).run()
    assert at.query_params["miner"] == "18"
    assert set(at.dataframe[0].value["miner_uid"]) == {18}
    assert download_bytes(at, "miner") == cli_bytes(
        db, tmp_path, "--table", "weights", "--netuid", "2", "--miner", "18"
    )


def test_validator_detail_follows_the_hotkey(db: Path) -> None:
    from analytics.data.demo import DEMO_CASES

    uid = DEMO_CASES[1]["far_from_consensus"]
    hotkey = str(store.neurons(db, latest(db), 1).set_index("uid").loc[uid, "hotkey"])
    by_uid = open_page("validator", netuid=1, validator=uid)
    assert_clean(by_uid)
    assert by_uid.query_params["validator"] == hotkey, "a UID in the link is mapped to the hotkey"
    at = open_page("validator", netuid=1, validator=hotkey)
    assert_clean(at)
    expected = export.csv_bytes(export.weights_table(str(db), latest(db), 1, 0, validator=uid))
    assert download_bytes(at, "validator_weights") == expected
    history = at.dataframe[-1].value
    assert len(history) == len(store.hotkey_history(db, 1, hotkey)) > 1
    assert at.get("plotly_chart"), "weights vs consensus and history charts"
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Return (TAO a day per 1,000 TAO)", "Take"], "a staker's figures lead"
    assert {"return_tao_per_1000_per_day", "stake_alpha", "dividends_alpha"} <= set(history.columns)
    other = next(h for h in at.selectbox(key="pick_validator").options if hotkey not in h)
    other_hotkey = other.rsplit(" ", 1)[1]
    at.selectbox(key="pick_validator").set_value(other_hotkey).run()
    assert_clean(at)
    assert at.query_params["validator"] == other_hotkey
    snapshots = set(store.hotkey_history(db, 1, other_hotkey)["snapshot_id"])
    assert set(at.dataframe[-1].value["snapshot_id"]) <= snapshots


def test_deep_link_reproduces_the_view_in_a_new_session(db: Path) -> None:
    first = open_page("validators")
    first.selectbox(key="pick_netuid").set_value(6).run()
    link = dict(first.query_params)
    again = open_page("validators", **link)
    assert_clean(again)
    assert frame_with(again, "reason").equals(frame_with(first, "reason"))


def test_selection_carries_over_to_the_next_page(db: Path) -> None:
    at = open_page("validators")
    at.selectbox(key="pick_netuid").set_value(3).run()
    at.switch_page(PAGES["history"])
    at.query_params = {}
    at.run()
    assert_clean(at)
    assert at.query_params["netuid"] == "3"


def test_switching_subnet_drops_stale_choices_without_warning(db: Path) -> None:
    """A miner / mechanism chosen in the session may not exist on the next subnet: no 'link' warning."""
    at = open_page("miner", netuid=TWO_MECHANISMS)
    at.selectbox(key="pick_mechid").set_value(1).run()
    at.selectbox(key="pick_miner").set_value(127).run()
    assert at.query_params["miner"] == "127" and at.query_params["mechid"] == "1"
    at.selectbox(key="pick_netuid").set_value(7).run()  # 192 UIDs, one mechanism
    assert_clean(at)
    assert warnings_of(at) == []
    assert at.query_params["mechid"] == "0" and at.query_params["netuid"] == "7"
    at.selectbox(key="pick_miner").set_value(190).run()
    at.selectbox(key="pick_netuid").set_value(TWO_MECHANISMS).run()  # 128 UIDs: miner 190 is gone
    assert_clean(at)
    assert warnings_of(at) == []
    assert int(at.query_params["miner"]) < 128


def test_weight_matrix_orders(db: Path) -> None:
    at = open_page("matrix", netuid=1, order="uid")
    assert_clean(at)
    at.selectbox(key="pick_order").set_value("stake").run()
    at.selectbox(key="pick_show").set_value("clipped").run()
    assert_clean(at)
    assert at.query_params["order"] == "stake" and at.query_params["show"] == "clipped"


# --------------------------------------------------------------------------------------------------
# Bad parameters


@pytest.mark.parametrize(
    ("page", "params", "named"),
    [
        ("validators", {"netuid": "abc"}, "abc"),
        ("validators", {"netuid": "999"}, "999"),
        ("overview", {"snapshot": "99999"}, "99999"),
        ("miner", {"netuid": "1", "miner": "9999"}, "9999"),
        ("miner", {"netuid": "1", "miner": "-1"}, "-1"),
        ("validator", {"netuid": "1", "validator": "not-a-hotkey"}, "not-a-hotkey"),
        ("validator", {"netuid": "1", "validator": "250"}, "250"),
        ("matrix", {"netuid": "1", "mechid": "5"}, "5"),
        ("matrix", {"netuid": str(TWO_MECHANISMS), "mechid": "x"}, "x"),
        ("history", {"snapshot": "abc", "netuid": "1"}, "abc"),
    ],
)
def test_bad_parameters_warn_and_fall_back(db: Path, page: str, params: dict[str, str], named: str) -> None:
    at = open_page(page, **params)
    assert_clean(at)
    warnings = warnings_of(at)
    assert any(named in w for w in warnings), warnings
    assert at.get("download_button"), "the page still shows its default view"


# --------------------------------------------------------------------------------------------------
# Databases that cannot be shown


def test_empty_database_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.duckdb"
    store.initialise(empty)
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(empty))
    for page in ("overview", "validators"):
        at = open_page(page)
        assert not at.exception
        assert any("python -m analytics collect" in i.value for i in at.info)


@pytest.mark.parametrize("kind", ["missing", "zero_bytes", "corrupt"])
def test_unusable_database_gives_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = tmp_path / "bad.duckdb"
    if kind == "zero_bytes":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(path))
    at = open_page("overview")
    assert not at.exception
    assert at.error and "python -m analytics demo" in at.error[0].value


def test_locked_database_gives_a_clear_error(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked.duckdb"
    locked.write_bytes(demo_db.read_bytes())
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(60)",
            str(locked),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.3)
        monkeypatch.setenv("METAGRAPH_LENS_DB", str(locked))
        start = time.monotonic()
        at = open_page("overview")
        assert not at.exception
        assert at.error and "locked" in at.error[0].value
        # The file is fine, only busy: say to retry, not to create a database.
        assert "reload the page" in at.error[0].value
        assert "python -m analytics demo" not in at.error[0].value
        assert time.monotonic() - start < 30
    finally:
        holder.kill()
        holder.wait()


# --------------------------------------------------------------------------------------------------
# Untrusted strings and CSV


def test_chain_strings_never_reach_markdown(db: Path) -> None:
    at = open_page("validators", netuid=MARKUP_SUBNET)
    assert_clean(at)
    name = str(store.subnets(db, latest(db)).set_index("netuid").loc[MARKUP_SUBNET, "name"])
    assert "<b>" in name
    for element in [*at.markdown, *at.caption, *at.warning, *at.info, *at.title, *at.subheader]:
        assert "<b>" not in element.value
    assert any(name in opt for opt in at.selectbox(key="pick_netuid").options), "shown as plain option text"


@pytest.mark.parametrize(
    ("page", "key", "table", "extra"),
    [
        ("validators", "validators", "validators", ()),
        ("validators", "neurons", "neurons", ()),
        ("matrix", "weights", "weights", ()),
        ("miner", "consensus", "consensus", ()),
        ("overview", "subnets", "subnets", ()),
        ("history", "history", "history", ()),
    ],
)
def test_download_equals_cli_export(
    db: Path, tmp_path: Path, page: str, key: str, table: str, extra: tuple[str, ...]
) -> None:
    at = open_page(page, netuid=2)
    assert_clean(at)
    assert download_bytes(at, key) == cli_bytes(db, tmp_path, "--table", table, "--netuid", "2", *extra)


def test_consensus_export_matches_the_miner_page_figures(db: Path, tmp_path: Path) -> None:
    at = open_page("miner", netuid=1, miner=5)
    data = cli_bytes(db, tmp_path, "--table", "consensus", "--netuid", "1")
    lines = data.decode().splitlines()
    header = lines[0].split(",")
    row = dict(
        zip(header, next(line for line in lines[1:] if line.startswith("5,")).split(","), strict=False)
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Consensus"] == f"{float(row['consensus']):.4f}"
    assert metrics["Incentive"] == f"{float(row['incentive']):.4f}"


# --------------------------------------------------------------------------------------------------
# Empty states: a subnet nobody has weighted yet, with no validator permit


@pytest.mark.parametrize(
    ("page", "says"),
    [
        ("validators", "has no validator"),
        ("miner", "No validator has set a weight"),
        ("validator", "has no validator"),
        ("matrix", "No validator has set weights"),
    ],
)
def test_a_subnet_without_weights_or_validators_explains_itself(bare_db: Path, page: str, says: str) -> None:
    at = open_page(page)
    assert_clean(at)
    assert any(says in i.value for i in at.info), [i.value for i in at.info]
    assert not any("Demo data" in w.value for w in at.warning), "chain data carries no demo banner"
    for frame in at.dataframe:  # no empty table below the note (the Miner page's expander lists the miners)
        assert not frame.value.empty, (page, list(frame.value.columns))


def test_overview_and_history_of_a_bare_subnet(bare_db: Path) -> None:
    for page in ("overview", "history"):
        at = open_page(page)
        assert_clean(at)
    metrics = {
        m.label: m for m in at.metric
    }  # the History of a subnet without consensus or a previous snapshot
    assert metrics["Effective miners now"].value == "—"
    assert not metrics["Out of consensus now"].proto.delta_description


def test_raw_neurons_of_a_multi_mechanism_subnet_say_the_stored_emission_is_not_the_payout(db: Path) -> None:
    from analytics.model.emission import STORED_EMISSION_NOTE

    two = open_page("validators", netuid=TWO_MECHANISMS)
    assert_clean(two)
    assert STORED_EMISSION_NOTE in [c.value for c in two.caption]
    one = open_page("validators", netuid=1)
    assert_clean(one)
    assert STORED_EMISSION_NOTE not in [c.value for c in one.caption]
