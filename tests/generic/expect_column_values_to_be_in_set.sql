{% test expect_column_values_to_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none, mostly=1.0) %}
    {%- set literals = [] -%}
    {%- for value in value_set -%}
        {%- do literals.append(sql_literal(value) if quote_values else value) -%}
    {%- endfor -%}
    {{ expectation_failing_rows(
        model,
        column_name ~ ' in (' ~ literals | join(', ') ~ ')',
        row_condition=row_condition,
        mostly=mostly,
    ) }}
{% endtest %}
