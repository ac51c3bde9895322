"""The What-if page in Streamlit's AppTest: the empty state, a deep-linked what-if, bad links, the builder."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.data.demo import DEMO_CASES
from analytics.data.snapshot import load_subnet
from analytics.data.store import latest_snapshot_id
from analytics.model import simulate
from analytics.views import export
from analytics.views.display import whatif_winners_table
from analytics.views.whatif import mechanism_inputs, winners_frame
from tests.test_pages import download_bytes, record_downloads

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "7_What_if.py")
FAR = DEMO_CASES[1]["far_from_consensus"]


@pytest.fixture
def page(demo_db: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(demo_db))
    record_downloads(monkeypatch)

    def open_page(**params: str | list[str]) -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=60)
        for key, value in params.items():
            at.query_params[key] = value
        return at.run()

    return open_page


def _plotly_values(y: object) -> np.ndarray:
    """Plotly JSON holds arrays as lists or as typed arrays ({"dtype": ..., "bdata": base64})."""
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    return np.asarray(y, dtype=float)


def scenarios_in_url(at: AppTest) -> list[str]:
    value = at.query_params.get("scenario", [])
    return [value] if isinstance(value, str) else list(value)


def test_without_a_scenario_the_page_offers_one_and_runs_it(page) -> None:
    at = page(netuid="1")
    assert not at.exception
    assert any("Add a scenario" in info.value for info in at.info)
    try_it = next(b for b in at.button if b.label.startswith("Try: validator"))
    uid = int(try_it.label.split()[2])
    at = try_it.click().run()
    assert not at.exception
    assert scenarios_in_url(at) == [f"consensus:{uid}"]
    assert len(at.get("plotly_chart")) == 4  # Tv, dividends, incentive, the validator's bonds


def test_a_deep_link_reproduces_the_what_if(page, demo_db: Path) -> None:
    at = page(netuid="1", scenario=[f"consensus:{FAR}", "kappa=0.6"], epochs="8")
    assert not at.exception and not at.error
    assert scenarios_in_url(at) == [f"consensus:{FAR}", "kappa=0.6"] and at.query_params["epochs"] == "8"
    assert at.multiselect[0].value == [f"consensus:{FAR}", "kappa=0.6"]  # the scenarios, shown and removable
    snap = load_subnet(demo_db, latest_snapshot_id(demo_db), 1)
    sim = simulate.simulate(
        mechanism_inputs(snap, 0),
        simulate.parse_scenarios([f"consensus:{FAR}", "kappa=0.6"]),
        8,
        previous_consensus=snap.prev_consensus,
    )
    params, shown = (d.value for d in at.dataframe[:2])
    assert params.to_dict("records") == [
        {"hyperparameter": "kappa", "snapshot": "0.5000 (32767)", "what-if": "0.6000 (39321)"}
    ]
    exact = winners_frame(snap, sim)  # the table shows it in α; the CSV keeps the rao
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), whatif_winners_table(exact), check_dtype=False
    )
    assert shown["uid"].iloc[0] == FAR
    assert shown["what-if (α)"].iloc[0] == exact["scenario_rao"].iloc[0] / 1e9
    assert download_bytes(at, "whatif_winners") == export.csv_bytes(winners_frame(snap, sim))
    epochs_csv = download_bytes(at, "whatif_epochs_csv").decode().splitlines()
    assert epochs_csv[0].startswith("epoch,block,uid,hotkey,consensus,consensus_baseline,consensus_delta,")
    assert len(epochs_csv) == 1 + 8 * len(
        at.multiselect(key="whatif_validators").value + at.multiselect(key="whatif_miners").value
    )
    assert at.multiselect(key="whatif_validators").value[0] == FAR
    assert at.metric[0].label == f"uid {FAR}: paid over 8 epochs (α)"
    paid = sim.scenario.server_emission.sum(0) + sim.scenario.validator_emission.sum(0)
    assert at.metric[0].value == f"{paid[FAR] / 1e9:,.3f}"
    assert at.query_params["validator"] == snap.hotkeys[FAR]  # the bonds chart shows the changed validator

    at = at.radio(key="whatif_plot").set_value("difference from baseline").run()
    dividends = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert dividends["data"][0]["name"] == f"uid {FAR}"
    assert dividends["layout"]["title"]["subtitle"]["text"] == "what-if − baseline"
    assert dividends["layout"]["legend"]["orientation"] == "h"  # below the plot: never cut off
    charted = at.multiselect(key="whatif_validators").value
    assert len(dividends["data"]) == len(charted)
    assert np.allclose(_plotly_values(dividends["data"][0]["y"]), sim.delta("dividends")[:, FAR] / 65535)


def test_bad_links_say_what_was_left_out_and_keep_the_rest(page) -> None:
    at = page(netuid="1", scenario=["kappa=7", "copy:1=999", f"consensus:{FAR}", f"zero:{FAR}"], epochs="abc")
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Scenario left out: `scenario 'kappa=7': kappa must be between 0 and 1, got 7`",
        "Scenario left out: `scenario 'copy:1=999': uid 999 is not on this subnet (uids 0-255)`",
        f"Scenario left out: `scenarios 'consensus:{FAR}' and 'zero:{FAR}' both set uid {FAR}'s weights; keep one`",
    ]
    assert any("`abc` epochs" in w.value for w in at.warning)
    assert scenarios_in_url(at) == [f"consensus:{FAR}"] and at.query_params["epochs"] == "20"
    assert len(at.get("plotly_chart")) == 4


def test_the_builder_and_the_text_box_add_scenarios_to_the_link(page) -> None:
    at = page(netuid="2")
    at.selectbox(key="whatif_kind").select("Validator copies another validator").run()
    validators = at.selectbox(key="whatif_uid").options
    at.selectbox(key="whatif_uid").select_index(2).run()
    at.selectbox(key="whatif_src").select_index(3).run()
    at = at.button(key="whatif_add").click().run()
    copier, source = (int(v.split(" · ")[0]) for v in (validators[2], validators[3]))
    assert scenarios_in_url(at) == [f"copy:{copier}={source}"]
    at.text_input(key="whatif_text").input("kappa=0.6 yuma3=on").run()
    assert scenarios_in_url(at) == [f"copy:{copier}={source}", "kappa=0.6", "yuma3=on"]
    at.text_input(key="whatif_text").input("kappa=0.7").run()  # kappa is already set: refused, URL unchanged
    assert [e.value for e in at.error] == [
        "Not added: `scenarios 'kappa=0.6' and 'kappa=0.7' set the same thing; keep one`"
    ]
    assert scenarios_in_url(at) == [f"copy:{copier}={source}", "kappa=0.6", "yuma3=on"]
    at = at.multiselect[0].unselect("kappa=0.6").run()
    assert scenarios_in_url(at) == [f"copy:{copier}={source}", "yuma3=on"]
    assert not at.exception


def test_a_hyperparameter_what_if_headlines_its_biggest_winner_and_loser(page) -> None:
    at = page(netuid="2", scenario=["yuma3=on"])
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert (
        len(labels) == 2
        and labels[0].startswith("biggest winner, uid ")
        and labels[1].startswith("biggest loser")
    )
    assert at.metric[0].delta.startswith("+") and at.metric[1].delta.startswith("-")


def test_a_fresh_subnet_without_weights_or_validators_explains_itself(bare_db: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("Add a scenario" in i.value for i in at.info)
    assert not [b for b in at.button if b.label.startswith("Try:")]  # nobody to suggest
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["scenario"] = ["consensus:1", "stake:1=1000000000000"]
    at = at.run()
    assert not at.exception
    # (bare_db's only snapshot is months old: every page also says the collection seems to have stopped)
    assert [w.value for w in at.warning if "collection seems to have stopped" not in w.value] == [
        "`consensus:1: uid 1 holds no validator permit, so its weights count only once it earns one`"
    ]
    # With no weights anywhere the epoch falls back to paying by stake: the new stake-holder is paid, holds no bonds.
    assert (
        at.metric[0].label == "uid 1: paid over 20 epochs (α)"
        and float(at.metric[0].value.replace(",", "")) > 0
    )
    assert [i.value for i in at.info] == ["Validator 1 holds no bonds in either replay."]


def test_every_kind_in_the_registry_has_a_form_whose_token_parses(page) -> None:
    at = page(netuid="2")
    for kind in simulate.KINDS:
        at.selectbox(key="whatif_kind").select(kind.label).run()
        assert not at.exception, kind.key
        shown = next(t.value for t in at.text if t.value.startswith("Adds: "))
        assert simulate.parse_scenario(shown.removeprefix("Adds: ")).spec.startswith(kind.head), kind.key
