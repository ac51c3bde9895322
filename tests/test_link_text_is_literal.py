"""Text a link carries is shown literally in page messages: a crafted URL cannot make the app show a
clickable link, bold text or markup in its warnings (phishing through a shared deep link)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_emission_page import open_page, split_db  # noqa: F401 - fixture

CRAFTED = "**BOLD** [phish](http://evil.example) www.evil.example"
LAB = str(Path(__file__).resolve().parent.parent / "pages" / "8_Mechanism_lab.py")


def outside_code_spans(markdown: str) -> str:
    return re.sub(r"`[^`]*`", "", markdown)


def assert_literal(markdown: str) -> None:
    """No Markdown emphasis or link syntax and no URL a renderer would autolink, outside code spans."""
    text = outside_code_spans(markdown)
    assert "**BOLD**" not in text, markdown
    assert "](" not in text, markdown
    assert "://" not in text and "www." not in text, markdown


def test_emission_split_link_warning_quotes_the_value_literally(split_db: Path, monkeypatch) -> None:  # noqa: F811
    at = open_page(split_db, monkeypatch, netuid="7", split=CRAFTED)
    warnings = [w.value for w in at.warning if "not valid for subnet 7" in w.value]
    assert warnings
    for warning in warnings:
        assert_literal(warning)


def test_mechanism_lab_error_quoting_a_link_setting_is_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    app = AppTest.from_file(LAB, default_timeout=60)
    app.query_params["sn9_tdecay"] = CRAFTED
    app.run()
    assert not app.exception
    errors = [e.value for e in app.error if "decay" in e.value]
    assert errors
    for error in errors:
        assert_literal(error)
