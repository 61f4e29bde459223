"""Runs that are killed, and runs that overlap, on real `dbt build` processes."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import DBT, PROJECT_ROOT, generate, run_dbt
from reference_pipeline import assert_frames_match, features_from_landing


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    # Large enough that a build takes a few seconds on two cores.
    return generate(tmp_path_factory.mktemp("crash") / "landing", "--seed", "9",
                    "--rows", "4000000", "--users", "200000",
                    "--interval-seconds", "5")


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, landing):
    run = run_dbt(tmp_path_factory.mktemp("reference"), landing)
    assert run.returncode == 0, run.output
    return run


def start_build(workdir: Path, landing: Path, output_dir: Path):
    env = dict(os.environ, DUCKDB_PATH=str(workdir / "pipeline.duckdb"),
               DUCKDB_TEMP_DIRECTORY=str(workdir / "duckdb_tmp"))
    variables = json.dumps({"raw_data_dir": str(landing),
                            "output_dir": str(output_dir)})
    return subprocess.Popen(
        [str(DBT), "build", "--vars", variables,
         "--target-path", str(workdir / "target"),
         "--log-path", str(workdir / "logs")],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def wait_for_line(process, marker: str, timeout: float = 300) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return "".join(seen)
        assert time.monotonic() < deadline, "".join(seen)
    raise AssertionError(f"never saw {marker!r}:\n" + "".join(seen))


def test_second_run_fails_at_once_and_first_finishes(tmp_path, landing,
                                                    reference_run):
    workdir = tmp_path / "shared"
    first = start_build(workdir, landing, tmp_path / "output")
    wait_for_line(first, "START sql table model main.landing_plan")

    second = run_dbt(workdir, landing, output_dir=tmp_path / "output-2")
    # "At once" means without waiting for the first: the second run has
    # ended, with its sentence, while the first still holds the database.
    assert first.poll() is None, "the first run ended before the second"
    assert second.returncode != 0
    assert "Another run" in second.output
    assert f"holds the database {workdir / 'pipeline.duckdb'}" in second.output
    assert not (tmp_path / "output-2").exists()
    # The same database reached through a symbolic link is the same database.
    link = tmp_path / "linked.duckdb"
    link.symlink_to(workdir / "pipeline.duckdb")
    linked = run_dbt(tmp_path / "linked", landing, output_dir=tmp_path / "output-3",
                     extra_env={"DUCKDB_PATH": str(link)})
    assert first.poll() is None, "the first run ended before the linked one"
    assert linked.returncode != 0
    assert f"holds the database {link}" in linked.output, linked.output[-2000:]
    assert "Traceback" not in linked.output
    assert not (tmp_path / "output-3").exists()

    rest, _ = first.communicate(timeout=600)
    assert first.returncode == 0, rest
    assert sha256(tmp_path / "output" / "user_features.parquet") == \
        sha256(reference_run.published)


@pytest.mark.parametrize("marker", [
    "START sql table model main.landing_plan",            # while inspecting
    "START sql incremental model main.stg_transaction_deliveries",  # staging
    "START sql table model main.user_features",           # building the mart
    "START python table model main.publish_user_features",  # publishing
])
def test_killed_run_is_followed_by_a_good_one(tmp_path, landing,
                                              reference_run, marker):
    output = tmp_path / "output"
    workdir = tmp_path / "work"
    # A previously published file that the killed run may replace only whole.
    output.mkdir()
    previous = output / "user_features.parquet"
    pd.DataFrame({"user_id": [1]}).to_parquet(previous)
    previous_hash = sha256(previous)

    process = start_build(workdir, landing, output)
    wait_for_line(process, marker)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)

    published = sha256(previous)
    assert published in (previous_hash, sha256(reference_run.published))

    again = run_dbt(workdir, landing, output_dir=output)
    assert again.returncode == 0, again.output
    assert sha256(previous) == sha256(reference_run.published)
    assert not list(output.rglob(".*.tmp"))
    assert_frames_match(pd.read_parquet(previous),
                        pd.read_parquet(reference_run.published))


def test_two_runs_on_the_same_input_are_byte_identical(tmp_path, landing,
                                                      reference_run):
    again = run_dbt(tmp_path / "again", landing)
    assert again.returncode == 0, again.output
    for relative in ("user_features.parquet",):
        assert sha256(again.output_dir / relative) == \
            sha256(reference_run.output_dir / relative)
    history = sorted(p.relative_to(again.output_dir)
                     for p in again.output_dir.rglob("*.parquet"))
    assert history == sorted(p.relative_to(reference_run.output_dir)
                             for p in reference_run.output_dir.rglob("*.parquet"))
    for relative in history:
        assert sha256(again.output_dir / relative) == \
            sha256(reference_run.output_dir / relative)


def test_history_partition_is_dated_by_the_data_and_overwritten(tmp_path):
    landing = generate(tmp_path / "landing", "--seed", "2", "--rows", "2000",
                       "--users", "100", "--interval-seconds", "3600")
    latest = pd.read_parquet(landing / "transactions.parquet")["timestamp"].max()
    output = tmp_path / "output"
    first = run_dbt(tmp_path / "one", landing, output_dir=output)
    assert first.returncode == 0, first.output
    partition = output / "history" / f"as_of_date={latest.date()}" / "user_features.parquet"
    assert partition.is_file()
    # The latest file's rows, each stamped with the instant they held at.
    dated = pd.read_parquet(partition)
    published = pd.read_parquet(output / "user_features.parquet")
    assert list(dated.columns) == [*published.columns, "feature_timestamp"]
    assert (dated["feature_timestamp"] == latest).all()
    pd.testing.assert_frame_equal(dated.drop(columns="feature_timestamp"), published)
    assert_frames_match(published, features_from_landing(landing))

    # The same data again: the same snapshot, not a second one.
    snapshot = sha256(partition)
    second = run_dbt(tmp_path / "two", landing, output_dir=output)
    assert second.returncode == 0, second.output
    assert [p.name for p in (output / "history").iterdir()] == [partition.parent.name]
    assert sha256(partition) == snapshot


def test_empty_result_is_never_published(tmp_path):
    landing = generate(tmp_path / "landing", "--seed", "2", "--rows", "500",
                       "--users", "50")
    profiles = pd.read_parquet(landing / "user_profiles.parquet")
    profiles.assign(user_id=profiles["user_id"] + 1000) \
        .to_parquet(landing / "user_profiles.parquet", index=False)
    output = tmp_path / "output"
    output.mkdir()
    (output / "user_features.parquet").write_bytes(b"previous")
    run = run_dbt(tmp_path / "run", landing, output_dir=output)
    assert run.returncode != 0
    # The mart's row-count check stops the run before publishing is reached
    # (publish_user_features would refuse an empty table too).
    assert ("STOPPED: check expect_table_row_count_to_be_between on "
            "user_features found 1 failing row(s).") in run.output
    assert (output / "user_features.parquet").read_bytes() == b"previous"
    assert not (output / "history").exists() or not list((output / "history").rglob("*.parquet"))


def test_a_small_memory_limit_spills_to_disk_and_gives_the_same_file(
        tmp_path, landing, reference_run):
    """Past memory_limit DuckDB spills to DUCKDB_TEMP_DIRECTORY; the spill
    folder is set once for the database, so every thread can use it."""
    spill = tmp_path / "spill"
    run = run_dbt(tmp_path / "small", landing,
                  extra_env={"DUCKDB_MEMORY_LIMIT": "150MB",
                             "DUCKDB_TEMP_DIRECTORY": str(spill),
                             # Threads share the spill folder: use two.
                             "DBT_THREADS": "2", "DUCKDB_THREADS": "2"})
    assert run.returncode == 0, run.output[-3000:]
    assert sha256(run.published) == sha256(reference_run.published)
