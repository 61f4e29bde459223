"""Every model has a tested primary key."""
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


@rule(severity=Severity.HIGH)
def model_has_primary_key_test(model: Model) -> RuleViolation | None:
    """A model has unique + not_null on one column, or a compound key test.
    An enforced contract's not_null constraint counts as not_null."""
    for column in model.columns:
        types = {test.type for test in column.tests}
        not_null = (any(map(_is_not_null, column.tests))
                    or _is_enforced_not_null(model, column))
        if "unique" in types and not_null:
            return None
    if any(test.type in COMPOUND_UNIQUE for test in model.tests):
        return None
    return RuleViolation(
        f"{model.original_file_path} has no primary-key test: give one "
        "column both unique and not_null, or add "
        "expect_compound_columns_to_be_unique."
    )
