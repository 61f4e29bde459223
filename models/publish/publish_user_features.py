"""Publish the tested user_features mart as a Parquet file.

This model runs only after every test on ``user_features`` has passed in the
same ``dbt build`` (dbt skips the nodes downstream of a failing test), which
is what makes the published file trustworthy. dbt-duckdb's ``external``
materialisation cannot give that guarantee: it writes its file before its own
tests run.

The file is written under a temporary name in the output directory, read back
and checked, and only then renamed over the previous file. A rename within
one directory is atomic, so readers and crashed runs see either the old file
or the complete new one. The model's table records what was published.
"""
import hashlib
import os
import uuid
from pathlib import Path

FILE_NAME = "user_features.parquet"


def sql_string(text):
    return "'" + str(text).replace("'", "''") + "'"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def row_count(relation):
    return relation.aggregate("count(*)").fetchall()[0][0]


def write_checked(session, features, path):
    """Write ``features`` to ``path`` ordered by user_id and verify it."""
    features.order("user_id").write_parquet(str(path), compression="snappy")
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())

    written = session.sql(f"select * from read_parquet({sql_string(path)})")
    expected_schema = list(zip(features.columns, map(str, features.dtypes)))
    written_schema = list(zip(written.columns, map(str, written.dtypes)))
    if written_schema != expected_schema:
        raise RuntimeError(
            f"{path} was read back with columns {written_schema}, "
            f"expected {expected_schema}; nothing was published."
        )
    expected_rows = row_count(features)
    written_rows = row_count(written)
    if written_rows != expected_rows:
        raise RuntimeError(
            f"{path} was read back with {written_rows} rows, expected "
            f"{expected_rows}; nothing was published."
        )
    return written_rows


def model(dbt, session):
    dbt.config(materialized="table")
    output_dir = Path(dbt.config.get("output_dir"))
    features = dbt.ref("user_features")

    rows = row_count(features)
    if rows == 0:
        raise RuntimeError(
            "user_features is empty (no transaction joined a user profile); "
            f"refusing to publish it, {output_dir / FILE_NAME} is unchanged."
        )

    output_dir.mkdir(parents=True, exist_ok=True)
    final_path = output_dir / FILE_NAME
    temp_path = output_dir / f".{FILE_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        write_checked(session, features, temp_path)
        os.replace(temp_path, final_path)
    finally:
        if temp_path.exists():
            temp_path.unlink()

    return session.sql(
        "select "
        f"{sql_string(final_path)} as published_path, "
        f"{rows}::bigint as row_count, "
        f"{sql_string(sha256_of(final_path))} as sha256, "
        "current_timestamp as published_at"
    )
