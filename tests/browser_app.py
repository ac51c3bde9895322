"""One `streamlit run app.py` and one chromium shared by the browser tests of a pytest process.

Starting the app server and launching chromium cost seconds each; the four browser test modules used to
pay them per module. Here the first browser test starts both, the others reuse them, and the last one
stops them (conftest's ``pytest_runtest_teardown``: when the next test is not a browser test). They must
not outlive the browser tests: Playwright's sync API keeps its event loop marked as running on the
thread, so a later ``asyncio.run`` (the SDK, the alerts) would fail beside it.

The app serves a copy of the demo database. A test that needs the server's very first session (Streamlit
serves the first one differently) asks for :meth:`SharedApp.first_session`: the shared server when no
test has opened a page on it yet (conftest orders such tests first), else a server of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "screenshots"
# Full-page screenshots are for a person to look at (no test reads them) and cost about a second of
# chromium's CPU each: taken only when this is set to 1.
SCREENSHOTS_ENV = "METAGRAPH_LENS_SCREENSHOTS"
# V8 without its optimising compilers (TurboFan, Maglev): each page load runs the frontend's code for a
# few seconds only, too short for optimised code to repay its compilation; measured in pairs over the
# pages the tests open, about a seventh less renderer CPU (the interpreter and Sparkplug still run it).
CHROMIUM_ARGS = [
    "--js-flags=--no-opt --no-maglev",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
DESKTOP = {"width": 1400, "height": 1000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# True once the page has settled: no element still marked stale by a rerun, and the number of drawn
# Plotly charts and the sizes of the main area and of every chart unchanged for 5 polls in a row, polled
# every SETTLE_POLL_MS (the state lives on window between polls). Not once a frame: polling on every
# animation frame keeps chromium's renderer and compositor drawing 60 frames a second for as long as
# a page takes to settle (most of the browser tests' CPU); 5 polls 50 ms apart is a longer quiet spell.
SETTLED = """() => {
  const boxes = Array.from(document.querySelectorAll('[data-testid=stMain], .js-plotly-plot'))
    .map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; });
  const now = JSON.stringify([document.querySelectorAll('.js-plotly-plot .main-svg').length, boxes]);
  const stale = document.querySelectorAll('[data-stale="true"]').length;
  window.__lensSame = now === window.__lensShape && !stale ? (window.__lensSame || 0) + 1 : 0;
  window.__lensShape = now;
  return window.__lensSame >= 5;
}"""


SETTLE_POLL_MS = 50


def settle(page: Any, timeout: float = 30_000) -> None:
    """Wait until the page stops changing (see SETTLED): a condition, not a fixed pause."""
    page.wait_for_function(SETTLED, polling=SETTLE_POLL_MS, timeout=timeout)


def wait_idle(page: Any, timeout: float = 30_000) -> None:
    """Wait until the script run is over and its last deltas are painted."""
    page.wait_for_selector(IDLE, timeout=timeout)
    settle(page, timeout)


# Opens a path of the app without reloading it, as the browser's back and forward buttons do: a new history
# entry and a popstate event, on which Streamlit's frontend reruns the page the path names, with its query
# string. Before that, an observer notes when the script state turns to "running", so the caller waits for
# this navigation's run, not for the previous page's idle state.
IN_APP = """path => {
  const app = document.querySelector('[data-testid=stApp]');
  window.__lensRan = false;
  window.__lensSame = 0;
  const seen = new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') { window.__lensRan = true; seen.disconnect(); }
  });
  seen.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  window.history.pushState({}, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}"""


def open_in_app(page: Any, path: str, timeout: float = 30_000) -> None:
    """Open ``path`` (e.g. ``/History?netuid=1``) in the app already loaded in ``page`` without a reload (see
    IN_APP) and wait until its run is over and painted. A full load (``page.goto``) parses and starts the
    whole frontend again: about twice the CPU of a page change in chromium. Deep links, a user's fresh
    load of a URL, stay ``page.goto``."""
    page.evaluate(IN_APP, path)
    page.wait_for_function("() => window.__lensRan", polling=SETTLE_POLL_MS, timeout=timeout)
    wait_idle(page, timeout)


def screenshots_wanted() -> bool:
    """Whether the browser tests should save full-page screenshots (``METAGRAPH_LENS_SCREENSHOTS=1``)."""
    return os.environ.get(SCREENSHOTS_ENV) == "1"


def save_screenshot(page: Any, name: str) -> None:
    """With ``METAGRAPH_LENS_SCREENSHOTS=1``: the whole page as screenshots/NAME.png, for a person to look
    at. Streamlit scrolls inside its main container, so the viewport grows to the content first (and is
    put back after). Otherwise nothing."""
    if not screenshots_wanted():
        return
    SCREENSHOTS.mkdir(exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        "Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stMainBlockContainer]')).map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 80, 12_000)})
    settle(page)  # relaid out at the new size
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


def page_errors(page: Any) -> list[str]:
    """The uncaught JavaScript errors of ``page`` from now on (a list that fills as they happen)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def assert_no_traceback(page: Any, name: str) -> None:
    """The page shows no Streamlit exception box."""
    assert page.get_by_test_id("stException").count() == 0, f"{name} shows a traceback"


@dataclass
class AppServer:
    """`streamlit run app.py -- --db DB` on a free port; ``url`` answers once :func:`start_app` returns."""

    url: str
    db: Path
    process: subprocess.Popen[bytes]
    log: Any

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


def start_app(db: Path) -> AppServer:
    """Serve app.py over ``db``; AssertionError with the server's log when it does not come up in 60 s."""
    port = free_port()
    log = open(db.with_suffix(".log"), "w")  # noqa: SIM115 - closed by AppServer.stop
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    env.pop("METAGRAPH_LENS_DB", None)
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    command += ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    command += ["--server.fileWatcherType", "none", "--", "--db", str(db)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = AppServer(f"http://127.0.0.1:{port}", db, process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as resp:
                if resp.read() == b"ok":
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"streamlit did not start: {db.with_suffix('.log').read_text()[-2000:]}")
        time.sleep(0.1)


@dataclass
class SharedApp:
    """The app server and chromium the browser tests of this process share, started on first use."""

    server: AppServer | None = None
    opened: bool = False  # a test has opened a page on the server (it has served a session)
    playwright: Any = None
    browser: Any = None
    page: Any = None  # the desktop tab the tests share (see shared_page)
    own_servers: list[AppServer] = field(default_factory=list)

    def app(self, demo_db: Path, folder: Path) -> AppServer:
        """The shared server (started over a copy of ``demo_db`` in ``folder``); marks it opened."""
        if self.server is None:
            db = folder / "demo.duckdb"
            shutil.copy(demo_db, db)
            self.server = start_app(db)
        self.opened = True
        return self.server

    def first_session(self, demo_db: Path, folder: Path) -> AppServer:
        """A server no page has been opened on yet: the shared one if still unopened, else a new one."""
        if self.server is None or not self.opened:
            return self.app(demo_db, folder)
        db = folder / "first-session.duckdb"
        shutil.copy(demo_db, db)
        server = start_app(db)
        self.own_servers.append(server)
        return server

    def chromium(self, executable: str) -> Any:
        """The shared headless chromium (Playwright's sync API)."""
        if self.browser is None:
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
        return self.browser

    def shared_page(self, executable: str) -> Any:
        """The desktop tab the browser tests share (1400 x 1000, downloads accepted), set back to that size.

        Why one tab: a page in a new tab starts a new renderer process, which compiles the whole Streamlit
        frontend from scratch (about twice the chromium CPU of the same load in a tab that has run it);
        every ``goto`` is still a fresh app session. A test's listeners (``page_errors``) stay attached
        but collect into that test's own list only."""
        if self.page is None or self.page.is_closed():
            context = self.chromium(executable).new_context(viewport=DESKTOP, accept_downloads=True)
            self.page = context.new_page()
        self.page.set_viewport_size(DESKTOP)
        return self.page

    def close_contexts(self) -> None:
        """Close what a test left open in the shared browser (not the shared tab's context), so the next
        test starts clean."""
        if self.browser is not None:
            keep = self.page.context if self.page is not None and not self.page.is_closed() else None
            for context in list(self.browser.contexts):
                if context is not keep:
                    context.close()

    def close(self) -> None:
        """Stop chromium, Playwright and every server (idempotent)."""
        try:
            if self.browser is not None:
                self.browser.close()
            if self.playwright is not None:
                self.playwright.stop()
        finally:
            self.browser = self.playwright = self.page = None
            for server in [*self.own_servers, *([self.server] if self.server else [])]:
                server.stop()
            self.own_servers.clear()
            self.server, self.opened = None, False
