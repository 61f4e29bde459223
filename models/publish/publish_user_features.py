"""Publish the tested user_features mart as Parquet, with its lineage.

It runs only after every error-severity test upstream has passed in the
same ``dbt build`` (dbt skips what follows a failing test), and publishes
only when publish_gate allows it: a ``dbt build`` that built and checked now
every model and check the features depend on. Any other command or
selection leaves the published files as they were and records why
(``refusal``). It also refuses features not computed from the landing files
this run names. (dbt-duckdb's ``external`` materialisation writes its file
before its own tests run.)

The writing itself is the publish step every engine shares
(plugins/feature_pipeline_publish.py): the latest file and a dated history
snapshot, each written under a temporary name, read back, and renamed into
place, with a lineage file beside it (docs/lineage.md). This model returns
one row saying what it published.
"""
from pathlib import Path

import pyarrow as pa
# dbt-duckdb runs Python models inside the dbt process: this is the id of
# the invocation running this model (target/manifest.json may already be
# another invocation's, started beside it and refused by the run lock).
from dbt_common.invocation import get_invocation_id

# plugins/ is on dbt's module path (profiles.yml `module_paths`).
from feature_pipeline_lineage import rows_of
from feature_pipeline_publish import FILE_NAME, PublishError, publish

PUBLISHER = "model.feature_pipeline.publish_user_features"
RECORD = {"published_path": pa.string(), "history_path": pa.string(),
          "as_of_date": pa.date32(), "feature_timestamp": pa.timestamp("us"),
          "row_count": pa.int64(), "sha256": pa.string(),
          "is_changed": pa.bool_(), "lineage_written": pa.bool_(),
          "is_published": pa.bool_(), "refusal": pa.string()}


def record(values):
    """The model's one row, built as values (a path may hold any character)."""
    return pa.table({name: pa.array([values.get(name)], kind)
                     for name, kind in RECORD.items()})


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
        raise PublishError(
            f"Refusing to publish: {len(missing)} of the {len(planned)} "
            f"landing files in {root} are not in the database the features "
            f"were computed from (e.g. {missing[0]}); run `dbt build` with "
            "the staging models selected (or without --select).")


def model(dbt, session):
    dbt.config(materialized="table")
    target_path = Path(dbt.config.get("target_path"))
    gate = dbt.ref("publish_gate")
    invocation, refusal, raw_data_dir, output_dir = rows_of(
        gate, "select invocation_id, refusal, raw_data_dir, output_dir"
              " from this")[0]
    output_dir = Path(output_dir)
    if invocation != get_invocation_id():
        refusal = ("this selection leaves out publish_gate, which checks "
                   "that everything the features depend on was built and "
                   "checked now; `dbt build --select +publish_user_features+` "
                   "publishes.")
    if refusal:
        return record({"published_path": str(output_dir / FILE_NAME),
                       "is_changed": False, "lineage_written": False,
                       "is_published": False, "refusal": refusal})
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
    variables = {"raw_data_dir": raw_data_dir,
                 "output_dir": str(output_dir)}
    return record(publish(session, features, plan, ranges, output_dir,
                          target_path, variables, PUBLISHER, get_invocation_id()))
