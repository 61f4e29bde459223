"""Shape of the lineage graph."""
from dbt_score import Model, RuleViolation, Severity, rule

from house_rules._project import models_read, sources_read

# Ephemeral models are inlined into their readers: like views, they are
# recomputed by every query that reaches them.
VIEW_LIKE = {"view", "ephemeral"}


# The plan of which landing files a run reads: staging reads a source's
# files through it, which is not a join.
LANDING_PLAN = "landing_plan"


@rule(severity=Severity.HIGH)
def no_model_reads_a_source_and_a_model(model: Model) -> RuleViolation | None:
    """No model joins a source with a model (the landing plan aside, which
    names the files to read): stage the source first."""
    sources = sources_read(model)
    models = [name for name in models_read(model) if name != LANDING_PLAN]
    if sources and models:
        return RuleViolation(
            f"{model.original_file_path} reads source {', '.join(sources)} "
            f"and model {', '.join(models)}; read a staging model of the "
            "source instead."
        )
    return None


def _longest_view_chain(model: Model) -> list[str]:
    """Names along the longest run of view-like models ending at `model`."""
    if model.config.get("materialized") not in VIEW_LIKE:
        return []
    upstream = [_longest_view_chain(parent) for parent in model.parents
                if isinstance(parent, Model)]
    return max(upstream, key=len, default=[]) + [model.name]


@rule(severity=Severity.HIGH)
def no_long_view_chains(model: Model,
                        max_chain: int = 3) -> RuleViolation | None:
    """No chain of more than 3 views (or ephemerals) in a row."""
    chain = _longest_view_chain(model)
    if len(chain) > max_chain:
        return RuleViolation(
            f"{model.original_file_path} ends a chain of {len(chain)} views "
            f"({' -> '.join(chain)}; at most {max_chain}); materialize one "
            "of them as a table."
        )
    return None
