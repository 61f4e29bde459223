"""Incremental loads: the sample delivered batch by batch equals a rebuild.

The bundled sample is cut into ten daily-style batches and delivered one
file at a time, with a late batch (rows of an early batch arriving after
later ones), a redelivery (an earlier batch under a new name) and a
correction (a loaded file changed under its own name). After every delivery
an incremental `dbt build` must publish exactly what a `--full-refresh`
build on the same files publishes, and what the pandas reference computes.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import SAMPLE_DIR, run_dbt
from reference_pipeline import assert_frames_match, features_from_landing

BATCHES = 10


def load_log(run_dir: Path) -> pd.DataFrame:
    with duckdb.connect(str(run_dir / "pipeline.duckdb"), read_only=True) as db:
        return db.sql("select * from transaction_loads "
                      "order by load_id, source_file").df()


def query(run_dir: Path, sql: str):
    with duckdb.connect(str(run_dir / "pipeline.duckdb"), read_only=True) as db:
        return db.sql(sql).fetchall()


def mtimes(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*.parquet"))}


def new_landing(tmp_path: Path) -> Path:
    """A landing folder with the sample's profiles and no transactions yet."""
    landing = tmp_path / "landing"
    (landing / "transactions").mkdir(parents=True)
    shutil.copy(SAMPLE_DIR / "user_profiles.parquet", landing)
    return landing


def deliver(landing: Path, name: str, rows: pd.DataFrame) -> Path:
    target = landing / "transactions" / name
    rows.to_parquet(target, index=False)
    return target


@pytest.fixture(scope="module")
def batches() -> list[pd.DataFrame]:
    """The sample's transactions in ten consecutive slices of its rows."""
    raw = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    size = -(-len(raw) // BATCHES)
    return [raw.iloc[i:i + size].reset_index(drop=True)
            for i in range(0, len(raw), size)]


def deliveries(batches: list[pd.DataFrame]):
    """(file name, rows) in delivery order; rows naming a file = a copy of it."""
    early, late = batches[2].iloc[::3], batches[2].drop(batches[2].index[::3])
    corrected = batches[3].iloc[:-50].copy()
    corrected["amount"] = corrected["amount"] * 1.5
    return [
        ("batch_01.parquet", batches[0]),
        ("batch_02.parquet", batches[1]),
        ("batch_03.parquet", early),
        ("batch_04.parquet", batches[3]),
        ("batch_05.parquet", batches[4]),
        ("batch_06.parquet", batches[5]),
        # Late data: two thirds of batch 3's rows, after batch 6's.
        ("batch_06_late.parquet", late),
        ("batch_07.parquet", batches[6]),
        # The same bytes as batch 2, under another name.
        ("batch_07_redelivery.parquet", "batch_02.parquet"),
        ("batch_08.parquet", batches[7]),
        # A correction: batch 4 replaced in place (fewer rows, other amounts).
        ("batch_04.parquet", corrected),
        ("batch_09.parquet", batches[8]),
        ("batch_10.parquet", batches[9]),
    ]


def test_batches_one_by_one_equal_a_full_rebuild(tmp_path, batches):
    landing = new_landing(tmp_path)
    incremental_dir, rebuild_dir = tmp_path / "incremental", tmp_path / "rebuild"
    previous = None

    for step, (name, rows) in enumerate(deliveries(batches), start=1):
        target = landing / "transactions" / name
        if isinstance(rows, str):
            shutil.copy(landing / "transactions" / rows, target)
        else:
            if target.exists():
                # A correction: make sure the fingerprint moves on any file
                # system clock.
                stat = target.stat()
                rows.to_parquet(target, index=False)
                os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
            else:
                deliver(landing, name, rows)

        incremental = run_dbt(incremental_dir, landing)
        assert incremental.returncode == 0, incremental.output
        rebuild = run_dbt(rebuild_dir, landing, extra_args=("--full-refresh",))
        assert rebuild.returncode == 0, rebuild.output

        # Value for value: the same published features as a full rebuild,
        # and as the independent pandas implementation.
        assert_frames_match(incremental.features(), rebuild.features())
        assert_frames_match(incremental.features(),
                            features_from_landing(landing))

        log = load_log(incremental_dir)
        this_load = log[log.load_id == log.load_id.max()]
        if name == "batch_04.parquet" and step > 4:
            # A changed file is reloaded: the state is rebuilt from every
            # file, and its old rows are replaced, not added.
            assert "rebuilding" in incremental.output
            assert "batch_04.parquet changed since it was loaded" in incremental.output
            assert set(this_load.load_mode) == {"rebuild"}
            # Every file, once.
            assert len(this_load) == len(list(target.parent.glob("*.parquet")))
        else:
            assert "landing: transactions <- 1 new file," in incremental.output \
                or step == 1
            assert list(this_load.source_file) == [str(target)]
            assert set(this_load.load_mode) == {"rebuild" if step == 1 else "incremental"}
            assert this_load.rows_delivered.item() == len(pd.read_parquet(target))

        if name == "batch_07_redelivery.parquet":
            # Every row repeats batch 2: nothing new, features unchanged.
            assert this_load.new_transactions.item() == 0
            assert this_load.same_content_as.item() == str(
                landing / "transactions" / "batch_02.parquet")
            assert_frames_match(incremental.features(), previous)
        previous = incremental.features()

        # Every delivered row of the current files is held once: a reloaded
        # file's old rows are gone.
        delivered = sum(len(pd.read_parquet(p))
                        for p in (landing / "transactions").glob("*.parquet"))
        held = query(incremental_dir,
                     "select count(*) from stg_transaction_deliveries")[0][0]
        assert held == delivered

    assert step >= 12


def test_a_run_with_no_new_files_changes_nothing(tmp_path, batches):
    landing = new_landing(tmp_path)
    for index in range(3):
        deliver(landing, f"batch_{index:02d}.parquet", batches[index])
    first = run_dbt(tmp_path / "run", landing)
    assert first.returncode == 0, first.output
    published = mtimes(first.output_dir)
    log_rows = len(load_log(tmp_path / "run"))

    again = run_dbt(tmp_path / "run", landing)
    assert again.returncode == 0, again.output
    assert "landing: transactions <- 0 new files, 0 rows; 3 files loaded before" \
        in again.output
    # Byte for byte, and not even rewritten.
    assert mtimes(again.output_dir) == published
    assert len(load_log(tmp_path / "run")) == log_rows
    assert again.result("model.feature_pipeline.publish_user_features")["status"] == "success"


def test_a_new_file_sorting_before_loaded_ones_rebuilds(tmp_path, batches):
    landing = new_landing(tmp_path)
    deliver(landing, "b.parquet", batches[1])
    assert run_dbt(tmp_path / "run", landing).returncode == 0
    # A file named to come first: it would win over later deliveries of the
    # same transaction_ids, so history must be re-ranked from all files.
    deliver(landing, "a.parquet", pd.concat([batches[0], batches[1].iloc[:100]]))
    run = run_dbt(tmp_path / "run", landing)
    assert run.returncode == 0, run.output
    assert "a.parquet sorts before" in run.output
    assert_frames_match(run.features(), features_from_landing(landing))


def test_a_file_removed_from_landing_is_kept_until_a_rebuild(tmp_path, batches):
    landing = new_landing(tmp_path)
    for index in range(2):
        deliver(landing, f"batch_{index:02d}.parquet", batches[index])
    first = run_dbt(tmp_path / "run", landing)
    assert first.returncode == 0, first.output

    # Landing folders are often cleaned up: what was loaded is not lost.
    removed = landing / "transactions" / "batch_01.parquet"
    removed.unlink()
    kept = run_dbt(tmp_path / "run", landing)
    assert kept.returncode == 0, kept.output
    assert ("WARNING: landing: 1 loaded file(s) of transactions are no longer "
            f"in {landing}, e.g. {removed}; their rows are kept") in kept.output
    assert_frames_match(kept.features(), first.features())

    # A rebuild reads what is there; afterwards the file is not missed.
    rebuilt = run_dbt(tmp_path / "run", landing, extra_args=("--full-refresh",))
    assert rebuilt.returncode == 0, rebuilt.output
    assert_frames_match(rebuilt.features(), features_from_landing(landing))
    after = run_dbt(tmp_path / "run", landing)
    assert after.returncode == 0, after.output
    assert "0 new files" in after.output
    assert "no longer in" not in after.output
