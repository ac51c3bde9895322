"""Streamlit glue shared by app.py and every page (ours and the emission / what-if / lab pages).

A page is written as::

    from analytics.app import ui

    db = ui.page_setup("Validators")                  # config, DB checks, demo banner; st.stop() on error
    snapshot_id = ui.snapshot_picker(db)              # ?snapshot=ID
    netuid = ui.subnet_picker(db, snapshot_id)        # ?netuid=N
    mechid = ui.mechanism_picker(db, snapshot_id, netuid)   # ?mechid=M
    df = ui.cached(some_loader, db, snapshot_id, netuid)    # st.cache_data, keyed by the DB file
    st.dataframe(df)
    ui.csv_download(df, "validators.csv", key="validators")

API (stable; other pages rely on it):

* ``page_setup(title, *, icon=None, intro=None) -> db path`` — set_page_config, database checks, title,
  demo banner; stops the page with a clear message when there is nothing to show.
* ``app_navigation()`` — a page's first call when it does not call ``page_setup``: a deep link that is
  a server's first request runs through app.py's navigation, not Streamlit's pages-folder mode.
* ``snapshot_picker(db) -> snapshot_id``, ``subnet_picker(db, snapshot_id) -> netuid | None`` (None:
  the snapshot has no subnet, an info box is shown), ``mechanism_picker(db, snapshot_id, netuid) ->
  mechid``, ``miner_picker(uids, labels=None, default=None) -> uid``, ``validator_picker(hotkeys_by_uid,
  default=None) -> hotkey``; ``bound_select(label, options, param, ...)`` for a page's own choices.
  Each accepts ``where=`` (default the sidebar).
* ``bound_state(param, widget_key, parse=, default=, label=)`` + ``write_state(param, value)`` — any
  other widget bound to one URL parameter (a bad value: a warning and the default).
* ``cached(fn, db, *args, **kwargs)`` — any module-level ``fn(db, ...)`` through st.cache_data;
  ``snapshots(db)``, ``subnets(db, snapshot_id)``, ``subnet_list(db, snapshot_id)`` (netuid, name and
  mechanism_count only), ``neurons(db, snapshot_id, netuid)``,
  ``table(name, db, snapshot_id, netuid, mechid)`` (the export tables) are ready-made.
* ``provenance(db, snapshot_id) -> DataFrame`` — where a snapshot comes from (one row).
* ``freshness(db, snapshot_id)`` — "block 7,754,400 · 3 days ago" under the title, and a warning when
  the newest snapshot is older than a week and a day (``snapshot_picker`` calls it: every data page).
* ``set_heading(text)`` — replace the page's title (``subnet_picker`` adds "· subnet N name" to it, so
  each page names its subnet in its own heading, not only in the sidebar).
* ``csv_download(df, filename, key, *, label=...)`` — the CSV button under a table or chart;
  ``table_and_csv(df, filename, key, ...)`` — a table with its CSV button.
* ``page_link(page, *, label, query_params, fallback_url)`` — a link to another page that also works
  when a page script runs without the app's navigation.
* ``plot_text(values)`` — chain strings escaped for Plotly text and hover; ``code(value)`` — a value
  quoted literally inside st.warning/st.error text; ``stop_with_error(message, hint)``.

Rules this module keeps for every page:

* **Database.** ``--db PATH`` (``streamlit run app.py -- --db PATH``), else ``METAGRAPH_LENS_DB``,
  else ``data/lens.duckdb`` once ``collect`` has written it, else ``data/demo.duckdb``, which is
  created from the embedded demo on first start (see analytics.config). A missing,
  empty, corrupt or locked file shows what happened and what to run, then stops the page.
* **Demo banner.** When the data shown is the demo network, every page says so at the top.
* **Deep links.** Every picker reads and writes one ``st.query_params`` entry. A value in the link
  wins, then the value chosen earlier in the session (so a subnet picked on one page stays picked on
  the next), then the default. A bad value (``netuid=abc``, an unknown UID, a missing snapshot) gives
  an ``st.warning`` naming it and the default used instead: never a traceback.
* **Caching.** :func:`cached` wraps ``st.cache_data``; its key includes the DB file's size and
  modification time, so a new snapshot written by the cron job is seen on the next run. Connections
  are never cached (the store opens one per query).
* **Untrusted strings.** Names and hotkeys come from the chain: show them only through
  ``st.dataframe``, ``st.text``, widget options or Plotly, never ``st.markdown``. :func:`code` wraps a
  value in an inline code span (rendered literally) for the few messages that must quote one.
"""

from __future__ import annotations

import argparse
import importlib
import string
import sys
import threading
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError
from streamlit.runtime.pages_manager import PagesManager

from analytics.data import files, store
from analytics.textsafe import plot_text as plot_text  # re-exported: the pages call ui.plot_text
from analytics.textsafe import safe_text
from analytics.views import display, export, health
from analytics.views import freshness as fresh

APP_NAME = "metagraph-lens"

# The query parameter each picker owns.
PARAM_SNAPSHOT = "snapshot"
PARAM_NETUID = "netuid"
PARAM_MECHID = "mechid"
PARAM_MINER = "miner"
PARAM_VALIDATOR = "validator"

# One colour per health level (analytics/views/health.py), shared by every chart and tint that shows
# the levels; the old name stays for callers.
TV_BAND_COLOURS = health.COLOURS

T = TypeVar("T", bound=Hashable)
_UNSET = object()


# --------------------------------------------------------------------------------------------------
# Small helpers


def code(value: object, limit: int = 60) -> str:
    """``value`` as an inline code span for st.warning/st.error text: shown literally, never as markup."""
    text = (safe_text(str(value)) or "").replace("`", "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"


def tv_band(tv: float) -> str | None:
    """The health level of a validator-trust fraction (:func:`analytics.views.health.tv_levels`; None
    for a missing value)."""
    if tv is None or pd.isna(tv):
        return None
    return str(health.tv_levels([tv])[0])


def _level_css(level: str | None) -> str:
    """The tint of a cell whose value has this health level (empty for none)."""
    colour = TV_BAND_COLOURS.get(level or "", "")
    return f"background-color: {colour}33; color: {colour}; font-weight: 600" if colour else ""


def style_tv(frame: pd.DataFrame, *columns: str) -> Any:
    """``frame`` as a Styler whose Tv ``columns`` are tinted by health level (TV_BAND_COLOURS: green from
    0.95, amber, orange, red below 0.5), for st.dataframe; the data itself is unchanged."""

    def tint(values: pd.Series) -> list[str]:
        # one classification per column (health.tv_levels over the whole column), not one per cell
        tv = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        levels = health.tv_levels(tv).tolist()
        css = {level: _level_css(level) for level in set(levels)}
        return ["" if missing else css[level] for level, missing in zip(levels, np.isnan(tv), strict=True)]

    present = [c for c in columns if c in frame.columns]
    return frame.style.apply(tint, subset=present) if present else frame.style


def style_by_level(frame: pd.DataFrame, level_column: str, *columns: str) -> Any:
    """``frame`` as a Styler whose ``columns`` are tinted by each row's health level in ``level_column``
    (the colours of :func:`style_tv`), and ``level_column`` itself styled as everywhere
    (health.CELL_STYLES): a Tv of 0 on a "major" row (not validating) reads major, not critical."""
    levels = frame[level_column].astype(object).tolist()
    present = [c for c in columns if c in frame.columns]

    def tint(block: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({c: [_level_css(lv) for lv in levels] for c in block.columns}, index=block.index)

    styler = frame.style.map(lambda v: health.CELL_STYLES.get(v, ""), subset=[level_column])
    return styler.apply(tint, axis=None, subset=present) if present else styler


def legend_on_top(title: str | None = None) -> dict[str, Any]:
    """A Plotly legend laid out in a row above the plot, left-aligned: on a phone a legend at the right
    would take a third of the chart's width. Leave about 40 px of top margin for it."""
    legend: dict[str, Any] = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}
    if title is not None:
        legend["title"] = {"text": title}
    return legend


def integer_axis(values: Any, title: str | None = None) -> dict[str, Any]:
    """A Plotly axis for counts: whole-number ticks only (never 0.5 validators), from zero."""
    peak = float(np.nanmax(np.asarray(values, dtype=float))) if len(values) else 0.0
    # nonnegative: from zero, and 0..1 rather than -1..1 when every count is 0
    axis: dict[str, Any] = {"tickformat": ",d", "rangemode": "nonnegative", "tick0": 0}
    if not np.isfinite(peak) or peak <= 10:
        axis["dtick"] = 1
    if title is not None:
        axis["title"] = title
    return axis


def configured_db(argv: Sequence[str] | None = None) -> Path | str:
    """The database to open: ``--db PATH`` in the script arguments, else analytics.config's default
    ($METAGRAPH_LENS_DB, else data/lens.duckdb once collected, else data/demo.duckdb). A lake works
    too: a directory, or an ``s3://`` URI (kept a string)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db")
    args, _ = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    return store.db_location(args.db) if args.db else store.default_db_path()


# Identity of the database's current contents for cache keys, a file's or a lake's (one definition:
# analytics.data.files).
_db_token = files.db_version


def stop_with_error(message: str, hint: str | None = None) -> None:
    """Show a database/usage problem with what to run about it, then stop the page."""
    st.error(message if hint is None else f"{message}\n\n{hint}")
    st.stop()


# --------------------------------------------------------------------------------------------------
# Caching


@st.cache_data(show_spinner=False, max_entries=128)  # a weights table is ~2 MB: bounded memory
def _cached_call(
    module: str,
    qualname: str,
    db: str,
    token: str,
    args: tuple[Any, ...],
    kwargs: tuple[tuple[str, Any], ...],
) -> Any:
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target(db, *args, **dict(kwargs))


def cached(fn: Callable[..., Any], db: str, *args: Hashable, **kwargs: Hashable) -> Any:
    """``fn(db, *args, **kwargs)`` through st.cache_data (module-level functions; hashable arguments).

    The cache is keyed by the function, the arguments and the DB file's size and mtime. A
    :class:`analytics.data.store.StoreError` (locked or corrupt file) is shown with :func:`stop_with_error`.
    """
    if fn.__module__ in ("__main__", "") or "<locals>" in fn.__qualname__:
        raise TypeError(
            f"ui.cached needs a function importable from a module (e.g. analytics.*), not {fn.__qualname__} "
            "defined in a page script; move it into analytics/ or use st.cache_data directly"
        )
    try:
        return _cached_call(
            fn.__module__,
            fn.__qualname__,
            str(db),
            _db_token(str(db)),
            tuple(args),
            tuple(sorted(kwargs.items())),
        )
    except store.StoreError as exc:
        _stop_on_store_error(exc)
        raise  # unreachable: st.stop() raises


def _stop_on_store_error(exc: store.StoreError) -> None:
    busy = isinstance(exc, store.DatabaseLockedError)
    stop_with_error(f"The database cannot be read: {exc}", _BUSY_HINT if busy else _DB_HINT)


@st.cache_resource(show_spinner=False)
def _resources() -> dict[tuple[Any, ...], Any]:
    """Results of :func:`resource` in this server process, oldest first."""
    return {}


def resource(
    fn: Callable[..., Any],
    db: str,
    *args: Hashable,
    keep: int = 8,
    progress: tuple[str, str] | None = None,
    **unkeyed: Any,
) -> Any:
    """``fn(db, *args, **unkeyed)`` kept in this process for the DB file's current contents (the same token
    as :func:`cached`), newest ``keep`` per function: for large read-only results (a replay holds every
    epoch's bonds) that ``st.cache_data`` would copy on every read. ``unkeyed`` arguments are passed on a
    miss but are not part of the key. With ``progress`` = (first text, text with ``{done}`` and ``{total}``)
    a miss shows a progress bar and passes ``progress=callback(done, total)`` to ``fn``.
    """
    name = (fn.__module__, fn.__qualname__)
    key = (*name, str(db), _db_token(str(db)), tuple(args))
    cache = _resources()
    if key in cache:
        cache[key] = cache.pop(key)
        return cache[key]
    bar = None
    if progress is not None:
        first, each = progress
        bar = st.progress(0.0, text=first)
        unkeyed["progress"] = lambda done, total: bar.progress(
            done / total, text=each.format(done=done, total=total)
        )
    try:
        value = fn(db, *args, **unkeyed)
    except store.StoreError as exc:
        _stop_on_store_error(exc)
        raise  # unreachable: st.stop() raises
    finally:
        if bar is not None:
            bar.empty()
    cache[key] = value
    same = [k for k in cache if k[:2] == name]
    for old in same[: max(len(same) - keep, 0)]:
        cache.pop(old, None)
    return value


def snapshots(db: str) -> pd.DataFrame:
    """Every snapshot, newest first (cached)."""
    return cached(store.list_snapshots, db)


def subnets(db: str, snapshot_id: int) -> pd.DataFrame:
    """The subnets of a snapshot, ordered by netuid (cached)."""
    return cached(store.subnets, db, int(snapshot_id))


def subnet_list(db: str, snapshot_id: int) -> pd.DataFrame:
    """netuid, name and mechanism_count of the snapshot's subnets, ordered by netuid (cached): the pickers'
    read, without the other ~50 columns of :func:`subnets`."""
    return cached(store.subnet_list, db, int(snapshot_id))


def neurons(db: str, snapshot_id: int, netuid: int) -> pd.DataFrame:
    """One subnet's neurons in a snapshot, ordered by uid (cached)."""
    return cached(store.neurons, db, int(snapshot_id), int(netuid))


def table(name: str, db: str, snapshot_id: int, netuid: int | None, mechid: int = 0) -> pd.DataFrame:
    """An export table (a key of ``analytics.views.export.TABLES``) exactly as the CLI writes it (cached)."""
    return cached(
        export.build_table, db, name, int(snapshot_id), None if netuid is None else int(netuid), int(mechid)
    )


def validators_or_stop(db: str, snapshot_id: int, netuid: int, mechid: int) -> pd.DataFrame:
    """The validators table of one mechanism; when it has no validator, say so (and what to do) and stop."""
    validators = table("validators", db, snapshot_id, netuid, mechid)
    if validators.empty:
        st.info(
            f"Mechanism {mechid} of subnet {netuid} has no validator in this snapshot: no UID holds a validator "
            "permit or has set weights. Pick another subnet, or collect a newer snapshot with "
            "`python -m analytics collect`."
        )
        st.stop()
    return validators


# --------------------------------------------------------------------------------------------------
# Page setup

_DB_HINT = (
    "Create the demo with `python -m analytics demo --db PATH`, or collect from the chain with "
    "`python -m analytics collect --db PATH`; then start the app with `streamlit run app.py -- --db PATH` "
    "(or set METAGRAPH_LENS_DB)."
)
_BUSY_HINT = (
    "Another process (usually a collection run) is writing to it; its write is short: reload the page in a "
    "few seconds."
)
DEMO_BANNER = (
    "**Demo data** — a synthetic network generated by metagraph-lens (`python -m analytics demo`), "
    "not read from the Bittensor chain. Start the app with `--db PATH` on a collected database to see "
    "the real network."
)


def resolve_db() -> str:
    """The database path for this run; creates the default demo database on first start."""
    path = configured_db()
    if isinstance(path, str) or store.is_lake(path):  # a lake (s3:// or a directory), read-only:
        return str(path)  # a problem shows when the first query runs
    if path.resolve() == store.DEMO_DB_PATH.resolve() and not path.exists():
        from analytics.data import demo  # imported here: only the first start needs it

        try:
            with st.spinner("First start: creating the demo database (a few seconds)…"):
                demo.ensure_demo_db(path)
        except (store.StoreError, OSError) as exc:
            stop_with_error(f"The demo database could not be created: {exc}", _DB_HINT)
    elif not path.exists():
        stop_with_error(f"Database {code(path, 200)} does not exist.", _DB_HINT)
    return str(path)


# The current script run's title placeholder and text (a script run is one thread).
_heading = threading.local()
_HEADING_SAFE = set(string.ascii_letters + string.digits + " -_.()/,'+#")


def _markdown_literal(text: str) -> str | None:
    """``text`` escaped for a markdown heading, or None when it holds anything but letters, digits,
    spaces and a few punctuation marks (a chain string with markup, emoji codes or control characters
    stays out of headings; pickers and tables show it as plain text)."""
    if not text or not all(ch.isalnum() or ch in _HEADING_SAFE for ch in text):
        return None
    return "".join("\\" + ch if ch in string.punctuation else ch for ch in text)


def set_heading(text: str) -> None:
    """Replace the page title written by :func:`page_setup` (our own text: it is rendered as markdown)."""
    slot = getattr(_heading, "slot", None)
    if slot is not None:
        slot.title(text)


def subnet_heading(netuid: int, name: object = None) -> str:
    """'subnet 1 · demo inference' (the name only when it is plain text: see :func:`_markdown_literal`)."""
    literal = _markdown_literal(name.strip()) if isinstance(name, str) else None
    return f"subnet {int(netuid)}" + (f" · {literal}" if literal else "")


def app_navigation() -> None:
    """Leave Streamlit's pages-folder mode: rerun this request through app.py's ``st.navigation``.

    Streamlit decides per server process, at its first session, that an app with a ``pages/`` folder
    beside its main script is a folder app (``PagesManager.uses_pages_directory``); only a call to
    ``st.navigation`` clears that. In folder mode a link such as ``/Validators?netuid=1`` runs the page's
    file alone (app.py never runs), with an auto-discovered sidebar ("app", "overview", ...). So the
    first script that runs in folder mode (app.py or any page: every page calls this first, through
    :func:`page_setup`) clears the flag as ``st.navigation`` would and reruns the same request: the
    rerun keeps the page (its hash is its URL path in both modes) and the query string, and runs
    app.py, whose navigation opens the page. Outside folder mode this does nothing.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_setup(title: str, *, icon: str | None = None, intro: str | None = None) -> str:
    """Configure the page, check the database and show the demo banner; return the DB path.

    Stops the page (st.stop) with a clear message when the database is missing, empty, corrupt or
    locked, or holds no snapshot yet. ``intro`` is an optional caption under the title (our own text).
    First, a page opened in Streamlit's pages-folder mode is rerun under app.py (:func:`app_navigation`).
    """
    app_navigation()
    st.set_page_config(
        page_title=f"{title} · {APP_NAME}", page_icon=icon or ":material/insights:", layout="wide"
    )
    store.keep_reader_open()  # one shared read-only connection per app process (see store.SharedReader)
    db = resolve_db()
    snaps = snapshots(db)
    _heading.slot = st.empty()
    _heading.title = title
    _heading.slot.title(title)
    if snaps.empty:
        st.info(
            "The database holds no snapshot yet, so there is nothing to show.\n\n"
            "Run `python -m analytics collect --db PATH` to snapshot the chain, or "
            "`python -m analytics demo --db PATH` for the demo network."
        )
        st.stop()
    if (snaps["source"] == "demo").all():
        st.warning(DEMO_BANNER, icon=":material/science:")
    if intro:
        st.caption(intro)
    st.sidebar.caption("Database")
    st.sidebar.text(db)
    return db


# --------------------------------------------------------------------------------------------------
# Pickers bound to st.query_params


def subnet_page(title: str, intro: str, *, mechanism: bool = True) -> tuple[str, int, int, int]:
    """:func:`page_setup`, then the snapshot, subnet and (with ``mechanism``) mechanism pickers, stopping the
    page when the snapshot holds no subnet: (db, snapshot_id, netuid, mechid), mechid 0 without the picker."""
    db = page_setup(title, intro=intro)
    snapshot_id = snapshot_picker(db)
    netuid = subnet_picker(db, snapshot_id)
    if netuid is None:
        st.stop()
        raise AssertionError("unreachable: st.stop() raises")
    mechid = mechanism_picker(db, snapshot_id, netuid) if mechanism else 0
    return db, snapshot_id, netuid, mechid


def _write_param(param: str, value: str) -> None:
    """Put a choice in the URL and remember that this session wrote it (see :func:`_from_link`)."""
    st.query_params[param] = value
    st.session_state[f"_url_{param}"] = value


def _from_link(param: str, raw: str) -> bool:
    """Whether a URL value came from a link rather than from this session's own earlier choice.

    A value the session wrote itself can go stale when a parent choice changes (a miner UID after
    switching subnet): that falls back silently; only a value from a link deserves a warning."""
    return st.session_state.get(f"_url_{param}") != raw


def _sync_param(param: str, widget_key: str, memo_key: str, serialise: Callable[[Any], str]) -> None:
    value = st.session_state[widget_key]
    st.session_state[memo_key] = value
    _write_param(param, serialise(value))


def link_value(raw: str | None, options: Sequence[T], parse: Callable[[str], Any] = int) -> T | None:
    """The option a link's raw query value names, or None when it names none (absent, unparsable,
    out of range). Pure: what every picker does with whatever a URL holds, fuzzed in
    tests/test_fuzz_urls.py. ``parse`` may raise TypeError, ValueError or KeyError for a bad value."""
    if raw is None:
        return None
    try:
        value = parse(raw)
    except (TypeError, ValueError, KeyError, OverflowError):
        return None
    try:
        return value if value in options else None
    except TypeError:  # an unhashable or incomparable parse result
        return None


def validator_from_link(raw: str, hotkeys_by_uid: dict[int, str]) -> str:
    """A validator link value as a hotkey: a UID (ASCII digits) is mapped through ``hotkeys_by_uid``
    (KeyError when no such UID), anything else is taken as the hotkey itself."""
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():
        return hotkeys_by_uid[int(raw)] if len(raw) <= 9 else raw
    return raw


def bound_select(
    label: str,
    options: Sequence[T],
    param: str,
    *,
    parse: Callable[[str], Any] = int,
    format_func: Callable[[T], str] = str,
    default: T | None = None,
    serialise: Callable[[T], str] = str,
    where: Any = None,
    what: str = "this view",
    help: str | None = None,
) -> T | None:
    """A selectbox bound to ``st.query_params[param]``; returns the chosen option (None if no options).

    Precedence: a valid value in the URL, then the session's earlier choice, then ``default`` (or the
    first option). An invalid URL value gives a warning naming it and the value used instead. The
    chosen value is written back to the URL so the link reproduces the view. The widget key is
    ``pick_<param>`` (use it in AppTest: ``at.selectbox(key="pick_netuid")``).
    """
    opts = list(options)
    if not opts:
        return None
    widget_key, memo_key = f"pick_{param}", f"_memo_{param}"
    raw = st.query_params.get(param)
    value = link_value(raw, opts, parse)
    chosen: Any = _UNSET if value is None else value
    if chosen is _UNSET:
        memo = st.session_state.get(memo_key, _UNSET)
        chosen = memo if memo in opts else (default if default in opts else opts[0])
        if raw is not None and raw != serialise(chosen) and _from_link(param, raw):
            st.warning(
                f"The link asks for {label.lower()} {code(raw)}, which {what} does not have; "
                f"showing {code(format_func(chosen))} instead."
            )
    st.session_state[widget_key] = chosen
    container = st.sidebar if where is None else where
    container.selectbox(
        label,
        opts,
        key=widget_key,
        format_func=format_func,
        on_change=_sync_param,
        args=(param, widget_key, memo_key, serialise),
        help=help,
    )
    st.session_state[memo_key] = chosen
    if st.query_params.get(param) != serialise(chosen) or st.session_state.get(f"_url_{param}") is None:
        _write_param(param, serialise(chosen))
    return chosen


def bound_state(
    param: str,
    widget_key: str,
    *,
    parse: Callable[[str], Any],
    default: Any,
    label: str,
    shown: Callable[[Any], str] = str,
) -> None:
    """Seed ``st.session_state[widget_key]`` from ``st.query_params[param]`` for any widget.

    For filters that :func:`bound_select` does not fit (text, numbers, toggles, multiselects). A value
    from a link wins over the session's earlier one; one ``parse`` rejects (ValueError, TypeError,
    KeyError) gives a warning naming it and the default used. Draw the widget with ``key=widget_key``
    and then call :func:`write_state` so the URL reproduces the view.
    """
    raw = st.query_params.get(param)
    from_link = raw is not None and _from_link(param, raw)
    if widget_key in st.session_state and not from_link:
        return
    value = default
    if raw is not None:
        try:
            value = parse(raw)
        except (TypeError, ValueError, KeyError):
            if from_link:
                st.warning(
                    f"The link asks for {label} {code(raw)}, which is not valid; showing {shown(default)}."
                )
            st.session_state[f"_url_{param}"] = raw  # warned once: not again on the next rerun
    st.session_state[widget_key] = value


def write_state(param: str, value: str | None) -> None:
    """Put a filter's value in the URL (None or "" removes the parameter: the default)."""
    if value in (None, ""):
        if param in st.query_params:
            del st.query_params[param]
        st.session_state[f"_url_{param}"] = None
    elif st.query_params.get(param) != value:
        _write_param(param, value)


def snapshot_picker(db: str, *, where: Any = None) -> int:
    """Pick a snapshot (``?snapshot=ID``; default: the newest). Shows its provenance under the picker."""
    snaps = snapshots(db)
    # one label per snapshot without a Series per row (iterrows costs ~0.1 ms a row: 260 weeks add up)
    labels = {
        int(sid): f"{pd.Timestamp(taken):%Y-%m-%d} · block {int(block):,}"
        for sid, taken, block in zip(snaps["snapshot_id"], snaps["taken_at"], snaps["block"], strict=True)
    }
    snapshot_id = bound_select(
        "Snapshot",
        list(labels),
        PARAM_SNAPSHOT,
        format_func=lambda s: labels[s],
        what="the database",
        where=where,
        help="Each snapshot is one read of the network at a pinned block (date in UTC). Newest first.",
    )
    assert snapshot_id is not None  # page_setup stopped on an empty database
    picked = snaps.loc[snaps["snapshot_id"] == snapshot_id].iloc[0]
    (st.sidebar if where is None else where).caption(
        f"Snapshot #{int(snapshot_id)} · {pd.Timestamp(picked['taken_at']):%H:%M} UTC · source: {code(picked['source'])}"
    )
    row = snaps.loc[snaps["snapshot_id"] == snapshot_id].iloc[0]
    if row["source"] == "demo" and not (snaps["source"] == "demo").all():
        st.warning(DEMO_BANNER, icon=":material/science:")
    freshness(db, int(snapshot_id))
    return int(snapshot_id)


def freshness(db: str, snapshot_id: int, *, now: object = None) -> None:
    """Say how old the shown snapshot is, and warn when the newest one is older than
    :data:`analytics.views.freshness.STALE_AFTER_DAYS` (a missed weekly collection; never for the
    demo, whose dates are made up)."""
    snaps = snapshots(db)
    row = snaps.loc[snaps["snapshot_id"] == snapshot_id].iloc[0]
    newest = snaps.iloc[0]  # list_snapshots: newest first
    text = fresh.freshness_text(int(row["block"]), row["taken_at"], now)
    when = f"{pd.Timestamp(row['taken_at']):%Y-%m-%d %H:%M} UTC"
    older = int(row["snapshot_id"]) != int(newest["snapshot_id"])
    st.caption(f"Snapshot: {text} ({when})" + (" · an older snapshot, not the newest" if older else ""))
    if newest["source"] != "demo" and fresh.is_stale(newest["taken_at"], now):
        st.warning(
            f"The newest snapshot is {fresh.age_text(newest['taken_at'], now).removesuffix(' ago')} old "
            f"(block {int(newest['block']):,}): the weekly collection seems to have stopped. Check the "
            "collection log (`data/collect.log` or `journalctl -u metagraph-lens-collect`) and run "
            "`python -m analytics collect`.",
            icon=":material/schedule:",
        )


def provenance(db: str, snapshot_id: int) -> pd.DataFrame:
    """One-row table of where a snapshot comes from (network, block, hash, time, spec, SDK, source)."""
    snaps = snapshots(db)
    row = snaps.loc[snaps["snapshot_id"] == snapshot_id]
    cols = [c for c in export.PROVENANCE_COLUMNS if c in row.columns]
    return row[cols].reset_index(drop=True)


def subnet_picker(db: str, snapshot_id: int, *, where: Any = None) -> int | None:
    """Pick a subnet of the snapshot (``?netuid=N``); None (with an empty state) when it has none."""
    subs = subnet_list(db, snapshot_id)
    if subs.empty:
        st.info(
            f"Snapshot {snapshot_id} holds no subnet. Collect a new one with `python -m analytics collect`."
        )
        return None
    names = {
        int(n): (str(name) if isinstance(name, str) else "")
        for n, name in zip(subs["netuid"], subs["name"], strict=True)
    }
    non_root = [n for n in names if n != 0]
    netuid = bound_select(
        "Subnet",
        list(names),
        PARAM_NETUID,
        format_func=lambda n: f"{n} · {names[n]}" if names[n] else str(n),
        default=non_root[0] if non_root else None,
        what=f"snapshot {snapshot_id}",
        where=where,
    )
    title = getattr(_heading, "title", None)
    if netuid is not None and title:
        set_heading(f"{title} · {subnet_heading(netuid, names[netuid])}")
    return netuid


def mechanism_picker(db: str, snapshot_id: int, netuid: int, *, where: Any = None) -> int:
    """Pick an incentive mechanism of the subnet (``?mechid=M``; default 0).

    With a single mechanism no widget is drawn, but a bad ``mechid`` in the link is still reported.
    """
    subs = subnet_list(db, snapshot_id)
    row = subs.loc[subs["netuid"] == netuid]
    count = int(row["mechanism_count"].iloc[0]) if not row.empty else 1
    options = list(range(max(count, 1)))
    if len(options) == 1:
        raw = st.query_params.get(PARAM_MECHID)
        if raw is not None and raw != "0" and _from_link(PARAM_MECHID, raw):
            st.warning(
                f"The link asks for mechanism {code(raw)}, but subnet {netuid} runs only mechanism 0; "
                "showing mechanism 0."
            )
        st.session_state[f"_memo_{PARAM_MECHID}"] = 0
        if raw is not None:
            _write_param(PARAM_MECHID, "0")
        return 0
    chosen = bound_select(
        "Mechanism",
        options,
        PARAM_MECHID,
        format_func=lambda m: f"mechanism {m}",
        what=f"subnet {netuid}",
        where=where,
        help="A subnet may run several incentive mechanisms, each with its own weights and Yuma run.",
    )
    assert chosen is not None  # options is never empty
    return int(chosen)


def miner_picker(
    uids: Sequence[int],
    *,
    labels: dict[int, str] | None = None,
    default: int | None = None,
    where: Any = None,
) -> int | None:
    """Pick a miner UID among ``uids`` (``?miner=UID``). ``labels`` maps uid -> text shown (plain)."""
    names = labels or {}
    return bound_select(
        "Miner UID",
        [int(u) for u in uids],
        PARAM_MINER,
        format_func=lambda u: f"{u} · {names[u]}" if names.get(u) else str(u),
        default=default,
        what="this subnet",
        where=where,
    )


def validator_picker(
    hotkeys_by_uid: dict[int, str], *, default: str | None = None, where: Any = None, label: str = "Validator"
) -> str | None:
    """Pick a validator by hotkey (``?validator=HOTKEY``; a UID in the link is accepted and mapped).

    UIDs are recycled between snapshots, so the hotkey is what the URL keeps.
    """
    uid_of = {hk: uid for uid, hk in hotkeys_by_uid.items()}
    return bound_select(
        label,
        list(hotkeys_by_uid.values()),
        PARAM_VALIDATOR,
        parse=lambda raw: validator_from_link(raw, hotkeys_by_uid),
        format_func=lambda hk: f"uid {uid_of[hk]} · {hk}",
        serialise=str,
        default=default,
        what="this subnet and mechanism",
        where=where,
    )


# --------------------------------------------------------------------------------------------------
# CSV


def csv_download(df: pd.DataFrame, filename: str, key: str, *, label: str = "Download CSV") -> None:
    """A download button holding exactly ``df`` as written by :func:`analytics.views.export.csv_bytes`
    (the bytes `python -m analytics export` writes for the same table). The bytes are written when the
    user clicks (Streamlit's deferred download), not on every run: a whole network's table takes a
    fifth of a second to write, most views are never downloaded. ``df`` is copied so the page may go
    on changing its own frame."""
    frozen = df.copy()
    st.download_button(
        label,
        data=lambda: export.csv_bytes(frozen),
        file_name=filename,
        mime="text/csv",
        key=f"csv_{key}",
        on_click="ignore",
        icon=":material/download:",
    )


def page_link(
    page: str, *, label: str, query_params: dict[str, Any], fallback_url: str, **kwargs: Any
) -> None:
    """``st.page_link`` to one of our pages (keeps the session). When a page script runs by itself, without
    app.py's navigation (``streamlit run pages/X.py``, AppTest of one page), Streamlit knows no other page;
    then the same link is a plain Markdown link to ``fallback_url`` (the page's URL path and query).
    ``label`` is our own text, never a chain string; the URL must be percent-encoded."""
    try:
        st.page_link(page, label=label, query_params=query_params, **kwargs)
    except StreamlitPageNotFoundError:
        st.markdown(f"[{label}]({fallback_url})")


def table_and_csv(df: pd.DataFrame, filename: str, key: str, **dataframe_args: Any) -> None:
    """Show ``df`` full width without its index (missing values as empty cells, readable headers for the
    columns ``column_config`` leaves out), with a CSV download of exactly what is shown below it."""
    args = {"placeholder": "", **dataframe_args}
    args["column_config"] = display.header_labels(list(df.columns), args.get("column_config"))
    st.dataframe(df, hide_index=True, width="stretch", **args)
    csv_download(df, filename, key=key)
