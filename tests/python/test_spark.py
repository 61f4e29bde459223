"""The same models on Spark: `make build TARGET=spark` publishes the features
that DuckDB and the pandas reference compute, runs every error-severity check
DuckDB runs, and publishes nothing when one fails.

Each Spark build is a real `scripts/run_pipeline.py --target spark` run with
the .venv-spark environment (dbt-spark in-process session, a local Spark):
slow to start, so the module builds the sample once, a landing of CSV batch
files once and the planted defect once.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import PROJECT_ROOT, SAMPLE_DIR, copy_landing, generate, side_env
from test_checks import with_a_rule_that_nulls_a_feature
from reference_pipeline import assert_frames_match, features_from_landing

# Models that run on DuckDB only (docs/scaling.md), and the one that stands
# in for publish_user_features on Spark.
DUCKDB_ONLY = {"feature_drift", "feature_drift_bins",
               "transaction_volume_anomaly", "publish_user_features"}
SPARK_ONLY = {"user_features_export"}


class SparkRun:
    def __init__(self, workdir: Path, process: subprocess.CompletedProcess):
        self.workdir = workdir
        self.returncode = process.returncode
        self.output = process.stdout + process.stderr
        self.output_dir = workdir / "output"
        self.target_dir = workdir / "target"

    @property
    def published(self) -> Path:
        return self.output_dir / "user_features.parquet"

    def results(self) -> list[dict]:
        return json.loads((self.target_dir / "run_results.json").read_text())["results"]

    def manifest(self) -> dict:
        return json.loads((self.target_dir / "manifest.json").read_text())


def spark_build(workdir: Path, raw_dir: Path, output_dir: Path | None = None,
                project: Path = PROJECT_ROOT) -> SparkRun:
    """One `scripts/run_pipeline.py --target spark` run, isolated under
    workdir; `project` runs a copy of the project instead."""
    bin_dir = side_env("spark")
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SPARK_DIR": str(workdir / "spark"),
        "SPARK_MASTER": "local[2]",
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_THREADS": "1",
    }
    process = subprocess.run(
        [str(bin_dir / "python"), "scripts/run_pipeline.py", "--target", "spark",
         "--bin-dir", str(bin_dir), "--raw-data-dir", str(raw_dir),
         "--output-dir", str(output_dir or workdir / "output")],
        cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    run = SparkRun(workdir, process)
    if output_dir:
        run.output_dir = output_dir
    return run


def error_tests(manifest: dict, results: list[dict]) -> dict[str, str]:
    """Error-severity tests of a run: unique_id -> status, without the tests
    of the models only one engine has."""
    tests = {}
    for result in results:
        node = manifest["nodes"].get(result["unique_id"], {})
        if node.get("resource_type") != "test":
            continue
        if str(node["config"]["severity"]).lower() != "error":
            continue
        if (node.get("attached_node") or "").split(".")[-1] in DUCKDB_ONLY | SPARK_ONLY:
            continue
        tests[result["unique_id"]] = result["status"]
    return tests


@pytest.fixture(scope="module")
def sample_on_spark(tmp_path_factory) -> SparkRun:
    run = spark_build(tmp_path_factory.mktemp("spark-sample"), SAMPLE_DIR)
    assert run.returncode == 0, run.output[-5000:]
    return run


def test_spark_publishes_what_duckdb_and_pandas_compute(sample_on_spark, sample_run):
    spark = pd.read_parquet(sample_on_spark.published)
    duckdb = sample_run.features()
    # Same rows (one per user, in user_id order), every value within 1e-9.
    assert_frames_match(spark, duckdb)
    assert_frames_match(spark, features_from_landing(SAMPLE_DIR))
    assert [str(t) for t in spark.dtypes] == [str(t) for t in duckdb.dtypes]
    # One snappy file, ordered by user_id, as DuckDB publishes it.
    metadata = pq.ParquetFile(sample_on_spark.published).metadata
    assert {metadata.row_group(0).column(c).compression
            for c in range(metadata.num_columns)} == {"SNAPPY"}
    assert spark["user_id"].is_monotonic_increasing
    # Nothing half-written is left beside it.
    assert sorted(p.name for p in sample_on_spark.output_dir.glob(".*")) == []
    assert "Deprecated functionality" not in sample_on_spark.output


def test_spark_publishes_as_duckdb_does_history_lineage_and_run_record(
        sample_on_spark, sample_run):
    """One publish step for both engines: the same bytes as DuckDB's, a
    dated history snapshot, lineage files that describe the bytes beside
    them, and a complete line in runs.jsonl."""
    output = sample_on_spark.output_dir
    assert sample_on_spark.published.read_bytes() == sample_run.published.read_bytes()
    snapshots = sorted(output.glob("history/as_of_date=*/user_features.parquet"))
    duckdb_snapshots = sorted(sample_run.output_dir.glob(
        "history/as_of_date=*/user_features.parquet"))
    assert [p.parent.name for p in snapshots] == [p.parent.name for p in duckdb_snapshots]
    assert snapshots[0].read_bytes() == duckdb_snapshots[0].read_bytes()
    for published in (sample_on_spark.published, snapshots[0]):
        lineage = json.loads(published.with_name("user_features.lineage.json").read_text())
        digest = hashlib.sha256(published.read_bytes()).hexdigest()
        assert lineage["output"]["sha256"] == digest
        models = {m["model"] for m in lineage["transformations"]["models"]}
        assert "user_features_export" in models and "stg_transactions" in models
    line = json.loads((output / "runs.jsonl").read_text().splitlines()[-1])
    raw = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    assert line["rows_in"] == len(raw)
    assert line["rows_out"] == len(pd.read_parquet(sample_on_spark.published))
    assert line["published_sha256"] == hashlib.sha256(
        sample_on_spark.published.read_bytes()).hexdigest()


def test_every_error_check_runs_on_spark(sample_on_spark, sample_run):
    spark = error_tests(sample_on_spark.manifest(), sample_on_spark.results())
    duckdb_manifest = json.loads((sample_run.target_dir / "manifest.json").read_text())
    duckdb = error_tests(duckdb_manifest, sample_run.results)
    assert len(spark) > 30
    assert set(spark) == set(duckdb)
    assert set(spark.values()) == {"pass"}, {k: v for k, v in spark.items() if v != "pass"}
    # Every enabled error test of Spark's manifest was run (the tests of
    # the DuckDB-only models are there, disabled with them).
    manifest = sample_on_spark.manifest()
    declared = {uid for uid, node in manifest["nodes"].items()
                if node["resource_type"] == "test" and node["config"]["enabled"]
                and str(node["config"]["severity"]).lower() == "error"}
    assert len(declared) == len(spark) + 2  # the export's own two tests
    assert declared == {r["unique_id"] for r in sample_on_spark.results()} & declared


def test_csv_batch_files_on_spark_match_the_reference(tmp_path):
    # Spark's CSV reader, typed by the landing hook, on one file per week.
    landing = generate(tmp_path / "landing", "--rows", "5000", "--users", "500",
                       "--format", "csv", "--batches", "week")
    run = spark_build(tmp_path / "run", landing)
    assert run.returncode == 0, run.output[-5000:]
    assert_frames_match(pd.read_parquet(run.published), features_from_landing(landing))


def test_planted_defect_fails_an_error_check_on_spark_and_publishes_nothing(
        sample_on_spark, tmp_path):
    landing = copy_landing(SAMPLE_DIR, tmp_path / "landing")
    profiles = pd.read_parquet(landing / "user_profiles.parquet")
    profiles.loc[profiles.index[0], "age"] = 150
    profiles.to_parquet(landing / "user_profiles.parquet", index=False)
    # The output folder holds the good run's file, which must stay as it is.
    output = tmp_path / "output"
    output.mkdir()
    published = output / "user_features.parquet"
    published.write_bytes(sample_on_spark.published.read_bytes())
    before = hashlib.sha256(published.read_bytes()).hexdigest()

    run = spark_build(tmp_path / "bad", landing, output)
    assert run.returncode != 0
    failed = {r["unique_id"]: r for r in run.results() if r["status"] == "fail"}
    age_check = [uid for uid in failed
                 if "expect_column_values_to_be_between_user_features_age" in uid]
    assert age_check, sorted(failed)
    assert failed[age_check[0]]["failures"] == 1
    assert "Nothing was published" in run.output
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in output.iterdir()) == sorted(
        ["user_features.parquet", "runs.jsonl", "validation_report.md",
         "validation_report.html"])
    assert json.loads((output / "runs.jsonl").read_text())["published_sha256"] is None


def test_a_null_feature_stops_the_spark_build_naming_the_column(tmp_path):
    # Spark's Parquet tables cannot hold the contract's NOT NULL: the
    # post-hook counts the not_null columns of the written table instead.
    # A faulty rule edit gives one user a null age (test_checks).
    landing = copy_landing(SAMPLE_DIR, tmp_path / "landing")
    run = spark_build(tmp_path / "run", landing,
                      project=with_a_rule_that_nulls_a_feature(tmp_path))
    assert run.returncode != 0
    assert "user_features.age has 1 null value(s), but its contract says not_null" \
        in run.output, run.output[-5000:]
    status = {r["unique_id"]: r["status"] for r in run.results()}
    assert status["model.feature_pipeline.user_features"] == "error"
    assert status["model.feature_pipeline.user_features_export"] == "skipped"
    assert not run.published.exists()


def test_a_bad_landing_file_stops_the_run_before_spark_starts(tmp_path):
    landing = copy_landing(SAMPLE_DIR, tmp_path / "landing")
    broken = landing / "transactions.parquet"
    broken.write_bytes(broken.read_bytes()[:1000])
    run = spark_build(tmp_path / "run", landing)
    assert run.returncode != 0
    assert f"STOPPED: landing: {broken} is not a readable Parquet file" in run.output
    assert not run.published.exists()
    # The inspector refused the file before dbt (and Spark) started.
    assert not (tmp_path / "run" / "spark" / "metastore_db").exists()
    assert not (tmp_path / "run" / "target" / "run_results.json").exists()
