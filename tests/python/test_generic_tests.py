"""Every generic test of the project, run by dbt on data it must accept and
on data it must reject.

A throw-away dbt project is built in a temporary folder from the project's
own `tests/generic/` and `macros/`; each case is named `pass__...` or
`fail_<rows>__...`, and the test checks dbt's verdict and failure count.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap

from conftest import DBT, PROJECT_ROOT

# id, amount, label: 20 rows, one null amount (5 %), amounts 1-19 and 0.
MEASUREMENTS = "id,amount,label\n" + "\n".join(
    f"{i},{'' if i == 20 else i % 20},{'even' if i % 2 == 0 else 'odd'}"
    for i in range(1, 21)
) + "\n"

CASES = """
version: 2

seeds:
  - name: measurements
    data_tests:
      - expect_table_columns_to_contain_set:
          name: pass__contain_set
          arguments: {column_list: [id, amount]}
      - expect_table_columns_to_contain_set:
          name: fail_2__contain_set_missing
          arguments: {column_list: [id, price, category]}
      - expect_table_columns_to_contain_set:
          name: pass__contain_set_case_insensitive
          arguments: {column_list: [ID, Amount]}
      - expect_table_columns_to_match_set:
          name: pass__match_set
          arguments: {column_list: [label, amount, id]}
      - expect_table_columns_to_match_set:
          name: fail_1__match_set_extra_column
          arguments: {column_list: [amount, id]}
      - expect_table_columns_to_match_set:
          name: fail_2__match_set_missing_and_extra
          arguments: {column_list: [amount, id, price]}
    columns:
      - name: amount
        data_tests:
          - expect_column_values_to_not_be_null:
              name: fail_1__not_null
          - expect_column_values_to_not_be_null:
              name: pass__not_null_mostly_at_threshold
              arguments: {mostly: 0.95}
          - expect_column_values_to_not_be_null:
              name: fail_1__not_null_mostly_above_share
              arguments: {mostly: 0.96}
          - expect_column_values_to_not_be_null:
              name: pass__not_null_row_condition
              arguments: {row_condition: "id < 20"}
          - expect_column_values_to_be_between:
              name: pass__between
              arguments: {min_value: 1, max_value: 19}
          - expect_column_values_to_be_between:
              name: fail_2__between
              arguments: {min_value: 2, max_value: 18}
          - expect_column_values_to_be_between:
              name: fail_2__between_strictly
              arguments: {min_value: 1, max_value: 19, strictly: true}
          - expect_column_values_to_be_between:
              name: fail_5__between_max_only
              arguments: {max_value: 14}
          - expect_column_values_to_be_between:
              name: pass__between_row_condition
              arguments: {min_value: 1, max_value: 10, row_condition: "id <= 10"}
          - expect_column_values_to_be_between:
              name: pass__between_mostly
              arguments: {min_value: 1, max_value: 14, mostly: 0.7}
          - expect_column_values_to_be_between:
              name: fail_5__between_mostly
              arguments: {min_value: 1, max_value: 14, mostly: 0.8}
      - name: label
        data_tests:
          - expect_column_values_to_be_in_set:
              name: pass__in_set
              arguments: {value_set: [odd, even]}
          - expect_column_values_to_be_in_set:
              name: fail_10__in_set
              arguments: {value_set: [odd, other]}
          - expect_column_values_to_be_in_set:
              name: pass__in_set_row_condition
              arguments: {value_set: [odd], row_condition: "id % 2 = 1"}
      - name: id
        data_tests:
          - expect_column_values_to_be_in_set:
              name: fail_18__in_set_unquoted
              arguments: {value_set: [1, 2], quote_values: false}
"""

PROJECT = """
name: generic_tests_check
version: "1.0.0"
config-version: 2
profile: generic_tests_check
flags:
  send_anonymous_usage_stats: false
"""

PROFILES = """
generic_tests_check:
  target: check
  outputs:
    check:
      type: duckdb
      path: "{path}"
      threads: 2
"""


def test_generic_tests_pass_and_fail_as_designed(tmp_path):
    project = tmp_path / "project"
    (project / "seeds").mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / "tests" / "generic",
                    project / "tests" / "generic")
    shutil.copytree(PROJECT_ROOT / "macros", project / "macros")
    (project / "dbt_project.yml").write_text(PROJECT)
    (project / "profiles.yml").write_text(
        PROFILES.format(path=tmp_path / "check.duckdb"))
    (project / "seeds" / "measurements.csv").write_text(MEASUREMENTS)
    (project / "seeds" / "_seeds.yml").write_text(textwrap.dedent(CASES))

    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    process = subprocess.run(
        [str(DBT), "build", "--profiles-dir", str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=600)
    output = process.stdout + process.stderr
    assert "deprecat" not in output.lower(), output

    results = json.loads(
        (project / "target" / "run_results.json").read_text())["results"]
    verdicts = {r["unique_id"].split(".")[2]: r for r in results
                if r["unique_id"].startswith("test.")}
    expected_names = {line.split("name:")[1].strip()
                      for line in CASES.splitlines() if "name: pass__" in line
                      or "name: fail_" in line}
    assert set(verdicts) == expected_names, output

    for name, result in verdicts.items():
        if name.startswith("pass__"):
            assert result["status"] == "pass", (name, result["message"])
        else:
            rows = int(name.split("__")[0].removeprefix("fail_"))
            assert result["status"] == "fail", (name, result["message"])
            assert result["failures"] == rows, (name, result["failures"])

    # Every generic test the project ships is exercised here.
    shipped = {p.stem for p in (PROJECT_ROOT / "tests" / "generic").glob("*.sql")}
    exercised = {line.strip().rstrip(":").lstrip("- ")
                 for line in CASES.splitlines()
                 if line.strip().startswith("- expect_")}
    assert shipped == exercised
