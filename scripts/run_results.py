"""What the project's dbt files and one invocation's artifacts say, read in
one place: the only reader of dbt's YAML outside dbt.

`after_run.py` and `validation_report.py` both describe a run from
target/run_results.json and target/manifest.json; this module is the only
reading of them: the run's vars, its status, whether it published, its
checks, the layer of a node, and whether the artifacts describe the
invocation that started at a given time at all.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import yaml  # dbt's own dependency

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PUBLISH_NODE = "model.feature_pipeline.publish_user_features"
STOPPED = "dbt stopped before running any node; no results for this run"
# `dbt build` options that leave part of the project out; unit tests are
# left out of every scheduled build (`make build`), which is still full.
PARTIAL_OPTIONS = {"select": "--select", "exclude": "--exclude",
                   "selector": "--selector", "resource_types": "--resource-type",
                   "exclude_resource_types": "--exclude-resource-type"}
FULL_BUILD_EXCLUDES = {"unit_test"}
# A selection of every node is the whole project too: dagster-dbt passes
# `--select fqn:*` when it materializes every dbt asset.
WHOLE_PROJECT_SELECTION = ["fqn:*"]




def parse_time(text: str | None) -> datetime | None:
    """An ISO time as an aware datetime; dbt's artifacts are in UTC."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def project_vars(given: dict | str | None) -> dict:
    """The dbt vars of a run: dbt_project.yml's defaults, the paths from
    the environment as macros/paths.sql reads them, then --vars."""
    defaults = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text()).get("vars") or {}
    defaults["raw_data_dir"] = os.environ.get("RAW_DATA_DIR") or "data/raw"
    defaults["output_dir"] = os.environ.get("OUTPUT_DIR") or "output"
    if isinstance(given, str):
        given = yaml.safe_load(given)
    return {**defaults, **(given or {})}


def contract_columns(root: Path = PROJECT_ROOT, model: str = "user_features",
                     path: str = "models/marts/user_features.yml") -> list[tuple[str, str]]:
    """(name, data_type) of a contracted model's columns, in order, as its
    property file in the project at `root` states them: the published
    schema."""
    document = yaml.safe_load((root / path).read_text())
    found = next(m for m in document["models"] if m["name"] == model)
    return [(column["name"], column["data_type"]) for column in found["columns"]]


def layer_of(node: dict) -> str:
    """The folder a node sits in under its resource path: staging, marts…"""
    return node["original_file_path"].split("/")[1]


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


class RunResults:
    """The last dbt invocation in a target folder.

    With `since` (when the caller started dbt), artifacts from an earlier
    invocation are not taken for this one: dbt that stops before running any
    node writes no run_results.json, so this invocation has no results and
    counts as failed (`stopped`), with the vars it was given (`given_vars`).
    """

    def __init__(self, target: Path, since: datetime | None = None,
                 given_vars: dict | str | None = None):
        self.target = target
        self.manifest = _read_json(target / "manifest.json")
        self.results = _read_json(target / "run_results.json")
        self.stopped = since is not None and not self.describes_invocation_since(since)
        if self.stopped:
            self.results = None
            self.vars = project_vars(given_vars)
        else:
            self.vars = project_vars(self.args.get("vars"))

    @property
    def args(self) -> dict:
        return (self.results or {}).get("args", {})

    @property
    def node_results(self) -> list[dict]:
        return (self.results or {}).get("results", [])

    @property
    def run_id(self) -> str | None:
        return self.results["metadata"]["invocation_id"] if self.results else None

    def describes_invocation_since(self, since: datetime) -> bool:
        """Whether the results are of an invocation that started at `since`
        or later (not of one before it)."""
        if self.results is None:
            return False
        metadata = self.results["metadata"]
        started = parse_time(metadata.get("invocation_started_at")
                             or metadata["generated_at"])
        return started >= since

    @property
    def invocation(self) -> str:
        """The command, as it could have been typed: `dbt test --select x`."""
        words = ["dbt", str(self.args.get("which"))]
        for key, option in PARTIAL_OPTIONS.items():
            values = self.args.get(key) or []
            for value in [values] if isinstance(values, str) else values:
                words += [option, value]
        return " ".join(words)

    @property
    def is_full_build(self) -> bool:
        """A `dbt build` of the whole project: the only run worth a report."""
        partial = any(self.args.get(key) for key in PARTIAL_OPTIONS
                      if key not in ("select", "exclude_resource_types"))
        select = self.args.get("select") or []
        partial |= list([select] if isinstance(select, str) else select) \
            not in ([], WHOLE_PROJECT_SELECTION)
        excluded = set(self.args.get("exclude_resource_types") or [])
        return (self.args.get("which") == "build" and not partial
                and excluded <= FULL_BUILD_EXCLUDES)

    def node(self, unique_id: str) -> dict | None:
        manifest = self.manifest or {}
        return manifest.get("nodes", {}).get(unique_id) or \
            manifest.get("unit_tests", {}).get(unique_id)

    @property
    def status(self) -> str:
        if self.stopped:
            return "failed"
        statuses = {result["status"] for result in self.node_results}
        if statuses & {"error", "fail"}:
            return "failed"
        if "warn" in statuses:
            return "passed_with_warnings"
        return "passed"

    @property
    def published(self) -> bool:
        return any(result["unique_id"] == PUBLISH_NODE and result["status"] == "success"
                   for result in self.node_results)

    def checks(self) -> dict:
        summary = {"passed": 0, "warned": 0, "failed": 0, "skipped": 0,
                   "not_passed": []}
        for result in self.node_results:
            if result["unique_id"].split(".")[0] not in ("test", "unit_test"):
                continue
            status = result["status"]
            # A check skipped because something upstream failed did not fail.
            key = {"pass": "passed", "warn": "warned",
                   "skipped": "skipped"}.get(status, "failed")
            summary[key] += 1
            if status not in ("pass", "skipped"):
                summary["not_passed"].append({
                    "check": result["unique_id"].split(".")[2],
                    "status": status,
                    "failures": result.get("failures"),
                })
        return summary
