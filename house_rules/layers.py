"""One folder per layer, and only staging (and state) read sources."""
from dbt_score import Model, RuleViolation, Severity, rule

from house_rules._project import layer_of, sources_read

PREFIXES = {"staging": "stg_", "intermediate": "int_"}
# Staging reads the landing data; state shows the landing hook's plan.
READS_SOURCES = {"staging", "state"}


@rule(severity=Severity.HIGH)
def only_staging_reads_sources(model: Model) -> RuleViolation | None:
    """Only models in models/staging/ (and models/state/) call source()."""
    sources = sources_read(model)
    if sources and layer_of(model) not in READS_SOURCES:
        return RuleViolation(
            f"{model.original_file_path} reads source "
            f"{', '.join(sources)}; only staging models read sources, "
            "read the staging model instead."
        )
    return None


@rule(severity=Severity.HIGH)
def marts_never_read_sources(model: Model) -> RuleViolation | None:
    """Marts read models, never sources."""
    sources = sources_read(model)
    if sources and layer_of(model) == "marts":
        return RuleViolation(
            f"{model.original_file_path} is a mart and reads source "
            f"{', '.join(sources)}; marts read staging or intermediate "
            "models only."
        )
    return None


@rule(severity=Severity.HIGH)
def folder_matches_prefix(model: Model) -> RuleViolation | None:
    """A model's name prefix matches its layer folder (stg_, int_)."""
    path, name, layer = model.original_file_path, model.name, layer_of(model)
    if layer is None:
        return RuleViolation(
            f"{path} is not in a layer folder; put it in models/staging/, "
            "models/intermediate/ or models/marts/."
        )
    expected = PREFIXES.get(layer)
    if expected and not name.startswith(expected):
        return RuleViolation(
            f"{path} is in models/{layer}/ but is not named {expected}*."
        )
    for other_layer, prefix in PREFIXES.items():
        if other_layer != layer and name.startswith(prefix):
            return RuleViolation(
                f"{path} is named {prefix}* but is in models/{layer}/, "
                f"not models/{other_layer}/."
            )
    return None
