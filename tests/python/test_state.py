"""The pipeline's state on real runs: what a load commits, what a failed or
partial run leaves behind, and what is published from it.

Each test is a way state used to go wrong: valid data stopped by float
rounding, a failed batch kept for good, loads ordered by a clock that can
step back, a selected build publishing features of another landing, a
lineage file describing another Parquet file.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import SAMPLE_DIR, generate, run_dbt
from reference_pipeline import assert_frames_match, features_from_landing


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query(run_dir: Path, sql: str):
    with duckdb.connect(str(run_dir / "pipeline.duckdb"), read_only=True) as db:
        return db.sql(sql).fetchall()


def batch_landing(tmp_path: Path) -> tuple[Path, list[pd.DataFrame]]:
    """A landing folder with the sample's profiles and its transactions in
    four slices, none delivered yet."""
    landing = tmp_path / "landing"
    (landing / "transactions").mkdir(parents=True)
    shutil.copy(SAMPLE_DIR / "user_profiles.parquet", landing)
    raw = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    size = -(-len(raw) // 4)
    return landing, [raw.iloc[i:i + size] for i in range(0, len(raw), size)]


def deliver(landing: Path, name: str, rows: pd.DataFrame) -> Path:
    target = landing / "transactions" / name
    rows.to_parquet(target, index=False)
    return target


def test_a_median_on_a_half_cent_publishes(tmp_path):
    """(34.76 + 34.78) / 2 is 34.77 exactly: a user whose only amount is
    that median has max_order_value = avg_order_value, and the check that
    the maximum is at least the mean passes."""
    landing = tmp_path / "landing"
    landing.mkdir()
    pd.DataFrame({
        "transaction_id": [1, 2, 3],
        "user_id": [1, 2, 3],
        "product_id": [1, 1, 1],
        "category": ["books"] * 3,
        "amount": [34.76, 34.78, None],
        "quantity": [1, 1, 2],
        "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00",
                                     "2024-01-03 10:00"]),
    }).to_parquet(landing / "transactions.parquet", index=False)
    pd.DataFrame({"user_id": [1, 2, 3], "age": [30] * 3, "region": ["EU"] * 3,
                  "account_age_days": [10] * 3, "is_premium": [0] * 3}) \
        .to_parquet(landing / "user_profiles.parquet", index=False)

    run = run_dbt(tmp_path / "run", landing)
    assert run.returncode == 0, run.output[-3000:]
    imputed = run.features().set_index("user_id").loc[3]
    assert imputed["max_order_value"] == imputed["avg_order_value"] == 34.77
    assert imputed["total_spend"] == 69.54
    assert_frames_match(run.features(), features_from_landing(landing))


def test_a_failed_load_is_taken_back_by_the_next_run(tmp_path):
    landing, batches = batch_landing(tmp_path)
    deliver(landing, "batch_1.parquet", batches[0])
    first = run_dbt(tmp_path / "run", landing)
    assert first.returncode == 0, first.output[-3000:]
    published = sha256(first.published)

    # A batch that fails an output check: nothing is published, and the
    # load does not commit.
    bad = batches[1].copy()
    bad.loc[bad.index[0], "amount"] = 9e11
    deliver(landing, "batch_2.parquet", bad)
    failed = run_dbt(tmp_path / "run", landing)
    assert failed.returncode != 0
    assert "STOPPED: check expect_column_values_to_be_between on " \
           "user_features, column avg_order_value" in failed.output
    assert sha256(failed.published) == published
    assert query(tmp_path / "run", "select distinct load_id from "
                 "transaction_loads order by 1") == [(1,)]

    # The fixed file replaces it: the next run loads it without a rebuild.
    deliver(landing, "batch_2.parquet", batches[1])
    fixed = run_dbt(tmp_path / "run", landing)
    assert fixed.returncode == 0, fixed.output[-3000:]
    assert "landing: transactions <- 1 new file," in fixed.output
    assert "rebuilding" not in fixed.output
    assert_frames_match(fixed.features(), features_from_landing(landing))
    held = query(tmp_path / "run",
                 "select count(*) from stg_transaction_deliveries")[0][0]
    assert held == len(batches[0]) + len(batches[1])
    loads = query(tmp_path / "run", "select load_id, load_mode from "
                  "transaction_loads order by load_id")
    assert [mode for _, mode in loads] == ["rebuild", "incremental"]
    assert loads[0][0] < loads[1][0]


def test_loads_are_ordered_by_their_number_not_by_the_clock(tmp_path):
    if shutil.which("faketime") is None:
        # CI installs it (.ci/run) and sets this, so there it cannot skip.
        assert not os.environ.get("FEATURE_PIPELINE_REQUIRE_FAKETIME"), \
            "faketime is required here"
        pytest.skip("faketime is not installed (apt-get install faketime)")
    landing, batches = batch_landing(tmp_path)
    deliver(landing, "batch_1.parquet", batches[0])
    assert run_dbt(tmp_path / "run", landing).returncode == 0
    deliver(landing, "batch_2.parquet", batches[1])
    # The machine's clock was stepped back three days between the runs.
    behind = run_dbt(tmp_path / "run", landing, prefix=("faketime", "-f", "-3d"))
    assert behind.returncode == 0, behind.output[-3000:]
    assert "landing: transactions <- 1 new file," in behind.output
    assert_frames_match(behind.features(), features_from_landing(landing))
    assert query(tmp_path / "run", "select max(load_id) from transaction_loads"
                 ) == [(2,)]


def test_a_selected_build_publishes_nothing_whatever_landing_it_names(tmp_path):
    first_landing = generate(tmp_path / "first", "--seed", "3", "--rows", "3000",
                             "--users", "300", "--interval-seconds", "1800")
    other_landing = generate(tmp_path / "other", "--seed", "4", "--rows", "2000",
                             "--users", "200", "--interval-seconds", "1800")
    first = run_dbt(tmp_path / "run", first_landing)
    assert first.returncode == 0, first.output[-3000:]
    published = {p.name: sha256(p) for p in first.output_dir.glob("user_features.*")}

    # The mart and what follows it, on the landing already loaded or on
    # another one: staging did not run, so the features may not be those of
    # the files named. The run says so, with the command that publishes.
    for landing in (first_landing, other_landing):
        selected = run_dbt(tmp_path / "run", landing,
                           extra_args=("--select", "user_features+"))
        assert selected.returncode == 0, selected.output[-3000:]
        assert "Nothing was published: this selection leaves out" in selected.output
        assert "`dbt build --select +publish_user_features+` publishes" \
            in selected.output
    assert {p.name: sha256(p) for p in first.output_dir.glob("user_features.*")} \
        == published


def test_the_lineage_file_always_describes_the_published_file(tmp_path):
    landing, batches = batch_landing(tmp_path)
    deliver(landing, "batch_1.parquet", batches[0])
    run = run_dbt(tmp_path / "run", landing)
    assert run.returncode == 0, run.output[-3000:]

    def described(parquet: Path) -> str:
        lineage = json.loads(parquet.with_name("user_features.lineage.json").read_text())
        return lineage["output"]["sha256"]

    history = next(run.output_dir.glob("history/*/user_features.parquet"))
    for parquet in (run.published, history):
        assert described(parquet) == sha256(parquet)

    # A run killed between the Parquet's rename and the lineage's leaves a
    # lineage file of the previous output; the next run, even with nothing
    # new to publish, puts it right.
    lineage = run.published.with_name("user_features.lineage.json")
    stale = json.loads(lineage.read_text())
    stale["output"]["sha256"] = "0" * 64
    lineage.write_text(json.dumps(stale))
    again = run_dbt(tmp_path / "run", landing)
    assert again.returncode == 0, again.output[-3000:]
    assert query(tmp_path / "run", "select is_changed, lineage_written from "
                 "publish_user_features") == [(False, True)]
    assert described(run.published) == sha256(run.published)

    # A new batch: both files and both lineages move together.
    deliver(landing, "batch_2.parquet", batches[1])
    newer = run_dbt(tmp_path / "run", landing)
    assert newer.returncode == 0, newer.output[-3000:]
    for parquet in [run.published, *run.output_dir.glob("history/*/user_features.parquet")]:
        assert described(parquet) == sha256(parquet)
    inputs = json.loads(lineage.read_text())["inputs"]
    assert sorted(i["path"] for i in inputs if i["dataset"] == "transactions") \
        == ["transactions/batch_1.parquet", "transactions/batch_2.parquet"]
