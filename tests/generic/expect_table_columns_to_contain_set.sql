{#- Fails with one row per expected column the relation lacks. -#}
{% test expect_table_columns_to_contain_set(model, column_list, transform='upper') %}
    with actual as (
        {{ expectation_column_names(model, transform) }}
    ),

    expected as (
        {{ expectation_value_list(column_list, transform) }}
    )

    select expected.column_name as missing_column
    from expected
    anti join actual
        on expected.column_name = actual.column_name
{% endtest %}
