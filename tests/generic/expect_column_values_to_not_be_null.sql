{% test expect_column_values_to_not_be_null(model, column_name, row_condition=none, mostly=1.0) %}
    {{ expectation_failing_rows(
        model,
        column_name ~ ' is not null',
        row_condition=row_condition,
        mostly=mostly,
    ) }}
{% endtest %}
