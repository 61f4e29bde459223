{#- Fails with one row when the column's type is not column_type (or the
    column does not exist). -#}
{% test expect_column_values_to_be_of_type(model, column_name, column_type) %}
    with actual as (
        select column_name, column_type
        from (describe select * from {{ model }})
        where lower(column_name) = lower({{ sql_literal(column_name) }})
    ),

    expected as (
        select upper({{ sql_literal(column_type) }}) as column_type
    )

    select
        expected.column_type as expected_type,
        actual.column_type as actual_type
    from expected
    left join actual
        on upper(actual.column_type) = expected.column_type
    where actual.column_type is null
{% endtest %}
