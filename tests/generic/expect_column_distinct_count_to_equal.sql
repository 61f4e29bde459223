{% test expect_column_distinct_count_to_equal(model, column_name, value, group_by=none, row_condition=none) %}
    {{ expectation_aggregate_failures(
        model,
        'count(distinct ' ~ column_name ~ ')',
        'measured_value = ' ~ value,
        group_by=group_by,
        row_condition=row_condition,
    ) }}
{% endtest %}
