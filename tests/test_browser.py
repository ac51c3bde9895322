"""The real app in a real browser: `streamlit run app.py` on a free port, driven by Debian's chromium.

One session: the overview and the miner page must draw their Plotly SVG, a CSV downloaded from the
miner page must hold the right rows, and every page is saved as a full-page screenshot under
screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.cli import main as cli_main
from analytics.data import store
from analytics.views import export

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app served by `streamlit run` against a copy of the demo database."""
    db = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copy(demo_db, db)
    port = free_port()
    log = open(db.with_suffix(".log"), "w")  # noqa: SIM115 - closed below
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    env.pop("METAGRAPH_LENS_DB", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--",
            "--db",
            str(db),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.read() == b"ok":
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"streamlit did not start: {db.with_suffix('.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url, db
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def page_paths() -> list[tuple[str, str]]:
    """(screenshot name, URL path) of the overview and every page in pages/."""
    out = [("0_Overview", "")]
    for path in sorted((ROOT / "pages").glob("*.py")):
        stem = path.stem
        out.append((stem, stem.split("_", 1)[1] if "_" in stem else stem))
    return out


def wait_idle(page, timeout: float = 30_000) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(300)  # let the last deltas paint


def test_app_in_chromium(app_url: tuple[str, Path], chromium_path: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, db = app_url
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # Overview: banner, table and the Plotly chart drawn as SVG.
            page.goto(url)
            wait_idle(page)
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
            assert page.get_by_text("Demo data", exact=False).first.is_visible()
            assert "snapshot=" in page.url, "the selection is in the URL"

            # Miner page through a deep link: the chart draws, the CSV holds that miner's column.
            page.goto(f"{url}/Miner?netuid=2&miner=17")
            wait_idle(page)
            page.wait_for_selector(".js-plotly-plot .main-svg .scatterlayer .point", timeout=30_000)
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

            # Every page, full-page screenshots for a person to look at.
            snapshot_id = store.latest_snapshot_id(db)
            validators = export.validators_table(str(db), snapshot_id, 1, 0)
            watched = validators["hotkey"].iloc[0]  # the most severe case: the Watchlist page shows it
            for name, path in page_paths():
                page.goto(f"{url}/{path}?snapshot={snapshot_id}&netuid=1&watch={watched}")
                wait_idle(page)
                if page.locator(".js-plotly-plot").count():
                    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
                assert page.get_by_test_id("stException").count() == 0, f"{name} shows a traceback"
                if path == "Watchlist":
                    assert page.get_by_text(f'hotkey = "{watched}"', exact=False).first.is_visible()
                # Streamlit scrolls inside its main container: grow the viewport to the content first.
                height = page.evaluate(
                    "Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], "
                    "[data-testid=stMainBlockContainer]')).map(e => e.scrollHeight))"
                )
                page.set_viewport_size({"width": 1400, "height": min(int(height) + 80, 12_000)})
                page.wait_for_timeout(400)
                page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
                page.set_viewport_size({"width": 1400, "height": 1000})
            assert not errors, errors
        finally:
            browser.close()
