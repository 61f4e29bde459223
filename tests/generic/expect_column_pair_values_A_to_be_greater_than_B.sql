{% test expect_column_pair_values_A_to_be_greater_than_B(model, column_A, column_B, or_equal=false, row_condition=none, mostly=1.0) %}
    {{ expectation_failing_rows(
        model,
        column_A ~ (' >= ' if or_equal else ' > ') ~ column_B,
        row_condition=row_condition,
        mostly=mostly,
    ) }}
{% endtest %}
