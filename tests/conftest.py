"""Shared fixtures: the demo database (built once per session) and the browser check.

* ``demo_db``: a Path to the deterministic demo database, built once per test session into a temp
  dir through ``analytics.data.demo.build_demo``. Treat it as read-only: many tests share it.
* ``chromium_path``: "/usr/bin/chromium" for Playwright's ``executable_path``. Skips the test with a
  clear reason when the browser or playwright is missing, but FAILS it when the environment sets
  METAGRAPH_LENS_REQUIRE_BROWSER=1 (as .ci/run does), so CI cannot go green without browser tests.
* ``app_url``, ``first_session_app_url``, ``browser``, ``browser_page``: one `streamlit run app.py` over
  a copy of the demo, one chromium and one desktop tab, shared by the browser tests and stopped after
  the last of them (tests/browser_app.py).
* ``REALDATA``: ../shared/realdata relative to the repo root; :func:`require_realdata` skips a test,
  saying why, when a file there is absent, but FAILS it when ``$CI`` is set (CI must run them).
* every test ends with the store's shared reader off (a page run turns it on for the process).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.browser_app import SharedApp

# Property tests judge behaviour, not speed: no per-example deadline (CI has 2 loaded cores).
settings.register_profile("lens", deadline=None)
settings.load_profile("lens")


@dataclass
class FakeChain:
    """The sample fake chain the collector reads (see the ``fake_chain`` fixture)."""

    chain: Any
    epochs: Any
    calls: list[str]


ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata"
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "METAGRAPH_LENS_REQUIRE_BROWSER"


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m analytics ARGS`` as a real process in the repo root: its exit code and text output."""
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# One read-only connection per test process to the shared demo database, held for the session. Why:
# opening a DuckDB database costs ~20 ms of CPU (a new database instance: its catalog, its settings),
# and the tests open the demo a few thousand times. While a connection to the file is open, DuckDB's
# Python client hands every further read-only connect() to that file a connection on the same instance
# (~0.1 ms): the store still opens and closes a connection per read as it always does, the instance
# behind it is just not rebuilt. The demo is never written after its build, so nothing waits on it.
_DEMO_HOLD: list[Any] = []


def _hold_open(db: Path) -> Path:
    """``db`` with a read-only connection to it kept open for the rest of the session (see above)."""
    import duckdb

    if not _DEMO_HOLD:
        _DEMO_HOLD.append(duckdb.connect(str(db), read_only=True))
    return db


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Path]:
    """The demo database, built once per test run (a few seconds): with pytest-xdist the workers share
    one build, made by whichever gets the lock first, in the run's common temp folder. Read-only: each
    test process keeps one connection to it open (see _DEMO_HOLD)."""
    from filelock import FileLock

    from analytics.data.demo import build_demo

    if worker_id == "master":  # not under xdist
        target = build_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    else:
        shared = tmp_path_factory.getbasetemp().parent / "shared-demo"
        shared.mkdir(exist_ok=True)
        target = shared / "demo.duckdb"
        with FileLock(str(shared / "build.lock")):
            if not target.exists():
                build_demo(target)  # written to a temporary file and renamed: never seen half-built
    yield _hold_open(target)
    while _DEMO_HOLD:
        _DEMO_HOLD.pop().close()


def _names(code: types.CodeType) -> set[str]:
    """Every global name a function's code (and the code nested in it) refers to."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _names(const)
    return found


def _drives_apptest(item: pytest.Item) -> bool:
    """Whether a test runs Streamlit's AppTest: its code, a fixture or a helper of its module (followed
    through the module's own functions) refers to AppTest. Plain logic tests in the same module stay fast."""
    module, function = getattr(item, "module", None), getattr(item, "function", None)
    if module is None or function is None or not hasattr(module, "AppTest"):
        return False
    todo = [function, *(getattr(module, name, None) for name in getattr(item, "fixturenames", ()))]
    seen: set[int] = set()
    while todo:
        obj = todo.pop()
        obj = getattr(obj, "__wrapped__", obj)  # a pytest fixture definition wraps its function
        code = getattr(obj, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        names = _names(code)
        if "AppTest" in names:
            return True
        todo += [getattr(module, n) for n in names if inspect.isfunction(getattr(module, n, None))]
    return False


# The longest tests that are not browser tests (CPU and wall on 2 cores, issue 13), longest first. They
# start at once on the worker that does not run the browser tests, so none of them starts last and runs
# alone while the other worker idles. The fuzz leads: it needs no demo database, so that worker starts
# working while the browser worker builds the shared demo (the other tests wait on its lock).
LONG_POLES = (
    "tests/test_fuzz_cli.py::test_garbage_arguments_never_give_a_traceback",
    "tests/test_lake_spark.py::",
    "tests/test_demo.py::test_the_cli_builds_identical_tables_every_time",
    "tests/test_demo.py::test_concurrent_first_starts_share_one_build",
    "tests/test_lake.py::test_kill_9_mid_export_leaves_a_readable_lake",
    "tests/test_collector_store.py::test_a_crash_leaves_no_partial_snapshot",
    "tests/test_backfill.py::test_a_run_killed_midway_and_rerun_equals_an_uninterrupted_run",
    "tests/test_alerts_delivery.py::test_a_receiver_down_exits_1_and_the_next_run_delivers",
)


def _pole_rank(item: pytest.Item) -> int | None:
    """The item's place in LONG_POLES, or None."""
    return next((i for i, prefix in enumerate(LONG_POLES) if item.nodeid.startswith(prefix)), None)


def schedule(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The run order for ``workers`` xdist workers under ``--dist worksteal``.

    Worksteal hands the first worker the first len/workers items and the next worker the rest (then
    steals from the back of a queue when one runs dry). So: the browser tests (the longest, sharing one
    app server and one chromium) open the first share, back to back, the test that needs the server's
    first session first; the long poles open the second share; everything else keeps its file order
    (module fixtures shared) behind them. With one process the order is browser, poles, rest."""
    browser = [item for item in items if item.get_closest_marker("browser") is not None]
    browser.sort(key=lambda item: "first_session_app_url" not in getattr(item, "fixturenames", ()))
    poles = sorted(
        (
            item
            for item in items
            if item.get_closest_marker("browser") is None and _pole_rank(item) is not None
        ),
        key=lambda item: _pole_rank(item) or 0,
    )
    taken = {id(item) for item in browser + poles}
    rest = [item for item in items if id(item) not in taken]
    if workers < 2:
        return browser + poles + rest
    first_share = max(len(items) // workers - len(browser), 0)
    return browser + rest[:first_share] + poles + rest[first_share:]


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: one worker per core plus one (PYTEST_XDIST_AUTO_NUM_WORKERS still overrides).

    Why the extra one: a worker spends about two fifths of its time waiting, on the app server and
    chromium, the Spark JVM, CLI processes, lock and deadline tests, and much of that wait leaves a core
    idle (the run used 143 % of 2 cores). A third worker on 2 cores fills those gaps: the suite took 106-111 s with 3 workers, 122-128 s with 2
    (quiet machine, 2026-12-03); 4 workers gave 114 s (more collection, more contention)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores + 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every AppTest and browser test is `slow` (deselect with -m "not slow"; CI runs everything), and
    the run order is :func:`schedule`'s (each xdist worker collects and orders the same way)."""
    for item in items:
        if item.get_closest_marker("browser") or _drives_apptest(item):
            item.add_marker(pytest.mark.slow)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    items[:] = schedule(items, workers)


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


def in_ci() -> bool:
    """Whether the environment says this is CI (``CI`` set to anything but empty, 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def require_realdata(path: Path, *, module_level: bool = False) -> Path:
    """``path`` when it exists; else skip saying why, or fail when ``$CI`` is set: in CI the real-data
    tests must run, so a missing shared folder cannot turn them into silent skips."""
    if path.exists():
        return path
    reason = f"real data not present at {path} (the shared realdata folder is not beside the repository)"
    if in_ci():
        pytest.fail(f"CI is set, so the real-data tests must run, but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)
    raise AssertionError("unreachable")  # pytest.skip raises


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium for Playwright; skip (or fail in CI) when it is unavailable."""
    return require_browser(browser_missing_reason(), os.environ.get(REQUIRE_BROWSER_ENV) == "1")


SHARED_APP = SharedApp()  # the browser tests' app server and chromium (tests/browser_app.py)


@pytest.fixture(scope="session")
def _browser_app_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture
def app_url(chromium_path: str, demo_db: Path, _browser_app_folder: Path) -> tuple[str, Path]:
    """(URL, database) of `streamlit run app.py` over a copy of the demo, shared by the browser tests."""
    server = SHARED_APP.app(demo_db, _browser_app_folder)
    return server.url, server.db


@pytest.fixture
def first_session_app_url(chromium_path: str, demo_db: Path, _browser_app_folder: Path) -> tuple[str, Path]:
    """Like app_url, but no page has been opened on that server yet (its first session is this test's)."""
    server = SHARED_APP.first_session(demo_db, _browser_app_folder)
    return server.url, server.db


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:
    """The shared headless chromium (a Playwright Browser); open a context per test, it is closed after."""
    yield SHARED_APP.chromium(chromium_path)
    SHARED_APP.close_contexts()


@pytest.fixture
def browser_page(browser: Any, chromium_path: str) -> Any:
    """The desktop tab (1400 x 1000, downloads accepted) the browser tests share: see SharedApp.shared_page."""
    return SHARED_APP.shared_page(chromium_path)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the shared app and chromium after the last browser test in a row (browser tests run first)."""
    if nextitem is None or nextitem.get_closest_marker("browser") is None:
        SHARED_APP.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    SHARED_APP.close()


@pytest.fixture
def token_symbol_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's token-symbol cache in this test's temp dir (it would write to the user's home otherwise)."""
    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "token_symbols.json"))


@pytest.fixture
def fake_chain(monkeypatch: pytest.MonkeyPatch) -> FakeChain:
    """The collector's client for any network is the SDK over the sample fake chain; ``calls`` lists the networks asked."""
    import bittensor as bt

    from analytics.data import collector
    from tests.fakechain import sample_network

    chain, epochs = sample_network()
    fake = FakeChain(chain, epochs, [])

    def subtensor_for(network: str) -> bt.Subtensor:
        fake.calls.append(network)
        return bt.Subtensor("local", substrate=chain)

    monkeypatch.setattr(collector, "subtensor_for", subtensor_for)
    return fake


ROW_KEY_COLUMNS = (
    "netuid",
    "mechid",
    "uid",
    "validator_uid",
    "miner_uid",
    "hotkey",
    "child_hotkey",
    "parent_hotkey",
)


def row_key(row: dict) -> tuple:
    """A stored or fetched row's identity (its key columns present, as text): to sort rows of any table."""
    return tuple(str(row[k]) for k in ROW_KEY_COLUMNS if k in row)


def assert_rows_equal(actual: list[dict], expected: list[dict], table: str) -> None:
    """The rows of ``table`` equal the expected ones value for value, in any order (sorted by row_key)."""
    actual = sorted(actual, key=row_key)
    expected = sorted(expected, key=row_key)
    assert len(actual) == len(expected), f"{table}: {len(actual)} rows, expected {len(expected)}"
    for a, e in zip(actual, expected, strict=True):
        assert a == e, f"{table} row {row_key(e)} differs: {a} != {e}"


def dump_tables(
    db: Path, tables: Iterable[str], snapshot_columns: str | None = None
) -> dict[str, list[tuple]]:
    """Every row of each table in ``tables``, in key order, read-only: to compare two databases whole.
    With ``snapshot_columns``, also those columns of ``snapshots`` (leaving out the ones set by the clock)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
        if snapshot_columns is not None:
            out["snapshots"] = con.execute(
                f"SELECT {snapshot_columns} FROM snapshots ORDER BY ALL"
            ).fetchall()
        return out
    finally:
        con.close()


def subnet_row(**values: object) -> dict[str, object]:
    """A row of the store's ``subnets`` table: the chain's default hyperparameters (Yuma3 on, 64 validator
    permits), one mechanism, an epoch-aligned snapshot at block 1000; ``values`` replace any column."""
    row: dict[str, object] = {
        "netuid": 1, "name": "", "symbol": "a", "owner_hotkey": "", "owner_coldkey": "",
        "n": 0, "tempo": 360, "kappa": 32767, "bonds_moving_avg": 900_000, "bonds_penalty": 65535,
        "activity_cutoff_factor_milli": 13889, "yuma3": True, "liquid_alpha": False, "alpha_low": 45875,
        "alpha_high": 58982, "alpha_sigmoid_steepness": 1000, "max_validators": 64, "commit_reveal": False,
        "tao_weight": 0, "stake_threshold": 0, "mechanism_count": 1, "emission_split": None,
        "epoch_emission": 10**9, "aligned": True, "epoch_block": 1000, "inputs_block": 999,
        "weights_block": 999, "outputs_block": 1000, "last_mechanism_step_block": 639,
    }  # fmt: skip
    return row | values


@pytest.fixture
def bare_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One snapshot of one fresh subnet: 4 neurons, no stake, no weights, no permits (what a new subnet
    looks like), opened by the app through METAGRAPH_LENS_DB. For the pages' empty states."""
    import pandas as pd
    import pyarrow as pa

    from analytics.data import store

    n = 4
    subnet = subnet_row(
        netuid=1, name="fresh", symbol="a", owner_hotkey="5Owner", owner_coldkey="5OwnerC", n=n
    )
    zeros = [0] * n
    neurons = {
        "netuid": [1] * n, "uid": list(range(n)), "hotkey": [f"5Hot{i}" for i in range(n)],
        "coldkey": [f"5Cold{i}" for i in range(n)], "is_owner": [False] * n,
        "block_at_registration": [900] * n, "alpha_stake": zeros, "tao_stake": zeros, "total_stake": zeros,
        "validator_permit_prev": [False] * n, "prev_consensus": zeros, "active": [True] * n,
        "validator_permit": [False] * n, "stake_weight": zeros, "consensus": zeros, "validator_trust": zeros,
        "dividends": zeros, "emission": zeros,
    }  # fmt: skip
    mech = {
        "netuid": [1] * n, "mechid": [0] * n, "uid": list(range(n)), "last_update": [900] * n,
        "commit_block": [None] * n, "prev_incentive": zeros, "incentive": zeros,
    }  # fmt: skip
    meta = {
        "network": "test", "block": 1000, "block_hash": "0x00", "taken_at": pd.Timestamp("2026-01-01"),
        "spec_version": 425, "sdk_version": "11.3.0", "source": "chain", "note": None,
    }  # fmt: skip
    tables = {
        "subnets": pa.Table.from_pylist([subnet]),
        "neurons": pa.table(neurons),
        "mechanism_neurons": pa.table(mech),
    }
    db = tmp_path / "bare.duckdb"
    assert store.ingest_snapshot(db, store.SnapshotData(meta=meta, tables=tables)) is not None
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(db))
    return db


@pytest.fixture(scope="session", autouse=True)
def _one_component_scan() -> Iterator[None]:
    """Streamlit's AppTest scans the metadata of every installed distribution for v2 components at
    each ``run()`` (~400 packages: most of the CPU of a light page's run); `streamlit run` scans once
    at start. The installed packages do not change during a test session: scan once per process and
    hand each run the same result."""
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:  # another streamlit: nothing to share
        yield
        return
    scan = manifest_scanner.scan_component_manifests
    found: dict[int | None, list[Any]] = {}

    def scan_once(max_workers: int | None = None) -> list[Any]:
        if max_workers not in found:
            found[max_workers] = scan(max_workers)
        return list(found[max_workers])

    manifest_scanner.scan_component_manifests = scan_once
    yield
    manifest_scanner.scan_component_manifests = scan


@pytest.fixture(autouse=True)
def _per_call_readers() -> Iterator[None]:
    """A page run under AppTest turns on the app's shared reader (store.keep_reader_open) for the
    whole process; turn it off after each test so the next one starts as the CLI does."""
    yield
    from analytics.data import store

    store.keep_reader_open(False)
