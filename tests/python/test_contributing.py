"""CONTRIBUTING.md's promises, kept on a copy of the project: adding a
feature touches its model, that model's yml and one line of the pandas
reference; changing the imputation rule touches one model (and the
reference's matching line); adding an input column touches the nine files
the guide lists, and the next plain `dbt build` rebuilds the history. The snippets are read from CONTRIBUTING.md
itself, so the guide cannot drift from what builds.
"""
from __future__ import annotations

import filecmp
import importlib.util
import json
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from conftest import PROJECT_ROOT, SAMPLE_DIR, run_dbt

GUIDE = PROJECT_ROOT / "CONTRIBUTING.md"
NOT_COPIED = shutil.ignore_patterns(".git", ".venv*", "local", "target", "logs", "output",
                                    "*.duckdb*", ".duckdb_tmp", "__pycache__",
                                    ".pytest_cache", ".bench")


def guide_snippets(section: str) -> dict[str, list[str]]:
    """The fenced code blocks of one section of the guide, by language."""
    text = GUIDE.read_text()
    start = text.index(f"## {section}")
    end = text.find("\n## ", start + 1)
    blocks: dict[str, list[str]] = {}
    for language, body in re.findall(r"```(\w+)\n(.*?)```",
                                     text[start:end if end > 0 else None], re.S):
        blocks.setdefault(language, []).append(body)
    return blocks


def edit(path: Path, before: str, after: str, times: int = 1) -> None:
    text = path.read_text()
    assert text.count(before) == times, (path, before)
    path.write_text(text.replace(before, after))


def changed_files(copy: Path) -> set[str]:
    changed = set()
    for path in copy.rglob("*"):
        original = PROJECT_ROOT / path.relative_to(copy)
        if path.is_file() and not filecmp.cmp(path, original, shallow=False):
            changed.add(str(path.relative_to(copy)))
    return changed


def add_the_guides_feature(copy: Path) -> None:
    """The guide's feature, favorite_category, added to a copy of the
    project as the guide says: its model, its contract, the reference."""
    feature = guide_snippets("How to add a feature")
    model = copy / "models" / "marts" / "user_features.sql"
    contract = copy / "models" / "marts" / "user_features.yml"
    reference = copy / "scripts" / "reference_pipeline.py"

    # 1. The SQL: the guide's CTEs, the join and the column.
    edit(model, "\nfeatures as (", "\n" + feature["sql"][0] + "\nfeatures as (")
    edit(model, "    cross join dataset_end\n",
         "    cross join dataset_end\n    left join favorite_categories\n"
         "        on per_user.user_id = favorite_categories.user_id\n")
    edit(model, "        user_profiles.age,\n",
         "        favorite_categories.favorite_category,\n"
         "        user_profiles.age,\n")
    # 2. The contract: the guide's column, and its place in the order.
    edit(contract, "      - name: age\n", feature["yaml"][0] + "      - name: age\n")
    edit(contract, "purchase_frequency, age,", "purchase_frequency, favorite_category, age,")
    # 3. The reference: the guide's line.
    edit(reference, '        weekend_ratio=("is_weekend", "mean"),\n',
         '        weekend_ratio=("is_weekend", "mean"),\n' + feature["python"][0])


def test_adding_a_feature_and_changing_a_rule_as_the_guide_says(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=NOT_COPIED, symlinks=True)
    add_the_guides_feature(copy)
    reference = copy / "scripts" / "reference_pipeline.py"

    # Change a rule: impute with the lower middle value.
    rule = guide_snippets("Change a rule")["sql"][0]
    before, after = (line.split("--")[0].strip() for line in rule.splitlines()[:2])
    edit(copy / "models" / "intermediate" / "int_category_medians.sql", before, after)
    edit(reference, '["amount"].median()', '["amount"].quantile(0.5, interpolation="lower")')

    assert changed_files(copy) == {
        "models/marts/user_features.sql", "models/marts/user_features.yml",
        "scripts/reference_pipeline.py",
        "models/intermediate/int_category_medians.sql"}

    # The models' unit tests state the old rule (the median) on purpose:
    # the guide says to update them with it; the data checks all run.
    run = run_dbt(tmp_path / "run", SAMPLE_DIR, project=copy,
                  extra_args=("--exclude-resource-type", "unit_test"))
    assert run.returncode == 0, run.output[-3000:]

    spec = importlib.util.spec_from_file_location("edited_reference", reference)
    edited = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(edited)
    expected = edited.features_from_landing(SAMPLE_DIR)
    features = run.features()
    assert "favorite_category" in features.columns
    edited.assert_frames_match(features, expected)

    # The lineage describes the text feature by its values.
    lineage = json.loads(run.published.with_name(
        "user_features.lineage.json").read_text())
    described = lineage["output"]["features"]["favorite_category"]
    assert described["nulls"] == 0 and described["distinct"] == 5
    assert len(described["top_values"]) == 5


def test_a_feature_reading_another_enriched_column_breaks_no_unit_test(tmp_path):
    """The unit tests of user_features give only the columns each one needs
    (dbt fills in the others), so a feature that reads another column of
    int_transactions_enriched, here `hour`, leaves every one of them
    passing."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=NOT_COPIED, symlinks=True)
    model = copy / "models" / "marts" / "user_features.sql"
    edit(model, "        is_weekend,\n        transacted_at\n",
         "        is_weekend,\n        hour,\n        transacted_at\n")
    edit(model, "        avg(is_weekend) as weekend_ratio,\n",
         "        avg(is_weekend) as weekend_ratio,\n        max(hour) as latest_hour,\n")
    run = run_dbt(tmp_path / "run", SAMPLE_DIR, project=copy, unit_tests=True,
                  extra_args=("--select", "+user_features", "--exclude", "test_type:data"))
    assert run.returncode == 0, run.output[-3000:]
    unit = [r for r in run.results if r["unique_id"].startswith("unit_test.")
            and ".user_features." in r["unique_id"]]
    assert len(unit) >= 4 and {r["status"] for r in unit} == {"pass"}


def test_adding_an_input_column_as_the_guide_says(tmp_path):
    """A `discount` column, delivered already, is added as the guide says:
    exactly the files it lists change, and the next plain `dbt build` (unit
    tests included) rebuilds the stored history with the column in every
    row, instead of stopping on the staging model's changed schema."""
    landing = tmp_path / "landing"
    landing.mkdir()
    delivered = pd.read_parquet(SAMPLE_DIR / "transactions.parquet")
    delivered["discount"] = (delivered["transaction_id"] % 7) * 0.5
    delivered.to_parquet(landing / "transactions.parquet", index=False)
    shutil.copy(SAMPLE_DIR / "user_profiles.parquet", landing)
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=NOT_COPIED, symlinks=True)
    first = run_dbt(tmp_path / "run", landing, project=copy)
    assert first.returncode == 0, first.output[-3000:]
    features = first.published.read_bytes()

    section = GUIDE.read_text().split("## Add an input column")[1].split("\n## ")[0]
    listed = set(re.findall(r"^\d+\. `([^`]+)`", section, re.M))
    typed = guide_snippets("Add an input column")["sql"][0]
    described = ("      - name: discount\n"
                 "        description: Discount on the unit price, as delivered.\n")
    models = copy / "models"
    edit(copy / "dbt_project.yml", "      timestamp: TIMESTAMP\n",
         "      timestamp: TIMESTAMP\n      discount: DOUBLE\n")
    sources = models / "staging" / "_staging__sources.yml"
    edit(sources, "          - name: timestamp\n",
         "          - name: discount\n            description: Discount on the "
         "unit price.\n          - name: timestamp\n")
    deliveries = models / "staging" / "stg_transaction_deliveries.sql"
    edit(deliveries, "        timestamp,\n", "        timestamp,\n        discount,\n")
    edit(deliveries, "        cast(timestamp as timestamp) as transacted_at,\n",
         "        cast(timestamp as timestamp) as transacted_at,\n" + typed)
    edit(deliveries, "        loaded.transacted_at,\n",
         "        loaded.transacted_at,\n        loaded.discount,\n")
    edit(deliveries, "            'candidates.transacted_at',\n",
         "            'candidates.transacted_at',\n            'candidates.discount',\n")
    edit(models / "staging" / "stg_transaction_deliveries.yml",
         "          select * from (values\n",
         guide_snippets("Add an input column")["sql"][1], times=3)
    for name in ("stg_transaction_deliveries", "stg_transactions"):
        edit(models / "staging" / f"{name}.yml", "      - name: quantity\n",
             described + "      - name: quantity\n")
    edit(models / "staging" / "stg_transactions.sql", "        transacted_at,\n",
         "        transacted_at,\n        discount,\n", times=2)
    enriched = models / "intermediate" / "int_transactions_enriched.sql"
    edit(enriched, "        transacted_at,\n", "        transacted_at,\n        discount,\n")
    edit(enriched, "        transactions.transacted_at,\n",
         "        transactions.transacted_at,\n        transactions.discount,\n")
    edit(models / "intermediate" / "int_transactions_enriched.yml",
         "      - name: quantity\n", described + "      - name: quantity\n")
    edit(copy / "docs" / "features.md", "| timestamp | timestamp | UTC, without a time zone |\n",
         "| timestamp | timestamp | UTC, without a time zone |\n"
         "| discount | decimal | off the unit price |\n")
    assert changed_files(copy) == listed and len(listed) == 9

    second = run_dbt(tmp_path / "run", landing, project=copy, unit_tests=True)
    assert second.returncode == 0, second.output[-3000:]
    assert ("rebuilding: stg_transaction_deliveries, a macro it calls or the "
            "transactions landing contract changed since the last load") in second.output
    # Every clean transaction carries the delivered discount of its first
    # delivery; the features, which read no discount, are unchanged.
    first_deliveries = delivered.drop_duplicates("transaction_id")
    with duckdb.connect(str(tmp_path / "run" / "pipeline.duckdb"), read_only=True) as db:
        stored = db.sql("select transaction_id, discount from int_transactions_enriched"
                        " order by transaction_id").df()
    assert len(stored) == len(first_deliveries)
    expected = first_deliveries.set_index("transaction_id")["discount"]
    assert (stored.set_index("transaction_id")["discount"].astype(float)
            == expected.loc[stored["transaction_id"]].values).all()
    assert second.published.read_bytes() == features
