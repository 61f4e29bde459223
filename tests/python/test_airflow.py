"""The Airflow DAG (orchestration/airflow), run by `airflow dags test` in
.venv-airflow on a copy of the project, from another working directory,
with relative paths: its first attempt fails for real (the database is held
by another run), the retry publishes the file `make build` publishes."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from conftest import PROJECT_ROOT, side_env
from scheduler_runs import (project_copy, reference_build, runs, scheduler_env,
                            sha256, started_while_the_database_is_held)

RETRY_DELAY_SECONDS = 5


@pytest.fixture(scope="module")
def dag_run(tmp_path_factory):
    side_env("airflow")
    root = tmp_path_factory.mktemp("airflow")
    project = project_copy(root, "airflow")
    airflow = str(project / "orchestration" / "airflow" / "airflow")
    env = scheduler_env(RETRY_DELAY_SECONDS)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()

    # The README's command as written, on a state folder that does not
    # exist yet: the wrapper creates the metadata database first.
    assert not (project / "local" / "airflow").exists()
    log = elsewhere / "dags-test.log"
    process = started_while_the_database_is_held(
        [airflow, "dags", "test", "feature_pipeline"], project, env, log)
    process.wait(timeout=900)
    return SimpleNamespace(
        project=project, env=env, cwd=elsewhere,
        returncode=process.returncode, log=log.read_text(),
        database=project / "local" / "airflow" / "airflow.db",
        output_dir=project / env["OUTPUT_DIR"],
        reference=reference_build(project, root))


def tries(database) -> list[dict]:
    """Every try of the DAG's task, oldest first (Airflow keeps the earlier
    tries in task_instance_history)."""
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        rows = [dict(row) for table in ("task_instance_history", "task_instance")
                for row in connection.execute(
                    f"select try_number, state, start_date, end_date from {table} "
                    "where dag_id = 'feature_pipeline' and task_id = 'build_features'")]
    return sorted(rows, key=lambda row: row["try_number"])


def test_the_daily_dag_retries_a_failed_first_attempt_and_publishes_what_make_build_does(
        dag_run):
    # One test for the one run: pytest-xdist may not keep the tests of a
    # module on one worker, and each worker would run the DAG again.
    assert dag_run.returncode == 0, dag_run.log
    first, second = tries(dag_run.database)
    assert (first["try_number"], first["state"]) == (1, "failed")
    assert (second["try_number"], second["state"]) == (2, "success")
    # The back-off: the retry waits at least the first delay.
    waited = (datetime.fromisoformat(second["start_date"])
              - datetime.fromisoformat(first["end_date"]))
    assert waited >= timedelta(seconds=RETRY_DELAY_SECONDS)

    assert "Another run" in dag_run.log
    assert "The pipeline run failed (scripts/run_pipeline.py exited with 2)" in dag_run.log
    assert [run["status"] for run in runs(dag_run.output_dir)] == ["failed", "passed_with_warnings"]
    # Relative paths were taken from the project root, not the working directory.
    published = dag_run.output_dir / "user_features.parquet"
    assert (dag_run.project / dag_run.env["DUCKDB_PATH"]).is_file()
    assert not any(dag_run.cwd.glob("local"))
    assert sha256(published) == sha256(dag_run.reference)

    # The DAG as Airflow parsed and stored it.
    with sqlite3.connect(dag_run.database) as connection:
        data, = connection.execute("select data from serialized_dag "
                                   "where dag_id = 'feature_pipeline'").fetchone()
    dag = json.loads(data)["dag"]
    assert dag["timetable"]["__var"]["expression"] == "0 0 * * *"
    assert (dag["catchup"], dag["max_active_runs"]) == (False, 1)
    task, = (task["__var"] for task in dag["tasks"])
    assert (task["retries"], task["retry_delay"], task["retry_exponential_backoff"]) == \
        (2, RETRY_DELAY_SECONDS, 2.0)


@pytest.mark.parametrize("name, value", [("PIPELINE_RETRIES", "two"),
                                         ("PIPELINE_RETRY_DELAY_SECONDS", "-5"),
                                         ("PIPELINE_RETRY_DELAY_SECONDS", "nan")])
def test_a_bad_retry_setting_is_one_sentence_naming_it(name, value):
    # The DAG and the flow read their retries from orchestration/scheduled_run.py.
    loaded = subprocess.run([sys.executable, "-c", "import scheduled_run"],
                            cwd=PROJECT_ROOT / "orchestration", env={name: value},
                            capture_output=True, text=True, timeout=60)
    assert loaded.returncode != 0
    assert loaded.stderr.strip().splitlines()[-1] == (
        f"ValueError: {name} must be a {'whole ' if name == 'PIPELINE_RETRIES' else ''}"
        f"number of 0 or more, got {value!r}.")
