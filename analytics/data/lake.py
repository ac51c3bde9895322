"""The Parquet lake: the store's tables as zstd Parquet files on a local directory or S3.

Layout (hive-partitioned, so a reader of one network, subnet and day reads only those files)::

    <root>/_lens_manifest.json                                   the commit: written last, replaced whole
    <root>/table=neurons/network=finney/netuid=1/date=2026-11-30/block-6852690.parquet
    <root>/table=snapshots/network=finney/date=2026-11-30/block-6852690.parquet
    <root>/table=collection_runs/data.parquet                    tables not keyed by snapshot: one file

A table whose ``snapshot_id`` is required is written per snapshot, partitioned by network, netuid (when
it has one) and the snapshot's UTC date; partition columns live in the path, not in the file (the Hive
convention Spark, Trino and DuckDB share). Every other table (collection_runs, schema_version...) is one
file rewritten when its content changes. The tables are discovered from the database's schema, so a
migration that adds a table or a column reaches the lake without a change here.

Atomic for readers, manifest-last: a snapshot's files are written first (the ``snapshots`` file last of
them), then the manifest, replaced in one PUT (S3) or one rename (a directory), lists it. Readers through
this module open only the files the manifest lists, so an interrupted export is invisible; the next
export rewrites the same deterministic file names and commits them. Engines reading the directory
directly see only committed snapshots when they join with ``table=snapshots``, which is written last.

No SQL here (store.py reads the database and queries the lake through DuckDB); this module is paths,
pyarrow filesystems and Parquet files. Credentials come from the standard AWS environment variables and
config files through pyarrow's S3 filesystem (the AWS SDK's own chain) and are never printed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import threading
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analytics import config
from analytics.errors import LakeError

MANIFEST = "_lens_manifest.json"
FORMAT = "metagraph-lens-lake"
FORMAT_VERSION = 1
S3_SCHEME = config.S3_SCHEME
# Standard AWS variables for an S3-compatible endpoint (MinIO, moto, R2...), service-specific first.
ENDPOINT_ENV_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
COMPRESSION = "zstd"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


# Whether a location names object storage (``s3://bucket/prefix``) rather than a local path.
is_uri = config.is_uri


def is_lake(location: object) -> bool:
    """Whether ``location`` is a lake: an ``s3://`` URI, or a local directory holding a manifest."""
    if is_uri(location):
        return True
    if not isinstance(location, str | os.PathLike):
        return False
    path = Path(os.fspath(location))
    return path.is_dir() and (path / MANIFEST).is_file()


# --------------------------------------------------------------------------------------------------
# Where: a filesystem and a root path inside it


@dataclass(frozen=True)
class Target:
    """A lake's place: a pyarrow filesystem and the root path in it; ``display`` is safe to print."""

    fs: pafs.FileSystem
    root: str
    display: str
    s3: bool

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if self.root else relative


def _endpoint(endpoint_url: str | None) -> str | None:
    if endpoint_url:
        return endpoint_url
    for name in ENDPOINT_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


_s3_targets: dict[tuple[str, str | None, str | None], Target] = {}


def target_for(location: str | os.PathLike[str], endpoint_url: str | None = None) -> Target:
    """The filesystem and root for a directory or ``s3://bucket/prefix`` (no I/O; an S3 client is made
    once per location and endpoint: the dashboard asks for it on every query)."""
    if is_uri(location):
        key = (str(location), _endpoint(endpoint_url), os.environ.get("AWS_ACCESS_KEY_ID"))
        if key not in _s3_targets:
            _s3_targets[key] = _s3_target(str(location), endpoint_url)
        return _s3_targets[key]
    path = Path(os.fspath(location)).expanduser().resolve()
    return Target(fs=pafs.LocalFileSystem(), root=path.as_posix(), display=str(path), s3=False)


def _s3_target(text: str, endpoint_url: str | None) -> Target:
    """pyarrow's S3 client for ``s3://bucket/prefix``: short timeouts, no bucket creation, and an
    S3-compatible endpoint from --endpoint-url or the standard AWS_ENDPOINT_URL(_S3) variables."""
    rest = text[len(S3_SCHEME) :].strip("/")
    if not rest or rest.startswith("/"):
        raise LakeError(f"{text}: an S3 location is s3://bucket/prefix")
    endpoint = _endpoint(endpoint_url)
    kwargs: dict[str, Any] = {
        "connect_timeout": 5,
        "request_timeout": 30,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=2),
        "allow_bucket_creation": False,
        "allow_bucket_deletion": False,
        "allow_delayed_open": True,  # a small file is one PutObject (not a 3-request multipart upload)
    }
    if endpoint:
        parsed = urllib.parse.urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if not parsed.hostname:
            shown = endpoint if "@" not in endpoint else "given"  # never echo user:password@
            raise LakeError(f"--endpoint-url {shown} is not a URL like http://host:port")
        kwargs["endpoint_override"] = parsed.netloc.rsplit("@", 1)[-1]
        kwargs["scheme"] = parsed.scheme or "https"
        if not os.environ.get("AWS_REGION") and not os.environ.get("AWS_DEFAULT_REGION"):
            kwargs["region"] = "us-east-1"  # S3-compatible servers ignore it; the SDK needs one
    try:
        fs = pafs.S3FileSystem(**kwargs)
    except (OSError, ValueError) as exc:
        raise LakeError(f"{text}: cannot set up S3 access: {_short(exc)}") from None
    return Target(fs=fs, root=rest, display=f"{S3_SCHEME}{rest}", s3=True)


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _info(target: Target, relative: str = "") -> pafs.FileInfo:
    try:
        return target.fs.get_file_info(target.path(relative) if relative else target.root)
    except OSError as exc:
        raise LakeError(f"{target.display}: {_unreachable(exc)}") from None


def _unreachable(exc: BaseException) -> str:
    text = _short(exc)
    lowered = text.lower()
    if "curl" in lowered or "connect" in lowered or "resolve" in lowered or "timeout" in lowered:
        return f"the storage endpoint cannot be reached ({text})"
    if "access denied" in lowered or "forbidden" in lowered or "credential" in lowered:
        return f"access denied: check the AWS credentials ({text})"
    return text


# --------------------------------------------------------------------------------------------------
# The manifest


def _schema_to_text(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def _schema_from_text(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


@dataclass
class Manifest:
    """What a lake holds: table schemas, committed snapshots (with their files' row counts), whole tables."""

    schema_version: int = 0
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {schema, kind, columns}
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # one entry per committed snapshot
    whole: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {path, rows, digest}
    updated_at: str = ""

    def to_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "schema_version": self.schema_version,
            "updated_at": self.updated_at,
            "tables": self.tables,
            "snapshots": self.snapshots,
            "whole": self.whole,
        }
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Manifest:
        try:
            body = json.loads(data)
        except ValueError:
            raise LakeError(f"{where}: {MANIFEST} is not valid JSON (corrupt lake)") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise LakeError(f"{where}: {MANIFEST} is not a metagraph-lens lake manifest")
        if int(body.get("format_version", 0)) > FORMAT_VERSION:
            raise LakeError(
                f"{where}: lake format {body['format_version']} is newer than this code ({FORMAT_VERSION}): "
                "upgrade metagraph-lens"
            )
        return cls(
            schema_version=int(body.get("schema_version", 0)),
            tables=body.get("tables", {}),
            snapshots=body.get("snapshots", []),
            whole=body.get("whole", {}),
            updated_at=body.get("updated_at", ""),
        )

    def keys(self) -> set[tuple[str, int]]:
        return {(s["network"], int(s["block"])) for s in self.snapshots}

    def schema(self, table: str) -> pa.Schema:
        return _schema_from_text(self.tables[table]["schema"])


def load_manifest(target: Target) -> Manifest | None:
    """The committed manifest, or None when the location holds no lake."""
    info = _info(target, MANIFEST)
    if info.type == pafs.FileType.NotFound:
        return None
    try:
        with target.fs.open_input_stream(target.path(MANIFEST)) as fh:
            data = fh.read()
    except OSError as exc:
        raise LakeError(f"{target.display}: cannot read {MANIFEST}: {_unreachable(exc)}") from None
    return Manifest.from_json(data, target.display)


def _write_bytes(target: Target, relative: str, data: bytes) -> None:
    """One object/file, whole or not at all: one PUT on S3, a temporary name then a rename locally."""
    path = target.path(relative)
    if target.s3:
        with target.fs.open_output_stream(path) as fh:
            fh.write(data)
        return
    parent = os.path.dirname(path)
    target.fs.create_dir(parent, recursive=True)
    tmp = f"{parent}/.{os.path.basename(path)}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _commit(target: Target, manifest: Manifest) -> None:
    manifest.updated_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _write_bytes(target, MANIFEST, manifest.to_json())


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=COMPRESSION)
    return sink.getvalue().to_pybytes()


# --------------------------------------------------------------------------------------------------
# Partitions


def _quote(value: object) -> str:
    """A partition value as Hive escapes it in a path (Spark and Trino unescape %XX)."""
    if value is None:
        return NULL_PARTITION
    text = str(value)
    return text if text.isalnum() else urllib.parse.quote(text, safe="")


def snapshot_date(taken_at: object) -> str:
    """The UTC day of a snapshot (taken_at is naive UTC in the store)."""
    return pa.scalar(taken_at, pa.timestamp("us")).as_py().strftime("%Y-%m-%d")


def _file_path(table: str, entry: dict[str, Any], netuid: object, has_netuid: bool) -> str:
    """A file's path. Files split by subnet are never rewritten; a snapshot's other files are rewritten
    when it gains subnets (backfill fills a snapshot subnet by subnet), as generation ``-g<n>``."""
    parts = [f"table={table}", f"network={_quote(entry['network'])}"]
    if has_netuid:
        parts.append(f"netuid={_quote(netuid)}")
    parts.append(f"date={entry['date']}")
    gen = 0 if has_netuid else int(entry.get("gen", 0))
    parts.append(f"block-{int(entry['block'])}{f'-g{gen}' if gen else ''}.parquet")
    return "/".join(parts)


def _split_by_netuid(table: pa.Table) -> list[tuple[object, pa.Table]]:
    """Consecutive runs of one netuid (the store returns rows ordered by netuid first); nulls last."""
    if table.num_rows == 0:
        return []
    if table.column("netuid").null_count:
        table = table.sort_by([("netuid", "ascending")])
    column = table.column("netuid")
    valid = table.num_rows - column.null_count
    values = column.slice(0, valid).to_numpy(zero_copy_only=False)
    starts = [0, *(np.flatnonzero(values[1:] != values[:-1]) + 1).tolist()] if valid else []
    ends = [*starts[1:], valid]
    runs: list[tuple[object, pa.Table]] = [
        (int(values[a]), table.slice(a, b - a)) for a, b in zip(starts, ends, strict=True)
    ]
    if column.null_count:
        runs.append((None, table.slice(valid)))
    return runs


# --------------------------------------------------------------------------------------------------
# Exporting


@dataclass
class TableSpec:
    """A store table as the lake sees it: its Arrow schema, whether it is written per snapshot, and
    whether its files are split by subnet (tables with several rows per subnet: neurons, weights...;
    a table keyed by (snapshot_id, netuid) such as subnets is one small file per snapshot)."""

    name: str
    schema: pa.Schema
    per_snapshot: bool
    by_netuid: bool = False

    @property
    def has_netuid(self) -> bool:
        return self.by_netuid


@dataclass
class ExportSummary:
    """What one export did (for the CLI's last line and for tests)."""

    target: str
    exported: list[tuple[str, int]] = field(default_factory=list)  # (network, block) written now
    grown: list[tuple[str, int]] = field(default_factory=list)  # stored snapshots that gained subnets
    already: int = 0  # snapshots the lake held before
    files: int = 0
    bytes: int = 0
    whole_tables: list[str] = field(default_factory=list)


def _describe_target(target: Target) -> None:
    """Check that the location can hold a lake, writing nothing: LakeError otherwise."""
    if target.s3:
        bucket = target.root.split("/", 1)[0]
        try:
            bucket_info = target.fs.get_file_info(bucket)
        except OSError as exc:
            raise LakeError(f"{target.display}: {_unreachable(exc)}") from None
        if bucket_info.type == pafs.FileType.NotFound:
            raise LakeError(f"{target.display}: bucket {bucket!r} does not exist (create it first)")
    else:
        info = _info(target)
        if info.type == pafs.FileType.File:
            raise LakeError(f"{target.display} is a file, not a directory for a lake")
        parent = Path(target.root).parent
        if info.type == pafs.FileType.NotFound and not parent.is_dir():
            raise LakeError(f"directory {parent} does not exist")


def _foreign_content(target: Target) -> str | None:
    """A file under the location when it holds no manifest (something else lives there), else None."""
    try:
        selector = pafs.FileSelector(target.root, recursive=True, allow_not_found=True)
        for info in target.fs.get_file_info(selector):
            if info.type == pafs.FileType.File:
                return info.path
    except OSError as exc:
        raise LakeError(f"{target.display}: {_unreachable(exc)}") from None
    return None


def open_for_export(
    location: str | os.PathLike[str], endpoint_url: str | None = None
) -> tuple[Target, Manifest]:
    """Check a lake location before anything is written: reachable, bucket present, and either empty
    or already a lake. Returns the target and its manifest (empty for a new lake)."""
    target = target_for(location, endpoint_url)
    _describe_target(target)
    manifest = load_manifest(target)
    if manifest is None:
        stray = _foreign_content(target)
        if stray is not None:
            raise LakeError(
                f"{target.display} holds other files (e.g. {stray.rsplit('/', 1)[-1]}) but no "
                f"{MANIFEST}: not a metagraph-lens lake; choose an empty prefix"
            )
        manifest = Manifest()
    return target, manifest


def _remap_snapshot_ids(table: pa.Table, mapping: dict[int, int]) -> pa.Table:
    if "snapshot_id" not in table.column_names or not mapping or table.num_rows == 0:
        return table
    index = table.schema.get_field_index("snapshot_id")
    old = table.column(index).to_pylist()
    new = pa.array(
        [mapping.get(v, v) if v is not None else None for v in old], table.schema.field(index).type
    )
    return table.set_column(index, table.schema.field(index), new)


def _netuids_of(tables: dict[str, pa.Table]) -> list[int]:
    subnets = tables.get("subnets")
    if subnets is None or "netuid" not in subnets.column_names:
        return []
    return sorted(int(v) for v in subnets.column("netuid").to_pylist())


# Files of one snapshot written at once: S3 PUTs are mostly waiting, and pyarrow releases the GIL.
WRITERS = 8


def _write_snapshot(
    target: Target,
    specs: list[TableSpec],
    entry: dict[str, Any],
    tables: dict[str, pa.Table],
    only: set[int] | None,
    summary: ExportSummary,
) -> None:
    """Write one snapshot's files (``only``: just these subnets' files split by subnet, plus the
    snapshot's other files as a new generation) and record their row counts in ``entry``; the
    ``snapshots`` file is written after all the others."""
    jobs: list[tuple[str, str, str, pa.Table]] = []  # (table, netuid key, path, rows)
    last: list[tuple[str, str, str, pa.Table]] = []
    files: dict[str, dict[str, list[int]]] = {}
    for spec in specs:
        data = tables[spec.name]
        groups = _split_by_netuid(data) if spec.by_netuid else [(None, data)]
        files[spec.name] = dict(entry["files"].get(spec.name, {})) if spec.by_netuid else {}
        for netuid, part in groups:
            if part.num_rows == 0 or (only is not None and spec.by_netuid and netuid not in only):
                continue
            drop = [c for c in ("netuid", "network") if c in part.column_names]  # in the path
            if not spec.by_netuid and "netuid" in drop:
                drop.remove("netuid")
            key = "" if netuid is None else str(netuid)
            job = (
                spec.name,
                key,
                _file_path(spec.name, entry, netuid, spec.by_netuid),
                part.drop_columns(drop),
            )
            (last if spec.name == "snapshots" else jobs).append(job)

    def put(job: tuple[str, str, str, pa.Table]) -> tuple[str, str, int, int]:
        blob = _parquet_bytes(job[3])
        _write_bytes(target, job[2], blob)
        return job[0], job[1], job[3].num_rows, len(blob)

    with ThreadPoolExecutor(WRITERS) as pool:
        done = list(pool.map(put, jobs))
    done += [put(job) for job in last]
    for name, key, rows, size in done:
        files[name][key] = [rows, size]  # the size lets readers skip a HEAD request per file
        summary.bytes += size
    summary.files += len(done)
    for name, listed in files.items():
        if listed:
            entry["files"][name] = listed
        else:
            entry["files"].pop(name, None)


def export(
    db: str | os.PathLike[str],
    location: str | os.PathLike[str],
    *,
    endpoint_url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExportSummary:
    """Append every snapshot of ``db`` that the lake at ``location`` lacks (and the subnets a stored
    snapshot gained since), then the whole tables.

    Each snapshot is committed on its own (files, then the manifest), so an interrupted export leaves
    the lake as it was after its last committed snapshot. Raises LakeError (bad location) or
    store.StoreError (bad database) before writing anything.
    """
    from analytics.data import store  # the store also opens lakes for reading: import here

    specs = store.lake_table_specs(db)  # reads the database first: a bad --db writes nothing
    db_version = store.schema_version(db)
    snapshots = store.list_snapshots(db).sort_values("snapshot_id")
    target, manifest = open_for_export(location, endpoint_url)
    if manifest.schema_version > db_version:
        raise LakeError(
            f"{target.display} holds schema version {manifest.schema_version}, newer than {db} "
            f"({db_version}): export from an upgraded database"
        )
    say = progress or (lambda _msg: None)
    summary = ExportSummary(target=target.display, already=len(manifest.snapshots))

    manifest.schema_version = db_version
    for spec in specs.values():
        manifest.tables[spec.name] = {
            "schema": _schema_to_text(spec.schema),
            "columns": spec.schema.names,
            "kind": "snapshot" if spec.per_snapshot else "whole",
            "by_netuid": spec.by_netuid,
        }
    # the snapshots table last: a reader joining with it never sees a snapshot whose files are missing
    per_snapshot = sorted((s for s in specs.values() if s.per_snapshot), key=lambda s: s.name == "snapshots")
    entries = {(e["network"], int(e["block"])): e for e in manifest.snapshots}
    used_ids = {int(e["snapshot_id"]) for e in manifest.snapshots}
    mapping: dict[int, int] = {}  # database snapshot_id -> lake snapshot_id
    subnet_counts = dict(
        zip(snapshots["snapshot_id"].astype(int), snapshots["subnet_count"].astype(int), strict=True)
    )
    todo: list[tuple[Any, dict[str, Any] | None]] = []  # (database row, its lake entry if any)
    for _, row in snapshots.iterrows():
        key, source_id = (str(row["network"]), int(row["block"])), int(row["snapshot_id"])
        entry = entries.get(key)
        if entry is not None:
            mapping[source_id] = int(entry["snapshot_id"])
            if len(entry.get("netuids", [])) < subnet_counts[source_id]:
                todo.append((row, entry))  # the snapshot gained subnets since it was exported
        else:
            todo.append((row, None))

    for done, (row, entry) in enumerate(todo, 1):
        source_id = int(row["snapshot_id"])
        tables = store.snapshot_arrow(db, source_id, [s.name for s in per_snapshot])
        netuids = _netuids_of(tables)
        if entry is None:
            lake_id = source_id if source_id not in used_ids else max(used_ids | {0}) + 1
            used_ids.add(lake_id)
            entry = {
                "snapshot_id": lake_id,
                "network": str(row["network"]),
                "block": int(row["block"]),
                "date": snapshot_date(row["taken_at"]),
                "files": {},
                "netuids": [],
            }
            only: set[int] | None = None
            grown, old_paths = False, []
        else:
            only, grown = set(netuids) - set(entry.get("netuids", [])), True
            old_paths = [
                _file_path(s.name, entry, None, False)
                for s in per_snapshot
                if not s.by_netuid and s.name in entry["files"]
            ]
            entry["gen"] = int(entry.get("gen", 0)) + 1
        mapping[source_id] = int(entry["snapshot_id"])
        tables = {
            k: _remap_snapshot_ids(v, {source_id: int(entry["snapshot_id"])}) for k, v in tables.items()
        }
        before = summary.files
        _write_snapshot(target, per_snapshot, entry, tables, only, summary)
        entry["netuids"] = netuids
        if not grown:
            manifest.snapshots.append(entry)
            summary.exported.append((entry["network"], entry["block"]))
        else:
            summary.grown.append((entry["network"], entry["block"]))
        _commit(target, manifest)
        for path in old_paths:  # the previous generation: no longer listed, and not to be read twice
            with contextlib.suppress(OSError):
                target.fs.delete_file(target.path(path))
        say(
            f"snapshot {entry['snapshot_id']} ({entry['network']} block {entry['block']}, {entry['date']}): "
            f"{summary.files - before} files{f', subnets {sorted(only)} added' if only is not None else ''} "
            f"[{done}/{len(todo)}]"
        )

    changed = False
    for spec in specs.values():
        if spec.per_snapshot:
            continue
        data = _remap_snapshot_ids(store.table_arrow(db, spec.name), mapping)
        blob = _parquet_bytes(data)
        digest = hashlib.sha256(blob).hexdigest()[:16]
        if manifest.whole.get(spec.name, {}).get("digest") == digest:
            continue
        relative = f"table={spec.name}/data.parquet"
        _write_bytes(target, relative, blob)
        manifest.whole[spec.name] = {
            "path": relative,
            "rows": data.num_rows,
            "bytes": len(blob),
            "digest": digest,
        }
        summary.whole_tables.append(spec.name)
        summary.files += 1
        summary.bytes += len(blob)
        changed = True
    if changed or (not todo and summary.already == 0):
        _commit(target, manifest)
    return summary


# --------------------------------------------------------------------------------------------------
# Reading: the manifest's files as Arrow, which store.py registers in an in-memory DuckDB. Tables split
# by subnet stay lazy pyarrow datasets (a query for one snapshot and subnet opens one file); the small
# ones (snapshots, subnets, whole tables) are loaded whole, each immutable file read once per process.


@dataclass
class LakeView:
    """A lake opened for reading at one commit: ``tables`` maps each name to a pa.Table (small tables,
    in memory) or a pyarrow Dataset (tables split by subnet, read lazily with partition pruning)."""

    display: str
    token: str
    schema_version: int
    tables: dict[str, pa.Table | ds.Dataset]
    manifest: Manifest


_File = tuple[str, dict[str, pa.Scalar], int]  # path, partition values that are table columns, bytes
_cache: dict[str, LakeView] = {}
_files: dict[str, pa.Table] = {}  # path -> its table: files are immutable once committed
_entry_files: dict[tuple[Any, ...], list[_File]] = {}  # (lake, table, snapshot, gen, count) -> files
_fragments: dict[tuple[str, str], ds.Fragment] = {}  # (lake, path) -> its fragment (lazy, no I/O)
_cache_lock = threading.Lock()


def _token(target: Target) -> str:
    info = _info(target, MANIFEST)
    if info.type == pafs.FileType.NotFound:
        raise LakeError(f"{target.display} holds no metagraph-lens lake (no {MANIFEST})")
    return f"{info.size}:{info.mtime_ns}"


def version_token(location: str | os.PathLike[str]) -> str:
    """Identity of the lake's current commit (for caches): changes with every export."""
    return _token(target_for(location))


def _value(value: str, type_: pa.DataType) -> pa.Scalar:
    if value == "":
        return pa.scalar(None, type_)
    return pa.scalar(value if pa.types.is_string(type_) else int(value), type_)


def _files_of(target: Target, manifest: Manifest, name: str) -> list[_File]:
    """Every committed file of a table (per snapshot, remembered across commits: a new commit only
    adds entries, and a snapshot that grew has a new generation and more files)."""
    schema = manifest.schema(name)
    info = manifest.tables[name]
    if info["kind"] == "whole":
        whole = manifest.whole.get(name)
        return [] if whole is None else [(target.path(whole["path"]), {}, int(whole["bytes"]))]
    by_netuid = bool(info.get("by_netuid"))
    out: list[_File] = []
    for entry in manifest.snapshots:
        listed = entry["files"].get(name, {})
        key = (target.display, name, entry["snapshot_id"], entry.get("gen", 0), len(listed))
        files = _entry_files.get(key)
        if files is None:
            files = []
            for netuid, (_rows, size) in listed.items():
                values = {"snapshot_id": pa.scalar(entry["snapshot_id"], schema.field("snapshot_id").type)}
                if "network" in schema.names:
                    values["network"] = pa.scalar(entry["network"], schema.field("network").type)
                if by_netuid:
                    values["netuid"] = _value(netuid, schema.field("netuid").type)
                path = _file_path(name, entry, None if netuid == "" else netuid, by_netuid)
                files.append((target.path(path), values, int(size)))
            _entry_files[key] = files
        out.extend(files)
    return out


def _read_small(target: Target, schema: pa.Schema, files: list[_File]) -> pa.Table:
    """A small table in memory: each file read once per process, partition columns put back."""
    parts = []
    missing = [f for f in files if f[0] not in _files]
    if missing:
        for path, values, size in missing:
            fragment = ds.ParquetFileFormat().make_fragment(path, target.fs, file_size=size)
            table = fragment.to_table()  # the known size spares a HEAD request
            columns = []
            for fld in schema:
                if fld.name in table.column_names:
                    columns.append(table.column(fld.name).cast(fld.type))
                elif fld.name in values:
                    columns.append(pa.repeat(values[fld.name], table.num_rows).cast(fld.type))
                else:  # a column added by a later migration: empty in older files
                    columns.append(pa.nulls(table.num_rows, fld.type))
            with _cache_lock:
                _files[path] = pa.Table.from_arrays(columns, schema=schema)
    for path, _values, _size in files:
        parts.append(_files[path])
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _open_tables(target: Target, manifest: Manifest) -> dict[str, pa.Table | ds.Dataset]:
    fmt = ds.ParquetFileFormat()
    out: dict[str, pa.Table | ds.Dataset] = {}
    for name, info in manifest.tables.items():
        schema = manifest.schema(name)
        files = _files_of(target, manifest, name)
        if not info.get("by_netuid"):
            out[name] = _read_small(target, schema, files)
            continue
        fragments = []
        for path, values, size in files:
            fragment = _fragments.get((target.display, path))
            if fragment is None:
                expr = ds.scalar(True)
                for column, value in values.items():
                    expr = expr & (
                        ds.field(column).is_null() if not value.is_valid else ds.field(column) == value
                    )
                fragment = fmt.make_fragment(path, target.fs, partition_expression=expr, file_size=size)
                _fragments[(target.display, path)] = fragment
            fragments.append(fragment)
        out[name] = ds.FileSystemDataset(fragments, schema, fmt, target.fs)
    return out


def open_for_reading(location: str | os.PathLike[str]) -> LakeView:
    """The lake at its current commit (cached per commit; one metadata request to check for a new one)."""
    target = target_for(location)
    token = _token(target)
    with _cache_lock:
        cached = _cache.get(target.display)
    if cached is not None and cached.token == token:
        return cached
    manifest = load_manifest(target)
    if manifest is None:
        raise LakeError(f"{target.display} holds no metagraph-lens lake (no {MANIFEST})")
    try:
        tables = _open_tables(target, manifest)
    except OSError as exc:
        raise LakeError(f"{target.display}: cannot read the lake: {_unreachable(exc)}") from None
    view = LakeView(
        display=target.display,
        token=token,
        schema_version=manifest.schema_version,
        tables=tables,
        manifest=manifest,
    )
    with _cache_lock:
        _cache[target.display] = view
    return view
