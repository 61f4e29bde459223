"""The pipeline as an Airflow DAG: one task, daily, retried with back-off.

The task runs the entry point `make build` runs (scripts/run_pipeline.py,
through orchestration/scheduled_run.py), so Airflow and `make build`
publish the same file from the same data. One task, not one per dbt model:
dbt already orders the models and skips what depends on a failed check, and a
task per model would start a dbt process per model. The per-model view is
the Dagster set-up's (orchestration/dagster).

Run Airflow through orchestration/airflow/airflow, which points it at this
folder, keeps its state in local/airflow and loads no example DAGs. A run
may override the paths with its conf: {"raw_data_dir": …, "output_dir": …,
"full_refresh": true}; relative paths are taken from the project root.
"""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from airflow.sdk import dag, get_current_context, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import scheduled_run  # noqa: E402


@dag(
    dag_id="feature_pipeline",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,       # a missed day is made up by the next run, not replayed
    max_active_runs=1,   # one run per database (the pipeline refuses a second)
    default_args={
        "retries": scheduled_run.RETRIES,
        "retry_delay": timedelta(seconds=scheduled_run.RETRY_DELAY_SECONDS),
        "retry_exponential_backoff": 2.0,  # the delay doubles at each retry
        "max_retry_delay": timedelta(hours=1),
    },
    params={"raw_data_dir": None, "output_dir": None, "full_refresh": False},
    tags=["feature_pipeline"],
)
def feature_pipeline():
    @task
    def build_features() -> None:
        params = get_current_context()["params"]
        scheduled_run.run_pipeline(params["raw_data_dir"], params["output_dir"],
                                   bool(params["full_refresh"]))

    build_features()


feature_pipeline()
