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

import duckdb

from conftest import DBT, PROJECT_ROOT

# 20 rows: amount 1-19 and one null (5 %); low = amount - 1 except row 5
# (low = amount); part_a + part_b = 1 on every row; event_at in 2024.
MEASUREMENTS = "id,amount,label,low,part_a,part_b,event_at\n" + "\n".join(
    f"{i},{'' if i == 20 else i},{'even' if i % 2 == 0 else 'odd'},"
    f"{'' if i == 20 else (i if i == 5 else i - 1)},{i % 2},{1 - i % 2},"
    f"2024-01-{i:02d} 12:00:00"
    for i in range(1, 21)
) + "\n"

CASES = """
version: 2

seeds:
  - name: measurements
    config:
      column_types:
        id: integer
        amount: double
        label: varchar
        low: double
        part_a: integer
        part_b: integer
        event_at: timestamp
    data_tests:
      - expect_table_columns_to_match_ordered_list:
          name: pass__ordered_list
          arguments: {column_list: [id, amount, label, low, part_a, part_b, event_at]}
      - expect_table_columns_to_match_ordered_list:
          name: fail_2__ordered_list_swapped
          arguments: {column_list: [id, label, amount, low, part_a, part_b, event_at]}
      - expect_table_row_count_to_be_between:
          name: pass__row_count
          arguments: {min_value: 10, max_value: 30}
      - expect_table_row_count_to_be_between:
          name: fail_1__row_count
          arguments: {min_value: 1, max_value: 5}
      - expect_table_row_count_to_be_between:
          name: pass__row_count_group_by
          arguments: {min_value: 10, max_value: 10, group_by: [label]}
      - expect_table_row_count_to_be_between:
          name: fail_1__row_count_row_condition_strictly
          arguments: {min_value: 10, row_condition: "label = 'odd'", strictly: true}
      - expect_table_row_count_to_equal_other_table:
          name: pass__row_count_other_table
          arguments: {compare_model: ref('measurements')}
      - expect_table_row_count_to_equal_other_table:
          name: fail_1__row_count_other_table_factor
          arguments: {compare_model: ref('measurements'), factor: 2}
      - expect_table_row_count_to_equal_other_table:
          name: fail_1__row_count_other_table_row_condition
          arguments: {compare_model: ref('measurements'), row_condition: "id < 20"}
      - expect_compound_columns_to_be_unique:
          name: pass__compound_unique
          arguments: {column_list: [id, label]}
      - expect_compound_columns_to_be_unique:
          name: fail_2__compound_unique
          arguments: {column_list: [label, part_a]}
      - expect_compound_columns_to_be_unique:
          name: pass__compound_unique_row_condition
          arguments: {column_list: [label], row_condition: "id = 1 or id = 2"}
      - expect_multicolumn_sum_to_equal:
          name: pass__multicolumn_sum
          arguments: {column_list: [part_a, part_b], sum_total: 1}
      - expect_multicolumn_sum_to_equal:
          name: fail_20__multicolumn_sum
          arguments: {column_list: [part_a, part_b], sum_total: 2}
      - expect_multicolumn_sum_to_equal:
          name: fail_10__multicolumn_sum_row_condition
          arguments: {column_list: [part_a], sum_total: 1, row_condition: "label = 'even'"}
      - expect_multicolumn_sum_to_equal:
          name: pass__multicolumn_sum_group_by
          arguments: {column_list: [part_a, part_b], sum_total: 10, group_by: [label]}
      - expect_column_pair_values_A_to_be_greater_than_B:
          name: fail_1__pair_greater
          arguments: {column_A: amount, column_B: low}
      - expect_column_pair_values_A_to_be_greater_than_B:
          name: pass__pair_greater_or_equal
          arguments: {column_A: amount, column_B: low, or_equal: true}
      - expect_column_pair_values_A_to_be_greater_than_B:
          name: pass__pair_greater_row_condition
          arguments: {column_A: amount, column_B: low, row_condition: "id <> 5"}
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
          arguments: {column_list: [label, amount, id, low, part_a, part_b, event_at]}
      - expect_table_columns_to_match_set:
          name: fail_1__match_set_extra_column
          arguments: {column_list: [label, amount, id, low, part_a, part_b]}
      - expect_table_columns_to_match_set:
          name: fail_2__match_set_missing_and_extra
          arguments: {column_list: [label, amount, id, low, part_a, part_b, price]}
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
          - expect_column_mean_to_be_between:
              name: pass__mean
              arguments: {min_value: 10, max_value: 10}
          - expect_column_mean_to_be_between:
              name: fail_1__mean
              arguments: {min_value: 11}
          - expect_column_mean_to_be_between:
              name: fail_1__mean_strictly
              arguments: {min_value: 10, strictly: true}
          - expect_column_mean_to_be_between:
              name: fail_1__mean_group_by
              arguments: {min_value: 10, max_value: 10, group_by: [part_a], row_condition: "id <> 19"}
          - expect_column_median_to_be_between:
              name: pass__median
              arguments: {min_value: 9.5, max_value: 10.5}
          - expect_column_median_to_be_between:
              name: fail_1__median_row_condition
              arguments: {min_value: 9.5, max_value: 10.5, row_condition: "id <= 10"}
          - expect_column_stdev_to_be_between:
              name: pass__stdev
              arguments: {min_value: 5.6, max_value: 5.7}
          - expect_column_stdev_to_be_between:
              name: fail_1__stdev
              arguments: {max_value: 5}
          - expect_column_min_to_be_between:
              name: pass__min
              arguments: {min_value: 1, max_value: 1}
          - expect_column_max_to_be_between:
              name: fail_1__max
              arguments: {max_value: 18}
          - expect_column_sum_to_be_between:
              name: pass__sum
              arguments: {min_value: 190, max_value: 190}
          - expect_column_quantile_values_to_be_between:
              name: pass__quantile
              arguments: {quantile: 0.5, min_value: 10, max_value: 10}
          - expect_column_quantile_values_to_be_between:
              name: fail_1__quantile
              arguments: {quantile: 0.9, max_value: 15}
          - expect_column_proportion_of_unique_values_to_be_between:
              name: pass__proportion_unique
              arguments: {min_value: 1, max_value: 1}
          - expect_column_proportion_of_unique_values_to_be_between:
              name: fail_1__proportion_unique
              arguments: {max_value: 0.5}
          - expect_column_values_to_be_of_type:
              name: pass__of_type
              arguments: {column_type: double}
          - expect_column_values_to_be_of_type:
              name: fail_1__of_type
              arguments: {column_type: varchar}
          - expect_column_values_to_be_within_n_stdevs:
              name: pass__within_n_stdevs
              arguments: {sigma_threshold: 3}
          - expect_column_values_to_be_within_n_stdevs:
              name: fail_2__within_n_stdevs
              arguments: {sigma_threshold: 1.5}
          - expect_column_values_to_be_within_n_stdevs:
              name: pass__within_n_stdevs_group_by
              arguments: {sigma_threshold: 1.6, group_by: [label]}
      - name: event_at
        data_tests:
          - expect_row_values_to_have_recent_data:
              name: pass__recent_data
              arguments: {datepart: year, interval: 100}
          - expect_row_values_to_have_recent_data:
              name: fail_1__recent_data
              arguments: {datepart: day, interval: 1}
          - expect_row_values_to_have_recent_data:
              name: fail_1__recent_data_row_condition
              arguments: {datepart: year, interval: 100, row_condition: "id > 100"}
      - name: label
        data_tests:
          - expect_column_distinct_count_to_equal:
              name: pass__distinct_count
              arguments: {value: 2}
          - expect_column_distinct_count_to_equal:
              name: fail_1__distinct_count
              arguments: {value: 3}
          - expect_column_distinct_count_to_equal:
              name: pass__distinct_count_group_by
              arguments: {value: 1, group_by: [part_a]}
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
data_tests:
  +store_failures: true
  +schema: audit
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

    # The failing rows of every failed check can be queried in the audit schema.
    database = duckdb.connect(str(tmp_path / "check.duckdb"), read_only=True)
    for name, result in verdicts.items():
        if name.startswith("fail_"):
            stored = database.sql(
                f'select count(*) from main_audit."{name}"').fetchall()[0][0]
            assert stored == result["failures"], name
    database.close()

    # Every generic test the project ships is exercised here.
    shipped = {p.stem for p in (PROJECT_ROOT / "tests" / "generic").glob("*.sql")}
    exercised = {line.strip().rstrip(":").lstrip("- ")
                 for line in CASES.splitlines()
                 if line.strip().startswith("- expect_")}
    assert shipped == exercised
