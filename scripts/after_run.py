#!/usr/bin/env python3
"""Everything that follows a `dbt build`: report, run history, alert.

`make build` runs it after every build, failed ones included, with
`--since` (when dbt was started) so that artifacts of an earlier run are
never taken for this one; after a plain `dbt build`, run it yourself
(`python scripts/after_run.py`). It reads dbt's artifacts (through
scripts/run_results.py) and the run's database and:

1. writes the validation report (scripts/validation_report.py);
2. appends one line to `<output_dir>/runs.jsonl`;
3. sends an alert to the webhook in ALERT_WEBHOOK_URL when the run failed
   (or warned, with ALERT_ON_WARNINGS=true).

It exits with 0 when it described the run, failed or not; with 1 when there
is nothing to describe (no artifacts, or the last invocation was not a full
`dbt build`) or when dbt stopped before running any node (no results newer
than `--since`: reported, recorded and alerted as a failed run). A slow or
broken webhook costs at most ALERT_TIMEOUT_SECONDS per attempt
(ALERT_RETRIES retries) and never changes the exit code.
"""
from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import validation_report  # noqa: E402
from run_results import (PROJECT_ROOT, STOPPED, RunResults, layer_of,  # noqa: E402
                         parse_time)

log = logging.getLogger("after_run")
STAGE_FOLDERS = ["staging", "intermediate", "marts", "monitoring", "publish"]


# ------------------------------------------------------------------ helpers



def masked(url: str) -> str:
    """A webhook URL is a secret (its path and query carry the token): show
    only the scheme and host, or "…" when no host can be told apart."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return "…"
    if parts.scheme and host:
        return f"{parts.scheme}://{host}/…"
    # No scheme ("hooks.example.com/T0/B0/x"): the part before the first
    # slash, if it looks like a host name.
    first, slash, _ = url.strip().partition("/")
    if slash and re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[^/]*)?", first):
        return f"{first.split(':')[0]}/…"
    return "…"


def webhook_problem(url: str) -> str | None:
    """Why a webhook URL cannot be used, or None when it can."""
    if any(character.isspace() or ord(character) < 32 for character in url):
        return "it contains a space or control character"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "its port is not a number"
    if parts.scheme not in ("http", "https"):
        return "it does not start with http:// or https://"
    if not parts.hostname:
        return "it names no host"
    return None


def without_secret(text: str, url: str) -> str:
    """An error message with every piece of the URL past its host masked,
    and its user info (`user:password@`) too."""
    parts = urllib.parse.urlsplit(url)
    secrets = [url, parts.path + ("?" + parts.query if parts.query else ""),
               parts.path, parts.query, parts.netloc if "@" in parts.netloc else "",
               parts.netloc.rpartition("@")[0], parts.password or "",
               parts.username or ""]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        if len(secret) > 1:
            text = text.replace(secret, "…")
    return text




# ----------------------------------------------------------------- run facts

class Run(RunResults):
    """The invocation being followed up: its artifacts and its database."""

    def __init__(self, target: Path, database_path: str,
                 since: datetime | None, given_vars: str | None):
        super().__init__(target, since, given_vars)
        self.database_path = database_path
        self.since = since
        self.output_dir = Path(self.vars["output_dir"])
        self.raw_dir = Path(self.vars["raw_data_dir"])

    def times(self) -> dict:
        if self.stopped:
            # dbt left no trace of its start: from when it was started
            # until now, when it is known to have stopped.
            return {"start": self.since.isoformat(),
                    "end": datetime.now(timezone.utc).isoformat()}
        started = parse_time(self.results["metadata"].get("invocation_started_at"))
        ended = parse_time(self.results["metadata"]["generated_at"])
        if started is None:
            started = ended
            for result in self.node_results:
                for timing in result.get("timing", []):
                    start = parse_time(timing.get("started_at"))
                    if start and start < started:
                        started = start
        stages = {}
        for result in self.node_results:
            node = self.node(result["unique_id"])
            if not node or node["resource_type"] != "model":
                continue
            folder = layer_of(node)
            for timing in result.get("timing", []):
                start, end = (parse_time(timing.get("started_at")),
                              parse_time(timing.get("completed_at")))
                if not start or not end:
                    continue
                stage = stages.setdefault(folder, [start, end])
                stage[0], stage[1] = min(stage[0], start), max(stage[1], end)
        return {
            "start": started.isoformat(),
            "end": ended.isoformat(),
            "duration_seconds": round((ended - started).total_seconds(), 3),
            "stages": {folder: {"start": s.isoformat(), "end": e.isoformat(),
                                "duration_seconds": round((e - s).total_seconds(), 3)}
                       for folder, (s, e) in sorted(
                           stages.items(),
                           key=lambda item: STAGE_FOLDERS.index(item[0])
                           if item[0] in STAGE_FOLDERS else 99)},
        }

    @property
    def on_spark(self) -> bool:
        return self.args.get("target") == "spark"

    def spark_file(self, name: str) -> dict | None:
        """A JSON file a Spark run leaves in SPARK_DIR (scripts/run_pipeline.py):
        landing.json (what it read), published.json (what it published)."""
        spark_dir = Path(os.environ.get("SPARK_DIR") or "local/spark")
        path = (spark_dir if spark_dir.is_absolute() else PROJECT_ROOT / spark_dir) / name
        return json.loads(path.read_text()) if path.is_file() else None

    @property
    def published(self) -> bool:
        """The publish step ran and wrote the files (on DuckDB publish_gate
        may have refused the invocation: then it wrote nothing)."""
        if self.on_spark:
            return not self.stopped and self.spark_file("published.json") is not None
        if not super().published:
            return False
        record = self.query("select is_published from main.publish_user_features")
        return bool(record and record[0][0])

    def counts(self) -> tuple:
        """Transaction rows read, rows published and the published file's
        SHA-256 (None when unknown or nothing was published)."""
        if self.on_spark:
            landing = None if self.stopped else self.spark_file("landing.json")
            record = self.spark_file("published.json") if self.published else {}
            rows_in = sum(file["rows"] for file in landing["datasets"]["transactions"]
                          ["files"]) if landing else None
            return rows_in, record.get("row_count"), record.get("sha256")
        raw_rows = self.query("select sum(row_count) from main.landing_plan "
                              "where dataset = 'transactions'")
        out = self.query("select row_count, sha256 from main.publish_user_features")
        out = out[0] if (out and self.published) else (None, None)
        return (raw_rows[0][0] if raw_rows else None), *out

    def query(self, sql: str):
        if self.stopped:
            return None  # the database holds an earlier run
        try:
            database = duckdb.connect(self.database_path, read_only=True)
        except duckdb.Error:
            return None
        try:
            return database.sql(sql).fetchall()
        except duckdb.Error:
            return None
        finally:
            database.close()


# -------------------------------------------------------------- run history

def append_history(run: Run) -> Path:
    rows_in, rows_out, published_sha256 = run.counts()
    times = run.times()
    checks = run.checks()
    line = {
        "run_id": run.run_id,
        "start": times["start"],
        "end": times["end"],
        "status": run.status,
        "rows_in": rows_in,
        "rows_out": rows_out,
        "checks": {k: checks[k] for k in ("passed", "warned", "failed", "skipped")},
        "not_passed": [c["check"] for c in checks["not_passed"]],
        "published_sha256": published_sha256,
    }
    if run.stopped:
        line["error"] = STOPPED
    run.output_dir.mkdir(parents=True, exist_ok=True)
    path = run.output_dir / "runs.jsonl"
    with open(path, "a") as handle:
        handle.write(json.dumps(line) + "\n")
    return path


# ------------------------------------------------------------------- alerts

def alert_payload(run: Run, report_path: Path) -> dict:
    checks = run.checks()
    mark = {"failed": ":x:", "passed_with_warnings": ":warning:"}.get(run.status, ":white_check_mark:")
    headline = f"{mark} feature pipeline run {run.status.replace('_', ' ')} ({run.run_id})"
    bad = [c for c in checks["not_passed"] if c["status"] != "warn"]
    warned = [c for c in checks["not_passed"] if c["status"] == "warn"]
    summary = (f"{headline}: {len(bad)} failed, {len(warned)} warned, "
               f"{checks['skipped']} skipped")
    if run.stopped:
        headline = summary = f":x: feature pipeline run failed: {STOPPED}"

    def bullet(items):
        return "\n".join(f"• `{c['check']}`: {c['status']}"
                         + (f", {c['failures']} rows" if c["failures"] is not None else "")
                         for c in items[:20]) or "none"

    return {
        "text": f"{summary}. Report: {report_path}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"*Failed ({len(bad)})*\n{bullet(bad)}"}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"*Warned ({len(warned)})*\n{bullet(warned)}"}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"run `{run.run_id}` · report `{report_path}`"}]},
        ],
    }


def with_basic_auth(url: str) -> tuple[str, dict]:
    """A URL with user info (`https://user:password@host/…`) is sent to the
    URL without it, the user info as HTTP basic authentication."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}
    credentials = f"{urllib.parse.unquote(parts.username or '')}:" \
                  f"{urllib.parse.unquote(parts.password or '')}"
    host = parts.netloc.rpartition("@")[2]
    token = base64.b64encode(credentials.encode()).decode()
    return (urllib.parse.urlunsplit(parts._replace(netloc=host)),
            {"Authorization": f"Basic {token}"})


def send_alert(url: str, payload: dict, timeout: float, retries: int) -> bool:
    body = json.dumps(payload).encode()
    target, auth = with_basic_auth(url)
    for attempt in range(retries + 1):
        try:
            request = urllib.request.Request(
                target, data=body,
                headers={"Content-Type": "application/json", **auth})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if 200 <= response.status < 300:
                    return True
                problem = f"HTTP {response.status}"
        except Exception as error:  # noqa: BLE001 (an alert never stops the run)
            problem = without_secret(str(getattr(error, "reason", error)), url)
        log.warning("alert to %s failed (attempt %d of %d): %s",
                    masked(url), attempt + 1, retries + 1, problem)
        if attempt < retries:
            time.sleep(min(0.5 * 2 ** attempt, 2.0))
    return False


class SettingError(Exception):
    """A malformed setting; the message names it, in one sentence."""


def alert_settings() -> tuple[float, int]:
    """ALERT_TIMEOUT_SECONDS and ALERT_RETRIES, checked."""
    timeout = os.environ.get("ALERT_TIMEOUT_SECONDS", "2").strip()
    retries = os.environ.get("ALERT_RETRIES", "2").strip()
    if not re.fullmatch(r"\d+(\.\d+)?", timeout) or not 0 < float(timeout) <= 300:
        raise SettingError(f"ALERT_TIMEOUT_SECONDS is {timeout!r}: give a number of "
                           "seconds from 0.1 to 300, such as 2; no alert sent.")
    if not re.fullmatch(r"\d{1,2}", retries):
        raise SettingError(f"ALERT_RETRIES is {retries!r}: give a whole number of "
                           "retries from 0 to 99, such as 2; no alert sent.")
    return float(timeout), int(retries)


def maybe_alert(run: Run, report_path: Path) -> None:
    url = os.environ.get("ALERT_WEBHOOK_URL", "").strip()
    on_warnings = os.environ.get("ALERT_ON_WARNINGS", "false").lower() in ("1", "true", "yes")
    wanted = run.status == "failed" or (on_warnings and run.status == "passed_with_warnings")
    if not wanted:
        return
    if not url:
        log.info("no alert sent: ALERT_WEBHOOK_URL is not set")
        return
    problem = webhook_problem(url)
    if problem:
        log.warning("ALERT_WEBHOOK_URL is not a valid http(s) URL: %s (%s); "
                    "no alert sent", masked(url), problem)
        return
    timeout, retries = alert_settings()
    if send_alert(url, alert_payload(run, report_path), timeout, retries):
        log.info("alert sent to %s", masked(url))
    else:
        log.warning("alert to %s could not be delivered; the run's outcome "
                    "is unchanged", masked(url))


# --------------------------------------------------------------------- main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-path", type=Path, default=Path("target"))
    parser.add_argument("--database", default=os.environ.get(
        "DUCKDB_PATH", "feature_pipeline.duckdb"))
    parser.add_argument("--since", type=parse_time, default=None,
                        help="UTC ISO time dbt was started at: results of an "
                             "earlier invocation are not this run's")
    parser.add_argument("--full-report", action="store_true",
                        help="print the whole validation report, not its summary "
                             "(the files always hold all of it)")
    parser.add_argument("--vars", default=None,
                        help="the --vars given to dbt (YAML), for a run "
                             "that left no results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="after_run: %(message)s")

    run = Run(args.target_path, args.database, args.since, args.vars)
    if run.stopped:
        log.error("%s (%s)", STOPPED, args.target_path / "run_results.json")
    elif run.results is None:
        log.error("no dbt run to follow up: %s has no run_results.json",
                  args.target_path)
        return 1
    elif not (run.is_full_build or run.published):
        # A selection that published (it built and checked everything the
        # features depend on) is recorded like a full build.
        log.error("the last dbt invocation in %s was `%s`, not a full "
                  "`dbt build` and published nothing: nothing to follow up",
                  args.target_path,
                  run.invocation)
        return 1
    try:
        for name in ("runs.jsonl", "validation_report.md", "validation_report.html"):
            if (run.output_dir / name).is_symlink():
                raise SettingError(f"{run.output_dir / name} is a symbolic link; the "
                                   "pipeline writes no file through a link: remove it.")
        report_path = validation_report.write_report(
            run, args.database, run.output_dir, full=args.full_report)
        history = append_history(run)
    except OSError as error:
        log.error("OUTPUT_DIR: %s cannot be written (%s): no report or run record "
                  "was written.", error.filename or run.output_dir, error.strerror)
        return 1
    except SettingError as error:
        log.error("%s", error)
        return 1
    log.info("run recorded in %s", history)
    try:
        maybe_alert(run, report_path)
    except SettingError as error:
        log.error("%s", error)
        return 1
    return 1 if run.stopped else 0


if __name__ == "__main__":
    sys.exit(main())
