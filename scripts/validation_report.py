#!/usr/bin/env python3
"""Write the validation report of the last dbt run.

Reads dbt's artifacts (target/run_results.json, target/manifest.json, through
scripts/run_results.py) and the run's DuckDB database, and writes, for every
check of the run, one line: ✅ / ⚠️ / ❌, the check, the model and column, and
what was found; grouped by stage (input, staging, output, drift), with the
overall verdict. The HTML version adds, per feature, a histogram of this run
against the drift baseline: decile bins for numbers, one bar per category
for text, booleans and the region.

Only a full `dbt build` is reported on: after a partial or other command
(`dbt test -s stg_transactions`) it refuses, and the last report stays.

    python scripts/validation_report.py            # after `dbt build`
    make report                                    # the same

Outputs: <output_dir>/validation_report.md and .html (output_dir is the one
the run used), and the Markdown on stdout. Exit code 0 even when the run
failed: the report describes the run, it does not judge it a second time;
1 when there is no full build to describe.
"""
from __future__ import annotations

import argparse
import html
import os
import re
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_results import STOPPED, RunResults, layer_of  # noqa: E402

ICONS = {"pass": "✅", "success": "✅", "warn": "⚠️", "fail": "❌",
         "error": "❌", "skipped": "⏭️"}
STAGES = ["input", "staging", "output", "drift"]
STAGE_TITLES = {
    "input": "Input: the landing files",
    "staging": "Staging: cleaning and computed columns",
    "output": "Output: user_features and publishing",
    "drift": "Drift and volume",
}
# The report stage of a model's layer folder (a model is reported only when
# it broke; a test by the layers of the models it reads).
LAYER_STAGES = {"marts": "output", "publish": "output", "monitoring": "drift"}
# Categories drawn per feature: the most common ones, on either side.
CHART_CATEGORIES = 12


def number(value) -> str:
    """1531 -> '1 531' (thin, readable thousands)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.4g}".replace(",", " ")
    return f"{int(value):,}".replace(",", " ")


def stage_of(node: dict, run: RunResults) -> str:
    if node["resource_type"] == "model":
        # A model may name its stage (the staging table of delivered rows
        # holds the input as delivered); otherwise its layer decides.
        meta = (node.get("config") or {}).get("meta") or {}
        return meta.get("report_stage") or LAYER_STAGES.get(layer_of(node), "staging")
    stages = {stage_of(run.node(parent), run)
              for parent in node["depends_on"]["nodes"] if parent.startswith("model.")}
    return next((stage for stage in ("drift", "output", "staging") if stage in stages),
                "input" if stages else "staging")


class Database:
    """Read-only access to the run's database, if it can be opened."""

    def __init__(self, path: str | None):
        try:
            self.connection = duckdb.connect(path, read_only=True) if path else None
        except duckdb.Error:
            self.connection = None

    def query(self, sql: str):
        if self.connection is None:
            return None
        try:
            return self.connection.sql(sql).fetchall()
        except duckdb.Error:
            return None


def scope_of(node: dict, manifest: dict) -> tuple[str, str] | None:
    """The rows a test checked: its relation and its `where` config."""
    if node.get("attached_node") in manifest["nodes"]:
        relation = f'main."{manifest["nodes"][node["attached_node"]]["alias"]}"'
    else:
        return None
    return relation, (node.get("config") or {}).get("where") or "true"


def null_column(node: dict) -> str | None:
    meta = node.get("test_metadata") or {}
    if meta.get("name") == "expect_column_values_to_not_be_null":
        return node.get("column_name")
    return None


class Counts:
    """Row and null counts of the relations the run's tests checked, each
    relation read once, with every null count it needs in the same pass."""

    def __init__(self, nodes: list[dict], manifest: dict, database: Database):
        wanted: dict[tuple[str, str], list[str]] = {}
        for node in nodes:
            scope = scope_of(node, manifest)
            if scope:
                columns = wanted.setdefault(scope, [])
                column = null_column(node)
                if column and column not in columns:
                    columns.append(column)
        self.counts: dict[tuple[str, str], dict] = {}
        for (relation, where), columns in wanted.items():
            measures = ["count(*)"] + [
                f'count(*) filter (where "{column}" is null)' for column in columns]
            rows = database.query(
                f"select {', '.join(measures)} from {relation} where {where}")
            if rows:
                self.counts[(relation, where)] = {
                    "rows": rows[0][0], **dict(zip(columns, rows[0][1:]))}

    def of(self, node: dict, manifest: dict) -> dict:
        return self.counts.get(scope_of(node, manifest) or ("", ""), {})


# A test argument the manifest keeps as template text: a var, read as the
# run read it.
VAR_ARGUMENT = re.compile(r"\{\{\s*(?:number_var|var)\(\s*'(\w+)'\s*\)\s*\}\}")


def argument_value(value, variables: dict):
    """A test argument as the check used it: `{{ number_var('x') }}` is the
    value of the var x in this run."""
    if isinstance(value, str) and "{{" in value:
        found = VAR_ARGUMENT.fullmatch(value.strip())
        return variables.get(found[1], value) if found else "(set by the project)"
    return value


def found_text(node: dict, result: dict, counts: dict,
               variables: dict | None = None) -> str:
    """What the check found, in words; `counts` are the checked rows'."""
    meta = node.get("test_metadata") or {}
    kwargs = {name: argument_value(value, variables or {})
              for name, value in meta.get("kwargs", {}).items()}
    failures = result.get("failures")
    status = result["status"]
    if status == "error":
        return (result.get("message") or "could not run").splitlines()[0][:200]
    if status == "skipped":
        return "not run: an upstream step failed"
    if node["resource_type"] == "unit_test":
        return "as expected" if status == "pass" else "differs from expected"

    total = counts.get("rows")
    name = meta.get("name", "")
    column = null_column(node)
    if column and total and column in counts:
        nulls = counts[column]
        share = nulls / total
        limit = 1 - float(kwargs.get("mostly", 1.0))
        sign = "≤" if share <= limit else ">"
        return (f"{number(nulls)} nulls, {share:.1%} {sign} {limit:.0%}"
                .replace("%", " %"))
    if not failures:
        return "no failing rows"
    if name == "expect_column_values_to_be_between":
        bounds = f"[{kwargs.get('min_value', '-∞')}, {kwargs.get('max_value', '∞')}]"
        share = f", {failures / total:.1%}".replace("%", " %") if total else ""
        return f"{number(failures)} values outside {bounds}{share}"
    if name in ("not_null",):
        share = f", {failures / total:.1%}".replace("%", " %") if total else ""
        return f"{number(failures)} nulls{share}"
    if name == "unique":
        return f"{number(failures)} repeated values"
    if name == "relationships":
        return f"{number(failures)} values without a match in {kwargs.get('to', 'the reference')}"
    return f"{number(failures)} failing rows"


def check_lines(run: RunResults, database: Database) -> list[dict]:
    lines = []
    tests = [run.node(r["unique_id"]) for r in run.node_results
             if r["status"] not in ("error", "skipped")]
    counts = Counts([n for n in tests if n and n["resource_type"] == "test"],
                    run.manifest, database)
    for result in run.node_results:
        node = run.node(result["unique_id"])
        if node is None or node["resource_type"] not in ("test", "unit_test", "model"):
            continue
        if node["resource_type"] == "model":
            if result["status"] != "error":
                continue  # models are reported only when they broke
            check, subject, stage = "build", node["name"], stage_of(node, run)
        elif node["resource_type"] == "unit_test":
            check, subject = "unit test " + node["name"], node["model"]
            stage = "output" if node["model"] == "user_features" else "staging"
        else:
            meta = node.get("test_metadata") or {}
            check = meta.get("name") or node["name"]
            if node.get("attached_node"):
                subject = node["attached_node"].split(".")[-1]
            else:
                subject = "(singular) " + node["name"]
                check = "assertion"
            if node.get("column_name"):
                subject += "." + node["column_name"]
            stage = stage_of(node, run)
        lines.append({
            "stage": stage,
            "icon": ICONS.get(result["status"], "•"),
            "status": result["status"],
            "check": check,
            "subject": subject,
            "severity": (node.get("config") or {}).get("severity", "").lower(),
            "found": found_text(node, result, counts.of(node, run.manifest), run.vars),
            # Only the checks of the data layers keep their rows (dbt_project.yml).
            "audit_table": (f"{node['schema']}.{node['alias']}"
                            if result.get("failures") and node["resource_type"] == "test"
                            and (node.get("config") or {}).get("store_failures")
                            else ""),
        })
    return lines


def verdict(run: RunResults) -> tuple[str, str]:
    if run.stopped:
        return "❌", f"FAILED: {STOPPED}; nothing was published."
    if run.status == "failed":
        return "❌", "FAILED: an error-severity check or a step failed; nothing was published."
    if run.status == "passed_with_warnings":
        return "⚠️", ("PASSED WITH WARNINGS: published." if run.published
                      else "PASSED WITH WARNINGS.")
    return "✅", "PASSED: published." if run.published else "PASSED."


def drift_data(database: Database):
    rows = database.query(
        "select feature, psi, drift from feature_drift order by feature_order")
    bins = database.query(
        "select feature, bin_index, bin_label, lower_bound, upper_bound, "
        "baseline_share, current_share, feature_kind from feature_drift_bins "
        "order by feature, bin_index")
    return rows or [], bins or []


def markdown(lines, mark, summary, drift_rows, generated_for) -> str:
    out = [f"# Validation report {mark}", "", f"**{summary}**", "",
           f"Run {generated_for}.", ""]
    for stage in STAGES:
        stage_lines = [l for l in lines if l["stage"] == stage]
        if not stage_lines:
            continue
        out += [f"## {STAGE_TITLES[stage]}", "",
                "| | check | model.column | found |", "|---|---|---|---|"]
        for line in sorted(stage_lines, key=lambda l: (l["status"] in ("pass", "success"), l["subject"])):
            found = line["found"] + (f" (rows: `{line['audit_table']}`)" if line["audit_table"] else "")
            out.append(f"| {line['icon']} | {line['check']} | {line['subject']} | {found} |")
        out.append("")
    if drift_rows:
        out += ["## Drift (PSI against the baseline)", "",
                "| feature | PSI | drift |", "|---|---|---|"]
        for feature, psi, drift in drift_rows:
            out.append(f"| {feature} | {'—' if psi is None else f'{psi:.4f}'} | {drift} |")
        out.append("")
    return "\n".join(out)


def histogram_svg(feature_bins) -> str:
    """Baseline and current shares per bin, side by side; a categorical
    feature gets one labelled pair of bars per category (its most common
    ones, when there are many)."""
    categorical = feature_bins[0][7] == "categorical"
    if categorical and len(feature_bins) > CHART_CATEGORIES:
        largest = sorted(feature_bins, key=lambda b: max(b[5], b[6]),
                         reverse=True)[:CHART_CATEGORIES]
        feature_bins = sorted(largest, key=lambda b: b[1])
    width, height, pad = 360, 134 if categorical else 120, 4
    baseline_y = height - (29 if categorical else 15)
    slot = (width - 2 * pad) / len(feature_bins)
    top = max(max(b[5], b[6]) for b in feature_bins) or 1
    bars = []
    for i, (_, _, label, _, _, base, cur, _) in enumerate(feature_bins):
        name = html.escape(str(label))
        for j, (share, colour) in enumerate(((base, "#9aa5b1"), (cur, "#1f77b4"))):
            h = 100 * share / top
            x = pad + i * slot + j * slot / 2.2
            bars.append(f'<rect x="{x:.1f}" y="{baseline_y - h:.1f}" '
                        f'width="{slot / 2.4:.1f}" height="{h:.1f}" fill="{colour}">'
                        f"<title>{'' if categorical else 'bin '}{name}: "
                        f"baseline {base:.3f}, this run {cur:.3f}</title></rect>")
        if categorical:
            bars.append(f'<text x="{pad + (i + 0.5) * slot:.1f}" y="{height - 16}" '
                        f'font-size="10" text-anchor="middle">{name[:10]}</text>')
    return (f'<svg width="{width}" height="{height}" role="img">'
            + "".join(bars) + "</svg>")


def html_report(lines, mark, summary, drift_rows, bins, generated_for) -> str:
    parts = ["<!doctype html><meta charset='utf-8'><title>Validation report</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
             "td,th{padding:2px 8px;text-align:left;vertical-align:top}"
             "tr:nth-child(even){background:#f4f4f4}.grid{display:flex;flex-wrap:wrap;gap:16px}"
             ".card{border:1px solid #ddd;padding:8px}</style>",
             f"<h1>Validation report {mark}</h1><p><b>{html.escape(summary)}</b></p>",
             f"<p>Run {html.escape(generated_for)}.</p>"]
    for stage in STAGES:
        stage_lines = [l for l in lines if l["stage"] == stage]
        if not stage_lines:
            continue
        parts.append(f"<h2>{STAGE_TITLES[stage]}</h2><table><tr><th></th><th>check</th>"
                     "<th>model.column</th><th>found</th></tr>")
        for line in sorted(stage_lines, key=lambda l: (l["status"] in ("pass", "success"), l["subject"])):
            audit = f" <code>{line['audit_table']}</code>" if line["audit_table"] else ""
            parts.append(f"<tr><td>{line['icon']}</td><td>{html.escape(line['check'])}</td>"
                         f"<td>{html.escape(line['subject'])}</td>"
                         f"<td>{html.escape(line['found'])}{audit}</td></tr>")
        parts.append("</table>")
    if drift_rows:
        parts.append("<h2>Drift: this run (blue) against the baseline (grey)</h2><div class='grid'>")
        for feature, psi, drift in drift_rows:
            feature_bins = [b for b in bins if b[0] == feature]
            psi_text = "skipped (no baseline)" if psi is None else f"PSI {psi:.4f} ({drift})"
            chart = histogram_svg(feature_bins) if feature_bins else ""
            parts.append(f"<div class='card'><b>{html.escape(feature)}</b> — "
                         f"{html.escape(psi_text)}<br>{chart}</div>")
        parts.append("</div>")
    return "\n".join(parts)


def summary_lines(lines: list[dict], summary: str, shown: int = 20) -> list[str]:
    """The short account `make build` prints: the verdict, the counts, and
    each check that did not pass (the full report is in the files)."""
    counts = {}
    for line in lines:
        counts[line["status"]] = counts.get(line["status"], 0) + 1
    passed = counts.get("pass", 0) + counts.get("success", 0)
    out = [f"Validation: {summary}",
           f"Checks and steps: {passed} passed, {counts.get('warn', 0)} warned, "
           f"{counts.get('fail', 0) + counts.get('error', 0)} failed, "
           f"{counts.get('skipped', 0)} skipped."]
    not_passed = [line for line in lines if line["status"] not in ("pass", "success")]
    for line in not_passed[:shown]:
        out.append(f"  {line['icon']} {line['check']} on {line['subject']}: {line['found']}")
    if len(not_passed) > shown:
        out.append(f"  … and {len(not_passed) - shown} more in the report.")
    return out


def write_report(run: RunResults, database_path: str, output_dir: Path,
                 full: bool = True) -> Path:
    """Write the report of `run` under output_dir, print it (or, with
    `full=False`, its summary), return the Markdown file's path."""
    # A run that stopped has nothing in the database: it holds an earlier run.
    database = Database(None if run.stopped else database_path)
    lines = check_lines(run, database)
    mark, summary = verdict(run)
    drift_rows, bins = drift_data(database)
    metadata = (run.results or {}).get("metadata", {})
    generated_for = (f"{metadata['invocation_id']} at {metadata['generated_at']}"
                     if metadata else "that left no results")

    output_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(lines, mark, summary, drift_rows, generated_for)
    report_path = output_dir / "validation_report.md"
    report_path.write_text(text + "\n")
    (output_dir / "validation_report.html").write_text(
        html_report(lines, mark, summary, drift_rows, bins, generated_for))
    print(text if full else "\n".join(summary_lines(lines, summary)))
    print(f"\nReport: {report_path} and {output_dir / 'validation_report.html'}")
    return report_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-path", type=Path, default=Path("target"))
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="default: the output_dir var of the run")
    parser.add_argument("--database", default=os.environ.get(
        "DUCKDB_PATH", "feature_pipeline.duckdb"))
    args = parser.parse_args(argv)

    run = RunResults(args.target_path)
    if run.results is None:
        print(f"No dbt run to report on: {args.target_path / 'run_results.json'} "
              "does not exist.", file=sys.stderr)
        return 1
    if not run.is_full_build:
        print(f"The last dbt invocation in {args.target_path} was "
              f"`{run.invocation}`, not a full `dbt build`, so the report "
              "was left as it was.", file=sys.stderr)
        return 1
    write_report(run, args.database, args.output_dir or Path(run.vars["output_dir"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
