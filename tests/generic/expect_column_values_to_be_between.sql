{% test expect_column_values_to_be_between(model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false, mostly=1.0) %}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error(
            "expect_column_values_to_be_between needs min_value or max_value") }}
    {%- endif -%}
    {%- set lower = '>' if strictly else '>=' -%}
    {%- set upper = '<' if strictly else '<=' -%}
    {%- set bounds = [] -%}
    {%- if min_value is not none -%}
        {%- do bounds.append(column_name ~ ' ' ~ lower ~ ' ' ~ min_value) -%}
    {%- endif -%}
    {%- if max_value is not none -%}
        {%- do bounds.append(column_name ~ ' ' ~ upper ~ ' ' ~ max_value) -%}
    {%- endif -%}
    {{ expectation_failing_rows(
        model,
        bounds | join(' and '),
        row_condition=row_condition,
        mostly=mostly,
    ) }}
{% endtest %}
