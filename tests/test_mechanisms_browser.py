"""The mechanism lab in a real browser: a link opens the right tab with its settings, and edits reach the URL.

AppTest cannot see URL updates (the browser writes bound widgets into the URL), so this one check runs the
page under ``streamlit run`` on a free port and drives Debian's chromium through Playwright.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(chromium_path: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "pages/8_Mechanism_lab.py",
        "--server.headless",
        "true",
    ]
    command += [
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "_stcore/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(
                        f"streamlit did not start: {server.stderr.read().decode() if server.stderr else ''}"
                    )
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_link_opens_its_tab_and_settings_and_edits_update_the_link(
    lab_url: str, chromium_path: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(lab_url + "?tab=Subnet+13+%28data+universe%29&sn13_cred=0.5")
            expect(page.get_by_role("tab", selected=True)).to_have_text(
                "Subnet 13 (data universe)", timeout=30_000
            )
            # 55 209 333.3 * 0.5 ** 2.5 = 9 759 723
            expect(page.get_by_text("Scaled at credibility 0.5")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("9,759,723", exact=True)).to_be_visible()
            page.get_by_role("tab", name="Subnet 9 (IOTA)").click()
            b_min = page.get_by_label("B_min (backward passes)")
            b_min.fill("13")
            b_min.press("Enter")
            expect(page.get_by_text("39", exact=True)).to_be_visible()  # B_eff: 14 + 25
            page.wait_for_url("**sn9_bmin=13**")
            assert "sn13_cred=0.5" in page.url
        finally:
            browser.close()
