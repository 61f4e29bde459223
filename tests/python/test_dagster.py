"""Dagster (orchestration/dagster/) on real runs, in .venv-dagster.

The whole asset graph materialized by Dagster's CLI publishes what
`make build` publishes; a failing error-severity check fails the run after
the retry policy's attempts, publishing nothing; the landing sensor asks for
one run per new file and none while a run is going on. Everything runs in a
temporary copy of the project, from another working directory, with its own
Dagster instance, database and output.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from conftest import PROJECT_ROOT, SAMPLE_DIR, side_env
from reference_pipeline import assert_frames_match, features_from_landing

DEFINITIONS = Path("orchestration", "dagster", "definitions.py")
IGNORED = shutil.ignore_patterns(
    ".venv*", "target", "logs", "output", "local", "*.duckdb", "*.duckdb.wal",
    "*.duckdb.lock", ".git", ".pytest_cache", "__pycache__", ".duckdb_tmp", ".bench")

# What the Dagster instance recorded of its one run (run in .venv-dagster).
RUN_RECORD = textwrap.dedent("""
    import json
    from dagster import DagsterEventType, DagsterInstance
    instance = DagsterInstance.get()
    (record,) = instance.get_run_records()
    entries = [entry for entry in instance.all_logs(record.dagster_run.run_id)
               if entry.dagster_event]
    events = [entry.dagster_event for entry in entries]
    checks = {event.event_specific_data.check_name: event.event_specific_data.passed
              for event in events
              if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION}
    print(json.dumps({
        "run_id": record.dagster_run.run_id,
        "status": record.dagster_run.status.value,
        "steps": [[entry.step_key, entry.dagster_event.event_type_value, entry.message]
                  for entry in entries if entry.step_key],
        "checks": checks,
    }))
""")

# One tick of the landing sensor, given a cursor; with "busy", a run of the
# job is going on.
SENSOR_TICK = textwrap.dedent("""
    import json, sys
    from dagster import DagsterInstance, DagsterRunStatus, build_sensor_context
    from dagster._core.storage.dagster_run import DagsterRun
    sys.path.insert(0, sys.argv[1])
    import definitions
    instance = DagsterInstance.get()
    if sys.argv[3] == "busy":
        instance.add_run(DagsterRun(job_name="feature_pipeline",
                                    status=DagsterRunStatus.STARTED))
    tick = definitions.landing_sensor.evaluate_tick(
        build_sensor_context(cursor=json.loads(sys.argv[2]), instance=instance))
    print(json.dumps({
        "runs": len(tick.run_requests or []),
        "skipped": tick.skip_message, "cursor": tick.cursor,
        "telemetry": instance.telemetry_enabled,
        "max_concurrent_runs":
            instance.run_coordinator.get_run_queue_config().max_concurrent_runs,
    }))
""")


@pytest.fixture(scope="module")
def dagster_bin() -> Path:
    return side_env("dagster")


@pytest.fixture(scope="module")
def project(tmp_path_factory, dagster_bin) -> Path:
    """A copy of the project with the manifest the assets are made from."""
    copy = tmp_path_factory.mktemp("dagster") / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=IGNORED, symlinks=True)
    parse = subprocess.run(
        [str(dagster_bin / "dbt"), "parse", "--quiet", "--target-path", "target/dagster"],
        cwd=copy, capture_output=True, text=True, timeout=300)
    assert parse.returncode == 0, parse.stdout + parse.stderr
    return copy


def dagster_env(workdir: Path, raw_dir: Path, **extra: str) -> dict:
    """A Dagster instance of its own (the project's dagster.yaml), and the
    run's landing, output and database."""
    home = workdir / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / DEFINITIONS.with_name("dagster.yaml"), home)
    return {
        "PATH": "/usr/bin:/bin",
        "DAGSTER_HOME": str(home),
        "RAW_DATA_DIR": str(raw_dir),
        "OUTPUT_DIR": str(workdir / "output"),
        "DUCKDB_PATH": str(workdir / "pipeline.duckdb"),
        "DUCKDB_TEMP_DIRECTORY": str(workdir / "duckdb_tmp"),
        "DBT_THREADS": "1",
        "DUCKDB_THREADS": "1",
        **extra,
    }


def materialize(dagster_bin: Path, project: Path, env: dict,
                cwd: Path) -> subprocess.CompletedProcess:
    """`dagster asset materialize` of every asset, started in `cwd`."""
    return subprocess.run(
        [str(dagster_bin / "dagster"), "asset", "materialize",
         "-f", str(project / DEFINITIONS), "--select", "*"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)


def run_record(dagster_bin: Path, env: dict) -> dict:
    process = subprocess.run([str(dagster_bin / "python"), "-c", RUN_RECORD], env=env,
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def steps(record: dict, step_key: str) -> list[str]:
    """The events of one step, in order."""
    return [event for step, event, _ in record["steps"] if step == step_key]


def history(output_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (output_dir / "runs.jsonl").read_text().splitlines()]


def test_materializing_every_asset_publishes_what_make_build_publishes(
        tmp_path, project, dagster_bin):
    # `make build`'s entry point, on the core environment.
    reference = tmp_path / "make_build"
    built = subprocess.run(
        [sys.executable, "scripts/run_pipeline.py", "--raw-data-dir", str(SAMPLE_DIR),
         "--output-dir", str(reference / "output"), "--bin-dir", str(Path(sys.executable).parent)],
        cwd=project, capture_output=True, text=True, timeout=900,
        env={"PATH": "/usr/bin:/bin", "DUCKDB_PATH": str(reference / "pipeline.duckdb"),
             "DUCKDB_TEMP_DIRECTORY": str(reference / "duckdb_tmp"),
             "DBT_THREADS": "1", "DUCKDB_THREADS": "1"})
    assert built.returncode == 0, built.stdout + built.stderr

    # Relative paths are the project root's, not the working directory's.
    env = dagster_env(tmp_path / "dagster", SAMPLE_DIR,
                      OUTPUT_DIR="dagster_output", DUCKDB_PATH="dagster.duckdb")
    process = materialize(dagster_bin, project, env, cwd=tmp_path)
    assert process.returncode == 0, process.stdout[-5000:] + process.stderr[-5000:]
    output = project / "dagster_output"
    assert (project / "dagster.duckdb").is_file()
    assert not (tmp_path / "dagster_output").exists()

    published = output / "user_features.parquet"
    expected = reference / "output" / "user_features.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(published), pd.read_parquet(expected))
    assert published.read_bytes() == expected.read_bytes()

    record = run_record(dagster_bin, env)
    assert record["status"] == "SUCCESS"
    assert "STEP_SUCCESS" in steps(record, "pipeline_run_report")
    # dbt's data tests are asset checks, and the error-severity ones passed.
    assert record["checks"]["unique_user_features_user_id"] is True
    assert len(record["checks"]) > 50
    # One full `dbt build` without unit tests, followed up once.
    results = json.loads((project / "target" / "dagster" / "runs" / record["run_id"]
                          / "run_results.json").read_text())
    assert results["args"]["which"] == "build"
    assert results["args"]["exclude_resource_types"] == ["unit_test"]
    assert not [r for r in results["results"] if r["unique_id"].startswith("unit_test.")]
    (run,) = history(output)
    assert run["status"] == "passed_with_warnings"
    assert run["published_sha256"] == history(reference / "output")[0]["published_sha256"]
    assert (output / "validation_report.html").is_file()


def test_a_failing_check_fails_the_run_after_every_retry_and_publishes_nothing(
        tmp_path, project, dagster_bin):
    landing = shutil.copytree(SAMPLE_DIR, tmp_path / "landing")
    profiles = pd.read_parquet(landing / "user_profiles.parquet")
    pd.concat([profiles, profiles.head(1)]).to_parquet(
        landing / "user_profiles.parquet", index=False)  # one user twice
    workdir = tmp_path / "dagster"
    env = dagster_env(workdir, landing, PIPELINE_RETRIES="2",
                      PIPELINE_RETRY_DELAY_SECONDS="1", DAGSTER_RUN_ARTIFACTS_KEPT="1")
    # Earlier runs' dbt artifacts: only the newest DAGSTER_RUN_ARTIFACTS_KEPT
    # runs' (here this one's) are kept.
    runs_dir = project / "target" / "dagster" / "runs"
    planted = [runs_dir / f"an-earlier-run-{n}" for n in range(3)]
    for folder in planted:
        folder.mkdir(parents=True)
        (folder / "run_results.json").write_text("{}")
        os.utime(folder, (1_000_000_000, 1_000_000_000))

    process = materialize(dagster_bin, project, env, cwd=tmp_path)

    assert process.returncode != 0
    assert not [folder for folder in planted if folder.exists()]
    assert "dbt build failed (attempt 3 of 3); nothing was published" in process.stdout + process.stderr
    record = run_record(dagster_bin, env)
    assert record["status"] == "FAILURE"
    assert [p.name for p in runs_dir.iterdir()] == [record["run_id"]]
    dbt_step = steps(record, "feature_pipeline_dbt")
    assert dbt_step.count("STEP_RESTARTED") == 2
    assert dbt_step[-1] == "STEP_FAILURE" and "STEP_SUCCESS" not in dbt_step
    # Each retry waits longer than the one before (exponential backoff).
    delays = [float(re.search(r"retry in ([0-9.]+) seconds", message).group(1))
              for step, event, message in record["steps"] if event == "STEP_UP_FOR_RETRY"]
    assert len(delays) == 2 and delays[0] < delays[1], delays
    # The follow-up step downstream never starts; the dbt step followed up itself.
    assert "STEP_START" not in steps(record, "pipeline_run_report")
    assert record["checks"]["unique_user_features_user_id"] is False
    # Each attempt was followed up (recorded, reported, alerted); nothing published.
    runs = history(workdir / "output")
    assert [run["status"] for run in runs] == ["failed"] * 3
    assert len({run["run_id"] for run in runs}) == 3
    assert all(run["published_sha256"] is None for run in runs)
    assert not (workdir / "output" / "user_features.parquet").exists()
    assert not (workdir / "output" / "history").exists()


def test_the_landing_sensor_asks_for_one_run_per_new_file(tmp_path, project, dagster_bin):
    landing = tmp_path / "landing"
    (landing / "transactions").mkdir(parents=True)
    shutil.copy(SAMPLE_DIR / "transactions.parquet", landing / "transactions" / "batch_1.parquet")
    shutil.copy(SAMPLE_DIR / "user_profiles.parquet", landing)
    env = dagster_env(tmp_path / "sensor", landing)

    def tick(cursor, busy=False):
        process = subprocess.run(
            [str(dagster_bin / "python"), "-c", SENSOR_TICK,
             str(project / DEFINITIONS.parent), json.dumps(cursor), "busy" if busy else "-"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert process.returncode == 0, process.stderr
        return json.loads(process.stdout)

    first = tick(None)  # nothing seen yet: the files there are new
    assert first["runs"] == 1
    assert first["telemetry"] is False and first["max_concurrent_runs"] == 1

    unchanged = tick(first["cursor"])
    assert unchanged["runs"] == 0 and "No new files" in unchanged["skipped"]

    shutil.copy(SAMPLE_DIR / "transactions.parquet", landing / "transactions" / "batch_2.parquet")
    (landing / "transactions" / "README.txt").write_text("not data")
    arrived = tick(first["cursor"])
    assert arrived["runs"] == 1
    assert "batch_2.parquet" in arrived["cursor"] and "README" not in arrived["cursor"]

    again = tick(arrived["cursor"])
    assert again["runs"] == 0 and "No new files" in again["skipped"]

    # While a run is going on, a new file waits: no run, the cursor stays.
    shutil.copy(SAMPLE_DIR / "transactions.parquet", landing / "transactions" / "batch_3.parquet")
    busy = tick(arrived["cursor"], busy=True)
    assert busy["runs"] == 0 and "wait for the run in progress" in busy["skipped"]
    assert busy["cursor"] == arrived["cursor"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, what: str, process: subprocess.Popen, log: Path,
             limit: float = 900) -> None:
    """Poll until `condition()` holds; the limit only guards against a hang."""
    deadline = time.monotonic() + limit
    while not condition():
        assert process.poll() is None, f"{what}: the process ended\n{log.read_text()[-5000:]}"
        assert time.monotonic() < deadline, f"{what}: still waiting\n{log.read_text()[-5000:]}"
        time.sleep(2)


def stops_on_sigterm(process: subprocess.Popen, group: bool = False) -> bool:
    """SIGTERM to the process (or its whole process group): whether it ends."""
    def send(signum):
        if group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    send(signal.SIGTERM)
    try:
        process.wait(timeout=60)  # a bound against a hang, not a timing
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        return False
    return True


def copy_with_dagster_env(tmp_path: Path, dagster_bin: Path) -> Path:
    """A fresh copy of the project that shares the installed .venv-dagster,
    so the README's make targets run as written without installing it again."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=IGNORED, symlinks=True)
    (copy / ".venv-dagster").symlink_to(dagster_bin.parent)
    return copy


def test_make_orchestrate_serves_dagster_and_stops_on_sigterm(tmp_path, dagster_bin):
    """`make orchestrate` as the README writes it, on a fresh copy: the UI
    answers on DAGSTER_PORT, and the whole process group ends on SIGTERM."""
    copy = copy_with_dagster_env(tmp_path, dagster_bin)
    port = free_port()
    env = dagster_env(tmp_path / "dev", SAMPLE_DIR, DAGSTER_PORT=str(port),
                      HOME=str(tmp_path))
    del env["DAGSTER_HOME"]  # make orchestrate sets its own: local/dagster
    log = tmp_path / "orchestrate.log"
    with open(log, "w") as out:
        process = subprocess.Popen(["make", "orchestrate"], cwd=copy, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: answers(port), "the Dagster UI", process, log)
        finally:
            stopped = stops_on_sigterm(process, group=True)
    assert stopped, log.read_text()[-3000:]
    assert (copy / "local" / "dagster" / "dagster.yaml").is_file()
    assert (copy / "target" / "dagster" / "manifest.json").is_file()


def answers(port: int) -> bool:
    """Whether a Dagster webserver answers on the port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info",
                                    timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_a_production_deployment_runs_the_sensor_and_stops_on_sigterm(tmp_path, dagster_bin):
    """As docs/orchestration.md deploys it, on a fresh copy: the manifest
    prepared by dagster-dbt's prepare command (`make dagster-prepare`), then
    `dagster-daemon` and `dagster-webserver` on a Dagster home of their own.
    The daemon's landing sensor runs the job for the first batch, and again
    for a batch dropped later; the second run publishes what the lesson's
    pandas computes from both. Both processes end on SIGTERM."""
    copy = copy_with_dagster_env(tmp_path, dagster_bin)
    # The README's command as written.
    prepare = subprocess.run(
        ["make", "dagster-prepare"],
        cwd=copy, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=600)
    assert prepare.returncode == 0, prepare.stdout + prepare.stderr
    assert (copy / "target" / "dagster" / "manifest.json").is_file()

    delivered = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    landing = tmp_path / "landing"
    (landing / "transactions").mkdir(parents=True)
    half = len(delivered) // 2
    delivered.iloc[:half].to_parquet(landing / "transactions" / "batch_1.parquet", index=False)
    shutil.copy(SAMPLE_DIR / "user_profiles.parquet", landing)
    workdir = tmp_path / "deploy"
    env = dagster_env(workdir, landing, LANDING_SENSOR_SECONDS="5", HOME=str(tmp_path))
    output = workdir / "output"
    definitions = str(copy / DEFINITIONS)
    # The storage first, as the recipe says: the two processes share it.
    migrate = subprocess.run([str(dagster_bin / "dagster"), "instance", "migrate"],
                             cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    port = free_port()
    daemon_log, web_log = workdir / "daemon.log", workdir / "webserver.log"
    with open(daemon_log, "w") as daemon_out, open(web_log, "w") as web_out:
        daemon = subprocess.Popen(
            [str(dagster_bin / "dagster-daemon"), "run", "-f", definitions],
            cwd=tmp_path, env=env, stdout=daemon_out, stderr=subprocess.STDOUT)
        web = subprocess.Popen(
            [str(dagster_bin / "dagster-webserver"), "-f", definitions,
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path, env=env, stdout=web_out, stderr=subprocess.STDOUT)
        try:
            def runs() -> list[dict]:
                return history(output) if (output / "runs.jsonl").is_file() else []

            wait_for(lambda: len(runs()) >= 1, "the sensor's first run", daemon, daemon_log)
            delivered.iloc[half:].to_parquet(landing / "transactions" / "batch_2.parquet",
                                             index=False)
            wait_for(lambda: len(runs()) >= 2, "the run for the new batch", daemon, daemon_log)
            wait_for(lambda: answers(port), "the webserver", web, web_log)
        finally:
            daemon_stopped = stops_on_sigterm(daemon)
            web_stopped = stops_on_sigterm(web)
    assert daemon_stopped and web_stopped
    first, second = runs()[:2]
    assert first["published_sha256"] and second["published_sha256"]
    assert_frames_match(pd.read_parquet(output / "user_features.parquet"),
                        features_from_landing(landing))
