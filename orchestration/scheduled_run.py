"""One scheduled run of the pipeline, as the Airflow DAG and the Prefect flow
make it: the entry point `make build` runs, scripts/run_pipeline.py, in a
process of its own, started in the project root.

Relative paths (the landing and output directories, DUCKDB_PATH) therefore
mean what they mean to `make build`: they are resolved from the project
root, wherever the scheduler runs. A run that fails raises PipelineFailed,
so the scheduler marks the task failed and retries it.

Settings, from the environment of the scheduler's worker:

    RAW_DATA_DIR, OUTPUT_DIR        landing and output (default: the dbt vars)
    DUCKDB_PATH                     the database (default: feature_pipeline.duckdb)
    PIPELINE_RETRIES                retries after a failed run (default 2)
    PIPELINE_RETRY_DELAY_SECONDS    first retry delay; it doubles at each
                                    retry (default 300)
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINT = PROJECT_ROOT / "scripts" / "run_pipeline.py"


def setting(name: str, default: str, kind: type[int] | type[float]) -> int | float:
    """A number from the environment, or one sentence saying what is wrong."""
    value = os.environ.get(name, default)
    try:
        number = kind(value)
    except ValueError:
        number = -1
    if not 0 <= number < float("inf"):  # also refuses nan
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number "
                         f"of 0 or more, got {value!r}.")
    return number


RETRIES = setting("PIPELINE_RETRIES", "2", int)
RETRY_DELAY_SECONDS = setting("PIPELINE_RETRY_DELAY_SECONDS", "300", float)


class PipelineFailed(RuntimeError):
    """The pipeline exited non-zero: the scheduler fails the task and retries it."""


def run_pipeline(raw_data_dir: str | None = None, output_dir: str | None = None,
                 full_refresh: bool = False) -> None:
    """Run the pipeline once with this interpreter's dbt and Python; raise
    PipelineFailed when it exits non-zero."""
    raw_data_dir = raw_data_dir or os.environ.get("RAW_DATA_DIR")
    output_dir = output_dir or os.environ.get("OUTPUT_DIR")
    command = [sys.executable, str(ENTRY_POINT)]
    # The entry point takes relative paths (DUCKDB_PATH too) from the
    # project root and hands them to dbt as absolute ones.
    if raw_data_dir:
        command += ["--raw-data-dir", raw_data_dir]
    if output_dir:
        command += ["--output-dir", output_dir]
    if full_refresh:
        command.append("--full-refresh")
    print("running:", " ".join(command), flush=True)
    status = subprocess.run(command, cwd=PROJECT_ROOT).returncode
    if status:
        record = PROJECT_ROOT / (output_dir or "output") / "runs.jsonl"
        raise PipelineFailed(
            f"The pipeline run failed (scripts/run_pipeline.py exited with "
            f"{status}): its output is above, and the run is recorded in {record}.")
