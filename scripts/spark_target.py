#!/usr/bin/env python3
"""The two steps of a Spark run that happen outside Spark.

scripts/run_pipeline.py runs them around `dbt build --target spark`:

* ``inspect``: before dbt, the landing inspector of the DuckDB target
  (plugins/feature_pipeline_guard.py) checks every landing file against the
  contract (the var landing_contract). A file it refuses stops the run with
  its one sentence, before Spark starts; otherwise it writes its answer
  (files, format, row counts, hashes) as JSON, which the Spark landing hook
  (macros/spark_landing.sql) turns into the views the sources read. Spark
  builds read every landing file: the inspection covers them all.
* ``publish``: after a build whose checks all passed, the tested
  `user_features_export` table (one snappy Parquet file ordered by user_id,
  written by Spark) is checked and copied to
  ``<output_dir>/user_features.parquet`` under a temporary name, then
  renamed into place, so the published file is never seen half-written.

    python scripts/spark_target.py inspect --raw-data-dir DIR --answer FILE
    python scripts/spark_target.py publish --export-dir DIR --output-dir DIR
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "plugins"))
from feature_pipeline_guard import inspect_landing  # noqa: E402

FILE_NAME = "user_features.parquet"


class PublishError(Exception):
    """The export cannot be published; the message says why."""


def landing_contract() -> dict:
    """The landing contract, as the dbt project declares it."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    return project["vars"]["landing_contract"]


def inspect(raw_data_dir: str) -> dict:
    """The inspector's answer for every file of the landing directory."""
    loaded = {"transactions": {"reason": "Spark builds read every landing file"}}
    return json.loads(inspect_landing(raw_data_dir, json.dumps(landing_contract()),
                                      json.dumps(loaded)))


def export_file(export_dir: Path) -> Path:
    """The one Parquet file Spark wrote for the export table."""
    files = sorted(export_dir.glob("part-*.parquet")) if export_dir.is_dir() else []
    if len(files) != 1:
        raise PublishError(
            f"{export_dir} holds {len(files)} Parquet part files, expected one "
            "(the export table is written as a single ordered file); nothing "
            "was published.")
    return files[0]


def check_export(path: Path) -> int:
    """Refuse an export that is empty, not snappy or not ordered by user_id;
    return its row count."""
    parquet = pq.ParquetFile(path)
    rows = parquet.metadata.num_rows
    if rows == 0:
        raise PublishError(
            f"{path} has no rows (no transaction joined a user profile); "
            "nothing was published.")
    codecs = {parquet.metadata.row_group(g).column(c).compression
              for g in range(parquet.metadata.num_row_groups)
              for c in range(parquet.metadata.num_columns)}
    if codecs != {"SNAPPY"}:
        raise PublishError(f"{path} is compressed with {sorted(codecs)}, "
                           "expected SNAPPY; nothing was published.")
    user_ids = parquet.read(columns=["user_id"]).column(0).to_pylist()
    if any(a >= b for a, b in zip(user_ids, user_ids[1:])):
        raise PublishError(f"{path} is not ordered by a unique user_id; "
                           "nothing was published.")
    return rows


def publish(export_dir: Path, output_dir: Path) -> Path:
    """Copy the checked export into place atomically; the published path."""
    source = export_file(export_dir)
    rows = check_export(source)
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / FILE_NAME
    temp = output_dir / f".{FILE_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        temp.write_bytes(source.read_bytes())
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        if pq.ParquetFile(temp).metadata.num_rows != rows:
            raise PublishError(f"{temp} did not read back with {rows} rows; "
                               "nothing was published.")
        # A rename within one directory is atomic.
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    inspect_step = steps.add_parser("inspect", help="check the landing files")
    inspect_step.add_argument("--raw-data-dir", required=True)
    inspect_step.add_argument("--answer", required=True,
                              help="where to write the inspector's answer (JSON)")
    publish_step = steps.add_parser("publish", help="publish the export table")
    publish_step.add_argument("--export-dir", required=True)
    publish_step.add_argument("--output-dir", required=True)
    args = parser.parse_args(argv)

    if args.step == "inspect":
        answer = inspect(args.raw_data_dir)
        if answer.get("error"):
            print(f"STOPPED: landing: {answer['error']}", file=sys.stderr)
            return 1
        for warning in answer["warnings"]:
            print(f"WARNING: landing: {warning}", file=sys.stderr)
        Path(args.answer).parent.mkdir(parents=True, exist_ok=True)
        Path(args.answer).write_text(json.dumps(answer))
        return 0
    try:
        target = publish(Path(args.export_dir), Path(args.output_dir))
    except PublishError as error:
        print(f"STOPPED: {error}", file=sys.stderr)
        return 1
    print(f"Published {target}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
