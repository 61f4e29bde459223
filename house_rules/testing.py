"""Every model has a tested primary key."""
from functools import cache
from pathlib import Path

import yaml
from dbt_score import Model, RuleViolation, Severity, rule

COMPOUND_UNIQUE = {
    "expect_compound_columns_to_be_unique",
    "unique_combination_of_columns",
}


def _is_not_null(test) -> bool:
    if test.type == "not_null":
        return True
    # The expectation with `mostly` below 1 tolerates nulls: not a key test.
    return (test.type == "expect_column_values_to_not_be_null"
            and test.kwargs.get("mostly", 1) == 1)


def _is_enforced_not_null(model: Model, column) -> bool:
    """A not_null constraint of an enforced contract: DuckDB refuses the
    null as the table is written, so no test needs to look for it."""
    enforced = ((model.config or {}).get("contract") or {}).get("enforced")
    return bool(enforced) and any(
        constraint.type == "not_null" for constraint in column.constraints)


@cache
def _unit_test_names(project: Path) -> frozenset[str]:
    """The names of a project's unit tests (in models/**/*.yml)."""
    names = set()
    for path in (project / "models").rglob("*.yml"):
        properties = yaml.safe_load(path.read_text()) or {}
        names.update(test["name"] for test in properties.get("unit_tests") or [])
    return frozenset(names)


def _unique_by_construction(model: Model, column) -> bool:
    """A key the model's SQL makes unique (a `row_number() = 1` filter, a
    left join to a unique key) is proved once by unit tests, named in the
    model's `meta.unique_by_construction`, not by a scan of every run's
    data. The names must be unit tests of the project (dbt-score runs in
    its folder)."""
    proof = (model.meta or {}).get("unique_by_construction") or {}
    proved_by = proof.get("unit_tests") or []
    return (proof.get("column") == column.name and bool(proved_by)
            and set(proved_by) <= _unit_test_names(Path.cwd()))


@rule(severity=Severity.HIGH)
def model_has_primary_key_test(model: Model) -> RuleViolation | None:
    """A model has unique + not_null on one column, or a compound key test.
    An enforced contract's not_null constraint counts as not_null; a key
    unique by construction counts as unique when unit tests prove it."""
    for column in model.columns:
        types = {test.type for test in column.tests}
        not_null = (any(map(_is_not_null, column.tests))
                    or _is_enforced_not_null(model, column))
        unique = "unique" in types or _unique_by_construction(model, column)
        if unique and not_null:
            return None
    if any(test.type in COMPOUND_UNIQUE for test in model.tests):
        return None
    return RuleViolation(
        f"{model.original_file_path} has no primary-key test: give one "
        "column both unique and not_null, or add "
        "expect_compound_columns_to_be_unique (a column unique by "
        "construction: not_null, and meta.unique_by_construction naming "
        "the column and the unit tests that prove it)."
    )
