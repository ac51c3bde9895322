"""The demo network: deterministic, shaped like mainnet, consistent with the engine, and it shows the
cases a staker must be able to spot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from analytics.cli import main
from analytics.data import demo, snapshot, store
from analytics.model.consensus import explain_validators
from tests.conftest import run_cli
from tests.test_store import tiny_snapshot

ROOT = Path(__file__).resolve().parent.parent
CONTENT_TABLES = ("snapshots", *store.TABLES)


def assert_same_contents(a: Path, b: Path) -> None:
    for table in CONTENT_TABLES:
        left, right = store.table_contents(a, table), store.table_contents(b, table)
        assert len(left) > 0, table
        assert left.equals(right), f"table {table} differs between {a} and {b}"


@pytest.fixture
def small_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the demo (one small subnet, two weeks) for tests about files rather than contents."""
    monkeypatch.setattr(demo, "SUBNETS", (demo.SubnetSpec(1, "tiny", "α", n=32, validators=6, stakers=2),))
    monkeypatch.setattr(demo, "WEEKS", 2)


@pytest.mark.slow  # a real process builds the whole demo
def test_the_cli_builds_identical_tables_every_time(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m analytics demo` gives the same table contents as any other build (fixed seed), in
    another process (its own hash seed) too."""
    db = tmp_path / "demo.duckdb"
    first = run_cli("demo", "--db", str(db))
    assert first.returncode == 0, first.stderr
    assert "12 weekly snapshots" in first.stdout
    assert_same_contents(db, demo_db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]  # no temp or WAL files left

    # An existing file is never overwritten silently (in process: the refusal needs no new interpreter).
    built = db.read_bytes()
    assert main(["demo", "--db", str(db)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: {db} already exists: pass --force to rebuild the demo there"
    )
    assert db.read_bytes() == built  # byte for byte: the same contents as the demo_db compared above


def test_force_rebuilds_an_existing_demo_but_never_an_unreadable_file(
    tmp_path: Path, small_demo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.duckdb"
    db.write_bytes(b"garbage")
    assert main(["demo", "--db", str(db)]) == 2
    assert main(["demo", "--db", str(db), "--force"]) == 2  # not a demo database: not ours to replace
    assert db.read_bytes() == b"garbage"
    db.unlink()
    assert main(["demo", "--db", str(db)]) == 0
    first = {t: store.table_contents(db, t) for t in CONTENT_TABLES}
    assert len(first["snapshots"]) == 2 and set(first["snapshots"]["source"]) == {"demo"}
    assert main(["demo", "--db", str(db), "--force"]) == 0  # a demo database may be replaced
    for table, frame in first.items():
        assert store.table_contents(db, table).equals(frame), table
    assert "weekly snapshots of 1 subnets" in capsys.readouterr().out


def test_every_stored_output_is_what_the_engine_recomputes(demo_db: Path) -> None:
    checked = 0
    for sid in store.list_snapshots(demo_db)["snapshot_id"]:
        for netuid, sub in snapshot.load_snapshot(demo_db, sid).items():
            diff = snapshot.compare_outputs(sub)
            bad = diff[diff["mismatches"] > 0]
            assert bad.empty, f"snapshot {sid} subnet {netuid}:\n{bad}"
            assert (diff["note"] == "").all()
            checked += 1
    assert checked == demo.WEEKS * len(demo.SUBNETS)


def test_the_demo_has_the_shape_of_mainnet(demo_db: Path) -> None:
    snaps = store.list_snapshots(demo_db).sort_values("taken_at")
    assert len(snaps) >= 12
    assert set(snaps["network"]) == {"demo"} and set(snaps["source"]) == {"demo"}
    gaps = snaps["taken_at"].diff().dropna().unique()
    assert len(gaps) == 1 and gaps[0] == np.timedelta64(7, "D")
    assert (snaps["block"].diff().dropna() == demo.BLOCKS_PER_WEEK).all()

    latest = int(snaps["snapshot_id"].iloc[-1])
    subnets = store.subnets(demo_db, latest)
    assert len(subnets) >= 8
    assert (subnets["n"] == 256).sum() >= 5
    multi = subnets[subnets["mechanism_count"] == 2]
    assert len(multi) == 1
    split = list(multi["emission_split"].iloc[0])
    assert sum(split) == 65535 and split[0] != split[1]
    assert int(multi["n"].iloc[0]) * 2 <= 256  # MaxAllowedUids x mechanisms <= 256, as on chain
    netuid = int(multi["netuid"].iloc[0])
    assert len(store.weights(demo_db, latest, netuid, 1)) > 0

    for net in subnets["netuid"]:
        nrn = store.neurons(demo_db, latest, net)
        assert 0 < nrn["validator_permit"].sum() <= 64
        w = store.weights(demo_db, latest, net, 0)
        density = len(w) / (nrn["validator_permit"].sum() * len(nrn))
        assert 0.1 < density < 0.8, f"subnet {net}: weights should be sparse, got {density:.2f}"
        assert (w["weight"] == 0).any(), "explicit zero weights are kept"
        assert int(subnets.set_index("netuid").loc[net, "epoch_block"]) < int(snaps["block"].iloc[-1])


def test_uids_are_recycled_with_new_hotkeys_as_the_chain_does(demo_db: Path) -> None:
    hist = store.subnet_history(demo_db, 1)
    ids = sorted(hist["snapshot_id"].unique())
    recycled_total = 0
    for before_id, after_id in zip(ids, ids[1:], strict=False):
        before = hist[hist["snapshot_id"] == before_id].set_index("uid")
        after = hist[hist["snapshot_id"] == after_id].set_index("uid")
        changed = before.index[before["hotkey"] != after["hotkey"]]
        recycled_total += len(changed)
        # a new registration: a later registration block, no stake, no permit
        assert (
            after.loc[changed, "block_at_registration"] > before.loc[changed, "block_at_registration"]
        ).all()
        assert (after.loc[changed, "alpha_stake"] == 0).all()
    assert recycled_total >= len(ids) - 1

    # weights pointing at a recycled uid: zeroed but kept, for rows set before the re-registration
    cases = demo.DEMO_CASES[1]
    last = ids[-1]
    sub = snapshot.load_subnet(demo_db, last, 1)
    stale = cases["stale_weights"]
    fresh = np.flatnonzero(sub.block_at_registration > sub.mechanism(0).last_update[stale])
    assert len(fresh) > 0
    mech = sub.mechanism(0)
    on_fresh = mech.weights_set[stale, fresh]
    assert on_fresh.any() and (mech.weights[stale, fresh][on_fresh] == 0).all()


def test_the_staker_cases_are_visible(demo_db: Path) -> None:
    latest = store.latest_snapshot_id(demo_db)
    for netuid, roles in demo.DEMO_CASES.items():
        sub = snapshot.load_subnet(demo_db, latest, netuid)
        honest = [
            u
            for u in np.flatnonzero(sub.validator_permit & sub.active)
            if u not in roles.values() and u != sub.owner_uid
        ]
        median_tv = float(np.median(sub.validator_trust[honest]))
        assert median_tv > 0.85 * 65535, "honest validators are mostly in consensus"

        far = roles["far_from_consensus"]
        assert sub.validator_permit[far] and sub.active[far]
        assert sub.validator_trust[far] < 0.3 * 65535

        stale = roles["stale_weights"]
        assert sub.validator_permit[stale] and not sub.active[stale]
        assert sub.current_block - sub.mechanism(0).last_update[stale] > 5000
        assert sub.mechanism(0).weights_set[stale].any()

        no_permit = roles["no_permit"]
        assert not sub.validator_permit_prev[no_permit] and not sub.validator_permit[no_permit]
        assert sub.mechanism(0).weights_set[no_permit].sum() > 10  # it does set weights
        assert sub.validator_trust[no_permit] == 0 and sub.dividends[no_permit] == 0

        # the copier's row matches the previous epoch's consensus better than any other validator's
        copier = roles["copier"]
        w = sub.mechanism(0).weights.astype(float)
        prev = sub.prev_consensus.astype(float)

        similarity = {
            u: float(w[u] @ prev / (np.linalg.norm(w[u]) * np.linalg.norm(prev)))
            for u in np.flatnonzero(sub.validator_permit)
            if w[u].any()
        }
        assert max(similarity, key=similarity.get) == copier
        assert similarity[copier] > 0.99


def test_the_consensus_explanations_flag_each_case(demo_db: Path) -> None:
    """What the validators page will say: every planted case is flagged, and nothing else is a copier."""
    latest = store.latest_snapshot_id(demo_db)
    for netuid, sub in snapshot.load_snapshot(demo_db, latest).items():
        explained = {
            e.uid: e
            for e in explain_validators(
                sub.epoch_inputs(0), sub.recompute(), previous_consensus=sub.prev_consensus
            )
        }
        copiers = [u for u, e in explained.items() if e.copier is not None and e.copier.likely_copier]
        roles = demo.DEMO_CASES.get(netuid)
        if roles is None:
            assert copiers == [], f"subnet {netuid}"
            continue
        assert copiers == [roles["copier"]]
        far = explained[roles["far_from_consensus"]]
        assert far.severity == "critical" and "above_consensus" in far.reasons
        assert "inactive" in explained[roles["stale_weights"]].reasons
        assert "no_permit" in explained[roles["no_permit"]].reasons
        assert sum(e.severity == "ok" for e in explained.values()) >= 3  # some validators are spot on


def test_ensure_demo_db_builds_once_and_never_touches_an_existing_file(
    tmp_path: Path, small_demo: None
) -> None:
    target = tmp_path / "data" / "demo.duckdb"
    target.parent.mkdir()
    assert demo.ensure_demo_db(target) == target
    assert len(store.list_snapshots(target)) == 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["demo.duckdb", "demo.duckdb.lock"]
    stamp = target.stat().st_mtime_ns
    assert demo.ensure_demo_db(target) == target
    assert target.stat().st_mtime_ns == stamp

    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database")
    assert demo.ensure_demo_db(junk) == junk
    assert junk.read_bytes() == b"not a database"

    chain = tmp_path / "lens.duckdb"
    store.ingest_snapshot(chain, tiny_snapshot(100))
    before = chain.read_bytes()
    assert demo.ensure_demo_db(chain) == chain and chain.read_bytes() == before


def test_a_demo_from_an_older_generator_is_rebuilt(tmp_path: Path, small_demo: None) -> None:
    """After an engine change the app must not show a demo whose stored outputs the engine disowns."""
    target = tmp_path / "demo.duckdb"
    demo.ensure_demo_db(target)
    assert demo.demo_state(target) == "current"
    con = duckdb.connect(str(target))
    con.execute("UPDATE snapshots SET note = 'deterministic demo network (generator 0123456789ab)'")
    con.close()
    assert demo.demo_state(target) == "stale"
    assert demo.ensure_demo_db(target) == target
    assert demo.demo_state(target) == "current"
    assert set(store.list_snapshots(target)["note"]) == {demo.NOTE}


def test_force_never_replaces_a_database_with_chain_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, tiny_snapshot(100))
    before = db.read_bytes()
    with pytest.raises(store.StoreError, match="non-demo"):
        demo.build_demo(db, force=True)
    assert db.read_bytes() == before
    with pytest.raises(store.StoreError, match="does not exist"):
        demo.build_demo(tmp_path / "nowhere" / "demo.duckdb")


ENSURE_SMALL = """
import sys
from analytics.data import demo
demo.SUBNETS = (demo.SubnetSpec(1, "tiny", "a", n=32, validators=6, stakers=2),)
demo.WEEKS = 2
print(demo.ensure_demo_db(sys.argv[1]))
"""


@pytest.mark.slow  # a real process builds or reads the whole demo
def test_concurrent_first_starts_share_one_build(tmp_path: Path) -> None:
    """Several app processes starting at once: all get the database, none sees a half-written file."""
    target = tmp_path / "demo.duckdb"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ENSURE_SMALL, str(target)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert outputs == [str(target)] * 3
    assert len(store.list_snapshots(target)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb", "demo.duckdb.lock"]
