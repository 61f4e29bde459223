"""Paths and vars are data: whatever characters a landing or output
folder's name or a var holds (`{{ }}`, quotes, backticks, `$`), make, the
shell and dbt take it literally. A planted template or command would create a table or a file;
each test checks that nothing ran and that the run read and wrote exactly
the folders named.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import duckdb
import pytest

from conftest import PROJECT_ROOT, SAMPLE_DIR, run_dbt


def hostile_name(marker: str) -> str:
    """A folder name holding a dbt template that would create a table, a
    shell command that would create a file, quotes and make's `$1`."""
    return ("land{{ run_query('create table main.pwned_" + marker + " as select 1') }}"
            "$1 \"q\" 'q' `touch PWNED_" + marker + "` $(touch PWNED_" + marker + ")")


def nothing_ran(marker: str, database: Path, *folders: Path) -> None:
    for folder in (PROJECT_ROOT, *folders):
        assert not list(folder.glob(f"PWNED_{marker}*")), folder
    if database.exists():
        with duckdb.connect(str(database), read_only=True) as db:
            tables = {name for (name,) in db.sql(
                "select table_name from information_schema.tables").fetchall()}
        assert not {t for t in tables if t.startswith("pwned")}, tables


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_make_build_takes_hostile_paths_literally(tmp_path, sample_run):
    marker = uuid.uuid4().hex[:8]
    landing = tmp_path / hostile_name(marker)
    shutil.copytree(SAMPLE_DIR, landing)
    # make's `$1` must not shorten the name to a sibling that exists.
    decoy = tmp_path / "land"
    decoy.mkdir()
    output = tmp_path / ("out" + hostile_name(marker)[4:])
    database = tmp_path / "pipeline.duckdb"
    env = {**os.environ, "DUCKDB_PATH": str(database),
           "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_LOG_PATH": str(tmp_path / "logs"),
           "DUCKDB_TEMP_DIRECTORY": str(tmp_path / "duckdb_tmp")}
    process = subprocess.run(
        ["make", "--no-print-directory", "build",
         f"RAW_DATA_DIR={landing}", f"OUTPUT_DIR={output}"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    said = process.stdout + process.stderr
    assert process.returncode == 0, said[-3000:]
    nothing_ran(marker, database, tmp_path)
    published = output / "user_features.parquet"
    assert sha256(published) == sha256(sample_run.published)
    assert (output / "runs.jsonl").is_file()
    assert f"in {landing}" in said


def test_dbt_takes_a_hostile_path_from_the_environment_literally(tmp_path):
    marker = uuid.uuid4().hex[:8]
    landing = tmp_path / hostile_name(marker)
    run = run_dbt(tmp_path / "run", SAMPLE_DIR, command="build",
                  extra_env={"RAW_DATA_DIR": str(landing),
                             "OUTPUT_DIR": str(tmp_path / "out{{ 6*7 }}")},
                  use_vars=False)
    # The folder does not exist: the run stops, naming it as written.
    assert run.returncode != 0
    assert f"Landing directory '{landing}' does not exist" in run.output, run.output[-3000:]
    nothing_ran(marker, tmp_path / "run" / "pipeline.duckdb", tmp_path)
    assert not (tmp_path / "out42").exists()


def test_dbt_takes_hostile_vars_literally(tmp_path, sample_run):
    """dbt renders a --vars string as a template when a project reads it
    with var(); the project never does: paths given as vars are folders of
    that name, and any other var holding template text is refused in one
    sentence naming it."""
    marker = uuid.uuid4().hex[:8]
    landing = tmp_path / hostile_name(marker)
    shutil.copytree(SAMPLE_DIR, landing)
    output = tmp_path / "out{{ 6*7 }}"
    run = run_dbt(tmp_path / "paths", landing, output_dir=output)
    assert run.returncode == 0, run.output[-3000:]
    nothing_ran(marker, tmp_path / "paths" / "pipeline.duckdb", tmp_path)
    assert sha256(output / "user_features.parquet") == sha256(sample_run.published)
    assert not (tmp_path / "out42").exists()

    planted = "{{ run_query('create table main.pwned_var as select 1') }}"
    for name, sentence in (
            ("volume_sensitivity", "The dbt var volume_sensitivity must be a number"),
            ("drift_psi_major", "The dbt var drift_psi_major must be a number"),
            ("drift_blocks_publishing",
             "The dbt var drift_blocks_publishing must be true or false"),
            ("landing_contract", "The dbt var landing_contract"),
            ("drift_baseline", f"The drift baseline {planted} (DRIFT_BASELINE")):
        refused = run_dbt(tmp_path / name, SAMPLE_DIR, extra_vars={name: planted})
        assert refused.returncode != 0, name
        assert sentence in refused.output, (name, refused.output[-3000:])
        assert "Traceback" not in refused.output, (name, refused.output[-3000:])
        nothing_ran("var", tmp_path / name / "pipeline.duckdb")


def test_the_project_reads_vars_only_through_setting():
    """The rule behind the test above, for every var a later change adds:
    `var()` is called in one place, the `setting` macro, and no property
    file (rendered when dbt parses, where `setting` cannot be called)
    reads a var at all."""
    import re
    calls = re.compile(r"(?<![\w.])var\s*\(")
    found = []
    files = [PROJECT_ROOT / "dbt_project.yml",
             *[p for folder in ("models", "macros", "tests", "seeds", "snapshots",
                                "analyses")
               for p in (PROJECT_ROOT / folder).rglob("*")
               if p.suffix in (".sql", ".yml", ".yaml", ".py", ".md")
               and "python" not in p.parts]]
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if calls.search(line) and "`var()`" not in line:
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert found == ["macros/sql_values.sql:35: {{- return(var(name, default)) -}}"], found


def test_a_crafted_landing_contract_is_refused_before_any_sql(tmp_path):
    """Types come from an allow-list and names must be plain: a type or a
    name that holds SQL stops the run with one sentence naming the var."""
    contract = {
        "transactions": {"transaction_id": "BIGINT", "user_id": "BIGINT",
                         "product_id": "BIGINT", "category": "VARCHAR",
                         "amount": "DOUBLE); create table main.pwned_type as (select 1",
                         "quantity": "BIGINT", "timestamp": "TIMESTAMP"},
        "user_profiles": {"user_id": "BIGINT", "age": "BIGINT", "region": "VARCHAR",
                          "account_age_days": "BIGINT", "is_premium": "BIGINT"},
    }
    typed = run_dbt(tmp_path / "typed", SAMPLE_DIR,
                    extra_vars={"landing_contract": contract})
    assert typed.returncode != 0
    assert ("The dbt var landing_contract gives transactions.amount the type "
            "'DOUBLE); create table main.pwned_type as (select 1', which is not one "
            "of BIGINT, DOUBLE, TIMESTAMP, VARCHAR.") in typed.output, typed.output[-3000:]
    nothing_ran("type", tmp_path / "typed" / "pipeline.duckdb")

    named = {**contract, "transactions": {
        **{k: v for k, v in contract["transactions"].items() if k != "amount"},
        'amount" as double) as x; create table main.pwned_name as (select 1': "DOUBLE"}}
    renamed = run_dbt(tmp_path / "named", SAMPLE_DIR,
                      extra_vars={"landing_contract": named})
    assert renamed.returncode != 0
    assert "The dbt var landing_contract names the column " in renamed.output
    nothing_ran("name", tmp_path / "named" / "pipeline.duckdb")


# Every setting the README and docs/operations.md name, with a malformed
# value: one sentence naming it, a non-zero exit, no traceback.
MALFORMED = [
    ("DUCKDB_MEMORY_LIMIT", "lots", "DUCKDB_MEMORY_LIMIT is 'lots', not a size"),
    ("DUCKDB_MEMORY_LIMIT", "1MB", "DUCKDB_MEMORY_LIMIT is '1MB', below the 128MB"),
    ("DUCKDB_THREADS", "0", "DUCKDB_THREADS is '0': give a whole number of threads"),
    ("DUCKDB_THREADS", "many", "DUCKDB_THREADS is 'many': give a whole number"),
    ("DBT_THREADS", "abc", "DBT_THREADS must be a whole number of threads"),
    ("DUCKDB_TEMP_DIRECTORY", "{folder}/notes.csv",
     "DUCKDB_TEMP_DIRECTORY names the file {folder}/notes.csv: give a folder"),
    ("LANDING_PROGRESS_SECONDS", "soon", "LANDING_PROGRESS_SECONDS is 'soon': give a number"),
    ("DUCKDB_PATH", "{folder}", "DUCKDB_PATH names the folder {folder}: give a file"),
    ("DUCKDB_PATH", "{folder}/notes.csv",
     "DUCKDB_PATH names {folder}/notes.csv, which is not a DuckDB database file"),
]


def test_every_malformed_setting_is_one_sentence_naming_it(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    for setting, value, sentence in MALFORMED:
        value = value.format(folder=tmp_path)
        run = run_dbt(tmp_path / "run", SAMPLE_DIR, extra_env={setting: value})
        assert run.returncode != 0, (setting, value)
        assert sentence.format(folder=tmp_path) in run.output, run.output[-2000:]
        assert "Traceback" not in run.output, (setting, run.output[-2000:])
    assert (tmp_path / "notes.csv").read_text() == "a,b\n1,2\n"

    # The settings of make targets, before anything starts.
    port = "{setting} is '{value}': give a port number from 1 to 65535"
    for target, setting, value, sentence in (
            ("docs", "DOCS_PORT", "http", port),
            ("docs", "DOCS_PORT", "80800", port),
            ("orchestrate", "DAGSTER_PORT", "3000x", port),
            ("build", "TARGET", "postgres",
             "TARGET=postgres is not a target of profiles.yml")):
        process = subprocess.run(
            ["make", "--no-print-directory", target, f"{setting}={value}"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
        assert process.returncode != 0, (setting, value)
        assert sentence.format(setting=setting, value=value) in process.stderr, \
            process.stdout[-2000:] + process.stderr[-2000:]
        assert "Traceback" not in process.stderr


def test_an_output_folder_that_is_a_file_or_holds_links_is_refused(tmp_path):
    # OUTPUT_DIR naming a file: one sentence, the file untouched.
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    run = run_dbt(tmp_path / "run", SAMPLE_DIR, output_dir=taken)
    assert run.returncode != 0
    assert f"OUTPUT_DIR: {taken} is a file, not a folder; nothing was published." \
        in run.output, run.output[-3000:]
    assert taken.read_text() == "not a folder"

    # A link planted in the output folder is not written through.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    output = tmp_path / "output"
    output.mkdir()
    (output / "history").symlink_to(elsewhere)
    linked = run_dbt(tmp_path / "linked", SAMPLE_DIR, output_dir=output)
    assert linked.returncode != 0
    assert f"{output / 'history'} is a symbolic link; the pipeline writes no file " \
           "through a link" in linked.output, linked.output[-3000:]
    assert list(elsewhere.iterdir()) == []
    assert not (output / "user_features.parquet").exists()


# Runs the command with OUTPUT_DIR ($0) on a small disk of its own (a tmpfs
# in a private mount namespace, no privilege needed) that already holds the
# published files ($1), then filled up or made read-only ($2); prints the
# files it ends with.
SMALL_DISK = """
mount -t tmpfs -o size=2m tmpfs "$0" && cp -a "$1"/. "$0"/ || exit 90
case "$2" in
  full) dd if=/dev/zero of="$0/filler" bs=4k 2>/dev/null ;;
  read-only) mount -o remount,ro "$0" || exit 90 ;;
esac
shift 2
"$@"
status=$?
rm -f "$0/filler"
cd "$0" && find . -type f ! -name filler -exec sha256sum {} + | sort
exit $status
"""


@pytest.mark.parametrize("disk, sentence", [
    ("full", "OUTPUT_DIR: cannot write in {output} (no space left on device); "
             "nothing was published, and the published files are as they were."),
    ("read-only", "OUTPUT_DIR: {output} cannot be written by this user; "
                  "nothing was published."),
])
def test_a_full_or_read_only_output_disk_is_one_sentence_and_publishes_nothing(
        tmp_path, sample_run, disk, sentence):
    published = {f"./{p.relative_to(sample_run.output_dir)}": sha256(p)
                 for p in sample_run.output_dir.rglob("*") if p.is_file()}
    output = tmp_path / "output"
    output.mkdir()
    run = run_dbt(tmp_path / "run", SAMPLE_DIR, output_dir=output,
                  prefix=("unshare", "--user", "--map-root-user", "--mount",
                          "sh", "-c", SMALL_DISK, str(output),
                          str(sample_run.output_dir), disk))
    assert run.returncode not in (0, 90), run.output[-3000:]
    assert sentence.format(output=output) in run.output, run.output[-3000:]
    left = dict(line.split()[::-1] for line in run.output.splitlines()
                if line.startswith(tuple("0123456789abcdef")) and "  ./" in line)
    assert left == published


def test_glob_characters_in_names_are_read_as_the_exact_files(tmp_path):
    """DuckDB reads `*`, `?` and `[…]` in a path as wildcards: every file is
    read by its exact path, so a batch named `*.parquet` is read once and a
    landing folder named `land[12]` is not its sibling `land1`."""
    from conftest import generate
    from reference_pipeline import assert_frames_match, features_from_landing
    landing = tmp_path / "land[12]"
    generate(landing, "--rows", "3000", "--users", "300", "--batches", "day")
    batches = sorted((landing / "transactions").glob("*.parquet"))
    assert len(batches) >= 4
    # Names a wildcard would expand to other batch files.
    for batch, name in zip(batches, ["*.parquet", "b?.parquet", "batch[1].parquet"]):
        batch.rename(batch.with_name(name))
    # A sibling a wildcard would read instead of the landing folder.
    decoy = tmp_path / "land1"
    generate(decoy, "--seed", "9", "--rows", "500", "--users", "50")
    run = run_dbt(tmp_path / "run", landing)
    assert run.returncode == 0, run.output[-3000:]
    assert_frames_match(run.features(), features_from_landing(landing))
    read = {path for (path,) in duckdb.connect(
        str(tmp_path / "run" / "pipeline.duckdb"), read_only=True).sql(
        "select distinct _source_file from stg_transaction_deliveries").fetchall()}
    assert read == {str(p) for p in (landing / "transactions").glob("*") if p.is_file()}


def test_landing_shapes_that_would_end_in_an_internal_error_are_one_sentence(tmp_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from conftest import copy_landing

    # A landing path that is a file.
    as_file = tmp_path / "landing.parquet"
    as_file.write_bytes((SAMPLE_DIR / "transactions.parquet").read_bytes())
    run = run_dbt(tmp_path / "file", as_file)
    assert run.returncode != 0
    assert f"Landing directory '{as_file}' is a file, not a folder" in run.output

    # An output folder inside the landing folder.
    landing = copy_landing(SAMPLE_DIR, tmp_path / "landing")
    inside = run_dbt(tmp_path / "inside", landing, output_dir=landing / "features")
    assert inside.returncode != 0
    assert (f"OUTPUT_DIR {landing / 'features'} lies inside the landing directory "
            f"{landing}: a run would read its own output") in inside.output
    assert not (landing / "features").exists()

    # A column named like the readers' own, and a column name twice.
    raw = pd.read_parquet(landing / "transactions.parquet")
    raw.assign(_load_id=7).to_parquet(landing / "transactions.parquet", index=False)
    reserved = run_dbt(tmp_path / "reserved", landing)
    assert reserved.returncode != 0
    assert (f"{landing / 'transactions.parquet'}: column '_load_id' has a name the "
            "pipeline keeps for where each row came from") in reserved.output
    table = pa.Table.from_pandas(raw, preserve_index=False)
    twice = pa.Table.from_arrays([*table.columns, table.column("amount")],
                                 names=[*table.column_names, "amount"])
    pq.write_table(twice, landing / "transactions.parquet")
    doubled = run_dbt(tmp_path / "doubled", landing)
    assert doubled.returncode != 0
    assert (f"{landing / 'transactions.parquet'}: the column name 'amount' appears "
            "more than once") in doubled.output
    for said in (run, inside, reserved, doubled):
        assert "Traceback" not in said.output


def test_a_snapshot_from_a_corrected_future_timestamp_is_superseded(tmp_path):
    """A transaction dated 2099 only warns, and its snapshot is dated 2099;
    once the file is corrected, the next publish moves that snapshot aside
    (kept under history/superseded/), so readers of the history see this
    run's snapshot as the latest."""
    import pandas as pd
    from conftest import copy_landing
    landing = copy_landing(SAMPLE_DIR, tmp_path / "landing")
    path = landing / "transactions.parquet"
    good = pd.read_parquet(path)
    bad = good.copy()
    bad.loc[bad.index[-1], "timestamp"] = pd.Timestamp("2099-01-01")
    bad.to_parquet(path, index=False)
    output = tmp_path / "output"
    first = run_dbt(tmp_path / "run", landing, output_dir=output)
    assert first.returncode == 0, first.output[-3000:]
    assert (output / "history" / "as_of_date=2099-01-01").is_dir()

    good.to_parquet(path, index=False)
    fixed = run_dbt(tmp_path / "run", landing, output_dir=output)
    assert fixed.returncode == 0, fixed.output[-3000:]
    latest = str(good["timestamp"].max().date())
    dated = sorted(p.parent.name for p in output.glob("history/*/user_features.parquet"))
    assert dated == [f"as_of_date={latest}"]
    assert (output / "history" / "superseded" / "as_of_date=2099-01-01"
            / "user_features.parquet").is_file()
    with duckdb.connect() as db:
        newest = db.sql("select max(feature_timestamp) from read_parquet($p)",
                        params={"p": str(output / "history" / "*" / "user_features.parquet")}
                        ).fetchall()[0][0]
    assert str(newest.date()) == latest


def test_a_file_corrected_in_place_is_read_again_by_a_full_refresh(tmp_path):
    """The load log tells a changed file by size and modification time, as
    docs/incremental.md says; a correction that keeps both is picked up by
    the documented `--full-refresh`."""
    import os
    from conftest import generate
    from reference_pipeline import assert_frames_match, features_from_landing
    landing = generate(tmp_path / "landing", "--rows", "2000", "--users", "200",
                       "--format", "csv", "--batches", "week")
    first = run_dbt(tmp_path / "run", landing)
    assert first.returncode == 0, first.output[-3000:]
    batch = sorted((landing / "transactions").glob("*.csv"))[0]
    stat = batch.stat()
    lines = batch.read_text().splitlines(keepends=True)
    row = lines[1].split(",")
    amount = row[4]
    assert amount and amount[-1].isdigit()
    row[4] = amount[:-1] + ("1" if amount[-1] != "1" else "2")
    lines[1] = ",".join(row)
    batch.write_text("".join(lines))
    os.utime(batch, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert batch.stat().st_size == stat.st_size

    refreshed = run_dbt(tmp_path / "run", landing, extra_args=("--full-refresh",))
    assert refreshed.returncode == 0, refreshed.output[-3000:]
    assert_frames_match(refreshed.features(), features_from_landing(landing))


def test_a_long_inspection_prints_its_progress(tmp_path):
    """Inspecting many landing files prints how far it got (every
    LANDING_PROGRESS_SECONDS; here every file, so no clock is involved)."""
    from conftest import generate
    landing = generate(tmp_path / "landing", "--rows", "3000", "--users", "300",
                       "--format", "csv", "--batches", "day")
    total = len(list((landing / "transactions").glob("*.csv")))
    assert total > 10
    run = run_dbt(tmp_path / "run", landing, extra_env={"LANDING_PROGRESS_SECONDS": "0"})
    assert run.returncode == 0, run.output[-3000:]
    assert f"landing: inspected 1 of {total} transactions file(s) in {landing}…" in run.output
    assert f"landing: inspected {total - 1} of {total} transactions file(s)" in run.output


def test_a_named_drift_baseline_that_does_not_exist_is_one_sentence(tmp_path):
    missing = tmp_path / "baseline{{ 6*7 }}.parquet"
    run = run_dbt(tmp_path / "run", SAMPLE_DIR, extra_env={"DRIFT_BASELINE": str(missing)})
    assert run.returncode != 0
    assert (f"The drift baseline {missing} (DRIFT_BASELINE or the var drift_baseline) "
            "does not exist") in run.output, run.output[-3000:]
    assert "Traceback" not in run.output
    assert not run.published.exists()


def test_a_batch_of_another_schema_is_refused_when_it_arrives(tmp_path):
    """A daily batch whose amount is stored as int64 (or that brings an extra
    column) is refused by the run that would load it, in one sentence, so
    no later rebuild is left to stop on it; without it, runs go on."""
    import pandas as pd
    from conftest import generate
    landing = generate(tmp_path / "landing", "--rows", "2000", "--users", "200",
                       "--batches", "week")
    batches = sorted((landing / "transactions").glob("*.parquet"))
    late = batches[-1].read_bytes()
    batches[-1].unlink()
    output = tmp_path / "output"
    first = run_dbt(tmp_path / "run", landing, output_dir=output)
    assert first.returncode == 0, first.output[-3000:]
    published = sha256(first.published)

    frame = pd.read_parquet(pd.io.common.BytesIO(late))
    frame["amount"] = frame["amount"].fillna(1).round().astype("int64")
    frame.to_parquet(batches[-1], index=False)
    refused = run_dbt(tmp_path / "run", landing, output_dir=output)
    assert refused.returncode != 0
    assert f"{batches[-1]} has columns" in refused.output, refused.output[-3000:]
    assert "batch files of one dataset must share one schema" in refused.output
    assert sha256(first.published) == published

    batches[-1].write_bytes(late)
    fixed = run_dbt(tmp_path / "run", landing, output_dir=output)
    assert fixed.returncode == 0, fixed.output[-3000:]
    assert "landing: transactions <- 1 new file," in fixed.output
