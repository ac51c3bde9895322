"""File helpers every writer and cache shares: one atomic write, one "which version of the DB file" token.

* :func:`atomic_write` — bytes to a file through a temporary file beside it, renamed into place: a
  reader (or a crash) never sees half a CSV.
* :func:`atomic_path` — the same for writers that open a file by name (DuckDB building the demo).
* :func:`db_version` — a token that changes whenever the database file or its WAL changes (size and
  modification time), or a Parquet lake commits (its manifest), for cache keys: a snapshot written by
  the cron job or appended to the lake is seen on the next read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics.data import lake


def db_version(db_path: str | os.PathLike[str]) -> str:
    """Identity of the database's current contents for cache keys: size and mtime of the file and its
    WAL ('-' for one that is missing), or a lake's current commit ('-' when it holds none or cannot
    be reached: the read that follows says why)."""
    if lake.is_lake(db_path):
        try:
            return lake.version_token(db_path)
        except lake.LakeError:
            return "-"
    parts = []
    for path in (os.fspath(db_path), os.fspath(db_path) + ".wal"):
        try:
            stat = os.stat(path)
        except OSError:
            parts.append("-")
        else:
            parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return "/".join(parts)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder, then rename it into place.

    OSError (missing folder, no permission, full disk) propagates; the temporary file is removed.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` to build a file under (with a DuckDB ``.wal`` if any); renamed
    onto ``path`` when the block succeeds, removed either way."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove(tmp)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
