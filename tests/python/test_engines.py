"""Ready for another engine: every concept the models spell per engine
(`adapter.dispatch`) has a `default__` form, and the standard-SQL defaults
compute what DuckDB's own forms compute, on DuckDB, for real values.
"""
from __future__ import annotations

import json
import re

from conftest import PROJECT_ROOT, SAMPLE_DIR, run_dbt

MACRO_FOLDERS = [PROJECT_ROOT / "macros", PROJECT_ROOT / "tests" / "generic"]


def macro_text() -> str:
    return "\n".join(path.read_text() for folder in MACRO_FOLDERS
                     for path in sorted(folder.rglob("*.sql")))


def test_every_dispatched_macro_has_a_default_form():
    text = macro_text()
    dispatched = set(re.findall(r"adapter\.dispatch\('(\w+)'\)", text))
    assert len(dispatched) >= 10
    defaults = set(re.findall(r"macro default__(\w+)\(", text))
    assert dispatched <= defaults, sorted(dispatched - defaults)


# Each SQL default beside DuckDB's form, on the same values.
PAIRS = {
    "whole_days": ("default__whole_days_between('a', 'b')",
                   "duckdb__whole_days_between('a', 'b')"),
    "weekday": ("default__day_of_week('a')", "duckdb__day_of_week('a')"),
    "midpoint": ("default__money_midpoint('m', 'm + 0.5')",
                 "duckdb__money_midpoint('m', 'm + 0.5')"),
    "quantile": ("default__quantiles('m', 0.3)", "duckdb__quantiles('m', 0.3)"),
    "deciles": ("default__quantiles('m', [0.1, 0.5, 0.9])",
                "duckdb__quantiles('m', [0.1, 0.5, 0.9])"),
}
VALUES = """
    select
        timestamp '2024-01-01 23:50:00' + to_hours(i * 7) as a,
        timestamp '2024-01-03 00:10:00' + to_hours(i * 11) as b,
        cast(i * 1.25 as {{ money_type() }}) as m
    from range(1, 40) as t(i)
"""


def test_the_standard_sql_defaults_agree_with_duckdb(tmp_path):
    columns = []
    for name, (default, duckdb) in PAIRS.items():
        aggregate = name in ("quantile", "deciles")
        for form, call in (("default", default), ("duckdb", duckdb)):
            expression = "{{ " + call + " }}"
            if name == "midpoint":  # standard SQL's division may give a DOUBLE
                expression = f"cast({expression} as {{{{ money_type() }}}})"
            if not aggregate:
                expression = f"list({expression} order by a)"
            columns.append(f"cast({expression} as varchar) as {name}_{form}")
    inline = f"with v as ({VALUES}) select {', '.join(columns)} from v"
    shown = run_dbt(tmp_path, SAMPLE_DIR, command="show",
                    extra_args=("--inline", inline, "--output", "json",
                                "--log-format", "json"))
    assert shown.returncode == 0, shown.output[-3000:]
    preview = next(json.loads(line)["data"]["preview"]
                   for line in shown.output.splitlines()
                   if line.startswith("{") and '"preview"' in line)
    row = json.loads(preview)[0]
    for name in PAIRS:
        assert row[f"{name}_default"] == row[f"{name}_duckdb"], (name, row)
