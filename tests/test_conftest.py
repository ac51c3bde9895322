"""The browser gate: a missing browser skips locally, fails in CI (METAGRAPH_LENS_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM, browser_missing_reason, require_browser, require_realdata


def test_a_missing_browser_skips_with_the_reason_locally() -> None:
    with pytest.raises(pytest.skip.Exception, match="browser test skipped: /usr/bin/chromium is missing"):
        require_browser("/usr/bin/chromium is missing (install Debian's chromium)", required=False)


def test_a_missing_browser_fails_when_required() -> None:
    with pytest.raises(pytest.fail.Exception, match="METAGRAPH_LENS_REQUIRE_BROWSER=1"):
        require_browser("/usr/bin/chromium is missing", required=True)


def test_an_available_browser_is_returned() -> None:
    assert require_browser(None, required=True) == str(CHROMIUM)


def test_the_reason_names_what_is_missing() -> None:
    reason = browser_missing_reason()
    if CHROMIUM.exists():
        assert reason is None or "playwright" in reason
    else:
        assert reason is not None and str(CHROMIUM) in reason


def test_missing_real_data_skips_locally(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="real data not present at"):
        require_realdata(tmp_path / "absent.json")


def test_missing_real_data_fails_in_ci(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set, so the real-data tests must run"):
        require_realdata(tmp_path / "absent.json")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_realdata(tmp_path / "absent.json")


def test_present_real_data_is_returned(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert require_realdata(tmp_path) == tmp_path
