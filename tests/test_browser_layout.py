"""Issue 12 items 6 and 7 in a real browser (the app server's first session is the one tested):
``/overview`` opens the Overview without "Page not found" and with the app's navigation (not Streamlit's
pages-folder sidebar); the What-if charts keep their legends and titles inside the chart at 1400 px and at
a phone's 390 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analytics.data.demo import DEMO_CASES
from tests.browser_app import (
    SETTLE_POLL_MS,
    assert_no_traceback,
    open_in_app,
    page_errors,
    save_screenshot,
    settle,
    wait_idle,
)

pytestmark = pytest.mark.browser

FAR = DEMO_CASES[1]["far_from_consensus"]
WHAT_IF = f"/What_if?netuid=1&scenario=consensus:{FAR}&scenario=kappa=0.6&epochs=6"

# The sidebar's page links. app.py's navigation names the first "Overview" and lists no "overview" file;
# Streamlit's pages-folder mode (a server's first session, see ui.app_navigation) lists "app" and "overview".
NAV_LINKS = """() => Array.from(document.querySelectorAll('[data-testid=stSidebarNavLink]'))
    .map(a => Array.from(a.querySelectorAll('span')).pop().textContent)"""


def assert_app_navigation(page) -> None:  # type: ignore[no-untyped-def]
    """The page shows app.py's navigation: Overview first, the numbered pages, no folder-mode entries.
    A first request runs twice (ui.app_navigation reruns it; the page may look idle in between): waits
    up to 10 s for a first link named "Overview", which folder mode never shows."""
    page.wait_for_function(f"() => ({NAV_LINKS})()[0] === 'Overview'", polling=SETTLE_POLL_MS, timeout=10_000)
    links = page.evaluate(NAV_LINKS)
    assert links[:3] == ["Overview", "Stake", "Validators"] and "app" not in links, links
    assert "overview" not in links, links


# Per Plotly chart: is the legend scrolled (cut off) and does the title run past the chart's right edge?
CHART_LAYOUT = """
() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => {
  const box = plot.getBoundingClientRect();
  const title = plot.querySelector('.gtitle');
  const bar = plot.querySelector('.legend .scrollbar');
  return {
    title: title ? title.textContent : '',
    titleRight: title ? title.getBoundingClientRect().right : 0,
    plotRight: box.right,
    legendScrolls: bar ? bar.getBoundingClientRect().height > 0 : false,
  };
})
"""


def test_overview_path_and_what_if_layout(first_session_app_url: tuple[str, Path], browser_page: Any) -> None:
    url, _ = first_session_app_url
    page = browser_page  # 1400 x 1000
    errors = page_errors(page)  # for test_browser's tour of the pages, as it checks its own
    page.goto(f"{url}/overview")  # the server's first session: Streamlit's pages-directory mode
    wait_idle(page)
    assert_app_navigation(page)
    wait_idle(page)
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_role("heading", name="Overview").count() == 1
    page.goto(f"{url}/overview?netuid=2")  # and a later session
    wait_idle(page)
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_role("heading", name="Overview").count() == 1
    assert_no_traceback(page, "overview")  # for test_browser's tour of the pages

    for width in (1400, 390):  # at 1400 px opened in the running app, on the phone by a fresh load
        page.set_viewport_size({"width": width, "height": 1000})
        if width == 1400:
            open_in_app(page, WHAT_IF, 60_000)
        else:
            page.goto(url + WHAT_IF)
            wait_idle(page, 60_000)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        settle(page)  # every chart drawn and laid out
        assert_no_traceback(page, f"What_if at {width}px")  # for test_browser's tour of the pages
        charts = page.evaluate(CHART_LAYOUT)
        assert len(charts) >= 3, charts
        for chart in charts:
            assert not chart["legendScrolls"], f"{width}px: the legend of {chart['title']!r} is cut off"
            assert chart["titleRight"] <= chart["plotRight"] + 1, f"{width}px: {chart['title']!r} clipped"
        save_screenshot(page, f"what_if_{width}")
    assert not errors, errors
