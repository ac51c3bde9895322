"""The staker's view in a real browser (Debian chromium): what is visible at 1400 px and on a phone, and
the CSV a person downloads from the Stake page.

The data grid draws its cells on a canvas but keeps an accessible table of the columns in view: its
header cells are what a person sees without scrolling sideways.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analytics.data import store
from analytics.views import export, stake
from tests.browser_app import SETTLE_POLL_MS, assert_no_traceback, open_in_app, page_errors, wait_idle
from tests.test_browser_layout import assert_app_navigation

pytestmark = pytest.mark.browser

VISIBLE_HEADERS = """() => Array.from(document.querySelectorAll('[data-testid=stDataFrame]')).map(
    df => Array.from(df.querySelectorAll('[role=columnheader]')).map(h => h.textContent.trim()))"""


def test_staker_view_in_chromium(
    first_session_app_url: tuple[str, Path], browser: Any, browser_page: Any
) -> None:
    url, db = first_session_app_url
    # Validators at 1400 px: the return after take and the take are in view, no sideways scroll.
    # This deep link is the server's first request (Streamlit's pages-folder mode): the page opens
    # with its query applied and the app's navigation.
    page = browser_page  # 1400 x 1000
    errors = page_errors(page)  # for test_browser's tour of the pages, as it checks its own
    page.goto(f"{url}/Validators?netuid=2")
    assert_app_navigation(page)
    wait_idle(page)
    # the first grid's header cells (a later grid may draw its own first)
    page.wait_for_function(f"() => ({VISIBLE_HEADERS})()[0]?.length > 0", polling=SETTLE_POLL_MS)
    assert_no_traceback(page, "Validators")  # for test_browser's tour of the pages
    headers = page.evaluate(VISIBLE_HEADERS)[0]
    assert {"Return (TAO/day)", "Take", "Health", "Stake (α)"} <= set(headers), headers
    assert page.locator("h1").first.inner_text().startswith("Validators · subnet 2")

    # The Stake page's CSV holds exactly the rows and columns the table shows (opened in the running app;
    # the phone below opens its deep link by a fresh load).
    open_in_app(page, "/Stake?netuid=2,5&min_stake=500&window=1")
    assert_no_traceback(page, "Stake")  # for test_browser's tour of the pages
    shown = page.get_by_test_id("stMetricValue").first.inner_text()
    with page.expect_download() as info:
        page.locator(".st-key-csv_stake button").click()
    data = Path(info.value.path()).read_bytes()
    snapshot_id = store.latest_snapshot_id(db)
    filters = stake.Filters(netuids=(2, 5), min_stake_tao=500.0)
    expected = stake.apply_filters(stake.stake_table(str(db), snapshot_id, 1), filters)
    assert data == export.csv_bytes(expected)
    assert len(data.decode().splitlines()) - 1 == int(shown.replace(",", "")) == len(expected) > 0
    headers = page.evaluate(VISIBLE_HEADERS)[0]
    assert headers[:3] == ["Subnet", "Name", "Hotkey"] and "Return (TAO/day)" in headers
    assert not errors, errors

    # On a phone the sidebar is closed: the heading alone says what the table holds.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    page.goto(f"{url}/Stake?netuid=3")
    wait_idle(page)
    heading = page.locator("h1").first
    assert heading.inner_text().replace("\n", " ") == "Where to stake · subnet 3 · 7 days"
    box = heading.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] < 844
    phone.close()
