"""Every model, source and column is described."""
from dbt_score import Model, RuleViolation, Severity, Source, rule

from house_rules._project import where_to_document


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _undescribed_columns(item: Model | Source) -> list[str]:
    return [column.name for column in item.columns
            if _blank(column.description)]


@rule(severity=Severity.HIGH)
def model_has_description(model: Model) -> RuleViolation | None:
    """Every model has a description."""
    if _blank(model.description):
        return RuleViolation(
            f"{model.original_file_path} has no description; add one "
            f"{where_to_document(model)}."
        )
    return None


@rule(severity=Severity.HIGH)
def model_columns_have_descriptions(model: Model) -> RuleViolation | None:
    """Every model documents its columns, each with a description."""
    if not model.columns:
        return RuleViolation(
            f"{model.original_file_path} documents no columns; list them "
            f"{where_to_document(model)}."
        )
    missing = _undescribed_columns(model)
    if missing:
        return RuleViolation(
            f"{model.original_file_path}: column(s) {', '.join(missing)} "
            f"have no description {where_to_document(model)}."
        )
    return None


@rule(severity=Severity.HIGH)
def source_has_description(source: Source) -> RuleViolation | None:
    """Every source table has a description."""
    if _blank(source.description):
        return RuleViolation(
            f"source {source.selector_name} has no description "
            f"{where_to_document(source)}."
        )
    return None


@rule(severity=Severity.HIGH)
def source_columns_have_descriptions(source: Source) -> RuleViolation | None:
    """Every source table documents its columns, each with a description."""
    if not source.columns:
        return RuleViolation(
            f"source {source.selector_name} documents no columns "
            f"{where_to_document(source)}."
        )
    missing = _undescribed_columns(source)
    if missing:
        return RuleViolation(
            f"source {source.selector_name}: column(s) {', '.join(missing)} "
            f"have no description {where_to_document(source)}."
        )
    return None
