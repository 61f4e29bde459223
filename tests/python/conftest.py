"""Helpers that run the real project: `dbt build` processes on real files."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = PROJECT_ROOT / "data" / "raw"
GENERATOR = PROJECT_ROOT / "scripts" / "generate_raw_data.py"
DBT = Path(sys.executable).with_name("dbt")


@dataclass
class DbtRun:
    returncode: int
    output: str
    output_dir: Path
    target_dir: Path

    @property
    def results(self) -> list[dict]:
        path = self.target_dir / "run_results.json"
        return json.loads(path.read_text())["results"]

    def audit_table(self, unique_id_part: str) -> str:
        """Where dbt stored the failing rows of a test."""
        manifest = json.loads((self.target_dir / "manifest.json").read_text())
        node = manifest["nodes"][self.result(unique_id_part)["unique_id"]]
        return f'{node["schema"]}."{node["alias"]}"'

    def result(self, unique_id_part: str) -> dict:
        matches = [r for r in self.results if unique_id_part in r["unique_id"]]
        assert len(matches) == 1, [r["unique_id"] for r in matches]
        return matches[0]

    @property
    def published(self) -> Path:
        return self.output_dir / "user_features.parquet"

    def features(self) -> pd.DataFrame:
        return pd.read_parquet(self.published)


def run_dbt(workdir: Path, raw_dir: Path, command: str = "build",
            extra_args: tuple[str, ...] = (),
            output_dir: Path | None = None,
            extra_vars: dict | None = None,
            extra_env: dict | None = None,
            project: Path = PROJECT_ROOT,
            prefix: tuple[str, ...] = ()) -> DbtRun:
    """Run one dbt command in the project, isolated under `workdir`.

    Each run gets its own DuckDB file, target and log folders, so tests
    never touch the developer's database or published output. `project`
    runs a copy of the project instead; `prefix` wraps the command (e.g.
    in faketime).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    output_dir = output_dir or workdir / "output"
    target_dir = workdir / "target"
    env = dict(os.environ)
    env.update({
        "DUCKDB_PATH": str(workdir / "pipeline.duckdb"),
        "DUCKDB_TEMP_DIRECTORY": str(workdir / "duckdb_tmp"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(extra_env or {}),
    })
    variables = json.dumps({"raw_data_dir": str(raw_dir),
                            "output_dir": str(output_dir),
                            **(extra_vars or {})})
    process = subprocess.run(
        [*prefix, str(DBT), command, "--vars", variables,
         "--target-path", str(target_dir), "--log-path", str(workdir / "logs"),
         *extra_args],
        cwd=project, env=env, capture_output=True, text=True,
        timeout=900,
    )
    return DbtRun(process.returncode, process.stdout + process.stderr,
                  output_dir, target_dir)


def generate(out: Path, *args: str) -> Path:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), *args],
                   check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> DbtRun:
    """`dbt build` on the bundled sample, shared by the tests that read it."""
    workdir = tmp_path_factory.mktemp("sample")
    run = run_dbt(workdir, SAMPLE_DIR)
    assert run.returncode == 0, run.output
    return run


def copy_landing(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


OPERATIONS_PAGE = PROJECT_ROOT / "docs" / "operations.md"
BAD_INPUT_TESTS = PROJECT_ROOT / "tests" / "python" / "test_bad_input.py"


def documented_cases() -> dict[str, list[str]]:
    """The "What happens when…" rows of docs/operations.md: the case (first
    cell) and the tests named in the last cell."""
    import re
    cases = {}
    text = OPERATIONS_PAGE.read_text()
    section = text[text.index("## What happens when…"):text.index("## Troubleshooting")]
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[-1].startswith("`test_"):
            cases[cells[0]] = re.findall(r"`(test_\w+)`", cells[-1])
    return cases


def pytest_terminal_summary(terminalreporter):
    """Say how many bad-input cases the suite covers, counted from the page
    that lists them (a test checks that the page and the suite agree)."""
    cases = documented_cases()
    tests = {name for names in cases.values() for name in names}
    terminalreporter.write_line(
        f"what happens when…: {len(cases)} cases in docs/operations.md, proved by "
        f"{len(tests)} tests")
