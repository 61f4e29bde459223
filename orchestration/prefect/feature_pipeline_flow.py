"""The pipeline as a Prefect flow: one task, retried with back-off.

    python orchestration/prefect/feature_pipeline_flow.py --once    # run it now
    python orchestration/prefect/feature_pipeline_flow.py --server  # a Prefect server
    python orchestration/prefect/feature_pipeline_flow.py           # serve it daily
                                      # (with PREFECT_API_URL set to that server)

The task runs the entry point `make build` runs (scripts/run_pipeline.py,
through orchestration/scheduled_run.py), so Prefect and `make build`
publish the same file from the same data. One task, not one per dbt model:
dbt already orders the models and skips what depends on a failed check; the
per-model view is the Dagster set-up's (orchestration/dagster).

Unless set otherwise, Prefect (the server too) keeps its state in
local/prefect and sends no analytics. A run without PREFECT_API_URL starts a
temporary API server for the time of the process (SQLite); serving needs a
lasting one, since a temporary server creates no scheduled runs. Relative
paths are taken from the project root.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import scheduled_run  # noqa: E402

# Prefect reads its settings when it is imported, so these come first.
for name, value in {
    "PREFECT_HOME": str(scheduled_run.PROJECT_ROOT / "local" / "prefect"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",   # the server's usage reports
    "DO_NOT_TRACK": "1",                           # the client's
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    # The temporary API server starts with the process; a busy machine needs
    # more than the default 20 s.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}.items():
    os.environ.setdefault(name, value)
# Prefect's database lives there; on a fresh clone the folder is not there yet.
Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)

from prefect import flow, serve, task  # noqa: E402
from prefect.settings import PREFECT_API_URL  # noqa: E402
from prefect.schedules import Cron  # noqa: E402
from prefect.tasks import exponential_backoff  # noqa: E402


@task(retries=scheduled_run.RETRIES,
      # 1, 2, 4, … times PIPELINE_RETRY_DELAY_SECONDS
      retry_delay_seconds=exponential_backoff(scheduled_run.RETRY_DELAY_SECONDS))
def build_features(raw_data_dir: str | None, output_dir: str | None,
                   full_refresh: bool) -> None:
    scheduled_run.run_pipeline(raw_data_dir, output_dir, full_refresh)


@flow(name="feature-pipeline")
def feature_pipeline(raw_data_dir: str | None = None, output_dir: str | None = None,
                     full_refresh: bool = False) -> None:
    """Build and publish the features once (the paths default to
    RAW_DATA_DIR and OUTPUT_DIR, then to the dbt vars)."""
    build_features(raw_data_dir, output_dir, full_refresh)


def daily():
    """The deployment `python feature_pipeline_flow.py` serves: the flow,
    every day at midnight UTC (as Airflow's @daily), with the default paths."""
    return feature_pipeline.to_deployment(name="daily",
                                          schedule=Cron("0 0 * * *", timezone="UTC"))


def main(arguments: list[str]) -> None:
    if arguments == ["--once"]:
        feature_pipeline()  # one run now, without serving
    elif arguments == ["--server"]:
        # With the settings above, which the server reads from the environment.
        prefect = Path(sys.executable).with_name("prefect")
        os.execv(prefect, [str(prefect), "server", "start"])
    elif arguments:
        sys.exit(f"Unknown arguments {' '.join(arguments)}: give --once, --server or none.")
    elif not PREFECT_API_URL.value():
        # A temporary server would take the deployment and never run it.
        sys.exit("Serving the daily schedule needs a Prefect server: start one with "
                 "`python orchestration/prefect/feature_pipeline_flow.py --server` and "
                 "set PREFECT_API_URL=http://127.0.0.1:4200/api.")
    else:
        serve(daily())


if __name__ == "__main__":
    main(sys.argv[1:])
