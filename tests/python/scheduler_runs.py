"""Helpers for the scheduler tests (test_airflow.py, test_prefect.py): a
copy of the project to schedule, the reference build, and a first attempt
made to fail for real."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from conftest import PROJECT_ROOT

IGNORED = shutil.ignore_patterns(
    ".venv*", "target", "logs", "output", "local", "*.duckdb", "*.duckdb.wal",
    "*.duckdb.lock", ".git", ".pytest_cache", "__pycache__", ".duckdb_tmp", ".bench")

# What a scheduler is given, relative on purpose: each must mean a path in
# the project root, whatever the scheduler's working directory.
RELATIVE_PATHS = {"RAW_DATA_DIR": "data/raw",
                  "OUTPUT_DIR": "local/scheduled/output",
                  "DUCKDB_PATH": "local/scheduled/pipeline.duckdb"}


def project_copy(root: Path, env_name: str) -> Path:
    """A copy of the project (no state, no output) that uses this
    checkout's core environment and .venv-<env_name>."""
    project = root / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=IGNORED)
    for venv in (".venv", f".venv-{env_name}"):
        (project / venv).symlink_to(PROJECT_ROOT / venv)
    return project


def base_env() -> dict:
    """The caller's environment without settings that would steer a run
    elsewhere; one thread each for dbt and DuckDB, as in the rest of the suite."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALERT_", "AIRFLOW", "PREFECT_", "PIPELINE_"))
           and k not in ("RAW_DATA_DIR", "OUTPUT_DIR", "DUCKDB_PATH")}
    env.update({"DBT_THREADS": "1", "DUCKDB_THREADS": "1",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    return env


def reference_build(project: Path, workdir: Path) -> Path:
    """The file `make build` publishes from the sample: scripts/run_pipeline.py
    with the core environment, on its own database and output."""
    env = base_env() | {"DUCKDB_PATH": str(workdir / "reference.duckdb")}
    output = workdir / "reference"
    done = subprocess.run(
        [sys.executable, "scripts/run_pipeline.py", "--output-dir", str(output)],
        cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return output / "user_features.parquet"


def runs(output_dir: Path) -> list[dict]:
    """The runs recorded in runs.jsonl (a line still being written is not one)."""
    path = output_dir / "runs.jsonl"
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]


def scheduler_env(retry_delay_seconds: float) -> dict:
    """The environment a scheduler test gives: the relative paths, and a
    short first retry delay (long enough to release the lock before it)."""
    return base_env() | RELATIVE_PATHS | {
        "PIPELINE_RETRY_DELAY_SECONDS": str(retry_delay_seconds)}


def started_while_the_database_is_held(command: list[str], project: Path, env: dict,
                                      log: Path, timeout: float = 600) -> subprocess.Popen:
    """Start a scheduler (in `log`'s folder, not the project root) while
    holding the pipeline's run lock on DUCKDB_PATH, as a running build
    would, so that its first attempt fails for real; release the lock as
    soon as that failed run is recorded in runs.jsonl, so that the retry can
    succeed."""
    database = project / env["DUCKDB_PATH"]
    output_dir = project / env["OUTPUT_DIR"]
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{database}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(log, "w") as out:  # the child keeps its own copy
            process = subprocess.Popen(command, cwd=log.parent, env=env, stdout=out,
                                       stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not runs(output_dir):
            if process.poll() is not None:
                raise AssertionError("the scheduler ended before a first attempt "
                                     f"failed:\n{log.read_text()}")
            assert time.monotonic() < deadline, "no failed first attempt recorded"
            time.sleep(0.1)
    return process  # closing the file released the lock


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
