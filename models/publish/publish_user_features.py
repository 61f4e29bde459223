"""Publish the tested user_features mart as Parquet, with its lineage.

It runs only after every error-severity test upstream has passed in the
same ``dbt build`` (dbt skips what follows a failing test), and publishes
only when publish_gate allows it: a ``dbt build`` that built and checked now
every model and check the features depend on. Any other command or
selection leaves the published files as they were and records why
(``refusal``). It also refuses features not computed from the landing files
this run names. (dbt-duckdb's ``external`` materialisation writes its file
before its own tests run.)

Two files are published, each with a lineage file beside it
(``user_features.lineage.json``, docs/lineage.md):

* ``<output_dir>/user_features.parquet``, the latest features: the 19
  columns of the user_features contract, nothing else;
* ``<output_dir>/history/as_of_date=YYYY-MM-DD/user_features.parquet``, the
  same rows plus ``feature_timestamp``: the latest transaction time in the
  data (not the wall clock), whose date names the partition, so a re-run on
  the same data overwrites its own partition. Read together, the partitions
  are one table of every snapshot, for point-in-time joins.

Each Parquet file is written under a temporary name in its own directory,
read back and checked, fsynced, and only then renamed over the previous
file; its lineage follows the same way. A rename within one directory is
atomic. Every run compares each lineage file with the Parquet file beside
it and rewrites it when they disagree (a run killed between the two
renames), so the pair never stays inconsistent. A file whose bytes would not
change (a run with no new data) is left alone, modification time included.
"""
import json
import os
import uuid
from pathlib import Path

import pyarrow as pa

# plugins/ is on dbt's module path (profiles.yml `module_paths`).
from feature_pipeline_guard import sha256_of
from feature_pipeline_lineage import (LINEAGE_NAME, describe_output,
                                      lineage_document, lineage_matches,
                                      replace_file, rows_of, this_invocation,
                                      write_text_atomically)

FILE_NAME = "user_features.parquet"
TEMP_SUFFIX = ".tmp"


def refuse_unless_loaded_from_plan(plan, ranges, profiles, root):
    """Stop when a landing file this run names is not what the features
    were computed from."""
    loaded = set(ranges)
    loaded |= {path for (path,) in rows_of(
        profiles, "select distinct _source_file from this")}
    planned = [path for (path,) in rows_of(
        plan, "select path from this where row_count > 0 order by path")]
    missing = [path for path in planned if path not in loaded]
    if missing:
        raise RuntimeError(
            f"Refusing to publish: {len(missing)} of the {len(planned)} "
            f"landing files in {root} are not in the database the features "
            f"were computed from (e.g. {missing[0]}); run `dbt build` with "
            "the staging models selected (or without --select).")


def record(**values):
    """The model's one row: what was published, or why nothing was."""
    types = {"published_path": pa.string(), "history_path": pa.string(),
             "as_of_date": pa.date32(), "feature_timestamp": pa.timestamp("us"),
             "row_count": pa.int64(), "sha256": pa.string(),
             "is_changed": pa.bool_(), "lineage_written": pa.bool_(),
             "is_published": pa.bool_(), "refusal": pa.string()}
    return pa.table({name: pa.array([values.get(name)], kind)
                     for name, kind in types.items()})


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
            f"expected {expected_schema}; nothing was published.")
    written_rows = written.aggregate("count(*)").fetchall()[0][0]
    if written_rows != expected_rows:
        raise RuntimeError(
            f"{path} was read back with {written_rows} rows, expected "
            f"{expected_rows}; nothing was published.")


def remove_stale_temp_files(directory):
    """Drop temp files that a killed run left behind."""
    for name in (FILE_NAME, LINEAGE_NAME):
        for stale in directory.glob(f".{name}.*{TEMP_SUFFIX}"):
            stale.unlink(missing_ok=True)


# -------------------------------------------------------------------- model

def model(dbt, session):
    dbt.config(materialized="table")
    output_dir = Path(dbt.config.get("output_dir"))
    target_path = Path(dbt.config.get("target_path"))
    gate = dbt.ref("publish_gate")
    invocation, refusal = rows_of(
        gate, "select invocation_id, refusal from this")[0]
    if invocation != this_invocation(target_path):
        refusal = ("this selection leaves out publish_gate, which checks "
                   "that everything the features depend on was built and "
                   "checked now; `dbt build --select +publish_user_features+` "
                   "publishes.")
    if refusal:
        return record(published_path=str(output_dir / FILE_NAME),
                      is_changed=False, lineage_written=False,
                      is_published=False, refusal=refusal)
    features = dbt.ref("user_features")
    plan = dbt.ref("landing_plan")
    deliveries = dbt.ref("stg_transaction_deliveries")
    profiles = dbt.ref("stg_user_profiles")
    # Drift is measured against the file this run is about to replace, so it
    # must run (and pass, when major drift blocks publishing) first. The
    # other checked models are waited for too: any error-severity check that
    # fails anywhere in the run keeps this model from running.
    dbt.ref("feature_drift")
    dbt.ref("transaction_quarantine")
    dbt.ref("transaction_volume_anomaly")

    root = rows_of(plan, "select any_value(landing_root) from this")[0][0]
    # One pass over the stored transactions: which files they came from,
    # and each file's time range (for the check, the date and the lineage).
    ranges = {path: (first, last) for path, first, last in rows_of(
        deliveries, "select _source_file, min(transacted_at), "
                    "max(transacted_at) from this group by 1")}
    refuse_unless_loaded_from_plan(plan, ranges, profiles, root)
    rows = features.aggregate("count(*)").fetchall()[0][0]
    if rows == 0:
        raise RuntimeError(
            "user_features is empty (no transaction joined a user profile); "
            f"refusing to publish it, {output_dir / FILE_NAME} is unchanged.")
    # The instant the features hold at: the latest transaction they were
    # computed from. Its date names the history partition.
    feature_timestamp = max(last for _, last in ranges.values())
    as_of_date = feature_timestamp.date()
    # Only the history file has the column (not as_of_date, which is the
    # partition's name: read with hive partitioning it would be doubled).
    snapshot = features.project(
        f"*, timestamp '{feature_timestamp.isoformat()}' as feature_timestamp")

    targets = [
        (output_dir / FILE_NAME, features),
        (output_dir / "history" / f"as_of_date={as_of_date}" / FILE_NAME,
         snapshot),
    ]
    staged = []
    changed = False
    try:
        for target, relation in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(target.parent)
            temp = target.with_name(
                f".{FILE_NAME}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
            staged.append((temp, target))
            write_checked(session, relation, rows, temp)
        # Both files are complete and verified: only now replace anything.
        for temp, target in staged:
            if target.exists() and sha256_of(temp) == sha256_of(target):
                continue
            replace_file(temp, target)
            changed = True
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)

    (latest, _), (history, _) = targets
    stale = [target for target, _ in targets if not lineage_matches(target)]
    if stale:
        shared = lineage_document(
            plan, ranges, target_path=target_path,
            variables={"raw_data_dir": dbt.config.get("raw_data_dir"),
                       "output_dir": str(output_dir)})
        for target in stale:
            document = dict(shared, output=describe_output(
                session, target, feature_timestamp))
            write_text_atomically(
                target.with_name(LINEAGE_NAME),
                json.dumps(document, indent=2, default=str) + "\n")

    # Built as values, not SQL text: a path may hold any character.
    return record(published_path=str(latest), history_path=str(history),
                  as_of_date=as_of_date, feature_timestamp=feature_timestamp,
                  row_count=rows, sha256=sha256_of(latest), is_changed=changed,
                  lineage_written=bool(stale), is_published=True)
