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
    {#- A subquery, not a CTE: a CTE read twice is materialized, every
        column of every row, before either reading starts. -#}
    {%- set scoped -%}
        (
            select *
            from {{ model }}
            {%- if row_condition %}
            where {{ row_condition }}
            {%- endif %}
        ) as scoped
    {%- endset %}
    {%- if mostly < 1 %}

    {#- Count first, from the tested expression alone; the failing rows are
        read (all columns) only when there are too many of them. -#}
    with tally as (
        select
            count(*) filter (where not ({{ passes }})) as failures,
            count(*) * (1 - {{ mostly }}) as allowed_failures
        from {{ scoped }}
    )

    select scoped.*
    from {{ scoped }}
    where not ({{ passes }})
        and (select failures > allowed_failures from tally)
    {%- else %}

    select scoped.*
    from {{ scoped }}
    where not ({{ passes }})
    {%- endif %}
{% endmacro %}


{% macro expectation_column_names(model, transform='upper') %}
    {#- The columns of any relation, including a source read from files. -#}
    {{ relation_column_names(model, transform) }}
{% endmacro %}


{% macro expectation_value_list(values, transform='upper') %}
    {#- A one-column relation of literal names, in the given order. -#}
    select
        {{ transform }}(column_name) as column_name,
        column_position
    from (values
        {%- for value in values %}
        ({{ sql_literal(value) }}, {{ loop.index }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as expected (column_name, column_position)
{% endmacro %}


{% macro expectation_bounds(expression, min_value=none, max_value=none, strictly=false) %}
    {#- SQL that is true when `expression` lies within the bounds. -#}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error(
            "an expectation with bounds needs min_value or max_value") }}
    {%- endif -%}
    {%- set bounds = [] -%}
    {%- if min_value is not none -%}
        {%- do bounds.append(expression ~ (' > ' if strictly else ' >= ') ~ min_value) -%}
    {%- endif -%}
    {%- if max_value is not none -%}
        {%- do bounds.append(expression ~ (' < ' if strictly else ' <= ') ~ max_value) -%}
    {%- endif -%}
    {{ return('(' ~ bounds | join(' and ') ~ ')') }}
{% endmacro %}


{% macro expectation_aggregate_failures(model, aggregate, passes, group_by=none, row_condition=none) %}
    {#-
        One row per group (or one row for the whole relation) whose
        `aggregate`, available to `passes` as `measured_value`, breaks the
        expectation.
    -#}
    with scoped as (
        select *
        from {{ model }}
        {%- if row_condition %}
        where {{ row_condition }}
        {%- endif %}
    ),

    measured as (
        select
            {%- for column in group_by or [] %}
            {{ column }},
            {%- endfor %}
            {{ aggregate }} as measured_value
        from scoped
        {%- if group_by %}
        group by {{ group_by | join(', ') }}
        {%- endif %}
    )

    select *
    from measured
    where not coalesce({{ passes }}, false)
{% endmacro %}


{% macro expectation_aggregate_between(model, aggregate, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false) %}
    {{ expectation_aggregate_failures(
        model,
        aggregate,
        expectation_bounds('measured_value', min_value, max_value, strictly),
        group_by=group_by,
        row_condition=row_condition,
    ) }}
{% endmacro %}
