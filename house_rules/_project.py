"""Where a model sits in the project, shared by the rules."""
from dbt_score import Model, Source


def layer_of(model: Model) -> str | None:
    """The folder directly under the model path: staging, marts, ..."""
    parts = model.original_file_path.split("/")
    return parts[1] if len(parts) > 2 else None


def yaml_path(item: Model | Source) -> str | None:
    """The properties file that documents the item, if any."""
    if isinstance(item, Source):
        return item.original_file_path
    if item.patch_path:
        # Stored as "<package>://models/...yml".
        return item.patch_path.split("://", 1)[-1]
    return None


def where_to_document(item: Model | Source) -> str:
    path = yaml_path(item)
    return f"in {path}" if path else "in a _<dir>__models.yml next to it"


def sources_read(model: Model) -> list[str]:
    return sorted(parent.selector_name for parent in model.parents
                  if isinstance(parent, Source))


def models_read(model: Model) -> list[str]:
    return sorted(parent.name for parent in model.parents
                  if isinstance(parent, Model))
