"""Publish the tested user_features mart as Parquet: latest and history.

This model runs only after every test on ``user_features`` has passed in the
same ``dbt build`` (dbt skips the nodes downstream of a failing test), which
is what makes the published files trustworthy. dbt-duckdb's ``external``
materialisation cannot give that guarantee: it writes its file before its own
tests run.

Two files are published:

* ``<output_dir>/user_features.parquet``, the latest features;
* ``<output_dir>/history/as_of_date=YYYY-MM-DD/user_features.parquet``, where
  the date is that of the latest transaction in the data (not the wall
  clock), so a re-run on the same data overwrites its own partition.

Each is written under a temporary name in its own directory, read back and
checked, fsynced, and only then renamed over the previous file. A rename
within one directory is atomic, so readers and killed runs see either the old
file or the complete new one. A file whose bytes would not change (a run with
no new data) is left alone, modification time included. The model's table
records what was published.
"""
import hashlib
import os
import uuid
from pathlib import Path

import pyarrow as pa

FILE_NAME = "user_features.parquet"
TEMP_SUFFIX = ".tmp"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def row_count(relation):
    return relation.aggregate("count(*)").fetchall()[0][0]


def remove_stale_temp_files(directory):
    """Drop temp files that a killed run left behind."""
    for stale in directory.glob(f".{FILE_NAME}.*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


def write_checked(session, features, expected_rows, path):
    """Write ``features`` to ``path`` ordered by user_id and verify it."""
    features.order("user_id").write_parquet(str(path), compression="snappy")
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())

    # hive_partitioning off: the as_of_date=... folder is not a column.
    written = session.read_parquet(str(path), hive_partitioning=False)
    expected_schema = list(zip(features.columns, map(str, features.dtypes)))
    written_schema = list(zip(written.columns, map(str, written.dtypes)))
    if written_schema != expected_schema:
        raise RuntimeError(
            f"{path} was read back with columns {written_schema}, "
            f"expected {expected_schema}; nothing was published."
        )
    written_rows = row_count(written)
    if written_rows != expected_rows:
        raise RuntimeError(
            f"{path} was read back with {written_rows} rows, expected "
            f"{expected_rows}; nothing was published."
        )


def fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def model(dbt, session):
    dbt.config(materialized="table")
    output_dir = Path(dbt.config.get("output_dir"))
    features = dbt.ref("user_features")
    totals = dbt.ref("int_user_category_totals")
    # Drift is measured against the file this run is about to replace, so it
    # must run (and pass, when major drift blocks publishing) first. The
    # other checked models are waited for too: any error-severity check that
    # fails anywhere in the run keeps this model from running.
    dbt.ref("feature_drift")
    dbt.ref("transaction_quarantine")
    dbt.ref("transaction_volume_anomaly")

    rows = row_count(features)
    if rows == 0:
        raise RuntimeError(
            "user_features is empty (no transaction joined a user profile); "
            f"refusing to publish it, {output_dir / FILE_NAME} is unchanged."
        )
    as_of_date = totals.aggregate(
        "cast(max(last_transacted_at) as date)").fetchall()[0][0]

    targets = [
        output_dir / FILE_NAME,
        output_dir / "history" / f"as_of_date={as_of_date}" / FILE_NAME,
    ]
    staged = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(target.parent)
            temp = target.with_name(
                f".{FILE_NAME}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
            staged.append((temp, target))
            write_checked(session, features, rows, temp)
        # Both files are complete and verified: only now replace anything.
        changed = False
        for temp, target in staged:
            if target.exists() and sha256_of(temp) == sha256_of(target):
                continue
            os.replace(temp, target)
            fsync_directory(target.parent)
            changed = True
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)

    latest, history = targets
    # Built as values, not SQL text: a path may hold any character.
    return pa.table({
        "published_path": pa.array([str(latest)], pa.string()),
        "history_path": pa.array([str(history)], pa.string()),
        "as_of_date": pa.array([as_of_date], pa.date32()),
        "row_count": pa.array([rows], pa.int64()),
        "sha256": pa.array([sha256_of(latest)], pa.string()),
        "is_changed": pa.array([changed], pa.bool_()),
    })
