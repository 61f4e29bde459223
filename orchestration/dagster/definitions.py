"""The feature pipeline in Dagster: assets, a daily schedule, a landing sensor.

* Every dbt model and seed is an asset (`@dbt_assets`, from the manifest
  `dbt parse` writes to target/dagster); dbt's data tests are asset checks.
  One step runs the whole `dbt build` (unit tests left out, as in every
  scheduled build), retried with backoff when it fails.
* `pipeline_run_report`, downstream of the published features, runs
  scripts/after_run.py: validation report, run history, alert. A failed
  build skips it, so the dbt step follows up its own failed attempts itself
  (each one is recorded and alerted) before it fails the run.
* The `feature_pipeline` job runs every asset: daily at 06:00 UTC, and
  whenever the landing folder has files it has not seen (`landing_sensor`,
  which looks every LANDING_SENSOR_SECONDS, default 60).
  One run at a time: dagster.yaml queues runs one by one, the sensor waits
  while a run is queued or going on, and dbt itself refuses a second run on
  a database.

The paths come from the environment, relative ones resolved from the
project root, so any working directory gives the same run:
RAW_DATA_DIR (default data/raw), OUTPUT_DIR (default output), DUCKDB_PATH
(default feature_pipeline.duckdb); retries from PIPELINE_RETRIES and
PIPELINE_RETRY_DELAY_SECONDS, as for the Airflow DAG and the Prefect flow
(orchestration/scheduled_run.py).
"""
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from dagster import (AssetExecutionContext, AssetSelection, Backoff,
                     DagsterRunStatus, DefaultScheduleStatus,
                     DefaultSensorStatus, Definitions, Failure, RetryPolicy,
                     RunRequest, RunsFilter, ScheduleDefinition,
                     SensorEvaluationContext, SkipReason, asset,
                     define_asset_job, sensor)
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from project import PROJECT_ROOT, feature_pipeline_project as project  # noqa: E402


sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
sys.path.insert(0, str(PROJECT_ROOT / "orchestration"))
import scheduled_run  # noqa: E402  (the settings every scheduler shares)
from run_pipeline import from_root  # noqa: E402  (relative paths: from the project root)


def project_path(variable: str, default: str) -> Path:
    """A path from the environment, a relative one taken from the project root."""
    return from_root(os.environ.get(variable, default))


RAW_DATA_DIR = project_path("RAW_DATA_DIR", "data/raw")
OUTPUT_DIR = project_path("OUTPUT_DIR", "output")
# dbt and the follow-up read the database from the environment: made
# absolute here, it is the same file whatever directory a run starts in.
os.environ["DUCKDB_PATH"] = str(project_path("DUCKDB_PATH", "feature_pipeline.duckdb"))
# So are the paths: dbt reads them from the environment, literally (never
# as --vars text, which dbt would render as a template).
os.environ["RAW_DATA_DIR"] = str(RAW_DATA_DIR)
os.environ["OUTPUT_DIR"] = str(OUTPUT_DIR)
# Each run's dbt artifacts, read by the follow-up; the newest
# DAGSTER_RUN_ARTIFACTS_KEPT runs' are kept (prune_run_artifacts).
RUNS_DIR = PROJECT_ROOT / "target" / "dagster" / "runs"
STARTED_AT = "dbt_started_at"


def follow_up(target: Path, since: str) -> int:
    """Report, run history and alert for the dbt build whose artifacts are
    in `target` and which started at `since`; the exit code."""
    return subprocess.run(
        [sys.executable, "scripts/after_run.py", "--target-path", str(target),
         "--since", since], cwd=PROJECT_ROOT).returncode


# A failed build is tried again after 30 s, then 90 s: a passing retry
# needs a cause that goes away (another run holding the database), since
# bad data fails every attempt alike.
RETRIES = RetryPolicy(max_retries=scheduled_run.RETRIES,
                      delay=scheduled_run.RETRY_DELAY_SECONDS,
                      backoff=Backoff.EXPONENTIAL)


def prune_run_artifacts(keep_current: Path) -> None:
    """Keep the dbt artifacts of the newest DAGSTER_RUN_ARTIFACTS_KEPT runs
    (default 20; this run's always), and remove the older runs' folders."""
    kept = os.environ.get("DAGSTER_RUN_ARTIFACTS_KEPT", "20").strip()
    if not kept.isdigit() or int(kept) < 1:
        raise Failure(f"DAGSTER_RUN_ARTIFACTS_KEPT is {kept!r}: give how many runs' "
                      "dbt artifacts to keep, a whole number from 1, such as 20.")
    others = sorted((p for p in RUNS_DIR.iterdir() if p.is_dir() and p != keep_current),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[int(kept) - 1:]:
        shutil.rmtree(old, ignore_errors=True)


@dbt_assets(manifest=project.manifest_path, project=project, retry_policy=RETRIES)
def feature_pipeline_dbt(context: AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` of the whole project: landing checks, models, tests, publishing."""
    target = RUNS_DIR / context.run_id
    target.mkdir(parents=True, exist_ok=True)
    prune_run_artifacts(target)
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    (target / STARTED_AT).write_text(since)
    build = dbt.cli(["build", "--exclude-resource-type", "unit_test"],
                    context=context, target_path=target, raise_on_error=False)
    yield from build.stream()
    if not build.is_successful():
        follow_up(target, since)
        raise Failure(f"dbt build failed (attempt {context.retry_number + 1} of "
                      f"{RETRIES.max_retries + 1}); nothing was published: see dbt's "
                      f"output above and {OUTPUT_DIR / 'validation_report.html'}")


@asset(deps=[get_asset_key_for_model([feature_pipeline_dbt], "publish_user_features")])
def pipeline_run_report(context: AssetExecutionContext) -> None:
    """scripts/after_run.py for this run's build: report, runs.jsonl, alert."""
    target = RUNS_DIR / context.run_id
    if not (target / STARTED_AT).exists():
        raise Failure("No dbt build ran in this run: materialize the report "
                      "together with the dbt assets.")
    status = follow_up(target, (target / STARTED_AT).read_text())
    if status:
        raise Failure(f"scripts/after_run.py exited with {status}.")


feature_pipeline_job = define_asset_job("feature_pipeline", selection=AssetSelection.all())

daily = ScheduleDefinition(name="daily", job=feature_pipeline_job, cron_schedule="0 6 * * *",
                           execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)


def landing_files(root: Path) -> list[str]:
    """The data files in the landing folder and its dataset folders, each
    with its size and modification time, so a replaced file counts as new."""
    found = []
    for path in sorted([*root.glob("*"), *root.glob("*/*")]):
        if (path.is_file() and not path.name.startswith(".")
                and path.suffix.lower() in (".parquet", ".csv")):
            stat = path.stat()
            found.append(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}")
    return found


ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
          DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def sensor_interval() -> int:
    """Seconds between two looks at the landing folder (LANDING_SENSOR_SECONDS,
    default 60)."""
    value = os.environ.get("LANDING_SENSOR_SECONDS", "60").strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"LANDING_SENSOR_SECONDS is {value!r}: give the seconds "
                         "between two looks at the landing folder, such as 60.")
    return int(value)


@sensor(job=feature_pipeline_job, minimum_interval_seconds=sensor_interval(),
        default_status=DefaultSensorStatus.RUNNING)
def landing_sensor(context: SensorEvaluationContext):
    """A run when the landing folder has files not seen before (the cursor:
    the files seen); none while a run is queued or going on."""
    if not RAW_DATA_DIR.is_dir():
        return SkipReason(f"Landing directory {RAW_DATA_DIR} does not exist.")
    files = landing_files(RAW_DATA_DIR)
    new = sorted(set(files) - set(json.loads(context.cursor or "[]")))
    if not new:
        return SkipReason(f"No new files in {RAW_DATA_DIR}.")
    if context.instance.get_run_records(
            RunsFilter(job_name=feature_pipeline_job.name, statuses=ACTIVE), limit=1):
        return SkipReason(f"{len(new)} new file(s) wait for the run in progress to end.")
    context.update_cursor(json.dumps(files))
    return RunRequest(tags={"landing_files_new": str(len(new))})


defs = Definitions(
    assets=[feature_pipeline_dbt, pipeline_run_report],
    jobs=[feature_pipeline_job],
    schedules=[daily],
    sensors=[landing_sensor],
    resources={"dbt": DbtCliResource(project_dir=project)},
)
