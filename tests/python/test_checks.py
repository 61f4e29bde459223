"""Each check is paid for once: delivered values are checked by the run that
loads them, the contract's not-null constraints guard user_features as it is
written, and a command that loads nothing does not inspect files again.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd

from conftest import PROJECT_ROOT, SAMPLE_DIR, run_dbt
from test_contributing import NOT_COPIED


def two_batches(tmp_path: Path) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """A landing folder holding the sample's first half as one batch; the
    second half is returned to be delivered later."""
    landing = tmp_path / "landing"
    (landing / "transactions").mkdir(parents=True)
    shutil.copy(SAMPLE_DIR / "user_profiles.parquet", landing)
    raw = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    half = len(raw) // 2
    first, second = raw.iloc[:half], raw.iloc[half:].reset_index(drop=True)
    first.to_parquet(landing / "transactions" / "batch_1.parquet", index=False)
    return landing, first, second


def warned(run) -> dict[str, int]:
    return {r["unique_id"].split(".")[2]: r["failures"] for r in run.results
            if r["status"] == "warn"}


def test_delivered_values_are_checked_once_by_the_load_that_brings_them(tmp_path):
    landing, first, second = two_batches(tmp_path)
    first_run = run_dbt(tmp_path / "run", landing)
    assert first_run.returncode == 0, first_run.output
    assert warned(first_run)["not_null_stg_transaction_deliveries_amount"] \
        == first.amount.isna().sum()

    second.to_parquet(landing / "transactions" / "batch_2.parquet", index=False)
    second_run = run_dbt(tmp_path / "run", landing)
    assert second_run.returncode == 0, second_run.output
    # Only the new batch's nulls: the first batch's were reported when it
    # was loaded.
    assert warned(second_run)["not_null_stg_transaction_deliveries_amount"] \
        == second.amount.isna().sum()
    # The failing rows kept for the check are this load's, with their file.
    table = second_run.audit_table("not_null_stg_transaction_deliveries_amount")
    with duckdb.connect(str(tmp_path / "run" / "pipeline.duckdb"),
                        read_only=True) as db:
        files = db.sql(f"select distinct _source_file from {table}").fetchall()
    assert [Path(f).name for (f,) in files] == ["batch_2.parquet"]


def test_a_command_that_loads_nothing_does_not_inspect_loaded_files_again(tmp_path):
    landing, _, second = two_batches(tmp_path)
    second.to_parquet(landing / "transactions" / "batch_2.parquet", index=False)
    build = run_dbt(tmp_path / "run", landing)
    assert build.returncode == 0, build.output
    assert "inspected 2" in build.output

    # `dbt test` checks the tables the last build made: it opens no
    # landing file, and the row accounting still holds every file's rows.
    tests = run_dbt(tmp_path / "run", landing, command="test",
                    extra_args=("--select", "stg_transaction_deliveries"))
    assert tests.returncode == 0, tests.output
    assert "landing:" not in tests.output
    count = tests.result("assert_every_raw_transaction_is_kept_or_quarantined")
    assert count["status"] == "pass"

    # A build with nothing new inspects nothing again.
    again = run_dbt(tmp_path / "run", landing)
    assert again.returncode == 0, again.output
    assert "0 new files, 0 rows; 2 files loaded before" in again.output
    assert "; inspected 0" in again.output

    # A file delivered since is new to the inspector: inspected, and a bad
    # one stops the run with its name.
    bad = landing / "transactions" / "batch_3.parquet"
    second.drop(columns=["amount"]).to_parquet(bad, index=False)
    refused = run_dbt(tmp_path / "run", landing)
    assert refused.returncode != 0
    assert "batch_3.parquet" in refused.output and "amount" in refused.output


NULL_AGE_FOR_ONE_USER = (
    "        case\n"
    "            when per_user.user_id = (select min(user_id) from per_user)\n"
    "                then cast(null as bigint)\n"
    "            else user_profiles.age\n"
    "        end as age,\n")


def with_a_rule_that_nulls_a_feature(tmp_path: Path) -> Path:
    """A copy of the project whose user_features gives one user a null age
    (as a faulty rule edit would): the data checks upstream all pass, and
    only the mart's contract can stop it."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=NOT_COPIED, symlinks=True)
    model = copy / "models" / "marts" / "user_features.sql"
    text = model.read_text()
    assert text.count("        user_profiles.age,\n") == 1
    model.write_text(text.replace("        user_profiles.age,\n", NULL_AGE_FOR_ONE_USER))
    return copy


def test_a_null_feature_stops_the_build_naming_the_column(tmp_path):
    run = run_dbt(tmp_path / "run", SAMPLE_DIR,
                  project=with_a_rule_that_nulls_a_feature(tmp_path))
    assert run.returncode != 0
    assert "NOT NULL constraint failed: user_features" in run.output
    assert ".age" in run.output
    assert run.result("model.feature_pipeline.user_features")["status"] == "error"
    assert run.result("model.feature_pipeline.publish_user_features")["status"] \
        == "skipped"
    assert not run.published.exists()
