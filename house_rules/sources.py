"""Sources say how stale they may get."""
from dbt_score import RuleViolation, Severity, Source, rule


def _has_threshold(freshness) -> bool:
    if not freshness:
        return False
    return any((freshness.get(level) or {}).get("count")
               for level in ("warn_after", "error_after"))


@rule(severity=Severity.HIGH)
def source_has_freshness(source: Source) -> RuleViolation | None:
    """Every source table has a freshness warn_after or error_after.

    A table without any timestamp may instead set
    `meta: {freshness_exempt_because: "<why>"}`; the reason is the point.
    """
    configured = source.freshness or source.config.get("freshness")
    # A source with no timestamp to measure may opt out, saying why.
    if (source.meta or {}).get("freshness_exempt_because"):
        return None
    if not _has_threshold(configured):
        return RuleViolation(
            f"source {source.selector_name} ({source.original_file_path}) "
            "has no freshness: set freshness.warn_after or error_after."
        )
    return None
