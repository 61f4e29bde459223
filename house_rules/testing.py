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


@rule(severity=Severity.HIGH)
def model_has_primary_key_test(model: Model) -> RuleViolation | None:
    """A model has unique + not_null on one column, or a compound key test."""
    for column in model.columns:
        types = {test.type for test in column.tests}
        if "unique" in types and any(map(_is_not_null, column.tests)):
            return None
    if any(test.type in COMPOUND_UNIQUE for test in model.tests):
        return None
    return RuleViolation(
        f"{model.original_file_path} has no primary-key test: give one "
        "column both unique and not_null, or add "
        "expect_compound_columns_to_be_unique."
    )
