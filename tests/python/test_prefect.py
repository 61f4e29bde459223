"""The Prefect flow (orchestration/prefect), run in .venv-prefect on a copy
of the project, from another working directory, with relative paths: its
first attempt fails for real (the database is held by another run), the
retry publishes the file `make build` publishes."""
from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace

import pytest

from conftest import PROJECT_ROOT, side_env
from scheduler_runs import (base_env, project_copy, reference_build, runs, scheduler_env,
                            sha256, started_while_the_database_is_held)

RETRY_DELAY_SECONDS = 5

# Runs the flow once, then prints what Prefect's API recorded of its task.
RUN_THE_FLOW = """
import json, sys
sys.path.insert(0, sys.argv[1])
from feature_pipeline_flow import build_features, daily, feature_pipeline
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

state = feature_pipeline(return_state=True)
with get_client(sync_client=True) as client:
    task_run, = client.read_task_runs(flow_run_filter=FlowRunFilter(
        id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    states = client.read_task_run_states(task_run.id)
schedule, = daily().schedules
print("recorded:", json.dumps({
    "flow": state.type.value,
    "task": task_run.name,
    "run_count": task_run.run_count,
    "states": [s.name for s in sorted(states, key=lambda s: s.timestamp)],
    "delays": build_features.retry_delay_seconds,
    "served": schedule.schedule.model_dump(mode="json"),
}), flush=True)
"""


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory):
    bin_dir = side_env("prefect")
    root = tmp_path_factory.mktemp("prefect")
    project = project_copy(root, "prefect")
    env = scheduler_env(RETRY_DELAY_SECONDS)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()

    log = elsewhere / "flow.log"
    process = started_while_the_database_is_held(
        [str(bin_dir / "python"), "-c", RUN_THE_FLOW,
         str(project / "orchestration" / "prefect")], project, env, log)
    process.wait(timeout=900)
    text = log.read_text()
    return SimpleNamespace(
        project=project, env=env, cwd=elsewhere, returncode=process.returncode,
        log=text, recorded=json.loads(text.split("\nrecorded: ")[-1].splitlines()[0]),
        output_dir=project / env["OUTPUT_DIR"],
        reference=reference_build(project, root))


def test_the_daily_flow_retries_a_failed_first_attempt_and_publishes_what_make_build_does(
        flow_run):
    # One test for the one run: pytest-xdist may not keep the tests of a
    # module on one worker, and each worker would run the flow again.
    assert flow_run.returncode == 0, flow_run.log
    recorded = flow_run.recorded
    assert recorded["flow"] == "COMPLETED"
    assert recorded["task"].startswith("build_features")
    assert recorded["run_count"] == 2
    assert recorded["delays"] == [RETRY_DELAY_SECONDS, 2 * RETRY_DELAY_SECONDS]  # the back-off
    assert recorded["states"].count("AwaitingRetry") == 1
    assert recorded["states"][-1] == "Completed"

    assert "Another run" in flow_run.log
    assert "The pipeline run failed (scripts/run_pipeline.py exited with 2)" \
        in flow_run.log
    assert [run["status"] for run in runs(flow_run.output_dir)] == ["failed", "passed_with_warnings"]
    # Relative paths were taken from the project root, not the working directory.
    assert (flow_run.project / flow_run.env["DUCKDB_PATH"]).is_file()
    assert not any(flow_run.cwd.glob("local"))
    # Prefect kept its state in the project's local/prefect.
    assert (flow_run.project / "local" / "prefect").is_dir()
    published = flow_run.output_dir / "user_features.parquet"
    assert sha256(published) == sha256(flow_run.reference)

    # What `python feature_pipeline_flow.py` serves.
    served = flow_run.recorded["served"]
    assert (served["cron"], served["timezone"]) == ("0 0 * * *", "UTC")


def test_serving_without_a_prefect_server_is_refused_with_one_sentence(tmp_path):
    # A temporary server would take the daily deployment and never run it.
    bin_dir = side_env("prefect")
    env = base_env() | {"PREFECT_HOME": str(tmp_path / "prefect")}
    served = subprocess.run(
        [str(bin_dir / "python"), str(PROJECT_ROOT / "orchestration" / "prefect" /
                                      "feature_pipeline_flow.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert served.returncode == 1
    assert served.stderr.strip().splitlines() == [
        "Serving the daily schedule needs a Prefect server: start one with "
        "`python orchestration/prefect/feature_pipeline_flow.py --server` and "
        "set PREFECT_API_URL=http://127.0.0.1:4200/api."]


def test_the_readmes_command_runs_the_flow_once(tmp_path):
    """`.venv-prefect/bin/python orchestration/prefect/feature_pipeline_flow.py
    --once`, as the README writes it, on a fresh copy of the project: one run
    that publishes what `make build` publishes and records it."""
    bin_dir = side_env("prefect")
    project = project_copy(tmp_path, "prefect")
    env = scheduler_env(RETRY_DELAY_SECONDS)
    process = subprocess.run(
        [str(bin_dir / "python"), "orchestration/prefect/feature_pipeline_flow.py", "--once"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    output_dir = project / env["OUTPUT_DIR"]
    assert [run["status"] for run in runs(output_dir)] == ["passed_with_warnings"]
    assert sha256(output_dir / "user_features.parquet") == \
        sha256(reference_build(project, tmp_path))
