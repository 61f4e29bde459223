"""Quality you can see: quarantine, validation report, drift, on real runs."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import PROJECT_ROOT, SAMPLE_DIR, generate, run_dbt
from test_contributing import NOT_COPIED, edit

REPORT = PROJECT_ROOT / "scripts" / "validation_report.py"
AMOUNT_FEATURES = {"total_spend", "avg_order_value", "max_order_value"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_digests(output: Path) -> dict[str, str]:
    return {str(p.relative_to(output)): sha256(p)
            for p in sorted(output.rglob("*.parquet"))}


def build_and_report(workdir: Path, landing: Path, output: Path,
                     extra_vars: str = ""):
    """What `make build` does: dbt build, then the report, whatever happened."""
    run = run_dbt(workdir, landing, output_dir=output,
                  extra_args=("--vars", extra_vars) if extra_vars else ())
    report = subprocess.run(
        [sys.executable, str(REPORT), "--target-path", str(run.target_dir),
         "--database", str(workdir / "pipeline.duckdb"),
         "--output-dir", str(output)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    return run, (output / "validation_report.md").read_text()


def query(workdir: Path, sql: str):
    database = duckdb.connect(str(workdir / "pipeline.duckdb"), read_only=True)
    try:
        return database.sql(sql).fetchall()
    finally:
        database.close()


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("quality") / "landing", "--seed",
                    "21", "--rows", "20000", "--users", "2000")


@pytest.fixture(scope="module")
def good_build(tmp_path_factory, landing):
    """What `make build` leaves after a good run on `landing`: its work
    folder (database) and its output (features, report), which the tests
    below copy as the output a later run must keep or replace."""
    workdir = tmp_path_factory.mktemp("good")
    run, report = build_and_report(workdir / "run", landing, workdir / "output")
    assert run.returncode == 0, run.output
    return run, report


def copy_output(good_build, output: Path) -> Path:
    shutil.copytree(good_build[0].output_dir, output)
    return output


# ------------------------------------------------------------- quarantine

def test_quarantine_accounts_for_every_changed_or_dropped_row(sample_run):
    workdir = sample_run.output_dir.parent
    reasons = dict(query(workdir, "select reason, count(*) from "
                                  "transaction_quarantine group by reason"))
    raw = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    first = raw.drop_duplicates("transaction_id", keep="first")
    assert reasons.get("exact_duplicate") == len(raw) - len(first) == 100
    assert reasons.get("conflicting_duplicate", 0) == 0
    assert reasons["negative_amount_fixed"] == int((first["amount"] < 0).sum())
    assert reasons["null_amount_imputed"] == int(first["amount"].isna().sum())
    kept = query(workdir, "select count(*) from stg_transactions")[0][0]
    assert kept + reasons["exact_duplicate"] == len(raw)
    singular = sample_run.result("assert_every_raw_transaction_is_kept_or_quarantined")
    assert singular["status"] == "pass"


def test_conflicting_duplicates_and_orphans_are_quarantined(tmp_path, landing):
    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    raw = pd.read_parquet(copy / "transactions.parquet")
    conflicting = raw.iloc[:5].assign(quantity=raw["quantity"].iloc[:5] + 1)
    pd.concat([raw, conflicting]).to_parquet(copy / "transactions.parquet", index=False)
    profiles = pd.read_parquet(copy / "user_profiles.parquet")
    profiles[profiles["user_id"] != 7].to_parquet(copy / "user_profiles.parquet", index=False)

    run = run_dbt(tmp_path / "run", copy)
    assert run.returncode == 0, run.output
    reasons = dict(query(tmp_path / "run", "select reason, count(*) from "
                                           "transaction_quarantine group by reason"))
    assert reasons["conflicting_duplicate"] == 5
    first = raw.drop_duplicates("transaction_id")
    assert reasons["user_without_profile"] == int((first["user_id"] == 7).sum())
    files = query(tmp_path / "run", "select distinct _source_file from transaction_quarantine")
    assert files == [(str(copy / "transactions.parquet"),)]


def test_a_user_left_out_of_the_features_fails_the_count_check(tmp_path):
    """A faulty edit that drops a user with a profile from user_features is
    caught: the quarantine lists that user's transactions as excluded, and
    the count check refuses an excluded user who has a profile."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=NOT_COPIED, symlinks=True)
    joined = ("    inner join user_profiles\n"
              "        on per_user.user_id = user_profiles.user_id\n")
    edit(project / "models" / "marts" / "user_features.sql", joined,
         joined + "    where per_user.user_id != (select min(user_id) from per_user)\n")
    output = tmp_path / "output"
    run = run_dbt(tmp_path / "run", SAMPLE_DIR, project=project, output_dir=output)
    assert run.returncode != 0
    check = run.result("assert_user_features_count_every_featurised_transaction")
    assert check["status"] == "fail" and check["failures"] == 1, check
    assert not (output / "user_features.parquet").exists()


def test_failing_rows_are_queryable_in_the_audit_schema(tmp_path, landing):
    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    profiles = pd.read_parquet(copy / "user_profiles.parquet")
    profiles.loc[profiles.index[:2], "age"] = 150
    profiles.to_parquet(copy / "user_profiles.parquet", index=False)
    run = run_dbt(tmp_path / "run", copy)
    assert run.returncode != 0
    table = run.audit_table("expect_column_values_to_be_between_user_features_age")
    rows = query(tmp_path / "run", f"select user_id, age from {table} order by user_id")
    assert [age for _, age in rows] == [150, 150]
    assert [user for user, _ in rows] == sorted(profiles["user_id"].iloc[:2])


# ---------------------------------------------------------------- report

@pytest.mark.parametrize("defect", ["age_150", "repeated_profile",
                                    "category_amounts_null"])
def test_single_defect_fails_the_run_and_shows_in_the_report(tmp_path, landing,
                                                             good_build, defect):
    output = copy_output(good_build, tmp_path / "output")
    before = published_digests(output)

    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    profiles = pd.read_parquet(copy / "user_profiles.parquet")
    raw = pd.read_parquet(copy / "transactions.parquet")
    if defect == "age_150":
        profiles.loc[profiles.index[0], "age"] = 150
        expected = "| ❌ | expect_column_values_to_be_between | user_features.age | 1 values outside [18, 100]"
    elif defect == "repeated_profile":
        profiles = pd.concat([profiles, profiles.iloc[[3]]])
        expected = "| ❌ | unique | user_features.user_id | 1 repeated values"
    else:
        raw.loc[raw["category"] == "books", "amount"] = None
        books = int((raw.drop_duplicates("transaction_id")["category"] == "books").sum())
        expected = f"| ❌ | not_null | int_transactions_enriched.amount | {books:,} nulls".replace(",", " ")
    profiles.to_parquet(copy / "user_profiles.parquet", index=False)
    raw.to_parquet(copy / "transactions.parquet", index=False)

    bad, report = build_and_report(tmp_path / "bad", copy, output)
    assert bad.returncode != 0
    assert report.startswith("# Validation report ❌")
    assert expected in report, report
    assert published_digests(output) == before
    html = (output / "validation_report.html").read_text()
    assert "❌" in html


def test_report_on_the_sample(sample_run, tmp_path):
    workdir = sample_run.output_dir.parent
    report = subprocess.run(
        [sys.executable, str(REPORT), "--target-path", str(sample_run.target_dir),
         "--database", str(workdir / "pipeline.duckdb"),
         "--output-dir", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "validation_report.md").read_text()
    assert text in report.stdout  # printed, and written
    assert text.startswith("# Validation report ⚠️")
    for stage in ("## Input", "## Staging", "## Output", "## Drift"):
        assert stage in text
    nulls = int(pd.read_parquet(SAMPLE_DIR / "transactions.parquet")["amount"].isna().sum())
    share = f"{nulls / 50_100:.1%}".replace("%", " %")
    # The delivered values' checks are listed with the input.
    input_stage = text[text.index("## Input"):text.index("## Staging")]
    amount = "stg_transaction_deliveries.amount"
    assert (f"| ✅ | expect_column_values_to_not_be_null | {amount} | "
            f"{nulls:,} nulls, {share} ≤ 5 %".replace(",", " ", 1)) in input_stage
    assert f"| ⚠️ | not_null | {amount} | {nulls:,}".replace(",", " ") in input_stage


# ----------------------------------------------------------------- drift

def test_drift_is_zero_on_a_rerun_and_major_when_amounts_triple(tmp_path, landing,
                                                               good_build):
    # The first run had no baseline to compare with.
    first, _ = good_build
    assert set(query(first.output_dir.parent / "run", "select drift from feature_drift")) \
        == {("skipped",)}
    output = copy_output(good_build, tmp_path / "output")

    again, report = build_and_report(tmp_path / "again", landing, output)
    assert again.returncode == 0, again.output
    psi = dict(query(tmp_path / "again", "select feature, psi from feature_drift"))
    assert len(psi) == 14 and all(value == 0 for value in psi.values()), psi
    html = (output / "validation_report.html").read_text()
    assert html.count("<svg") == 14

    tripled = tmp_path / "tripled"
    shutil.copytree(landing, tripled)
    raw = pd.read_parquet(tripled / "transactions.parquet")
    raw["amount"] = raw["amount"] * 3
    raw.to_parquet(tripled / "transactions.parquet", index=False)
    before = published_digests(output)

    shifted = run_dbt(tmp_path / "shifted", tripled, output_dir=output)
    assert shifted.returncode == 0, shifted.output  # drift warns by default
    drift = dict(query(tmp_path / "shifted", "select feature, drift from feature_drift"))
    assert {f for f, d in drift.items() if d == "major"} >= AMOUNT_FEATURES
    assert drift["age"] == "none"
    assert published_digests(output) != before
    # The report gives each drift threshold as its value, not template text.
    report = subprocess.run(
        [sys.executable, str(REPORT), "--target-path", str(shifted.target_dir),
         "--database", str(tmp_path / "shifted" / "pipeline.duckdb"),
         "--output-dir", str(tmp_path / "shifted_report")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "shifted_report" / "validation_report.md").read_text()
    assert "{{" not in text
    row = next(line for line in text.splitlines() if "feature_drift.psi" in line
               and "0.25]" in line)
    assert "values outside [-∞, 0.25]" in row, row

    # With drift blocking publishing, a shift stops the run and publishes
    # nothing: back to the original amounts is a major shift again.
    after_shift = published_digests(output)
    blocked = run_dbt(tmp_path / "blocked", landing, output_dir=output,
                      extra_vars={"drift_blocks_publishing": True})
    assert blocked.returncode != 0
    assert blocked.result("assert_no_major_drift_where_it_blocks_publishing")["status"] == "fail"
    assert "feature_drift_below_major" in blocked.output
    assert blocked.result("model.feature_pipeline.publish_user_features")["status"] == "skipped"
    assert published_digests(output) == after_shift
