"""What happens when the input is bad: each row of the README's
"What happens when…" table, proved on a real `dbt build`.

A run that stops must exit non-zero, say in one sentence which file and
column (or check) is at fault, publish nothing (the previous output stays
byte-for-byte) and leave the raw files untouched. A run that goes on must
warn, with the affected rows counted.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import generate, run_dbt
from reference_pipeline import assert_frames_match, features_from_landing


def digest_tree(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def base_landing(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("base") / "landing", "--seed", "5",
                    "--rows", "3000", "--users", "300", "--duplicates", "10",
                    "--interval-seconds", "1800")


@pytest.fixture(scope="module")
def base_csv(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("base_csv") / "landing",
                    "--seed", "5", "--rows", "3000", "--users", "300",
                    "--duplicates", "10", "--interval-seconds", "1800",
                    "--format", "csv")


@pytest.fixture(scope="module")
def previous_output(tmp_path_factory, base_landing) -> Path:
    """Output of a good run: what a failed run must leave exactly as it was."""
    workdir = tmp_path_factory.mktemp("previous")
    run = run_dbt(workdir, base_landing)
    assert run.returncode == 0, run.output
    return run.output_dir


class Case:
    def __init__(self, tmp_path, source, previous_output):
        self.tmp_path = tmp_path
        self.landing = tmp_path / "landing"
        shutil.copytree(source, self.landing)
        self.output = tmp_path / "output"
        shutil.copytree(previous_output, self.output)

    def transactions(self) -> Path:
        return next(self.landing.glob("transactions.*"))

    def profiles(self) -> Path:
        return next(self.landing.glob("user_profiles.*"))

    def run(self):
        self.output_before = digest_tree(self.output)
        self.raw_before = digest_tree(self.landing)
        return run_dbt(self.tmp_path / "run", self.landing,
                       output_dir=self.output)

    def assert_stops(self, run, *phrases):
        assert run.returncode != 0, run.output
        for phrase in phrases:
            assert phrase in run.output, (phrase, run.output[-3000:])
        assert digest_tree(self.output) == self.output_before
        assert digest_tree(self.landing) == self.raw_before

    def assert_goes_on(self, run, *warnings):
        assert run.returncode == 0, run.output
        for phrase in warnings:
            assert phrase in run.output, (phrase, run.output[-3000:])
        assert digest_tree(self.landing) == self.raw_before
        assert (self.output / "user_features.parquet").is_file()


@pytest.fixture
def parquet_case(tmp_path, base_landing, previous_output):
    return Case(tmp_path, base_landing, previous_output)


@pytest.fixture
def csv_case(tmp_path, base_csv, previous_output):
    return Case(tmp_path, base_csv, previous_output)


def rewrite_csv_line(path: Path, line_number: int, edit) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[line_number - 1] = edit(lines[line_number - 1])
    path.write_bytes(b"\n".join(lines))


# ------------------------------------------------------- files and folders

def test_missing_landing_directory(tmp_path, previous_output):
    output = tmp_path / "output"
    shutil.copytree(previous_output, output)
    before = digest_tree(output)
    run = run_dbt(tmp_path / "run", tmp_path / "nowhere", output_dir=output)
    assert run.returncode != 0
    assert "Landing directory '" in run.output and "nowhere' does not exist" in run.output
    assert digest_tree(output) == before


def test_one_dataset_missing(parquet_case):
    parquet_case.profiles().unlink()
    run = parquet_case.run()
    parquet_case.assert_stops(run, "has no user_profiles data")


def test_empty_file(parquet_case):
    parquet_case.transactions().write_bytes(b"")
    run = parquet_case.run()
    parquet_case.assert_stops(run, "transactions.parquet is empty (0 bytes)")


def test_csv_with_only_a_header(csv_case):
    path = csv_case.transactions()
    path.write_bytes(path.read_bytes().split(b"\n")[0] + b"\n")
    run = csv_case.run()
    csv_case.assert_stops(run, "transactions has no rows", str(path))


def test_truncated_parquet(parquet_case):
    path = parquet_case.transactions()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    run = parquet_case.run()
    parquet_case.assert_stops(run, f"{path} is not a readable Parquet file")


def test_batch_files_with_different_schemas(parquet_case):
    path = parquet_case.transactions()
    folder = parquet_case.landing / "transactions"
    folder.mkdir()
    frame = pd.read_parquet(path)
    path.unlink()
    frame.iloc[:1000].to_parquet(folder / "batch_1.parquet", index=False)
    frame.iloc[1000:].assign(coupon="none") \
        .to_parquet(folder / "batch_2.parquet", index=False)
    run = parquet_case.run()
    parquet_case.assert_stops(run, "batch_2.parquet has columns",
                              "must share one schema")


# ------------------------------------------------------------------ columns

def test_required_column_renamed(parquet_case):
    path = parquet_case.transactions()
    pd.read_parquet(path).rename(columns={"amount": "price"}) \
        .to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_stops(run, f"{path}: required column 'amount' is missing")


def test_required_column_missing_in_csv(csv_case):
    path = csv_case.profiles()
    pd.read_csv(path).drop(columns=["age"]).to_csv(path, index=False)
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}: required column 'age' is missing")


def test_extra_column_warns_and_goes_on(parquet_case):
    path = parquet_case.transactions()
    pd.read_parquet(path).assign(coupon="none").to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_goes_on(
        run, "WARNING: check expect_table_columns_to_match_set on landing "
             "transactions")
    assert_frames_match(pd.read_parquet(parquet_case.output / "user_features.parquet"),
                        features_from_landing(parquet_case.landing))


# -------------------------------------------------------------------- types

def test_amount_with_decimal_comma_in_csv(csv_case):
    path = csv_case.transactions()
    # A quoted "12,50": the comma is a decimal comma, not a separator.
    rewrite_csv_line(path, 3, lambda line: line.split(b",")[0]
                     + b',7,8,"food","12,50",3,"2024-01-01 01:00:00"')
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}, line 3, column 'amount': '12,50' is "
                               "not a valid DOUBLE")


def test_amount_as_text_in_parquet(parquet_case):
    path = parquet_case.transactions()
    frame = pd.read_parquet(path)
    frame["amount"] = frame["amount"].map(lambda v: f"{v:.2f}".replace(".", ","))
    frame.to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_stops(run, f"{path}: column 'amount' has type VARCHAR, "
                                   "expected DOUBLE")


def test_unparseable_timestamp(csv_case):
    path = csv_case.transactions()
    rewrite_csv_line(path, 5, lambda line: line.rsplit(b",", 1)[0]
                     + b',"next tuesday"')
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}, line 5, column 'timestamp': "
                               "'next tuesday' is not a valid TIMESTAMP")


def test_non_integer_transaction_id(csv_case):
    path = csv_case.transactions()
    rewrite_csv_line(path, 4, lambda line: b"4.5" + line[line.index(b","):])
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}, line 4, column 'transaction_id': "
                               "'4.5' is not a valid BIGINT")


def test_csv_with_a_malformed_line(csv_case):
    path = csv_case.transactions()
    rewrite_csv_line(path, 6, lambda line: line + b",surplus")
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}, line 6: Expected Number of Columns")


def test_csv_with_bytes_that_are_not_utf8(csv_case):
    path = csv_case.profiles()
    rewrite_csv_line(path, 7, lambda line: line.replace(b'"', b"\xff", 1))
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}, line 7", "not valid UTF-8")


# ------------------------------------------------------------------- values

def test_duplicate_user_profiles(parquet_case):
    path = parquet_case.profiles()
    frame = pd.read_parquet(path)
    pd.concat([frame, frame.iloc[[0]]]).to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_stops(
        run, "STOPPED: check unique on user_features, column user_id found 1 "
             "failing row(s).",
        "Nothing was published")


def test_transactions_without_a_profile_are_left_out_and_counted(parquet_case):
    path = parquet_case.profiles()
    frame = pd.read_parquet(path)
    frame[frame["user_id"] > 10].to_parquet(path, index=False)
    run = parquet_case.run()
    raw = pd.read_parquet(parquet_case.transactions()).drop_duplicates("transaction_id")
    orphans = int((raw["user_id"] <= 10).sum())
    parquet_case.assert_goes_on(
        run, f"WARNING: check relationships on stg_transactions, column "
             f"user_id found {orphans} failing row(s).")
    published = pd.read_parquet(parquet_case.output / "user_features.parquet")
    assert published["user_id"].min() > 10


def test_unknown_category_and_region_are_kept_and_warned(parquet_case):
    transactions = parquet_case.transactions()
    frame = pd.read_parquet(transactions)
    frame.loc[frame.index[:3], "category"] = "garden"
    frame.to_parquet(transactions, index=False)
    profiles = parquet_case.profiles()
    people = pd.read_parquet(profiles)
    people.loc[people["user_id"] == 1, "region"] = "Antarctica"
    people.to_parquet(profiles, index=False)
    run = parquet_case.run()
    parquet_case.assert_goes_on(
        run,
        "WARNING: check relationships on landing transactions",
        "WARNING: check relationships on landing user_profiles",
    )
    published = pd.read_parquet(parquet_case.output / "user_features.parquet")
    assert_frames_match(published, features_from_landing(parquet_case.landing))
    user_1 = published[published["user_id"] == 1]
    if len(user_1):
        regions = [c for c in published.columns if c.startswith("region_")]
        assert not user_1[regions].to_numpy().any()


def test_timestamps_in_the_future_warn(parquet_case):
    path = parquet_case.transactions()
    frame = pd.read_parquet(path)
    frame.loc[frame.index[-1], "timestamp"] = pd.Timestamp("2999-01-01")
    frame.to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_goes_on(
        run, "WARNING: check expect_column_values_to_be_between on landing "
             "transactions", "column timestamp found 1 failing row(s).")


def test_absurd_amounts_stop_the_run(parquet_case):
    path = parquet_case.transactions()
    frame = pd.read_parquet(path)
    frame.loc[frame.index[0], "amount"] = 1e12
    frame.to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_stops(
        run, "STOPPED: check expect_column_values_to_be_between on "
             "user_features, column avg_order_value found 1 failing row(s).")


def test_every_amount_of_a_category_null_stops_the_run(parquet_case):
    path = parquet_case.transactions()
    frame = pd.read_parquet(path)
    frame.loc[frame["category"] == "books", "amount"] = None
    frame.to_parquet(path, index=False)
    books = int((frame.drop_duplicates("transaction_id")["category"] == "books").sum())
    run = parquet_case.run()
    parquet_case.assert_stops(
        run, f"STOPPED: check not_null on int_transactions_enriched, column amount "
             f"found {books} failing row(s).")
