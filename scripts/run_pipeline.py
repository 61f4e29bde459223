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

Only the paths given become `--vars`, so a run with none shares its parse
state with a plain `dbt build`.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def from_root(path: str | os.PathLike) -> Path:
    """An absolute path; a relative one is taken from the project root."""
    return Path(os.path.normpath(PROJECT_ROOT / Path(path).expanduser()))


def build_command(dbt: Path, given_vars: dict, full_refresh: bool) -> list[str]:
    command = [str(dbt), "build", "--exclude-resource-type", "unit_test"]
    if given_vars:
        command += ["--vars", json.dumps(given_vars)]
    if full_refresh:
        command.append("--full-refresh")
    return command


def run(raw_data_dir: str | os.PathLike | None = None,
        output_dir: str | os.PathLike | None = None,
        full_refresh: bool = False,
        bin_dir: str | os.PathLike | None = None) -> int:
    """Build, then follow up; the exit code of the run as `make build` has it."""
    bin_dir = Path(bin_dir).absolute() if bin_dir else Path(sys.executable).parent
    given_vars = {name: str(from_root(value)) for name, value in
                  (("raw_data_dir", raw_data_dir), ("output_dir", output_dir))
                  if value}
    env = dict(os.environ)
    if env.get("DUCKDB_PATH"):
        env["DUCKDB_PATH"] = str(from_root(env["DUCKDB_PATH"]))

    # The follow-up is told when dbt was started, so it never takes an
    # earlier run's results for this one (dbt writes none when it stops
    # before any node). Whole seconds are enough: an earlier invocation
    # started at least a whole dbt run before.
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    dbt_status = subprocess.run(
        build_command(bin_dir / "dbt", given_vars, full_refresh),
        cwd=PROJECT_ROOT, env=env).returncode
    after_run = [str(bin_dir / "python"), "scripts/after_run.py", "--since", since]
    if given_vars:
        after_run += ["--vars", json.dumps(given_vars)]
    after_status = subprocess.run(after_run, cwd=PROJECT_ROOT, env=env).returncode
    return dbt_status or after_status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-data-dir", help="landing directory (default: the dbt var raw_data_dir)")
    parser.add_argument("--output-dir", help="where to publish (default: the dbt var output_dir)")
    parser.add_argument("--full-refresh", action="store_true",
                        help="rebuild the staging history from every landing file")
    parser.add_argument("--bin-dir", help="the environment whose dbt and python run "
                                          "the pipeline (default: this interpreter's)")
    args = parser.parse_args(argv)
    return run(args.raw_data_dir, args.output_dir, args.full_refresh, args.bin_dir)


if __name__ == "__main__":
    sys.exit(main())
