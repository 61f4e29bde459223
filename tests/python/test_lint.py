"""The house rules check themselves.

Each dbt-score rule in house_rules/ is run on a tiny throw-away dbt project in
which one model or source breaks it, and must report exactly that item. Then
the real project must pass them, and `make lint`, run on a copy of the
project broken on purpose, must fail naming the file and the rule.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from dbt_score.models import ManifestLoader, Model, Source

from conftest import DBT, PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT))
from house_rules import dag, docs, layers, sources, testing  # noqa: E402

DBT_SCORE = Path(sys.executable).with_name("dbt-score")

# ------------------------------------------------------------ tiny project

FRESHNESS = {"loaded_at_field": "loaded_at",
             "freshness": {"warn_after": {"count": 1, "period": "day"}}}


def source_table(name, description=True, column_description=True,
                 freshness=True):
    table = {"name": name,
             "columns": [{"name": "id", "description":
                          "Key." if column_description else ""}]}
    if description:
        table["description"] = f"Raw {name}."
    if freshness:
        table["config"] = FRESHNESS
    return table


def model_entry(name, description=True, column_description=True,
                key="column"):
    id_column = {"name": "id",
                 "description": "Key." if column_description else ""}
    entry = {"name": name, "columns": [id_column]}
    if key == "column":
        id_column["data_tests"] = ["unique", "not_null"]
    elif key in ("constraint", "loose_constraint"):
        # not_null as a contract constraint: a key only when enforced.
        id_column.update(data_type="integer",
                         constraints=[{"type": "not_null"}],
                         data_tests=["unique"])
        entry["config"] = {"contract": {"enforced": key == "constraint"}}
    elif key in ("construction", "unproved_construction"):
        # Unique by the model's SQL, proved by a unit test (or not: the
        # unit test named does not exist).
        id_column["data_tests"] = ["not_null"]
        entry["config"] = {"meta": {"unique_by_construction": {
            "column": "id",
            "unit_tests": ["orders_once" if key == "construction"
                           else "no_such_unit_test"]}}}
    elif key == "compound":
        entry["columns"].append({"name": "other", "description": "Other."})
        entry["data_tests"] = [{"expect_compound_columns_to_be_unique": {
            "arguments": {"column_list": ["id", "other"]}}}]
    if description:
        entry["description"] = f"The {name} model."
    return entry


FROM_ORDERS = "select id from {{ source('raw', 'orders') }}"
FROM_STG = "select id from {{ ref('stg_orders') }}"

# path under models/ -> (SQL, properties). Every model is clean except the
# ones named after what they break.
TINY_MODELS = {
    "staging/stg_orders": (FROM_ORDERS, {}),
    "marts/orders": (FROM_STG, {}),
    "marts/compound_key": (
        "select id, id as other from {{ ref('stg_orders') }}",
        {"key": "compound"}),
    "marts/mart_from_source": (FROM_ORDERS, {}),
    "intermediate/int_from_source": (FROM_ORDERS, {}),
    "staging/stg_joins_model": (
        "select orders.id from {{ source('raw', 'orders') }} as orders "
        "inner join {{ ref('stg_orders') }} as stg on orders.id = stg.id",
        {}),
    "staging/orders_clean": (FROM_ORDERS, {}),
    "marts/stg_misplaced": (FROM_STG, {}),
    "marts/int_misplaced": (FROM_STG, {}),
    "marts/undescribed": (FROM_STG, {"description": False}),
    "marts/bare_columns": (FROM_STG, {"column_description": False}),
    "marts/no_key": (FROM_STG, {"key": None}),
    "marts/constraint_key": (FROM_STG, {"key": "constraint"}),
    "marts/loose_constraint_key": (FROM_STG, {"key": "loose_constraint"}),
    "marts/construction_key": (FROM_STG, {"key": "construction"}),
    "marts/unproved_construction_key": (FROM_STG,
                                        {"key": "unproved_construction"}),
    # Four views in a row: only the fourth goes past the limit of 3.
    "intermediate/int_chain_1": (FROM_STG, {}),
    "intermediate/int_chain_2": ("select id from {{ ref('int_chain_1') }}", {}),
    "intermediate/int_chain_3": ("select id from {{ ref('int_chain_2') }}", {}),
    "intermediate/int_chain_4": ("select id from {{ ref('int_chain_3') }}", {}),
}

EXPECTED = {
    layers.only_staging_reads_sources: {"mart_from_source",
                                        "int_from_source"},
    layers.marts_never_read_sources: {"mart_from_source"},
    layers.folder_matches_prefix: {"orders_clean", "stg_misplaced",
                                   "int_misplaced"},
    dag.no_model_reads_a_source_and_a_model: {"stg_joins_model"},
    dag.no_long_view_chains: {"int_chain_4"},
    testing.model_has_primary_key_test: {"no_key", "loose_constraint_key",
                                          "unproved_construction_key"},
    sources.source_has_freshness: {"raw.stale"},
    docs.model_has_description: {"undescribed"},
    docs.model_columns_have_descriptions: {"bare_columns"},
    docs.source_has_description: {"raw.undescribed"},
    docs.source_columns_have_descriptions: {"raw.bare_columns"},
}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(scope="module")
def tiny_manifest(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_project")
    write(root / "dbt_project.yml", yaml.safe_dump({
        "name": "tiny", "version": "1.0.0", "config-version": 2,
        "profile": "tiny",
        "models": {"tiny": {"+materialized": "table",
                            "intermediate": {"+materialized": "view"}}},
    }))
    write(root / "profiles.yml", yaml.safe_dump({"tiny": {
        "target": "dev",
        "outputs": {"dev": {"type": "duckdb", "path": ":memory:"}}}}))
    write(root / "tests/generic/expect_compound_columns_to_be_unique.sql",
          "{% test expect_compound_columns_to_be_unique(model, column_list) %}"
          "\nselect 1 where false\n{% endtest %}\n")
    write(root / "models/staging/_sources.yml", yaml.safe_dump({
        "version": 2,
        "sources": [{"name": "raw", "description": "Raw files.", "tables": [
            source_table("orders"),
            source_table("stale", freshness=False),
            source_table("undescribed", description=False),
            source_table("bare_columns", column_description=False),
        ]}]}))
    entries = []
    for path, (sql, options) in TINY_MODELS.items():
        write(root / "models" / f"{path}.sql", sql + "\n")
        entries.append(model_entry(Path(path).name, **options))
    unit_tests = [{"name": "orders_once", "model": "construction_key",
                   "given": [{"input": "ref('stg_orders')",
                              "rows": [{"id": 1}]}],
                   "expect": {"rows": [{"id": 1}]}}]
    write(root / "models/_models.yml", yaml.safe_dump(
        {"version": 2, "models": entries, "unit_tests": unit_tests}))

    target = root / "target"
    process = subprocess.run(
        [str(DBT), "parse", "--target-path", str(target),
         "--log-path", str(root / "logs")],
        cwd=root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DBT_PROFILES_DIR": str(root),
             "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert "deprecat" not in process.stdout.lower(), process.stdout
    return target / "manifest.json"


def violations(manifest: Path, rule) -> dict[str, str]:
    """What `rule` reports on each model and source: name -> message,
    evaluated in the project's folder, as dbt-score runs."""
    loader = ManifestLoader(manifest)
    checker = rule()
    found = {}
    with contextlib.chdir(manifest.parent.parent):
        for item in [*loader.models.values(), *loader.sources.values()]:
            if checker.should_evaluate(item):
                result = checker.evaluate(item, **checker.config)
                if result is not None:
                    name = (item.selector_name if isinstance(item, Source)
                            else item.name)
                    found[name] = result.message
    return found


@pytest.mark.parametrize("rule", EXPECTED, ids=lambda rule: rule.source())
def test_rule_reports_exactly_what_breaks_it(tiny_manifest, rule):
    found = violations(tiny_manifest, rule)
    assert set(found) == EXPECTED[rule], found
    loader = ManifestLoader(tiny_manifest)
    files = {item.name: item.original_file_path
             for item in loader.models.values()}
    for name, message in found.items():
        # The message says which file to open.
        assert files.get(name, "models/staging/_sources.yml") in message


def test_view_chain_limit_comes_from_the_config(tiny_manifest):
    loader = ManifestLoader(tiny_manifest)
    chain_end = next(model for model in loader.models.values()
                     if model.name == "int_chain_4")
    assert isinstance(chain_end, Model)
    rule = dag.no_long_view_chains()
    assert rule.evaluate(chain_end, max_chain=4) is None
    assert "int_chain_1 -> int_chain_2" in rule.evaluate(chain_end).message


# ------------------------------------------------------------ real project

def test_real_project_passes_the_dbt_score_rules(tmp_path):
    target = tmp_path / "target"
    parse = subprocess.run(
        [str(DBT), "parse", "--target-path", str(target),
         "--log-path", str(tmp_path / "logs"),
         "--warn-error-options", '{"error": ["Deprecations"]}'],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert parse.returncode == 0, parse.stdout + parse.stderr
    score = subprocess.run(
        [str(DBT_SCORE), "lint", "--manifest", str(target / "manifest.json")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert score.returncode == 0, score.stdout + score.stderr


# ------------------------------------------- make lint on a broken copy

IGNORED = shutil.ignore_patterns(
    ".venv*", "local", "target", "logs", "output", "*.duckdb", "*.duckdb.wal", ".git",
    ".pytest_cache", "__pycache__", ".duckdb_tmp", ".bench")

BROKEN_ON_PURPOSE = {
    "models/marts/mart_reads_source.sql":
        "select transaction_id from {{ source('landing', 'transactions') }}\n",
    "models/marts/undescribed_feature.sql":
        "select user_id from {{ ref('user_features') }}\n",
    "models/marts/shouty_keywords.sql": textwrap.dedent("""\
        SELECT user_id
        FROM {{ ref('user_features') }}
    """),
}


@pytest.fixture(scope="module")
def broken_lint(tmp_path_factory) -> subprocess.CompletedProcess:
    copy = tmp_path_factory.mktemp("broken") / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=IGNORED)
    for path, sql in BROKEN_ON_PURPOSE.items():
        write(copy / path, sql)
    # Reuse the project's .venv; an old lock file keeps `setup` a no-op.
    os.utime(copy / "requirements.lock", (0, 0))
    return subprocess.run(
        ["make", "--no-print-directory", "lint",
         f"VENV={PROJECT_ROOT / '.venv'}"],
        cwd=copy, capture_output=True, text=True, timeout=600,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})


def dbt_score_line(output: str, rule: str, path: str) -> str | None:
    return next((line for line in output.splitlines()
                 if rule in line and path in line), None)


def test_make_lint_fails_on_a_mart_reading_a_source(broken_lint):
    output = broken_lint.stdout + broken_lint.stderr
    assert broken_lint.returncode != 0
    assert dbt_score_line(output, "house_rules.layers.marts_never_read_sources",
                          "models/marts/mart_reads_source.sql"), output


def test_make_lint_fails_on_a_model_without_description(broken_lint):
    output = broken_lint.stdout + broken_lint.stderr
    assert broken_lint.returncode != 0
    assert dbt_score_line(output, "house_rules.docs.model_has_description",
                          "models/marts/undescribed_feature.sql"), output


def test_make_lint_fails_on_an_uppercase_keyword(broken_lint):
    output = broken_lint.stdout + broken_lint.stderr
    assert broken_lint.returncode != 0
    section = output.split("== [models/marts/shouty_keywords.sql] FAIL", 1)
    assert len(section) == 2, output
    report = section[1].split("== [", 1)[0]
    assert "CP01" in report and "capitalisation.keywords" in report, output
