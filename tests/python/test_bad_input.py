"""What happens when the input is bad: each row of the "What happens when…"
table in docs/operations.md, proved on a real `dbt build`.

A run that stops must exit non-zero, say in one sentence which file and
column (or check) is at fault, publish nothing (the previous output stays
byte-for-byte) and leave the raw files untouched. A run that goes on must
warn, with the affected rows counted.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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
        run, f"WARNING: landing: {path} has columns the landing contract does "
             "not name (coupon); they are not read.")
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
        run, f"WARNING: check relationships on transaction_quarantine, column "
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
        "WARNING: check relationships on stg_transaction_deliveries, column "
        "category",
        "WARNING: check relationships on stg_user_profiles, column region",
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
        run, "WARNING: check expect_column_values_to_be_between on "
             "stg_transaction_deliveries",
        "column transacted_at found 1 failing row(s).")


def test_absurd_amounts_stop_the_run(parquet_case):
    path = parquet_case.transactions()
    frame = pd.read_parquet(path)
    frame.loc[frame.index[0], "amount"] = 9e11
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
             f"found {books} failing row(s), first in {path}.")


# ------------------------------------------- hostile and odd file names

# A name built to end the SQL string it is written into and run a statement
# of its own (it would write pwned.csv into the working directory).
INJECTION = ("z', 'parquet', 0::bigint, 'load', 'f', null)) as t (a, b, c, d, "
             "e, f, g); copy (select 42 as pwned) to 'pwned.csv'; select * "
             "from (values ('a', 'b.parquet")
ODD_NAMES = ["batch (O'Brien copy).parquet", 'batch "quoted"; -- note.parquet',
             "batch é ü 東京.parquet", "BATCH UPPER.PARQUET", INJECTION]


def as_batch_folder(landing: Path, names: list[str]) -> Path:
    """Cut the landing's transactions into one batch file per name."""
    single = landing / "transactions.parquet"
    frame = pd.read_parquet(single)
    single.unlink()
    folder = landing / "transactions"
    folder.mkdir()
    size = -(-len(frame) // len(names))
    for index, name in enumerate(names):
        frame.iloc[index * size:(index + 1) * size] \
            .to_parquet(folder / name, index=False)
    return folder


def test_file_names_and_paths_with_quotes_and_symbols_load_as_data(
        tmp_path, base_landing):
    from conftest import PROJECT_ROOT
    landing = tmp_path / "it's a landing; -- dir"
    shutil.copytree(base_landing, landing)
    as_batch_folder(landing, ODD_NAMES)
    output = tmp_path / 'output "O\'Brien"'
    watched = [PROJECT_ROOT, tmp_path, tmp_path / "run"]
    before = {folder: sorted(p.name for p in folder.glob("*")) for folder in watched}
    raw_before = digest_tree(landing)

    first = run_dbt(tmp_path / "run", landing, output_dir=output)
    try:
        assert first.returncode == 0, first.output[-3000:]
        assert "5 parquet file(s)" in first.output
        assert_frames_match(pd.read_parquet(output / "user_features.parquet"),
                            features_from_landing(landing))
        # The names are stored as they are, and recognised on the next run.
        again = run_dbt(tmp_path / "run", landing, output_dir=output)
        assert again.returncode == 0, again.output[-3000:]
        assert "0 new files, 0 rows; 5 files loaded before" in again.output
        for folder in watched:
            created = {p.name for p in folder.glob("*")} - set(before[folder])
            assert created <= {"run", "output \"O'Brien\"", "it's a landing; -- dir",
                               "pipeline.duckdb", "pipeline.duckdb.wal",
                               "pipeline.duckdb.lock", "target", "logs",
                               "duckdb_tmp"}, created
        assert digest_tree(landing) == raw_before
    finally:
        (PROJECT_ROOT / "pwned.csv").unlink(missing_ok=True)


def test_csv_batches_with_columns_in_another_order_are_combined_by_name(
        tmp_path, base_csv, previous_output):
    case = Case(tmp_path, base_csv, previous_output)
    path = case.transactions()
    frame = pd.read_csv(path)
    path.unlink()
    folder = case.landing / "transactions"
    folder.mkdir()
    frame.iloc[:1500].to_csv(folder / "batch_1.csv", index=False)
    # Same columns, listed in reverse: combining by position would put
    # user_id into timestamp's place and so on.
    frame.iloc[1500:][list(reversed(frame.columns))] \
        .to_csv(folder / "batch_2.csv", index=False)
    run = case.run()
    case.assert_goes_on(run)
    assert_frames_match(pd.read_parquet(case.output / "user_features.parquet"),
                        features_from_landing(case.landing))


def test_files_the_pipeline_does_not_read_are_named(parquet_case):
    folder = as_batch_folder(parquet_case.landing,
                             ["batch_1.parquet", "batch_2.PARQUET"])
    (folder / "README.txt").write_text("delivered by the shop system")
    (folder / ".DS_Store").write_bytes(b"\0")  # dot-files are ignored quietly
    run = parquet_case.run()
    parquet_case.assert_goes_on(
        run, f"WARNING: landing: {folder} holds 1 file(s) that are not "
             ".parquet or .csv and are not read: README.txt.")
    assert ".DS_Store" not in run.output
    assert "2 parquet file(s)" in run.output  # the upper-case one is read
    assert_frames_match(
        pd.read_parquet(parquet_case.output / "user_features.parquet"),
        features_from_landing(parquet_case.landing))


def test_a_broken_link_to_a_batch_file_stops_the_run(parquet_case):
    folder = as_batch_folder(parquet_case.landing, ["batch_1.parquet"])
    (folder / "batch_2.parquet").symlink_to(folder / "gone.parquet")
    run = parquet_case.run()
    parquet_case.assert_stops(
        run, f"{folder / 'batch_2.parquet'} is a broken symbolic link")


# ------------------------------------ values that no model could use

# Amounts are kept exactly as DECIMAL(18, 6): below 1e12.
@pytest.mark.parametrize("value", [b"NaN", b"inf", b"-Infinity", b"1e40", b"-1e12"])
def test_a_non_finite_amount_in_csv_stops_the_run(csv_case, value):
    path = csv_case.transactions()
    rewrite_csv_line(path, 3, lambda line: b",".join(
        line.split(b",")[:4] + [value] + line.split(b",")[5:]))
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}, line 3, column 'amount': "
                               f"'{value.decode()}' is not a valid DOUBLE")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"),
                                   1e40, -1e12])
def test_a_non_finite_amount_in_parquet_stops_the_run(parquet_case, value):
    path = parquet_case.transactions()
    table = pq.read_table(path)
    amounts = table.column("amount").to_pylist()
    amounts[41] = value
    # from_pandas=False: pandas would store a NaN as null.
    column = table.schema.get_field_index("amount")
    table = table.set_column(column, "amount",
                             pa.array(amounts, pa.float64(), from_pandas=False))
    pq.write_table(table, path)
    run = parquet_case.run()
    parquet_case.assert_stops(run, f"{path}, row 42, column 'amount': "
                                   f"{value} is not a finite number")


@pytest.mark.parametrize("arrow_type, value", [
    (pa.int64(), 10 ** 12),
    (pa.decimal128(20, 4), Decimal("-1000000000000.0000")),
    # Below 1e12, but staging's six decimals would round it to 1e12.
    (pa.decimal128(22, 8), Decimal("999999999999.99999995")),
], ids=["bigint", "decimal", "decimal-rounding-up"])
def test_an_integer_or_decimal_amount_of_1e12_stops_the_run(parquet_case,
                                                            arrow_type, value):
    """Amounts are kept as DECIMAL(18, 6): whatever number type a file
    gives them, one of 1e12 or more is named, not cast and failed."""
    path = parquet_case.transactions()
    table = pq.read_table(path)
    scale = getattr(arrow_type, "scale", 0)
    amounts = [None if amount is None else round(Decimal(str(amount)), scale)
               for amount in table.column("amount").to_pylist()]
    if scale == 0:
        amounts = [None if amount is None else int(amount) for amount in amounts]
    amounts[41] = value
    column = table.schema.get_field_index("amount")
    pq.write_table(table.set_column(column, "amount", pa.array(amounts, arrow_type)), path)
    run = parquet_case.run()
    parquet_case.assert_stops(run, f"{path}, row 42, column 'amount': "
                                   f"{value} is not a finite number smaller than 1e12")


def test_an_unsigned_id_above_the_bigint_range_stops_the_run(parquet_case):
    path = parquet_case.transactions()
    frame = pd.read_parquet(path)
    ids = frame["transaction_id"].astype("uint64")
    ids.iloc[6] = 2 ** 63 + 7
    frame["transaction_id"] = ids
    frame.to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_stops(run, f"{path}, row 7, column 'transaction_id': "
                                   f"{2 ** 63 + 7} is above the BIGINT range")


def test_a_csv_integer_too_large_for_bigint_stops_the_run(csv_case):
    path = csv_case.transactions()
    rewrite_csv_line(path, 4, lambda line: b"99999999999999999999"
                     + line[line.index(b","):])
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}, line 4, column 'transaction_id': "
                               "'99999999999999999999' is not a valid BIGINT")


# ---------------------------------------------- accepted as they are

def test_a_csv_with_a_byte_order_mark_is_read(csv_case):
    for path in (csv_case.transactions(), csv_case.profiles()):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    run = csv_case.run()
    csv_case.assert_goes_on(run)
    assert_frames_match(pd.read_parquet(csv_case.output / "user_features.parquet"),
                        features_from_landing(csv_case.landing))


def test_a_dictionary_encoded_text_column_is_read(parquet_case):
    # pandas writes a `category` column as a Parquet dictionary of strings.
    for path, column in ((parquet_case.transactions(), "category"),
                         (parquet_case.profiles(), "region")):
        frame = pd.read_parquet(path)
        frame[column] = frame[column].astype("category")
        frame.to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_goes_on(run)
    assert_frames_match(
        pd.read_parquet(parquet_case.output / "user_features.parquet"),
        features_from_landing(parquet_case.landing))


# ----------------------------------------------------- settings

def test_a_non_numeric_threshold_var_stops_with_its_name(tmp_path, base_landing):
    run = run_dbt(tmp_path / "run", base_landing,
                  extra_vars={"volume_sensitivity": "3; drop table main.user_features"})
    assert run.returncode != 0
    assert ('The dbt var volume_sensitivity must be a number, got '
            '"3; drop table main.user_features".') in run.output


def test_a_database_in_a_read_only_folder_is_one_sentence(tmp_path, base_landing):
    if os.geteuid() == 0:
        # Root may write in any ordinary folder; nobody may create files in
        # sysfs, so it stands for a read-only folder.
        locked = Path("/sys")
    else:
        locked = tmp_path / "read-only"
        locked.mkdir()
        locked.chmod(0o555)
    database = locked / "feature_pipeline.duckdb"
    run = run_dbt(tmp_path / "run", base_landing,
                  extra_env={"DUCKDB_PATH": str(database)})
    assert run.returncode != 0
    assert (f"Cannot open the database {database}: no file can be created in "
            f"{locked} (Permission denied); set DUCKDB_PATH to a file in a "
            "folder this user can write.") in run.output, run.output[-3000:]
    assert "Traceback" not in run.output
    assert not run.published.exists()


def test_a_null_age_in_a_profile_stops_the_run_naming_the_file(parquet_case):
    """Profiles are copied into the features, whose contract has no nulls:
    the check on stg_user_profiles stops the run first and names the file
    (not the mart's constraint, which names neither file nor user)."""
    path = parquet_case.profiles()
    profiles = pd.read_parquet(path)
    profiles["age"] = profiles["age"].astype("Int64")
    profiles.loc[3, "age"] = None
    profiles.to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_stops(
        run, "STOPPED: check not_null on stg_user_profiles, column age found "
             f"1 failing row(s), first in {path}.")
    assert "NOT NULL constraint failed" not in run.output


def test_amounts_with_more_than_six_decimals_are_rounded_with_a_warning(parquet_case):
    """Staging keeps money as DECIMAL(18, 6): a finer amount is rounded,
    and the landing check says so, naming the file, column and a row."""
    path = parquet_case.transactions()
    table = pq.read_table(path)
    amounts = table.column("amount").to_pylist()
    amounts[5], amounts[9] = 4e-7, 12.3456789
    column = table.schema.get_field_index("amount")
    pq.write_table(table.set_column(column, "amount", pa.array(amounts, pa.float64())), path)
    run = parquet_case.run()
    parquet_case.assert_goes_on(
        run, f"WARNING: landing: {path}: 2 value(s) of column 'amount' have more "
             "than six decimals and are rounded to six (e.g. row 6: 4e-07).")


def test_a_csv_amount_with_more_than_six_decimals_is_rounded_with_a_warning(csv_case):
    path = csv_case.transactions()
    rewrite_csv_line(path, 3, lambda line: b",".join(
        line.split(b",")[:4] + [b"0.0000004"] + line.split(b",")[5:]))
    run = csv_case.run()
    csv_case.assert_goes_on(
        run, f"WARNING: landing: {path}: 1 value(s) of column 'amount' have more "
             "than six decimals and are rounded to six (e.g. line 3: 4e-07).")


def test_a_null_category_keeps_its_amounts_with_a_warning(parquet_case):
    """A transaction without a category keeps its known amount in the
    features (pandas' groupby-transform imputation would erase it); each
    such row is reported."""
    path = parquet_case.transactions()
    frame = pd.read_parquet(path)
    rows = frame.index[frame["amount"].notna()][:3]
    frame.loc[rows, "category"] = None
    frame.to_parquet(path, index=False)
    run = parquet_case.run()
    parquet_case.assert_goes_on(
        run, "WARNING: check not_null on stg_transactions, column category found 3 "
             "failing row(s).")
    assert_frames_match(
        pd.read_parquet(parquet_case.output / "user_features.parquet"),
        features_from_landing(parquet_case.landing))


def test_a_csv_with_carriage_return_line_ends_stops_the_run(csv_case):
    """Old Mac line ends (a carriage return alone): refused in one short
    sentence, not read as one line whose every row the parser would quote."""
    path = csv_case.transactions()
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    run = csv_case.run()
    csv_case.assert_stops(run, f"{path}: its lines end with a carriage return alone; "
                               "save it with \\n (or \\r\\n) line ends.")
    assert max(len(line) for line in run.output.splitlines()) < 2000
