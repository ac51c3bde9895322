"""The real app in a real browser: `streamlit run app.py` on a free port, driven by Debian's chromium.

One session: the overview and the miner page must draw their Plotly SVG, a CSV downloaded from the
miner page must hold the right rows, and no page shows a traceback. Each page is opened once in the
browser tests: those another step or browser test opens (OPENED_ELSEWHERE) are checked there. With
METAGRAPH_LENS_SCREENSHOTS=1 every page is opened here and saved as a full-page screenshot under
screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analytics.cli import main as cli_main
from analytics.data import store
from analytics.views import export
from tests.browser_app import (
    CHROMIUM_ARGS,
    IDLE,
    ROOT,
    SCREENSHOTS,
    assert_no_traceback,
    free_port,
    open_in_app,
    page_errors,
    save_screenshot,
    screenshots_wanted,
    wait_idle,
)

__all__ = ["CHROMIUM_ARGS", "IDLE", "SCREENSHOTS", "free_port", "wait_idle"]  # as other modules used them

pytestmark = pytest.mark.browser

# URL paths whose page another step of this test or another browser test opens, asserting it shows no
# traceback (a page load costs seconds of CPU in the server and chromium): the loop below skips them.
OPENED_ELSEWHERE = {
    "": "the Overview step below",
    "Miner": "the Miner deep-link step below",
    "overview": "test_browser_layout",
    "What_if": "test_browser_layout",
    "Validators": "test_stake_browser",
    "Stake": "test_stake_browser",
    "Mechanism_lab": "test_mechanisms_browser",
}


def page_paths() -> list[tuple[str, str]]:
    """(screenshot name, URL path) of the overview and every page in pages/."""
    out = [("0_Overview", "")]
    for path in sorted((ROOT / "pages").glob("*.py")):
        stem = path.stem
        out.append((stem, stem.split("_", 1)[1] if "_" in stem else stem))
    return out


def test_app_in_chromium(app_url: tuple[str, Path], browser_page: Any, tmp_path: Path) -> None:
    url, db = app_url
    page = browser_page
    errors = page_errors(page)

    # Overview: banner, table and the Plotly chart drawn as SVG.
    page.goto(url)
    wait_idle(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    banner = page.get_by_text("Demo data", exact=False).first
    banner.wait_for(state="visible", timeout=10_000)  # painted by now; a slow machine gets 10 s
    assert banner.is_visible()
    assert "snapshot=" in page.url, "the selection is in the URL"
    assert_no_traceback(page, "Overview")

    # Miner page through a deep link: the chart draws, the CSV holds that miner's column.
    page.goto(f"{url}/Miner?netuid=2&miner=17")
    wait_idle(page)
    page.wait_for_selector(".js-plotly-plot .main-svg .scatterlayer .point", timeout=30_000)
    assert_no_traceback(page, "Miner")
    with page.expect_download() as info:
        page.locator(".st-key-csv_miner button").click()
    download = info.value
    assert download.suggested_filename.startswith("weights_sn2_m0_")
    data = Path(download.path()).read_bytes()
    expected = tmp_path / "cli.csv"
    assert (
        cli_main(
            [
                "export",
                "--db",
                str(db),
                "--table",
                "weights",
                "--netuid",
                "2",
                "--miner",
                "17",
                "--out",
                str(expected),
            ]
        )
        == 0
    )
    assert data == expected.read_bytes()
    lines = data.decode().splitlines()
    assert lines[0].startswith("validator_uid,validator_hotkey,")
    assert len(lines) > 2 and all(line.split(",")[4] == "17" for line in lines[1:])

    # Every page no other step opens (every page with METAGRAPH_LENS_SCREENSHOTS=1, saving screenshots),
    # each opened in the running app (as the browser's back and forward do), not by a reload.
    snapshot_id = store.latest_snapshot_id(db)
    validators = export.validators_table(str(db), snapshot_id, 1, 0)
    watched = validators["hotkey"].iloc[0]  # the most severe case: the Watchlist page shows it
    paths = page_paths()
    assert set(OPENED_ELSEWHERE) <= {path for _, path in paths}, "a page named above is gone"
    for name, path in paths:
        if path in OPENED_ELSEWHERE and not screenshots_wanted():
            continue
        open_in_app(page, f"/{path}?snapshot={snapshot_id}&netuid=1&watch={watched}")
        if page.locator(".js-plotly-plot").count():
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        assert_no_traceback(page, name)
        if path == "Watchlist":
            shown = page.get_by_text(f'hotkey = "{watched}"', exact=False).first
            shown.wait_for(state="visible", timeout=10_000)
            assert shown.is_visible()
        save_screenshot(page, name)
    assert not errors, errors
