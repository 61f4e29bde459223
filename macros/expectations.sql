{#
    Shared building blocks of the expectation tests in tests/generic/.
    A test returns the rows that break it; dbt counts them.
#}

{% macro expectation_failing_rows(model, passes, row_condition=none, mostly=1.0) %}
    {#-
        Rows of `model` (restricted by `row_condition`) for which the boolean
        SQL expression `passes` is false. Rows where it is null are not
        judged, as in dbt-expectations. With `mostly` < 1 the test tolerates
        up to (1 - mostly) of the rows failing and returns nothing then, so
        "at most 5 % nulls" reads `mostly: 0.95`.
    -#}
    {%- if mostly is not number or mostly < 0 or mostly > 1 -%}
        {{ exceptions.raise_compiler_error(
            "mostly must be a number between 0 and 1, got " ~ mostly) }}
    {%- endif -%}
    with scoped as (
        select *
        from {{ model }}
        {%- if row_condition %}
        where {{ row_condition }}
        {%- endif %}
    ),

    failing as (
        select *
        from scoped
        where not ({{ passes }})
    )

    {%- if mostly < 1 %},

    tolerance as (
        select count(*) * (1 - {{ mostly }}) as allowed_failures
        from scoped
    )

    select failing.*
    from failing
    where (select count(*) from failing)
        > (select allowed_failures from tolerance)
    {%- else %}

    select * from failing
    {%- endif %}
{% endmacro %}


{% macro expectation_column_names(model, transform='upper') %}
    {#- The columns of any relation, including a source read from files. -#}
    select
        {{ transform }}(column_name) as column_name,
        row_number() over () as column_position
    from (describe select * from {{ model }})
{% endmacro %}


{% macro expectation_value_list(values, transform='upper') %}
    {#- A one-column relation of literal names, in the given order. -#}
    select
        {{ transform }}(column_name) as column_name,
        column_position
    from (values
        {%- for value in values %}
        ({{ dbt.string_literal(value) }}, {{ loop.index }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as expected (column_name, column_position)
{% endmacro %}
