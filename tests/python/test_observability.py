"""Lineage files, run history and alerts, on real runs."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from conftest import DBT, PROJECT_ROOT, SAMPLE_DIR, generate, run_dbt

AFTER_RUN = PROJECT_ROOT / "scripts" / "after_run.py"
REPORT = PROJECT_ROOT / "scripts" / "validation_report.py"
STOPPED = "dbt stopped before running any node; no results for this run"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def after_run(run, env_extra: dict | None = None, *args: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERT_")}
    env.update(env_extra or {})
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, str(AFTER_RUN), "--target-path", str(run.target_dir),
         "--database", str(run.output_dir.parent / "pipeline.duckdb"), *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    return process, time.monotonic() - started


class Webhook:
    """A local HTTP server that records what it is sent."""

    def __init__(self):
        received = self.received = []
        authorizations = self.authorizations = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                authorizations.append(self.headers.get("Authorization"))
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    """A run whose output check fails: an age of 150."""
    workdir = tmp_path_factory.mktemp("failing")
    landing = generate(workdir / "landing", "--seed", "4", "--rows", "3000",
                       "--users", "200")
    profiles = pd.read_parquet(landing / "user_profiles.parquet")
    profiles.loc[profiles.index[0], "age"] = 150
    profiles.to_parquet(landing / "user_profiles.parquet", index=False)
    run = run_dbt(workdir / "run", landing)
    assert run.returncode != 0
    return run


def test_lineage_file_matches_the_raw_files_and_the_published_file(sample_run):
    # The publish step wrote the lineage; the after-run step adds the run
    # history, which names the same run.
    process, _ = after_run(sample_run)
    assert process.returncode == 0, process.stderr
    output = sample_run.output_dir
    lineage = json.loads((output / "user_features.lineage.json").read_text())

    inputs = {i["path"]: i for i in lineage["inputs"]}
    assert set(inputs) == {"transactions.parquet", "user_profiles.parquet"}
    for name, described in inputs.items():
        path = SAMPLE_DIR / name
        assert described["sha256"] == sha256(path)
        assert described["size_bytes"] == path.stat().st_size
        assert described["rows"] == len(pd.read_parquet(path))
    raw = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    assert inputs["transactions.parquet"]["min_timestamp"] == raw["timestamp"].min().isoformat()
    assert inputs["transactions.parquet"]["max_timestamp"] == raw["timestamp"].max().isoformat()

    published = output / "user_features.parquet"
    assert lineage["output"]["sha256"] == sha256(published)
    assert lineage["output"]["rows"] == len(pd.read_parquet(published))
    assert [c["name"] for c in lineage["output"]["columns"]][0] == "user_id"
    assert lineage["output"]["features"]["age"]["nulls"] == 0
    assert lineage["run_id"] == json.loads(
        (sample_run.target_dir / "run_results.json").read_text())["metadata"]["invocation_id"]
    models = [m["model"] for m in lineage["transformations"]["models"]]
    assert models[0] == "stg_transaction_deliveries" and models[-1] == "publish_user_features"
    assert all(len(m["code_sha256"]) == 64 for m in lineage["transformations"]["models"])
    assert set(lineage["transformations"]["versions"]) == {"dbt-core", "dbt-duckdb", "duckdb"}

    history = next((output / "history").glob("as_of_date=*/user_features.lineage.json"))
    dated = json.loads(history.read_text())
    assert dated["output"]["sha256"] == sha256(history.with_name("user_features.parquet"))

    runs = [json.loads(line) for line in (output / "runs.jsonl").read_text().splitlines()]
    assert runs[-1]["run_id"] == lineage["run_id"]
    assert runs[-1]["status"] == "passed_with_warnings"
    assert runs[-1]["rows_in"] == 50_100 and runs[-1]["rows_out"] == lineage["output"]["rows"]
    assert runs[-1]["published_sha256"] == sha256(published)
    assert "no alert" not in process.stderr  # a run that passed wants no alert


def test_failing_check_is_alerted_to_the_webhook(failing_run):
    webhook = Webhook()
    try:
        process, _ = after_run(failing_run, {"ALERT_WEBHOOK_URL": webhook.url})
    finally:
        webhook.close()
    assert process.returncode == 0, process.stderr
    assert len(webhook.received) == 1
    payload = webhook.received[0]
    assert "blocks" in payload and "failed" in payload["text"]
    body = json.dumps(payload)
    assert "expect_column_values_to_be_between_user_features_age" in body
    assert "1 rows" in body
    assert "validation_report.md" in body
    assert "secret-token" not in process.stdout + process.stderr
    runs = (failing_run.output_dir / "runs.jsonl").read_text().splitlines()
    assert json.loads(runs[-1])["status"] == "failed"
    assert json.loads(runs[-1])["published_sha256"] is None


def test_a_webhook_that_never_answers_is_tried_a_bounded_number_of_times(failing_run):
    quiet, _ = after_run(failing_run)
    assert quiet.returncode == 0
    assert quiet.stderr.count("no alert sent: ALERT_WEBHOOK_URL is not set") == 1

    # A server that accepts connections and never answers: each attempt
    # ends at ALERT_TIMEOUT_SECONDS, and there are ALERT_RETRIES + 1 of them.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = {"ALERT_WEBHOOK_URL": f"http://127.0.0.1:{port}/hooks/secret-token",
                    "ALERT_TIMEOUT_SECONDS": "1", "ALERT_RETRIES": "2"}
        down, _ = after_run(failing_run, settings)
    assert down.returncode == quiet.returncode == 0
    assert [f"attempt {n} of 3" in down.stderr for n in (1, 2, 3)] == [True] * 3
    assert "attempt 4" not in down.stderr
    assert "could not be delivered" in down.stderr
    assert "secret-token" not in down.stdout + down.stderr


@pytest.mark.parametrize("url, shown", [
    ("hooks.example.com/services/T0/secret-token", "hooks.example.com/…"),
    ("https://hooks.example.com/services/T0 secret-token", "https://hooks.example.com/…"),
    ("https://hooks.example.com:port/services/secret-token", "https://hooks.example.com/…"),
    ("secret-token", "…"),
])
def test_a_malformed_webhook_url_is_one_masked_sentence(failing_run, url, shown):
    process, _ = after_run(failing_run, {"ALERT_WEBHOOK_URL": url})
    said = process.stdout + process.stderr
    assert process.returncode == 0, said
    assert "Traceback" not in said
    assert f"ALERT_WEBHOOK_URL is not a valid http(s) URL: {shown} (" in said, said
    assert "secret-token" not in said


def test_a_webhook_url_with_user_info_is_sent_with_basic_auth_and_masked(failing_run):
    webhook = Webhook()
    try:
        url = webhook.url.replace("http://", "http://alerts:S3cr3t@")
        process, _ = after_run(failing_run, {"ALERT_WEBHOOK_URL": url})
    finally:
        webhook.close()
    said = process.stdout + process.stderr
    assert process.returncode == 0, said
    assert len(webhook.received) == 1
    assert webhook.authorizations == ["Basic YWxlcnRzOlMzY3IzdA=="]  # alerts:S3cr3t
    assert "alert sent to http://127.0.0.1/…" in said
    # A server that is down: the failure is told without the password.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    down, _ = after_run(failing_run, {
        "ALERT_WEBHOOK_URL": f"http://alerts:S3cr3t@127.0.0.1:{port}/hooks/secret-token",
        "ALERT_RETRIES": "0", "ALERT_TIMEOUT_SECONDS": "1"})
    said = down.stdout + down.stderr
    assert "could not be delivered" in said
    assert "S3cr3t" not in said and "secret-token" not in said and "alerts" not in said


@pytest.mark.parametrize("setting, value, sentence", [
    ("ALERT_TIMEOUT_SECONDS", "2s", "ALERT_TIMEOUT_SECONDS is '2s': give a number of seconds"),
    ("ALERT_RETRIES", "two", "ALERT_RETRIES is 'two': give a whole number of retries"),
])
def test_a_malformed_alert_setting_is_one_sentence_and_the_run_is_still_recorded(
        failing_run, setting, value, sentence):
    webhook = Webhook()
    runs = failing_run.output_dir / "runs.jsonl"
    before = len(runs.read_text().splitlines()) if runs.exists() else 0
    try:
        process, _ = after_run(failing_run, {"ALERT_WEBHOOK_URL": webhook.url,
                                             setting: value})
    finally:
        webhook.close()
    said = process.stdout + process.stderr
    assert process.returncode != 0
    assert sentence in said and "Traceback" not in said, said[-2000:]
    assert webhook.received == []
    assert len(runs.read_text().splitlines()) == before + 1


def test_a_run_record_planted_as_a_link_is_not_written_through(failing_run, tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    runs = failing_run.output_dir / "runs.jsonl"
    kept = runs.read_bytes() if runs.exists() else None
    runs.unlink(missing_ok=True)
    runs.symlink_to(elsewhere)
    try:
        process, _ = after_run(failing_run)
    finally:
        runs.unlink()
        if kept is not None:
            runs.write_bytes(kept)
    said = process.stdout + process.stderr
    assert process.returncode != 0
    assert "runs.jsonl is a symbolic link; the pipeline writes no file through a link" \
        in said, said[-2000:]
    assert elsewhere.read_text() == "keep me\n"


def test_an_alert_counts_failed_warned_and_skipped_checks_apart(failing_run):
    webhook = Webhook()
    try:
        after_run(failing_run, {"ALERT_WEBHOOK_URL": webhook.url})
    finally:
        webhook.close()
    text = webhook.received[0]["text"]
    results = json.loads((failing_run.target_dir / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    counted = {status: sum(r["status"] == status for r in tests)
               for status in ("fail", "warn", "skipped")}
    assert counted["fail"] == 1 and counted["skipped"] > 0
    assert (f"{counted['fail']} failed, {counted['warn']} warned, "
            f"{counted['skipped']} skipped") in text, text

# ------------------------------------------- a run that left no results

def test_a_run_that_stops_before_any_node_is_a_failure_not_the_last_pass(tmp_path):
    good = run_dbt(tmp_path / "run", SAMPLE_DIR)
    assert good.returncode == 0, good.output
    process, _ = after_run(good)
    assert process.returncode == 0, process.stderr
    results = good.target_dir / "run_results.json"
    earlier = results.read_text()

    # As `make build` does: note when dbt starts, give the follow-up that
    # time and the vars dbt was given.
    since = datetime.now(timezone.utc).isoformat()
    # A setting dbt-duckdb refuses before it opens the database: no node runs.
    stopped = run_dbt(tmp_path / "run", SAMPLE_DIR,
                      extra_env={"DUCKDB_MEMORY_LIMIT": "lots"})
    assert stopped.returncode != 0
    assert results.read_text() == earlier  # dbt left the last run's results
    webhook = Webhook()
    try:
        process, _ = after_run(
            stopped, {"ALERT_WEBHOOK_URL": webhook.url}, "--since", since,
            "--vars", json.dumps({"output_dir": str(stopped.output_dir)}))
    finally:
        webhook.close()

    assert process.returncode != 0
    report = (stopped.output_dir / "validation_report.md").read_text()
    assert report.startswith("# Validation report ❌"), report
    assert STOPPED in report and "PASSED" not in report
    assert "PASSED" not in (stopped.output_dir / "validation_report.html").read_text()
    runs = [json.loads(line) for line in
            (stopped.output_dir / "runs.jsonl").read_text().splitlines()]
    assert [run["status"] for run in runs] == ["passed_with_warnings", "failed"]
    assert runs[-1]["published_sha256"] is None and runs[-1]["rows_out"] is None
    assert runs[-1]["run_id"] != runs[0]["run_id"]
    assert len(webhook.received) == 1
    assert STOPPED in webhook.received[0]["text"]


@pytest.mark.parametrize("dbt_status, after_run_status, build_fails", [
    (0, 0, False), (1, 0, True), (0, 1, True), (1, 1, True)])
def test_make_build_fails_when_dbt_or_the_follow_up_failed(
        tmp_path, dbt_status, after_run_status, build_fails):
    # Stand-ins for dbt and the follow-up's Python: the exit codes are what
    # is tested here. The entry point itself runs on the real interpreter.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, status in (("dbt", dbt_status), ("python", after_run_status)):
        script = bin_dir / name
        entry_point = (f'[ "$1" = scripts/run_pipeline.py ] && exec {sys.executable} "$@"\n'
                       if name == "python" else "")
        script.write_text(f'#!/bin/sh\n{entry_point}echo "$@" >> {tmp_path / name}.args\n'
                          f"exit {status}\n")
        script.chmod(0o755)
    (tmp_path / ".ready").touch()  # the stand-in venv needs no setup
    process = subprocess.run(
        ["make", "--no-print-directory", "build", f"VENV={tmp_path}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert (process.returncode != 0) == build_fails, process.stdout + process.stderr
    follow_up = (tmp_path / "python.args").read_text().split()
    assert follow_up[:2] == ["scripts/after_run.py", "--since"]
    assert datetime.fromisoformat(follow_up[2].replace("Z", "+00:00")).tzinfo
    assert (tmp_path / "dbt.args").read_text().split()[:2] == ["build", "--exclude-resource-type"]


# ------------------------------------------ the report of a partial run

def test_the_report_refuses_a_partial_invocation_and_keeps_the_last_report(tmp_path):
    build = run_dbt(tmp_path / "run", SAMPLE_DIR)
    assert build.returncode == 0, build.output
    command = [sys.executable, str(REPORT), "--target-path", str(build.target_dir),
               "--database", str(tmp_path / "run" / "pipeline.duckdb")]
    assert subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True,
                          timeout=300).returncode == 0
    report = build.output_dir / "validation_report.md"
    full_report = report.read_text()

    partial = run_dbt(tmp_path / "run", SAMPLE_DIR, command="test",
                      extra_args=("--select", "stg_transactions"))
    assert partial.returncode == 0, partial.output
    refused = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "`dbt test --select stg_transactions`, not a full `dbt build`" in said, said
    assert len(said.strip().splitlines()) == 1
    assert report.read_text() == full_report


# ---------------------------------------------- a text feature, end to end

IGNORED = shutil.ignore_patterns(
    ".venv*", "local", "target", "logs", "output", "*.duckdb", "*.duckdb.wal", ".git",
    ".pytest_cache", "__pycache__", ".duckdb_tmp", ".bench")
TEXT_FEATURE_VALUES = {"x0", "x1", "x2"}


def add_text_feature(project: Path) -> None:
    """Add a VARCHAR feature, favorite_category, to user_features in a copy
    of the project: to the final select of the model (before `age`) and to
    its contract. The one place to adapt when the mart changes shape."""
    model = project / "models" / "marts" / "user_features.sql"
    anchor = "user_profiles.age,"
    sql = model.read_text()
    assert sql.count(anchor) == 1, "user_features.sql changed shape"
    model.write_text(sql.replace(
        anchor, "'x' || cast(per_user.user_id % 3 as varchar)"
                " as favorite_category,\n        " + anchor))

    properties = project / "models" / "marts" / "user_features.yml"
    document = yaml.safe_load(properties.read_text())
    mart = next(m for m in document["models"] if m["name"] == "user_features")
    names = [column["name"] for column in mart["columns"]]
    mart["columns"].insert(names.index("age"), {
        "name": "favorite_category", "data_type": "varchar",
        "description": "A category-like text feature."})
    for test in mart["data_tests"]:
        if isinstance(test, dict) and "expect_table_columns_to_match_ordered_list" in test:
            ordered = test["expect_table_columns_to_match_ordered_list"]["arguments"]["column_list"]
            ordered.insert(ordered.index("age"), "favorite_category")
    properties.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


@pytest.fixture(scope="module")
def text_feature_project(tmp_path_factory):
    """A copy of the project with a text feature, built twice with `make
    build` (the second run has a baseline), then once with a plain `dbt
    build`; the lineage file of the first run is kept."""
    project = tmp_path_factory.mktemp("text_feature") / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=IGNORED)
    add_text_feature(project)
    # Reuse the project's .venv; an old lock file keeps `setup` a no-op.
    os.utime(project / "requirements.lock", (0, 0))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ALERT_") and k not in ("RAW_DATA_DIR", "OUTPUT_DIR")}
    env.update({"DUCKDB_PATH": str(project / "feature_pipeline.duckdb"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=project, env=env, capture_output=True,
                              text=True, timeout=900)

    make_build = ("make", "--no-print-directory", "build", f"VENV={PROJECT_ROOT / '.venv'}")
    first = run(*make_build)
    lineage = project / "output" / "user_features.lineage.json"
    first_lineage = json.loads(lineage.read_text()) if lineage.is_file() else None
    second = run(*make_build)
    plain = run(str(DBT), "build")
    return project, first, first_lineage, second, plain


def test_a_text_feature_is_described_by_its_most_frequent_values(text_feature_project):
    project, first, lineage, second, _ = text_feature_project
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Traceback" not in first.stderr + second.stderr
    features = lineage["output"]["features"]
    described = features["favorite_category"]
    assert described["nulls"] == 0 and described["distinct"] == 3
    assert {top["value"] for top in described["top_values"]} == TEXT_FEATURE_VALUES
    assert sum(top["count"] for top in described["top_values"]) == lineage["output"]["rows"]
    assert {"min", "max", "mean"} <= set(features["age"])
    assert {"min", "max", "mean"} <= set(features["region_EU"])

    html = (project / "output" / "validation_report.html").read_text()
    card = html[html.index("<b>favorite_category</b>"):]
    card = card[:card.index("</div>")]
    assert all(f">{value}</text>" in card for value in TEXT_FEATURE_VALUES), card


def test_a_text_feature_is_compared_category_by_category(text_feature_project):
    project, _, _, second, _ = text_feature_project
    assert second.returncode == 0, second.stdout + second.stderr
    database = duckdb.connect(str(project / "feature_pipeline.duckdb"), read_only=True)
    try:
        drift = {feature: (order, psi, reading) for feature, order, psi, reading in
                 database.sql("select feature, feature_order, psi, drift "
                              "from feature_drift").fetchall()}
        labels = database.sql(
            "select feature_kind, list(bin_label order by bin_index) "
            "from feature_drift_bins where feature = 'favorite_category' "
            "group by all").fetchall()
    finally:
        database.close()
    # Same data as the baseline: no drift, and a PSI to say so.
    assert drift["favorite_category"][1:] == (0, "none")
    assert drift["favorite_category"][0] == drift["age"][0] - 1
    assert labels == [("categorical", sorted(TEXT_FEATURE_VALUES))]
    assert drift["region"][1:] == (0, "none")


def test_make_build_and_a_plain_dbt_build_share_the_parsed_project(text_feature_project):
    _, _, _, second, plain = text_feature_project
    assert second.returncode == 0, second.stdout + second.stderr
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "Unable to do partial parsing" not in plain.stdout, plain.stdout
