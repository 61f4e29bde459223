"""The lineage file of a published Parquet file, written by the publish
step (plugins/feature_pipeline_publish.py, on every engine) beside the file
it describes: where the features came from (landing files and their hashes),
the code that computed them (every upstream model, hashed as it ran), and
the file itself (columns, the instant its values held, and a summary of
each feature). docs/lineage.md describes the format.
"""
import hashlib
import json
import os
import subprocess
import uuid
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from feature_pipeline_guard import exact_path, sha256_of

LINEAGE_NAME = "user_features.lineage.json"
LINEAGE_SCHEMA_VERSION = 3
TEMP_SUFFIX = ".tmp"
# Model folders from the landing to the published file, for the order.
LAYERS = ["staging", "state", "intermediate", "marts", "audit", "monitoring",
          "publish"]
# The entity and the time its values held (history files only): keys of a
# row, not features, so they get no summary.
KEY_COLUMNS = ("user_id", "feature_timestamp")


def rows_of(relation, sql):
    return relation.query("this", sql).fetchall()


def replace_file(temp, target):
    os.replace(temp, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomically(path, text):
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    temp.write_text(text)
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    replace_file(temp, path)


def describe_output(session, path, feature_timestamp):
    """The published file as read back: columns, the instant its values
    held (``feature_timestamp``, ISO text), and per feature a summary suited
    to its type (numbers, booleans, text)."""
    data = session.read_parquet(exact_path(path), hive_partitioning=False)
    features = {}
    for name, kind in zip(data.columns, map(str, data.dtypes)):
        if name in KEY_COLUMNS:
            continue
        column = '"' + name.replace('"', '""') + '"'
        if kind in ("VARCHAR",):
            nulls, distinct = data.aggregate(
                f"count(*) - count({column}), count(distinct {column})"
            ).fetchall()[0]
            top = data.query("data", (
                f"select {column}, count(*) from data group by 1 "
                "order by 2 desc, 1 limit 5")).fetchall()
            features[name] = {"nulls": nulls, "distinct": distinct,
                              "top_values": [{"value": v, "count": n}
                                             for v, n in top]}
            continue
        value = f"cast({column} as double)"
        nulls, low, high, mean = data.aggregate(
            f"count(*) - count({column}), min({value}), max({value}), "
            f"avg({value})").fetchall()[0]
        features[name] = {"nulls": nulls, "min": low, "max": high,
                          "mean": mean}
    return {
        "path": str(path),
        "sha256": sha256_of(path),
        "rows": data.aggregate("count(*)").fetchall()[0][0],
        "columns": [{"name": n, "type": str(t)}
                    for n, t in zip(data.columns, data.dtypes)],
        "feature_timestamp": feature_timestamp,
        "features": features,
    }


def describe_inputs(plan, ranges, root):
    """Every landing file read, with its hash and, for transactions, the
    time range of its rows as they were loaded (``ranges``: file ->
    (first, last))."""
    inputs = []
    for dataset, path, file_format, rows, sha256 in rows_of(
            plan, "select dataset, path, file_format, row_count, file_sha256 "
                  "from this order by dataset, path"):
        file = Path(path)
        first, last = ranges.get(path, (None, None))
        try:
            relative = str(file.resolve().relative_to(Path(root).resolve()))
        except ValueError:
            relative = path
        inputs.append({
            "dataset": dataset,
            "path": relative,
            "format": file_format,
            "size_bytes": file.stat().st_size if file.exists() else None,
            "sha256": sha256 or sha256_of(file),
            "rows": rows,
            "min_timestamp": first.isoformat() if first else None,
            "max_timestamp": last.isoformat() if last else None,
        })
    return inputs


def describe_transformations(target_path, publisher):
    """Every model this file is computed from (upstream of ``publisher``),
    read from the manifest of this invocation, with a hash of the code that
    ran."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    nodes = manifest["nodes"]
    upstream, todo = {publisher}, [publisher]
    while todo:
        node = nodes[todo.pop()]
        for parent in node["depends_on"]["nodes"]:
            if parent.startswith("model.") and parent not in upstream:
                upstream.add(parent)
                todo.append(parent)
    models = []
    for unique_id in sorted(upstream, key=lambda unique_id: (
            LAYERS.index(nodes[unique_id]["original_file_path"].split("/")[1]),
            unique_id)):
        node = nodes[unique_id]
        compiled = (target_path / "compiled" / node["package_name"]
                    / node["original_file_path"])
        code = compiled.read_text() if compiled.is_file() else node["raw_code"]
        models.append({
            "model": node["name"],
            "layer": node["original_file_path"].split("/")[1],
            "materialized": node["config"]["materialized"],
            "language": node["language"],
            "code_sha256": hashlib.sha256(code.encode()).hexdigest(),
        })
    return manifest["metadata"]["invocation_id"], models


def this_invocation(target_path):
    """The invocation running now: dbt writes its manifest before any node."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    return manifest["metadata"]["invocation_id"]


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def lineage_document(plan, ranges, target_path, variables, publisher,
                     run_id=None):
    """What the lineage files of one run share (docs/lineage.md): all but
    ``output``, which describe_output gives per file."""
    manifest_run_id, models = describe_transformations(target_path, publisher)
    run_id = run_id or manifest_run_id
    root = variables["raw_data_dir"]
    versions = {}
    for package in ("dbt-core", "dbt-duckdb", "duckdb"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return {
        "schema_version": LINEAGE_SCHEMA_VERSION,
        "run_id": run_id,
        "published_at": datetime.now(timezone.utc).isoformat(),
        "inputs": describe_inputs(plan, ranges, root),
        "transformations": {
            "models": models,
            "versions": versions,
            "git_commit": git_commit(),
            "vars": variables,
        },
    }


def lineage_matches(parquet):
    """True when the lineage beside ``parquet`` describes its bytes."""
    lineage = parquet.with_name(LINEAGE_NAME)
    try:
        described = json.loads(lineage.read_text())["output"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return described == sha256_of(parquet)
