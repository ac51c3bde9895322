"""Where metagraph-lens finds its database and how long it waits for a lock: one place for paths,
environment variables and defaults.

* ``METAGRAPH_LENS_DB``: the database the dashboard and every command open (and ``collect`` writes).
* ``METAGRAPH_LENS_LOCK_WAIT``: seconds a reader or writer waits for another process's lock (default 10).
* Defaults: ``data/lens.duckdb`` once ``collect`` has written it, else the demo ``data/demo.duckdb``;
  ``collect`` never writes into the demo file. The alerts watchlist: ``data/alerts.toml``.
* A database to read may also be a Parquet lake: a local directory, or an ``s3://bucket/prefix`` URI,
  which stays a string (a Path would fold its ``//``); see :func:`db_location`.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEMO_DB_PATH = DATA_DIR / "demo.duckdb"
CHAIN_DB_PATH = DATA_DIR / "lens.duckdb"
ALERTS_CONFIG_PATH = DATA_DIR / "alerts.toml"  # the watchlist `alerts` reads when --config is not given

DB_ENV_VAR = "METAGRAPH_LENS_DB"
LOCK_WAIT_ENV_VAR = "METAGRAPH_LENS_LOCK_WAIT"
DEFAULT_LOCK_WAIT_SECONDS = 10.0

# A database location naming object storage (a Parquet lake on S3) rather than a local path.
S3_SCHEME = "s3://"

# A database to open: a local Path (DuckDB file or lake directory) or an s3:// lake URI (a string).
DbLocation = Path | str

# How the defaults read in help texts and docs (relative to the project folder, so they never drift).
DEFAULT_DB_WORDING = f"${DB_ENV_VAR}, else data/lens.duckdb once collected, else data/demo.duckdb"
CHAIN_DB_WORDING = f"${DB_ENV_VAR}, else data/lens.duckdb; never the demo file"
ALERTS_CONFIG_WORDING = "data/alerts.toml in the project folder"


def is_uri(location: object) -> bool:
    """Whether ``location`` names object storage (``s3://bucket/prefix``) rather than a local path."""
    return isinstance(location, str) and location.lower().startswith(S3_SCHEME)


def db_location(value: str | os.PathLike[str]) -> DbLocation:
    """A database given on a command line or in the environment: an ``s3://`` lake URI stays a string,
    anything else is a (user-expanded) local Path: a DuckDB file or a lake directory."""
    if is_uri(value):
        return str(value)
    return Path(os.fspath(value)).expanduser()


def configured_db() -> DbLocation | None:
    """The database named by ``$METAGRAPH_LENS_DB`` (see :func:`db_location`), or None when it is
    unset or blank."""
    configured = os.environ.get(DB_ENV_VAR, "").strip()
    return db_location(configured) if configured else None


def default_db_path(*, chain: Path | None = None, demo: Path | None = None) -> DbLocation:
    """The database to open when none is given: $METAGRAPH_LENS_DB, else data/lens.duckdb once the
    collector has written it (so `collect` then `streamlit run app.py` shows the chain), else the demo.
    ``chain`` / ``demo`` replace the two default files (the store passes its own, which tests move)."""
    configured = configured_db()
    if configured is not None:
        return configured
    chain, demo = chain or CHAIN_DB_PATH, demo or DEMO_DB_PATH
    return chain if chain.exists() else demo


def chain_db_path() -> Path:
    """The database `collect` writes when no --db is given: $METAGRAPH_LENS_DB, else data/lens.duckdb,
    never the demo file (which `demo --force` rebuilds)."""
    return Path(os.environ.get(DB_ENV_VAR) or CHAIN_DB_PATH)


def lock_wait_seconds(default: float = DEFAULT_LOCK_WAIT_SECONDS) -> float:
    """Seconds to wait for another process's lock: $METAGRAPH_LENS_LOCK_WAIT when a number >= 0."""
    try:
        value = float(os.environ.get(LOCK_WAIT_ENV_VAR, default))
    except ValueError:
        return default
    return value if value >= 0 else default
