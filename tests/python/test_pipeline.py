"""End-to-end: `dbt build` publishes exactly the features docs/features.md defines."""
from __future__ import annotations

import hashlib
import shutil

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import SAMPLE_DIR, copy_landing, generate, run_dbt
from reference_pipeline import (assert_frames_match, contract_columns,
                                features_from_landing, raw_defect_counts)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sample_features_match_reference(sample_run):
    expected = features_from_landing(SAMPLE_DIR)
    assert_frames_match(sample_run.features(), expected)


def test_sample_has_one_row_per_user_with_a_transaction(sample_run):
    raw = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    profiles = pd.read_parquet(SAMPLE_DIR / "user_profiles.parquet")
    users = set(raw["user_id"]) & set(profiles["user_id"])
    features = sample_run.features()
    assert len(features) == len(users)
    assert features["user_id"].is_unique


def test_published_schema_order_and_compression(sample_run):
    path = str(sample_run.published)
    schema = duckdb.sql(
        f"select column_name, column_type from (describe from '{path}')"
    ).fetchall()
    # The contract's columns, in its order and with its types.
    assert schema == [(name, kind.upper()) for name, kind in contract_columns()]
    assert len(schema) == 19

    metadata = pq.ParquetFile(path).metadata
    codecs = {metadata.row_group(g).column(c).compression
              for g in range(metadata.num_row_groups)
              for c in range(metadata.num_columns)}
    assert codecs == {"SNAPPY"}

    user_ids = sample_run.features()["user_id"]
    assert user_ids.is_monotonic_increasing


def test_every_unit_and_error_check_passes_on_sample(sample_run):
    results = sample_run.results
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 7
    assert {r["status"] for r in unit} == {"pass"}
    # Nothing errored or was skipped: every error-severity check passed.
    assert not [r for r in results
                if r["status"] in ("error", "fail", "skipped")]
    published = sample_run.result("model.feature_pipeline.publish_user_features")
    assert published["status"] == "success"


def test_input_checks_warn_about_sample_defects_with_counts(sample_run):
    counts = raw_defect_counts(SAMPLE_DIR)
    assert counts["null_amounts"] > 0
    assert counts["repeated_deliveries"] > 0
    warned = {r["unique_id"]: r["failures"] for r in sample_run.results
              if r["status"] == "warn"}

    def failures(fragment):
        hits = [v for k, v in warned.items() if fragment in k]
        assert len(hits) == 1, (fragment, list(warned))
        return hits[0]

    # The delivered values are checked where they are stored.
    assert failures("not_null_stg_transaction_deliveries_amount") \
        == counts["null_amounts"]
    assert failures("transaction_id_delivered_once") \
        == counts["repeated_deliveries"]
    assert failures("be_between_stg_transaction_deliveries_amount") \
        == counts["amounts_out_of_range"]
    # Warnings are reported, and say so in the log with their counts.
    assert f"WARN {counts['null_amounts']}" in sample_run.output


def test_build_prints_no_deprecation_warning(sample_run):
    assert "deprecat" not in sample_run.output.lower()


def test_published_file_is_read_back_and_recorded(sample_run, tmp_path):
    db = duckdb.connect(str(sample_run.output_dir.parent / "pipeline.duckdb"),
                        read_only=True)
    path, rows, digest = db.sql(
        "select published_path, row_count, sha256 from publish_user_features"
    ).fetchall()[0]
    assert rows == len(sample_run.features())
    assert digest == sha256(sample_run.published)
    assert not list(sample_run.output_dir.glob(".*tmp"))


@pytest.mark.parametrize(
    "layout",
    [
        ("csv file", ["--format", "csv"]),
        ("parquet batches", ["--batches", "day"]),
        ("csv batches", ["--batches", "week", "--format", "csv"]),
    ],
    ids=lambda layout: layout[0],
)
def test_other_landing_layouts_match_reference(tmp_path, layout):
    _, args = layout
    landing = generate(tmp_path / "landing", "--seed", "7", "--rows", "4000",
                       "--users", "300", "--interval-seconds", "3600", *args)
    run = run_dbt(tmp_path / "run", landing)
    assert run.returncode == 0, run.output
    assert_frames_match(run.features(), features_from_landing(landing))


def test_duplicates_across_batch_files_keep_the_earlier_file(tmp_path):
    landing = generate(tmp_path / "landing", "--seed", "3", "--rows", "2000",
                       "--users", "200", "--duplicates", "0",
                       "--batches", "day", "--interval-seconds", "7200")
    files = sorted((landing / "transactions").iterdir())
    first = pd.read_parquet(files[0])
    # Re-deliver the first day's rows in a later file with other amounts:
    # the first delivery must win.
    changed = first.assign(amount=first["amount"].fillna(1.0) * 100)
    changed.to_parquet(landing / "transactions" / "transactions_zz.parquet")
    run = run_dbt(tmp_path / "run", landing)
    assert run.returncode == 0, run.output
    assert_frames_match(run.features(), features_from_landing(landing))
    assert run.features()["max_order_value"].max() < 10_000


def test_other_landing_directory_and_output_dir(tmp_path):
    landing = generate(tmp_path / "landing", "--seed", "11", "--rows", "3000",
                       "--users", "250")
    out = tmp_path / "elsewhere"
    run = run_dbt(tmp_path / "run", landing, output_dir=out)
    assert run.returncode == 0, run.output
    assert (out / "user_features.parquet").is_file()
    assert_frames_match(run.features(), features_from_landing(landing))


def test_failed_output_check_publishes_nothing(tmp_path, sample_run):
    # What a good run on the sample published.
    out = tmp_path / "published"
    shutil.copytree(sample_run.output_dir, out)
    before = sha256(out / "user_features.parquet")

    landing = copy_landing(SAMPLE_DIR, tmp_path / "landing")
    profiles = pd.read_parquet(landing / "user_profiles.parquet")
    profiles.loc[0, "age"] = 150
    profiles.to_parquet(landing / "user_profiles.parquet")
    raw_before = {p.name: sha256(p) for p in landing.iterdir()}

    bad = run_dbt(tmp_path / "bad", landing, output_dir=out)
    assert bad.returncode != 0
    age_check = bad.result("expect_column_values_to_be_between_user_features_age")
    assert age_check["status"] == "fail" and age_check["failures"] == 1
    assert bad.result("model.feature_pipeline.publish_user_features")["status"] == "skipped"
    assert sha256(out / "user_features.parquet") == before
    assert {p.name: sha256(p) for p in landing.iterdir()} == raw_before


def test_generator_reproduces_the_committed_sample(tmp_path):
    regenerated = generate(tmp_path / "sample")
    for name in ("transactions", "user_profiles"):
        committed = pd.read_parquet(SAMPLE_DIR / f"{name}.parquet")
        fresh = pd.read_parquet(regenerated / f"{name}.parquet")
        pd.testing.assert_frame_equal(fresh, committed)


def test_sample_matches_spec_section_7():
    raw = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    profiles = pd.read_parquet(SAMPLE_DIR / "user_profiles.parquet")
    assert len(raw) == 50_100
    assert raw["transaction_id"].nunique() == 50_000
    assert raw.duplicated().sum() == 100
    assert raw["timestamp"].min() == pd.Timestamp("2024-01-01")
    steps = raw["timestamp"].iloc[:50_000].diff().dropna().unique()
    assert list(steps) == [pd.Timedelta(minutes=10)]
    assert 0.02 < raw["amount"].isna().mean() < 0.04
    assert 0.002 < (raw["amount"] < 0).mean() < 0.008
    assert set(raw["category"]) == {"electronics", "clothing", "food",
                                    "books", "sports"}
    assert raw["quantity"].between(1, 9).all()
    assert len(profiles) == 5_000 and profiles["user_id"].is_unique
    assert profiles["age"].between(18, 79).all()
    assert profiles["account_age_days"].between(1, 3649).all()
    assert 0.25 < profiles["is_premium"].mean() < 0.35
