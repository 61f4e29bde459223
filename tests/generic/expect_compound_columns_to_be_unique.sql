{#- Fails with one row per combination of values that occurs more than once. -#}
{% test expect_compound_columns_to_be_unique(model, column_list, quote_columns=false, ignore_row_if='all_values_are_missing', row_condition=none) %}
    {%- set columns = [] -%}
    {%- for column in column_list -%}
        {%- do columns.append(adapter.quote(column) if quote_columns else column) -%}
    {%- endfor -%}
    {%- if ignore_row_if == 'all_values_are_missing' -%}
        {%- set skip = columns | join(' is null and ') ~ ' is null' -%}
    {%- elif ignore_row_if == 'any_value_is_missing' -%}
        {%- set skip = columns | join(' is null or ') ~ ' is null' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "ignore_row_if must be all_values_are_missing or any_value_is_missing") }}
    {%- endif -%}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    where not ({{ skip }})
    {%- if row_condition %}
        and {{ row_condition }}
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
