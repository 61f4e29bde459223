"""The benchmark end to end, at tiny sizes.

Benchmarks measure; they are not tests, so nothing here asserts a time. This
checks that `scripts/bench.py` runs every part, that the dbt build and the
pandas reference agree, that a lesson's cells are found and run against the
generated data (on a small lesson of the test's own), and that the page
states every target.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT

BENCH = PROJECT_ROOT / "scripts" / "bench.py"
sys.path.insert(0, str(BENCH.parent))
import bench  # noqa: E402

# Shaped like the lesson: markdown, then code cells after `In [None]:`, each
# known by its header comment. STEP 1 must not run (its data is replaced),
# but its imports are kept: STEP 6 uses `os` without importing it.
LESSON = '''# A lesson

Some prose.

In [None]:
# ==========================
# A validator (production-grade pattern)
# ==========================
class DataValidator:
    def rows(self, df):
        return len(df)

print("validator defined")

## 4. Hands-On

In [None]:
# STEP 1: INGEST - Simulate raw data
import os
import pandas as pd
raise SystemExit("STEP 1 must not run")

In [None]:
# STEP 2: VALIDATE - Check data
assert DataValidator().rows(transactions) > 0

In [None]:
# STEP 3: TRANSFORM - Clean
df = transactions.drop_duplicates(subset=["transaction_id"])
df["hour"] = df["timestamp"].dt.hour

In [None]:
# STEP 4: FEATURE ENGINEERING - Features
features_df = df.groupby("user_id").agg(n=("transaction_id", "count")).reset_index()
features_df = features_df.merge(user_profiles, on="user_id", how="left")

In [None]:
# STEP 5: QUALITY CHECK - Output
assert features_df["user_id"].is_unique

In [None]:
# STEP 6: STORE - Save
os.makedirs("pipeline_output", exist_ok=True)
features_df.to_parquet("pipeline_output/user_features.parquet", index=False)
assert len(pd.read_parquet("pipeline_output/user_features.parquet")) == len(features_df)

## 5. Later

In [None]:
# Conceptual: not run
raise SystemExit("only the named cells run")
'''


def test_lesson_cells_are_found_in_order():
    code = bench.lesson_code(LESSON)
    assert code.startswith("import os\nimport pandas as pd\n")
    assert "STEP 1 must not run" not in code and "only the named" not in code
    assert "Hands-On" not in code and "Later" not in code
    order = [code.index(f"# --- {name}") for name, _ in bench.LESSON_CELLS]
    assert order == sorted(order)
    compile(code, "lesson", "exec")


def test_a_lesson_without_a_step_is_refused():
    with pytest.raises(ValueError, match="STEP 5: QUALITY CHECK"):
        bench.lesson_code(LESSON.replace("STEP 5: QUALITY CHECK", "STEP 5:"))


def test_bench_runs_every_part_and_states_the_targets(tmp_path):
    lesson = tmp_path / "lesson.md"
    lesson.write_text(LESSON)
    page = tmp_path / "report" / "BENCHMARKS.md"
    work = tmp_path / "work"
    process = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "2000", "--incremental", "3000",
         "--days", "2", "--many-files", "3", "--lesson", str(lesson),
         "--target-size", "2000", "--big-size", "3000",
         "--output", str(page), "--work-dir", str(work)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert process.returncode == 0, process.stdout + process.stderr

    doc = json.loads((work / "results.json").read_text())
    (full,) = doc["sizes"]
    for kind in ("dbt", "reference", "lesson"):
        assert full[kind]["status"] == "ok", full[kind]
        assert full[kind]["peak_rss_bytes"] > 0
    # The lesson's cells ran on the generated users (200, all with a profile).
    assert full["lesson"]["features_df_shape"] == [200, 6]
    assert full["published"]["ok"], full["published"]
    assert full["comparison"] == {"agree": True, "rows": 200}
    assert [c[0] for c in full["schema"]][:2] == ["user_id", "total_transactions"]
    assert len(full["schema"]) == 19
    assert full["dbt"]["breakdown"]["by_type"]["model"]["count"] >= 1

    (daily,) = doc["incremental"]
    assert daily["history_files"] == 2 and daily["identical_output"] is True
    assert set(daily["runs"]) == {"load_history", "one_more_batch", "no_new_files",
                                  "full_rebuild"}

    many = doc["many_files"]
    assert many["files"] == 3
    assert all(run["status"] == "ok" for run in many["runs"].values())
    assert many["runs"]["test_stg_transactions"]["landing_lines"] == []
    assert many["runs"]["no_new_files"]["landing_lines"]

    statuses = {t["name"]: t["status"] for t in doc["targets"]}
    assert len(statuses) == 11
    for name in ("3k cold build under 240 s with the default memory limit",
                 "300M cold build completes with the defaults (its time reported)",
                 "no new files on 2k of history ≤ 5 s",
                 "`make test` with every environment ≤ 12 min"):
        assert statuses[name] == "not measured", name
    measured = [name for name, status in statuses.items() if status != "not measured"]
    assert len(measured) == 7, statuses

    text = page.read_text()
    assert "<!--" not in text  # every placeholder filled
    assert "| target | result | measured |" in text
    assert "| 2k | " in text and "| agree |" in text
    assert f"Lesson measured: yes, `{lesson}`" in text
    assert (page.parent / "benchmarks.png").stat().st_size > 0

    # Without a lesson the page says so, and the lesson's targets are not
    # measured (not passed): re-rendered from the same results.
    doc["lesson"] = None
    del full["lesson"]
    (work / "results.json").write_text(json.dumps(doc))
    process = subprocess.run(
        [sys.executable, str(BENCH), "--render-only", "--work-dir", str(work),
         "--output", str(page), "--target-size", "2000", "--big-size", "3000"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    text = page.read_text()
    assert "Lesson measured: **no**" in text
    assert "| 2k cold `dbt build` wall ≤ 1 × the lesson's pandas | **not measured** | " \
        "no --lesson given; dbt" in text
