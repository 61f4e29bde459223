"""The benchmark script end to end, at a tiny size.

Benchmarks measure; they are not tests, so nothing here asserts a time. This
checks that `scripts/bench.py` runs, that the dbt build and the pandas
reference agree on its data, and that it writes its page and chart.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT

BENCH = PROJECT_ROOT / "scripts" / "bench.py"
BENCH_INCREMENTAL = PROJECT_ROOT / "scripts" / "bench_incremental.py"


def run_script(script, *arguments: str) -> None:
    process = subprocess.run(
        [sys.executable, str(script), *arguments],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert process.returncode == 0, process.stdout + process.stderr


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """`scripts/bench.py` at 2000 rows: its page and its work folder."""
    root = tmp_path_factory.mktemp("bench")
    page, work = root / "report" / "BENCHMARKS.md", root / "work"
    run_script(BENCH, "--sizes", "2000", "--output", str(page),
               "--work-dir", str(work), "--skip-fixed-overhead")
    return page, work


def test_bench_writes_report_with_agreeing_outputs(bench_run):
    page, work = bench_run
    results = json.loads((work / "results.json").read_text())
    (result,) = results["results"]
    assert result["rows"] == 2000
    assert result["dbt"]["status"] == "ok"
    assert result["pandas"]["status"] == "ok"
    assert result["published_check"]["ok"], result["published_check"]
    assert result["comparison"]["agree"] is True, result["comparison"]
    assert result["comparison"]["rows"] == 200
    assert result["dbt"]["peak_rss_bytes"] > 0
    assert result["dbt_breakdown"]["by_type"]["model"]["count"] >= 1

    text = page.read_text()
    assert "dbt and pandas **agree**" in text
    assert "![Wall time and peak memory against size](benchmarks.png)" in text
    assert (page.parent / "benchmarks.png").stat().st_size > 0


def test_incremental_bench_adds_its_section(tmp_path, bench_run):
    # The page and work folder bench.py wrote, then the incremental bench.
    page, work = tmp_path / "report" / "BENCHMARKS.md", tmp_path / "work"
    shutil.copytree(bench_run[0].parent, page.parent)
    shutil.copytree(bench_run[1], work)
    run_script(BENCH_INCREMENTAL, "--rows", "3000", "--days", "3",
               "--users", "300", "--output", str(page), "--work-dir", str(work))

    (result,) = json.loads((work / "incremental.json").read_text())["results"]
    assert result["history_files"] == 3 and result["users"] == 300
    # The incremental run and the rebuild published the same bytes.
    assert result["identical_output"] is True
    for run in result["runs"].values():
        assert run["status"] == "ok" and run["wall_seconds"] > 0
    text = page.read_text()
    assert "## Incremental loads" in text
    assert "| 300 |" in text
