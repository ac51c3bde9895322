"""Shared fixtures: the demo database (built once per session) and the browser check.

* ``demo_db``: a Path to the deterministic demo database, built once per test session into a temp
  dir through ``analytics.demo.build_demo``. Treat it as read-only: many tests share it.
* ``chromium_path``: "/usr/bin/chromium" for Playwright's ``executable_path``. Skips the test with a
  clear reason when the browser or playwright is missing, but FAILS it when the environment sets
  METAGRAPH_LENS_REQUIRE_BROWSER=1 (as .ci/run does), so CI cannot go green without browser tests.
* ``REALDATA``: ../shared/realdata relative to the repo root (tests skip, saying why, when absent).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests judge behaviour, not speed: no per-example deadline (CI has 2 loaded cores).
settings.register_profile("lens", deadline=None)
settings.load_profile("lens")

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata"
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "METAGRAPH_LENS_REQUIRE_BROWSER"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per session (a few seconds)."""
    from analytics.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")


def browser_missing_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def require_browser(reason: str | None, required: bool) -> str:
    """The chromium path, or skip the test (fail it when the browser is required) saying why."""
    if reason is not None:
        if required:
            pytest.fail(f"browser tests are required ({REQUIRE_BROWSER_ENV}=1) but {reason}")
        pytest.skip(f"browser test skipped: {reason}")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium for Playwright; skip (or fail in CI) when it is unavailable."""
    return require_browser(browser_missing_reason(), os.environ.get(REQUIRE_BROWSER_ENV) == "1")
