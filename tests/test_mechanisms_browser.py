"""The mechanism lab in a real browser: a link opens the right tab with its settings, and edits reach the URL.

AppTest cannot see URL updates (the browser writes bound widgets into the URL), so this one check opens the
page in the app served by ``streamlit run`` (the browser tests' shared server) and drives Debian's chromium
through Playwright.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser_app import assert_no_traceback, page_errors

pytestmark = pytest.mark.browser


def test_a_link_opens_its_tab_and_settings_and_edits_update_the_link(
    app_url: tuple[str, Path], browser_page: Any
) -> None:
    from playwright.sync_api import expect

    url, _ = app_url
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1200})
    errors = page_errors(page)  # for test_browser's tour of the pages, as it checks its own
    page.goto(url + "/Mechanism_lab?tab=Subnet+13+%28data+universe%29&sn13_cred=0.5")
    expect(page.get_by_role("tab", selected=True)).to_have_text("Subnet 13 (data universe)", timeout=30_000)
    # 55 209 333.3 * 0.5 ** 2.5 = 9 759 723
    expect(page.get_by_text("Scaled at credibility 0.5")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("9,759,723", exact=True)).to_be_visible(timeout=30_000)
    assert_no_traceback(page, "Mechanism_lab")  # for test_browser's tour of the pages
    page.get_by_role("tab", name="Subnet 9 (IOTA)").click()
    b_min = page.get_by_label("B_min (backward passes)")
    b_min.fill("13")
    b_min.press("Enter")
    expect(page.get_by_text("39", exact=True)).to_be_visible(timeout=30_000)  # B_eff: 14 + 25 (after a rerun)
    page.wait_for_url("**sn9_bmin=13**")
    assert "sn13_cred=0.5" in page.url
    assert not errors, errors
