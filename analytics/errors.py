"""One base for every error metagraph-lens raises on purpose, so a caller can catch ours and only ours.

Each carries a one-line message meant for the user. The modules that raise them keep their own names
importable (``store.StoreError``, ``cli.CliError``, ...); this module imports nothing of ours, so every
layer (even the pure model) may import it.

    LensError
    ├── StoreError              a database problem the user can act on (analytics.data.store)
    │   ├── DatabaseLockedError  another process holds the file's lock, still after the lock wait
    │   └── LakeError            a Parquet lake that cannot be read or written (analytics.data.lake)
    ├── CollectorError          bad collect input, unusable target (analytics.data.collector)
    │   └── CollectorBusy       another collection run holds the lock file
    ├── CliError                a command-line usage error: one line, exit code 2 (analytics.cli)
    └── InputError (ValueError) values a pure function cannot use:
        ScenarioError, MechanismInputError, SplitError (analytics.model...), ReturnsError
        (analytics.views.returns), ConfigError and RuleError (a bad watchlist: analytics.alerts)
"""

from __future__ import annotations


class LensError(Exception):
    """Base of every error metagraph-lens raises on purpose; ``str(exc)`` is one line for the user."""


class InputError(LensError, ValueError):
    """Values a pure function cannot use (a ValueError too, as these were before the common base)."""


class StoreError(LensError):
    """A database problem the user can act on, with a one-line message."""


class DatabaseLockedError(StoreError):
    """Another process holds the database file's lock and kept it past the wait (the store decides)."""


class LakeError(StoreError):
    """A Parquet lake problem the user can act on (unreachable, foreign content, newer format); the
    message never holds credentials. A StoreError: a lake is read wherever a database is."""


class CollectorError(LensError):
    """A problem the user must fix (bad input, busy lock): one clear line, nothing written."""


class CollectorBusy(CollectorError):
    """Another collection run holds the lock file of this database."""


class CliError(LensError):
    """A user-facing command-line error: printed as one line, exit code 2."""
