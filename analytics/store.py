"""The DuckDB store: the only module that runs SQL.

CONTRACT (other modules code against these names; the implementation may grow, not change them):

Writing (one short write transaction per ingest, Arrow bulk insert):
    ingest_snapshot(db_path, snapshot: SnapshotData) -> int | None
        Writes one snapshot (all its subnets) atomically. Returns the new snapshot_id, or None when
        (network, block) is already stored (re-ingest is a no-op, nothing duplicated).
    record_run(db_path, run: dict) -> int
        Appends a row to collection_runs; returns run_id.

    SnapshotData(meta: dict, tables: dict[str, pyarrow.Table])
        meta: the `snapshots` columns except snapshot_id (network, block, block_hash, taken_at,
              spec_version, sdk_version, source, note).
        tables: 'subnets', 'neurons', 'mechanism_neurons', 'weights', 'bonds', 'bonds_after' with the
              columns of schema.sql except snapshot_id (the store adds it). Missing tables = no rows.

Reading (read-only connection opened per call, retried with backoff on a lock error; never cached):
    list_snapshots(db_path) -> DataFrame            newest first
    latest_snapshot_id(db_path) -> int | None
    subnets(db_path, snapshot_id) -> DataFrame
    neurons(db_path, snapshot_id, netuid) -> DataFrame        ordered by uid
    mechanism_neurons(db_path, snapshot_id, netuid, mechid) -> DataFrame   ordered by uid
    weights(db_path, snapshot_id, netuid, mechid) -> DataFrame  long format
    bonds(db_path, snapshot_id, netuid, mechid, *, after=False) -> DataFrame
    hotkey_history(db_path, netuid, hotkey) -> DataFrame      a hotkey's rows across snapshots
    subnet_history(db_path, netuid) -> DataFrame              per-snapshot per-uid Tv, permit, stake...
    collection_runs(db_path) -> DataFrame

Errors: StoreError (a clear one-line message) for a missing, empty, corrupt or locked file.
"""
