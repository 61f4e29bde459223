"""Guarantees that hold by construction, whatever the command, the
selection or the rule: a run publishes only what it built and checked now
from the checked-in code, and the quarantine lists every row a cleaning
rule drops or changes, a rule added later included. Each is shown on a copy
of the project, edited the way an analyst edits it (CONTRIBUTING.md).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import PROJECT_ROOT, SAMPLE_DIR, run_dbt
from test_contributing import NOT_COPIED, edit, guide_snippets

STAGING = Path("models") / "staging" / "stg_transactions.sql"
PUBLISHING_COMMAND = "dbt build --select +publish_user_features+"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query(workdir: Path, sql: str):
    with duckdb.connect(str(workdir / "pipeline.duckdb"), read_only=True) as db:
        return db.sql(sql).fetchall()


def add_the_guides_cleaning_rule(project: Path) -> str:
    """The guide's new rule, in stg_transactions, where the guide puts it."""
    rule = guide_snippets("Add a cleaning rule")["sql"][0]
    edit(project / STAGING, "        abs(amount) as amount,\n        quantity,\n",
         "        abs(amount) as amount,\n" + rule)
    return rule


@pytest.fixture(scope="module")
def analyst(tmp_path_factory):
    """A copy of the project, built and published once before any edit."""
    root = tmp_path_factory.mktemp("analyst")
    project = root / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=NOT_COPIED, symlinks=True)
    first = run_dbt(root / "run", SAMPLE_DIR, project=project)
    assert first.returncode == 0, first.output[-3000:]
    return project, root / "run", first


def test_no_selection_or_command_but_a_full_one_publishes(analyst):
    project, workdir, first = analyst
    published = sha256(first.published)
    add_the_guides_cleaning_rule(project)

    # The analyst's selected build: user_features and what follows it. The
    # staging view with the new rule is not rebuilt, so the features would
    # be stale: nothing is published, and the run says which command does.
    selected = run_dbt(workdir, SAMPLE_DIR, project=project,
                       extra_args=("--select", "user_features+"))
    assert selected.returncode == 0, selected.output[-3000:]
    assert "Nothing was published" in selected.output
    assert PUBLISHING_COMMAND in selected.output
    assert "Published " not in selected.output
    assert sha256(first.published) == published

    # A staging model selected without the landing plan would read the
    # files an earlier run planned: it stops, naming the command that
    # builds both.
    alone = run_dbt(workdir, SAMPLE_DIR, project=project,
                    extra_args=("--select", "stg_user_profiles"))
    assert alone.returncode != 0
    assert ("stg_user_profiles reads the landing files that landing_plan names, "
            "and this invocation did not build landing_plan: run `dbt build`, or "
            "select it too (`dbt build --select +stg_user_profiles+`).") in alone.output
    assert sha256(first.published) == published

    # `dbt run` builds every model and runs no check: nothing is published.
    plain_run = run_dbt(workdir, SAMPLE_DIR, command="run", project=project)
    assert plain_run.returncode == 0, plain_run.output[-3000:]
    assert "`dbt run` runs no checks" in plain_run.output
    assert sha256(first.published) == published
    assert query(workdir, "select is_published, refusal is not null "
                          "from publish_user_features") == [(False, True)]

    # The command the runs named publishes the edited rule's features.
    publishing = run_dbt(workdir, SAMPLE_DIR, project=project,
                         extra_args=("--select", "+publish_user_features+"))
    assert publishing.returncode == 0, publishing.output[-3000:]
    assert "Published " in publishing.output
    assert sha256(first.published) != published
    features = pd.read_parquet(publishing.published)
    computed = pd.DataFrame(
        query(workdir, "select user_id, total_spend from user_features "
                       "order by user_id"), columns=["user_id", "total_spend"])
    pd.testing.assert_series_equal(features["total_spend"],
                                   computed["total_spend"], check_dtype=False)

    # A selection that published is followed up like a full build: its
    # line in runs.jsonl names the file it published.
    follow_up = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "after_run.py"),
         "--target-path", str(publishing.target_dir),
         "--database", str(workdir / "pipeline.duckdb")],
        cwd=project, capture_output=True, text=True, timeout=300)
    assert follow_up.returncode == 0, follow_up.stdout + follow_up.stderr
    line = json.loads((publishing.output_dir / "runs.jsonl")
                      .read_text().splitlines()[-1])
    assert line["published_sha256"] == sha256(publishing.published)


def test_everything_the_database_holds_is_a_node_of_the_graph(analyst):
    """State one can see: no hook makes objects. Every table and view in the
    database is a model, a seed or a check's stored failures, and it holds
    no function or macro of its own (the landing files are read through the
    landing_plan model, not through objects a hook defines)."""
    project, workdir, first = analyst
    manifest = json.loads((first.target_dir / "manifest.json").read_text())
    hooks = [n for n in manifest["nodes"].values() if n["resource_type"] == "operation"
             and "on-run-start" in n["unique_id"]]
    assert hooks == []
    nodes = {(n["schema"], n["alias"]) for n in manifest["nodes"].values()
             if n["resource_type"] in ("model", "seed", "test")}
    held = set(query(workdir, "select table_schema, table_name "
                              "from information_schema.tables"))
    assert held and held <= nodes, held - nodes
    assert query(workdir, "select function_name from duckdb_functions() "
                          "where not internal") == []


def test_a_new_cleaning_rule_shows_its_rows_in_the_quarantine(tmp_path):
    """The guide's rule (quantities capped) reaches the quarantine with no
    edit to it: every capped row is listed with the column it changed."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=NOT_COPIED, symlinks=True)
    add_the_guides_cleaning_rule(project)
    run = run_dbt(tmp_path / "run", SAMPLE_DIR, project=project)
    assert run.returncode == 0, run.output[-3000:]

    capped = query(tmp_path / "run", """
        select count(*) from stg_transaction_deliveries
        where delivery_rank = 1 and quantity > 5""")[0][0]
    assert capped > 0
    listed = query(tmp_path / "run", """
        select
            count(*),
            count(*) filter (where reason = 'changed_by_cleaning'),
            count(*) filter (where changed_columns = 'quantity')
        from transaction_quarantine
        where outcome = 'changed' and changed_columns like '%quantity%'""")
    # Rows another rule changed too keep that rule's label; the others get
    # the label for rules without one, and only quantity changed there.
    total, unlabelled, only_quantity = listed[0]
    assert total == capped
    assert unlabelled == only_quantity > 0
    # The rows the existing rules change keep their own labels.
    labels = dict(query(tmp_path / "run", "select reason, count(*) from "
                                          "transaction_quarantine group by 1"))
    assert labels["negative_amount_fixed"] > 0 and labels["null_amount_imputed"] > 0
