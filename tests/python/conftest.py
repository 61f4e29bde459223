"""Helpers that run the real project: `dbt build` processes on real files."""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The pandas reference implementation (scripts/reference_pipeline.py) is
# imported by the tests as by the benchmark.
sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
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
            prefix: tuple[str, ...] = (),
            unit_tests: bool = False, use_vars: bool = True) -> DbtRun:
    """Run one dbt command in the project, isolated under `workdir`.

    Each run gets its own DuckDB file, target and log folders, so tests
    never touch the developer's database or published output. `project`
    runs a copy of the project instead; `prefix` wraps the command (e.g.
    in faketime). A `build` leaves out dbt's unit tests, as `make build`
    does (they check SQL on fixtures, not the data): the shared sample
    build runs them (`unit_tests=True`). The paths go as --vars, unless
    `use_vars=False`: then the environment (extra_env) names them.
    """
    if command == "build" and not unit_tests and "unit_test" not in extra_args:
        extra_args = (*extra_args, "--exclude-resource-type", "unit_test")
    workdir.mkdir(parents=True, exist_ok=True)
    output_dir = output_dir or workdir / "output"
    target_dir = workdir / "target"
    env = dict(os.environ)
    env.update({
        "DUCKDB_PATH": str(workdir / "pipeline.duckdb"),
        "DUCKDB_TEMP_DIRECTORY": str(workdir / "duckdb_tmp"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # The suite runs a build per core already: one thread each (for dbt
        # and DuckDB) leaves the cores to the builds, not to switching.
        "DBT_THREADS": "1",
        "DUCKDB_THREADS": "1",
        **(extra_env or {}),
    })
    variables = json.dumps({"raw_data_dir": str(raw_dir),
                            "output_dir": str(output_dir),
                            **(extra_vars or {})})
    argv = [str(DBT), command, *(("--vars", variables) if use_vars else ()),
            "--target-path", str(target_dir), "--log-path", str(workdir / "logs"),
            *extra_args]
    if prefix or not FORK_DBT:
        process = subprocess.run([*prefix, *argv], cwd=project, env=env,
                                 capture_output=True, text=True, timeout=900)
        returncode, output = process.returncode, process.stdout + process.stderr
    else:
        returncode, output = fork_server().run(argv, project, env, timeout=900)
    return DbtRun(returncode, output, output_dir, target_dir)


def side_env(name: str) -> Path:
    """The bin folder of the optional environment .venv-<name> (envs/<name>,
    `make setup-<name>`). `make test` sets every one up and requires them;
    a bare pytest without one skips its tests and says how to get it."""
    bin_dir = PROJECT_ROOT / f".venv-{name}" / "bin"
    if not (bin_dir.parent / ".ready").exists():
        message = f".venv-{name} is not set up: run `make setup-{name}`"
        if os.environ.get("FEATURE_PIPELINE_REQUIRE_ENVS"):
            pytest.fail(message)
        pytest.skip(message)
    return bin_dir


# FEATURE_PIPELINE_TESTS_FORK=0 starts every dbt command as a new process
# from scratch; by default they are forked from a server with dbt imported.
FORK_DBT = os.environ.get("FEATURE_PIPELINE_TESTS_FORK", "1") != "0"
FORK_SERVER = Path(__file__).with_name("dbt_forkserver.py")


class ForkServer:
    """Client of dbt_forkserver.py: runs `dbt` commands as processes forked
    from one that has already imported dbt (one server per test process)."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, str(FORK_SERVER)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
        self.outputs = Path(tempfile.mkdtemp(prefix="dbt-forkserver-"))
        assert json.loads(self.reply(timeout=120)) == {"ready": True}

    def reply(self, timeout: float) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise subprocess.TimeoutExpired("dbt", timeout)
        line = self.process.stdout.readline()
        assert line, "the dbt fork server ended"
        return line

    def run(self, argv: list[str], cwd: Path, env: dict,
            timeout: float) -> tuple[int, str]:
        stdout, stderr = self.outputs / "stdout", self.outputs / "stderr"
        self.process.stdin.write(json.dumps({
            "argv": argv, "cwd": str(cwd), "env": env,
            "stdout": str(stdout), "stderr": str(stderr)}) + "\n")
        self.process.stdin.flush()
        pid = json.loads(self.reply(timeout=60))["pid"]
        try:
            returncode = json.loads(self.reply(timeout))["returncode"]
        except subprocess.TimeoutExpired:
            os.kill(pid, 9)
            self.close()
            raise
        output = stdout.read_text() + stderr.read_text()
        return returncode, output

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        shutil.rmtree(self.outputs, ignore_errors=True)


_fork_server: ForkServer | None = None


def fork_server() -> ForkServer:
    global _fork_server
    if _fork_server is None or not _fork_server.alive():
        _fork_server = ForkServer()
    return _fork_server


def pytest_sessionfinish(session):
    if _fork_server is not None and _fork_server.alive():
        _fork_server.close()


def generate(out: Path, *args: str) -> Path:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), *args],
                   check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> DbtRun:
    """`dbt build` on the bundled sample, shared by the tests that read it."""
    workdir = tmp_path_factory.mktemp("sample")
    run = run_dbt(workdir, SAMPLE_DIR, unit_tests=True)
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


# ------------------------------------------------- running in parallel
# `make test` runs the suite on every core with pytest-xdist
# (`-n auto --dist loadgroup`). Tests that share an expensive module
# fixture go to one worker together, so it is built once; the slowest
# files are handed out first, so the workers finish together.

SHARED_BUILDS = {
    # module: {fixture: the one worker's group}
    "test_crash_and_concurrency.py": {"reference_run": "crash_reference_run"},
    "test_observability.py": {"failing_run": "failing_run",
                              "text_feature_project": "text_feature_project"},
    "test_lint.py": {"tiny_manifest": "tiny_manifest", "broken_lint": "broken_lint"},
    "test_docs.py": {"manifest": "docs_manifest"},
    "test_quality.py": {"good_build": "quality_good_build"},
    "test_feature_store.py": {"store": "feature_store"},
    "test_spark.py": {"sample_on_spark": "spark_sample"},
}
SLOWEST_FIRST = ["test_spark.py", "test_crash_and_concurrency.py", "test_dagster.py",
                 "test_incremental.py", "test_airflow.py", "test_prefect.py",
                 "test_observability.py", "test_lint.py", "test_bench.py",
                 "test_state.py", "test_quality.py", "test_pipeline.py",
                 "test_contributing.py", "test_feature_store.py",
                 "test_bad_input.py"]


# The tests on the 4M-row landing take minutes: they go to two groups, each
# of which makes that landing's reference build once.
SPLIT_IN_TWO = {"crash_reference_run"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    seen: dict[str, int] = {}
    for item in items:
        module = item.path.name
        for fixture, group in SHARED_BUILDS.get(module, {}).items():
            if fixture in item.fixturenames:
                if group in SPLIT_IN_TWO:
                    seen[group] = seen.get(group, 0) + 1
                    group = f"{group}_{seen[group] % 2 + 1}"
                item.add_marker(pytest.mark.xdist_group(group))
    # Whole modules move, so a module fixture is still made once.
    rank = {name: index for index, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
