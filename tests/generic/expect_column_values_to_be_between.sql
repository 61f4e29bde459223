{% test expect_column_values_to_be_between(model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false, mostly=1.0) %}
    {{ expectation_failing_rows(
        model,
        expectation_bounds(column_name, min_value, max_value, strictly),
        row_condition=row_condition,
        mostly=mostly,
    ) }}
{% endtest %}
