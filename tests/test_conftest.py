"""The browser gate: a missing browser skips locally, fails in CI (METAGRAPH_LENS_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import pytest

from tests.conftest import (
    CHROMIUM,
    LONG_POLES,
    browser_missing_reason,
    require_browser,
    require_realdata,
    schedule,
)


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


class _Item:
    """Just what conftest.schedule reads of a pytest item."""

    def __init__(self, nodeid: str, browser: bool = False, fixturenames: tuple[str, ...] = ()) -> None:
        self.nodeid, self.browser, self.fixturenames = nodeid, browser, fixturenames

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "browser" and self.browser else None


def test_browser_tests_open_the_first_share_and_the_long_poles_the_second() -> None:
    rest = [_Item(f"tests/test_a.py::test_{i}") for i in range(10)]
    browser = [
        _Item("tests/test_b.py::test_x", True),
        _Item("tests/test_b.py::test_first", True, ("first_session_app_url",)),
    ]
    fuzz = _Item(f"{LONG_POLES[0]}")
    spark = _Item(f"{LONG_POLES[1]}test_spark")
    items = [*rest[:3], spark, *browser, *rest[3:], fuzz]
    ordered = schedule(items, workers=2)  # type: ignore[arg-type]
    assert sorted(map(id, ordered)) == sorted(map(id, items))  # every test, once
    half = len(items) // 2
    assert [i.nodeid for i in ordered[:2]] == ["tests/test_b.py::test_first", "tests/test_b.py::test_x"]
    assert ordered[half : half + 2] == [fuzz, spark]  # the second worker's share starts with them
    others = [i for i in ordered if i in rest]
    assert others == rest  # the rest keep their order
    assert schedule(items, workers=1)[:4] == [browser[1], browser[0], fuzz, spark]  # type: ignore[arg-type]
