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
    {%- set kept -%}
        not ({{ skip }})
        {%- if row_condition %}
        and {{ row_condition }}
        {%- endif %}
    {%- endset %}
    {#- Two passes, so that what is grouped per row is one number, not its
        values (grouping 300M (file, row) pairs by value ran out of DuckDB's
        2GB; by hash it does not): first the combinations' 64-bit hashes
        that occur more than once, then, among the rows with those hashes
        only (the repeats, and any rows whose hashes merely collide), the
        values themselves. -#}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    where
        {{ kept }}
        and {{ row_hash(columns) }} in (
            select {{ row_hash(columns) }}
            from {{ model }}
            where {{ kept }}
            group by {{ row_hash(columns) }}
            having count(*) > 1
        )
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
