"""Docs and lineage, read from the manifest that `dbt docs` serves."""
from __future__ import annotations

import json
import subprocess

import pytest

from conftest import DBT, PROJECT_ROOT

PACKAGE = "feature_pipeline"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("docs_target")
    process = subprocess.run(
        [str(DBT), "parse", "--target-path", str(target),
         "--log-path", str(target / "logs")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    assert "deprecat" not in (process.stdout + process.stderr).lower()
    return json.loads((target / "manifest.json").read_text())


def undocumented(manifest: dict) -> list[str]:
    missing = []
    for node in manifest["nodes"].values():
        if node["package_name"] != PACKAGE or node["resource_type"] not in ("model", "seed"):
            continue
        if not node["description"].strip():
            missing.append(node["unique_id"])
        for column in node["columns"].values():
            if not column["description"].strip():
                missing.append(f"{node['unique_id']}.{column['name']}")
    for source in manifest["sources"].values():
        if not source["description"].strip() or not source["source_description"].strip():
            missing.append(source["unique_id"])
        for column in source["columns"].values():
            if not column["description"].strip():
                missing.append(f"{source['unique_id']}.{column['name']}")
    for macro in manifest["macros"].values():
        if macro["package_name"] == PACKAGE and not macro["description"].strip():
            missing.append(macro["unique_id"])
    return missing


def test_every_source_model_column_seed_and_macro_is_described(manifest):
    assert undocumented(manifest) == []


def test_models_declare_their_columns(manifest):
    """A column that is in the SQL but not in the YAML has no description."""
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["package_name"] == PACKAGE:
            assert node["columns"], node["unique_id"]


def test_lineage_runs_from_every_source_to_the_ml_exposure(manifest):
    exposures = [e for e in manifest["exposures"].values() if e["type"] == "ml"]
    assert len(exposures) == 1
    exposure = exposures[0]
    assert exposure["owner"]["name"] and exposure["description"]
    assert "model.feature_pipeline.publish_user_features" in exposure["depends_on"]["nodes"]

    children = manifest["child_map"]

    def reaches(start: str, goal: str) -> bool:
        seen, frontier = set(), [start]
        while frontier:
            node = frontier.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                frontier.extend(c for c in children.get(node, [])
                                if not c.startswith("test."))
        return False

    data_sources = ["source.feature_pipeline.landing.transactions",
                    "source.feature_pipeline.landing.user_profiles"]
    for source in data_sources:
        assert reaches(source, exposure["unique_id"]), source
    # The landing plan, a model, names what staging reads; it feeds the
    # load log and the lineage file.
    for node in ("stg_transaction_deliveries", "stg_user_profiles",
                 "transaction_loads", "publish_user_features"):
        assert reaches("model.feature_pipeline.landing_plan",
                       f"model.feature_pipeline.{node}"), node
    # The path goes through every layer.
    for model in ("stg_transaction_deliveries", "stg_transactions",
                  "int_category_medians", "int_transactions_enriched",
                  "int_user_categories", "user_features", "publish_user_features"):
        node = f"model.{PACKAGE}.{model}"
        assert reaches("source.feature_pipeline.landing.transactions", node)
        assert reaches(node, exposure["unique_id"])


def test_the_reasoning_lives_next_to_the_models(manifest):
    docs = {d["name"]: d["block_contents"] for d in manifest["docs"].values()
            if d["package_name"] == PACKAGE}
    assert "Dedupe first" in docs["stg_transactions"]
    assert "median" in docs["stg_transactions"]
    assert "floored" in docs["whole_days"].lower()


def test_every_bad_input_case_is_documented_with_its_test():
    """docs/operations.md lists each bad-input test of the suite, and each
    test it names exists."""
    import re
    from conftest import BAD_INPUT_TESTS, documented_cases
    named = {name for names in documented_cases().values() for name in names}
    suite = set()
    for path in (PROJECT_ROOT / "tests" / "python").glob("test_*.py"):
        suite |= set(re.findall(r"^def (test_\w+)", path.read_text(), re.M))
    bad_input = set(re.findall(r"^def (test_\w+)", BAD_INPUT_TESTS.read_text(), re.M))
    assert bad_input - named == set(), "not in docs/operations.md"
    assert named - suite == set(), "named in docs/operations.md, not in the suite"
    print(f"{len(documented_cases())} bad-input cases documented, "
          f"proved by {len(named)} tests")
