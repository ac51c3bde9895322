"""Apache Spark (pyspark, local mode) reads an exported lake directory with no help from this project
and gets the same per-snapshot row counts and stake-weighted Tv per subnet as the DuckDB file.

Needs Java (Debian's openjdk-17-jre-headless; .ci/run installs it). One SparkSession for the module,
local[1], UI off, small data: the JVM start is most of the cost.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analytics.data import lake, store
from tests.test_lake import TABLES, _trimmed_copy

pytestmark = [
    pytest.mark.slow,
    # pyspark warns on import that it does not fully support pandas 3; this test hands Spark no pandas
    # frame and takes none back (rows are collected as Python values), so the warning is not about it.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

JAVA_OPTIONS = (
    "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
    "-XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote -XX:-BytecodeVerificationLocal"
)


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.skip("java is missing (apt-get install -y openjdk-17-jre-headless)")
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("metagraph-lens-lake-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.memory", "512m")
        .config("spark.sql.session.timeZone", "UTC")
        # The JVM's start (loading Spark's classes) is most of this test's CPU: no bytecode verification
        # of the trusted pip-installed jars (about a tenth less CPU), the quick compiler only, one GC thread.
        .config("spark.driver.extraJavaOptions", JAVA_OPTIONS)
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def exported(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("spark")
    db = _trimmed_copy(demo_db, base / "small.duckdb", snapshots=3, netuids=(1, 4, 7))
    lake.export(db, base / "lake")
    return db, base / "lake"


def test_spark_reads_the_lake_with_the_same_numbers(spark, exported) -> None:
    db, root = exported
    from pyspark.sql import functions as F

    # Per-snapshot row counts of every table in one Spark job; partition discovery by Spark itself.
    frames = [
        spark.read.parquet(str(root / f"table={t}")).select("snapshot_id", F.lit(t).alias("t"))
        for t in TABLES
    ]
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    got_counts = {
        (r["t"], int(r["snapshot_id"])): int(r["count"])
        for r in union.groupBy("t", "snapshot_id").count().collect()
    }
    expected_counts = {
        (t, int(sid)): int(n)
        for t in TABLES
        for sid, n in store.table_contents(db, t).groupby("snapshot_id").size().items()
    }
    assert got_counts == expected_counts

    spark.read.parquet(str(root / "table=neurons")).createOrReplaceTempView("neurons")
    spark.read.parquet(str(root / "table=snapshots")).createOrReplaceTempView("snapshots")
    got = spark.sql(
        """
        SELECT s.snapshot_id, n.netuid,
               sum(CAST(n.validator_trust AS DOUBLE) * CAST(n.total_stake AS DOUBLE))
                 / sum(CAST(n.total_stake AS DOUBLE)) / 65535 AS tv
        FROM neurons n JOIN snapshots s ON n.snapshot_id = s.snapshot_id AND n.network = s.network
        WHERE n.validator_permit
        GROUP BY s.snapshot_id, n.netuid
        """
    ).collect()
    got = pd.DataFrame([r.asDict() for r in got])
    neurons = store.table_contents(db, "neurons")
    permit = neurons[neurons["validator_permit"]]
    stake = permit["total_stake"].astype(float)
    expected = (
        (permit["validator_trust"].astype(float) * stake)
        .groupby([permit["snapshot_id"], permit["netuid"]])
        .sum()
        / stake.groupby([permit["snapshot_id"], permit["netuid"]]).sum()
        / 65535
    )
    got = got.set_index(["snapshot_id", "netuid"])["tv"].sort_index()
    assert len(got) == len(expected) == 9
    assert got.to_numpy() == pytest.approx(expected.sort_index().to_numpy(), rel=1e-12)
