{#- Fails with one row per column missing from, or not named in, column_list. -#}
{% test expect_table_columns_to_match_set(model, column_list, transform='upper') %}
    with actual as (
        {{ expectation_column_names(model, transform) }}
    ),

    expected as (
        {{ expectation_value_list(column_list, transform) }}
    ),

    missing as (
        select expected.column_name, 'missing' as problem
        from expected
        anti join actual
            on expected.column_name = actual.column_name
    ),

    unexpected as (
        select actual.column_name, 'unexpected' as problem
        from actual
        anti join expected
            on actual.column_name = expected.column_name
    )

    select * from missing
    union all
    select * from unexpected
{% endtest %}
