"""Filters that narrow dbt-score's built-in rules to what they are meant for."""
from dbt_score import Macro, rule_filter


@rule_filter
def is_not_generic_test(macro: Macro) -> bool:
    """Macros other than generic tests (`test_<name>`)."""
    return not macro.name.startswith("test_")
