#!/usr/bin/env python3
"""Run the pipeline once: `dbt build`, then the after-run step.

The one entry point behind `make build` and every scheduler (Dagster,
Airflow, Prefect): it runs `dbt build` (unit tests left out, as in
production), then scripts/after_run.py (report, run history, alert), even
when the build failed, and exits with dbt's code first, else the
after-run step's.

It can be started from any working directory: dbt runs in the project root,
and relative paths (landing, output, DUCKDB_PATH) are taken from the project
root, as `make build` and plain `dbt build` take them; they reach dbt as
absolute paths.

    python scripts/run_pipeline.py [--raw-data-dir DIR] [--output-dir DIR]
                                   [--full-refresh] [--bin-dir DIR]
                                   [--target spark]

With `--target spark` (profiles.yml; run it with .venv-spark's python) the
landing files are inspected before dbt starts and the tested export is
published after it (scripts/spark_target.py; docs/scaling.md).

The paths reach dbt through the environment (RAW_DATA_DIR, OUTPUT_DIR; the
options, when given, win over it), never as `--vars` text, which dbt would
render as a template: a path is taken literally, whatever its characters.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "plugins"))
from feature_pipeline_guard import acquire_run_lock  # noqa: E402
# On Spark, what the publish step published (scripts/spark_target.py), in
# SPARK_DIR beside the landing inspector's answer, landing.json.
PUBLISH_RECORD = "published.json"


def from_root(path: str | os.PathLike) -> Path:
    """An absolute path; a relative one is taken from the project root."""
    return Path(os.path.normpath(PROJECT_ROOT / Path(path).expanduser()))


def build_command(dbt: Path, full_refresh: bool,
                  target: str | None = None) -> list[str]:
    command = [str(dbt), "build", "--exclude-resource-type", "unit_test"]
    if target:
        command += ["--target", target]
    if full_refresh:
        command.append("--full-refresh")
    return command


def run(raw_data_dir: str | os.PathLike | None = None,
        output_dir: str | os.PathLike | None = None,
        full_refresh: bool = False,
        bin_dir: str | os.PathLike | None = None,
        target: str | None = None) -> int:
    """Build, then follow up; the exit code of the run as `make build` has it."""
    bin_dir = Path(bin_dir).absolute() if bin_dir else Path(sys.executable).parent
    env = dict(os.environ)
    for name, given in (("RAW_DATA_DIR", raw_data_dir), ("OUTPUT_DIR", output_dir)):
        if given or env.get(name):
            env[name] = str(from_root(given or env[name]))
        else:
            env.pop(name, None)  # empty: the default
    for name in ("DUCKDB_PATH", "DBT_TARGET_PATH"):
        if env.get(name):
            env[name] = str(from_root(env[name]))
    spark = target == "spark"
    if spark:
        env["SPARK_DIR"] = str(from_root(env.get("SPARK_DIR") or "local/spark"))

    # The follow-up is told when dbt was started, so it never takes an
    # earlier run's results for this one (dbt writes none when it stops
    # before any node). Whole seconds are enough: an earlier invocation
    # started at least a whole dbt run before.
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if spark:
        dbt_status = run_on_spark(bin_dir, full_refresh, env)
        # The report reads no database: Spark's tables are not DuckDB's.
        env["DUCKDB_PATH"] = ""
    else:
        dbt_status = subprocess.run(
            build_command(bin_dir / "dbt", full_refresh, target),
            cwd=PROJECT_ROOT, env=env).returncode
    after_run = [str(bin_dir / "python"), "scripts/after_run.py", "--since", since]
    if env.get("DBT_TARGET_PATH"):
        # dbt wrote its artifacts there: the follow-up reads them there.
        after_run += ["--target-path", env["DBT_TARGET_PATH"]]
    after_status = subprocess.run(after_run, cwd=PROJECT_ROOT, env=env).returncode
    return dbt_status or after_status


def run_on_spark(bin_dir: Path, full_refresh: bool, env: dict) -> int:
    """Inspect the landing files, build on Spark, publish the export:
    one run at a time per SPARK_DIR (its catalog admits one process)."""
    spark_dir = Path(env["SPARK_DIR"])
    try:
        # The same lock as a DuckDB run's, on the folder.
        acquire_run_lock(str(spark_dir), held="the Spark folder", setting="SPARK_DIR",
                         other="folder")
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    spark_dir.mkdir(parents=True, exist_ok=True)
    return run_spark_steps(bin_dir, full_refresh, env, spark_dir)


def run_spark_steps(bin_dir: Path, full_refresh: bool, env: dict,
                    spark_dir: Path) -> int:
    raw_data_dir = env.get("RAW_DATA_DIR") or str(PROJECT_ROOT / "data" / "raw")
    output_dir = env.get("OUTPUT_DIR") or str(PROJECT_ROOT / "output")
    answer = spark_dir / "landing.json"
    # This run's record of what it published: none until it publishes.
    (spark_dir / PUBLISH_RECORD).unlink(missing_ok=True)
    step = [str(bin_dir / "python"), "scripts/spark_target.py"]
    status = subprocess.run(step + ["inspect", "--raw-data-dir", raw_data_dir,
                                    "--answer", str(answer)],
                            cwd=PROJECT_ROOT, env=env).returncode
    if status:
        return status
    # The landing_plan model reads the answer from the file (its names stay data,
    # never text dbt renders).
    status = subprocess.run(
        build_command(bin_dir / "dbt", full_refresh, "spark"),
        cwd=PROJECT_ROOT, env={**env, "SPARK_LANDING_FILE": str(answer)}).returncode
    if status:
        print(f"Nothing was published: the files in {output_dir} are unchanged.")
        return status
    return subprocess.run(
        step + ["publish", "--spark-dir", str(spark_dir), "--output-dir", output_dir,
                "--raw-data-dir", raw_data_dir,
                "--target-path", env.get("DBT_TARGET_PATH") or str(PROJECT_ROOT / "target"),
                "--record", str(spark_dir / PUBLISH_RECORD)],
        cwd=PROJECT_ROOT, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-data-dir", help="landing directory (default: the dbt var raw_data_dir)")
    parser.add_argument("--output-dir", help="where to publish (default: the dbt var output_dir)")
    parser.add_argument("--full-refresh", action="store_true",
                        help="rebuild the staging history from every landing file")
    parser.add_argument("--bin-dir", help="the environment whose dbt and python run "
                                          "the pipeline (default: this interpreter's)")
    parser.add_argument("--target", help="the profiles.yml target (default: dev, "
                                         "DuckDB; spark: docs/scaling.md)")
    args = parser.parse_args(argv)
    return run(args.raw_data_dir, args.output_dir, args.full_refresh, args.bin_dir,
               args.target)


if __name__ == "__main__":
    sys.exit(main())
