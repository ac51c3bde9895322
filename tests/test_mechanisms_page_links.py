"""Mechanism lab deep links: a number too large for a float (1e400 reads as infinity) falls back to the
default like any other unreadable setting instead of a traceback from the widget."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "8_Mechanism_lab.py")


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


@pytest.mark.parametrize("value", ["1e400", "-1e400", "inf", "nan"])
@pytest.mark.parametrize("key", ["sn9_bmin", "sn9_frac", "sn13_cred"])
def test_an_infinite_setting_in_the_link_falls_back_to_the_default(key: str, value: str) -> None:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    assert metric(app, "B_eff (effective batch count)") == "61"
    assert metric(app, "Scaled at credibility 0.9") == "42,424,700"
