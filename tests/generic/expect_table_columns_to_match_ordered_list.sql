{#- Fails with one row per position where the columns differ from column_list. -#}
{% test expect_table_columns_to_match_ordered_list(model, column_list, transform='upper') %}
    with actual as (
        {{ expectation_column_names(model, transform) }}
    ),

    expected as (
        {{ expectation_value_list(column_list, transform) }}
    )

    select
        coalesce(actual.column_position, expected.column_position) as column_position,
        actual.column_name as actual_column,
        expected.column_name as expected_column
    from actual
    full outer join expected
        on actual.column_position = expected.column_position
    where actual.column_name is distinct from expected.column_name
{% endtest %}
