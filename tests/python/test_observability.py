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
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pandas as pd
import pytest

from conftest import PROJECT_ROOT, SAMPLE_DIR, generate, run_dbt

AFTER_RUN = PROJECT_ROOT / "scripts" / "after_run.py"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def after_run(run, env_extra: dict | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERT_")}
    env.update(env_extra or {})
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, str(AFTER_RUN), "--target-path", str(run.target_dir),
         "--database", str(run.output_dir.parent / "pipeline.duckdb")],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    return process, time.monotonic() - started


class Webhook:
    """A local HTTP server that records what it is sent."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
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
    assert all(len(m["compiled_sql_sha256"]) == 64 for m in lineage["transformations"]["models"])
    assert set(lineage["transformations"]["versions"]) == {"dbt-core", "dbt-duckdb", "duckdb"}
    assert lineage["checks"]["failed"] == 0 and lineage["checks"]["warned"] >= 3
    assert {"staging", "marts", "publish"} <= set(lineage["stages"])

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