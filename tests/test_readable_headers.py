"""Readable table headers (issue 15: never snake_case, units written once): analytics.views.display."""

from __future__ import annotations

from analytics.views import display


def test_snake_case_columns_become_words_with_the_unit_once() -> None:
    assert display.readable_header("validator_uid") == "Validator UID"
    assert display.readable_header("miner_hotkey") == "Miner hotkey"
    assert display.readable_header("stake_alpha") == "Stake (α)"
    assert display.readable_header("baseline_rao") == "Baseline (rao)"
    assert display.readable_header("change_pct") == "Change (%)"
    assert display.readable_header("validator_trust_u16") == "Validator trust (u16)"
    assert display.readable_header("tv") == "Tv"
    assert display.readable_header("netuid") == "Subnet"
    assert display.readable_header("hotkey") == "Hotkey"


def test_headers_already_written_for_people_are_kept() -> None:
    for header in ("Stake (α)", "row used", "UID", "α price", "Return (TAO/day)"):
        assert display.readable_header(header) == header


def test_configured_columns_keep_their_configuration_and_the_rest_get_labels() -> None:
    configured = {"stake_share": {"label": "stake share"}}
    labels = display.header_labels(["validator_uid", "stake_share", "row_counted"], configured)
    assert labels == {
        "validator_uid": "Validator UID",
        "stake_share": {"label": "stake share"},
        "row_counted": "Row counted",
    }
