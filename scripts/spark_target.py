#!/usr/bin/env python3
"""The two steps of a Spark run that happen outside Spark.

scripts/run_pipeline.py runs them around `dbt build --target spark`:

* ``inspect``: before dbt, the landing inspector of the DuckDB target
  (plugins/feature_pipeline_guard.py) checks every landing file against the
  contract (the var landing_contract). A file it refuses stops the run with
  its one sentence, before Spark starts; otherwise it writes its answer
  (files, format, row counts, hashes) as JSON, which the landing_plan
  model reads (macros/spark_landing.sql); the staging models read the files
  it names. Spark
  builds read every landing file: the inspection covers them all.
* ``publish``: after a build whose checks all passed, the tested
  `user_features_export` table Spark wrote is published by the publish step
  every engine shares (plugins/feature_pipeline_publish.py): the latest
  file and a dated history snapshot, each with its lineage file, written,
  read back and renamed into place as on DuckDB. What it published is
  written as JSON (``--record``) for the run history.

    python scripts/spark_target.py inspect --raw-data-dir DIR --answer FILE
    python scripts/spark_target.py publish --spark-dir DIR --output-dir DIR \
        --raw-data-dir DIR --target-path DIR --record FILE
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import duckdb
import pyarrow as pa

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "plugins"))
from feature_pipeline_guard import exact_path, inspect_landing  # noqa: E402
from feature_pipeline_lineage import this_invocation  # noqa: E402
from feature_pipeline_publish import PublishError, publish  # noqa: E402
from run_results import project_vars  # noqa: E402

def landing_contract() -> dict:
    """The landing contract, as the dbt project declares it."""
    return project_vars(None)["landing_contract"]


def inspect(raw_data_dir: str) -> dict:
    """The inspector's answer for every file of the landing directory."""
    loaded = {"transactions": {"reason": "Spark builds read every landing file"},
              "output_dir": os.environ.get("OUTPUT_DIR")}
    return json.loads(inspect_landing(raw_data_dir, json.dumps(landing_contract()),
                                      json.dumps(loaded)))


def publish_export(spark_dir: Path, output_dir: Path, raw_data_dir: str,
                   target_path: Path) -> dict:
    """Publish the export table with the shared publish step."""
    tables = spark_dir / "warehouse" / "feature_pipeline.db"
    landing = json.loads((spark_dir / "landing.json").read_text())
    session = duckdb.connect()
    invocation, refusal = session.read_parquet(
        exact_path(tables / "publish_gate") + "/*.parquet").project(
        "invocation_id, refusal").fetchall()[0]
    if invocation != this_invocation(target_path):
        refusal = "publish_gate was not built by this run's dbt build."
    if refusal:
        raise PublishError(f"Nothing was published: {refusal}")
    features = session.read_parquet(exact_path(tables / "user_features_export") + "/*.parquet")
    plan = session.from_arrow(pa.Table.from_pylist([
        {"dataset": dataset, "path": file["path"], "file_format": found["format"],
         "row_count": file["rows"], "file_sha256": file.get("sha256")}
        for dataset, found in landing["datasets"].items() for file in found["files"]]))
    ranges = {path: (first, last) for path, first, last in session.sql(
        "select _source_file, min(transacted_at), max(transacted_at) "
        "from read_parquet($files) group by 1",
        params={"files": exact_path(tables / "stg_transaction_deliveries") + "/*.parquet"}
    ).fetchall()}
    variables = {"raw_data_dir": raw_data_dir, "output_dir": str(output_dir)}
    return publish(session, features, plan, ranges, output_dir, target_path,
                   variables, "model.feature_pipeline.user_features_export")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    inspect_step = steps.add_parser("inspect", help="check the landing files")
    inspect_step.add_argument("--raw-data-dir", required=True)
    inspect_step.add_argument("--answer", required=True,
                              help="where to write the inspector's answer (JSON)")
    publish_step = steps.add_parser("publish", help="publish the export table")
    publish_step.add_argument("--spark-dir", required=True, type=Path)
    publish_step.add_argument("--output-dir", required=True, type=Path)
    publish_step.add_argument("--raw-data-dir", required=True)
    publish_step.add_argument("--target-path", required=True, type=Path)
    publish_step.add_argument("--record", required=True, type=Path,
                              help="where to write what was published (JSON)")
    args = parser.parse_args(argv)

    if args.step == "inspect":
        answer = inspect(args.raw_data_dir)
        if answer.get("error"):
            print(f"STOPPED: landing: {answer['error']}", file=sys.stderr)
            return 1
        for warning in answer["warnings"]:
            print(f"WARNING: landing: {warning}", file=sys.stderr)
        Path(args.answer).parent.mkdir(parents=True, exist_ok=True)
        # One line: the landing_plan model reads it back as one row of text.
        Path(args.answer).write_text(json.dumps(answer))
        return 0
    try:
        record = publish_export(args.spark_dir, args.output_dir,
                                args.raw_data_dir, args.target_path)
    except PublishError as error:
        print(f"STOPPED: {error}", file=sys.stderr)
        return 1
    args.record.write_text(json.dumps(record, default=str))
    print(f"Published {record['published_path']}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
