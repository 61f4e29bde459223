{% macro one_hot(column, seed_name, value_column, order_column, prefix) %}
    {#-
        One boolean column `<prefix><value>` per row of a reference seed, in
        `order_column` order. The column set comes from reference data, not
        from the data being encoded, so it never changes between runs; a
        value missing from the seed gets false in every column.

        The values are read from the seed's CSV file when the SQL is
        compiled (not from its table), so the same list is used by builds
        and by unit tests, whose refs point at fixtures. The ref makes the
        seed a parent of the calling model: its values decide the columns.
    -#}
    {%- do ref(seed_name) -%}
    {%- set values = [] -%}
    {%- if execute -%}
        {%- set values = seed_file_values(seed_name, value_column, order_column) -%}
    {%- endif -%}
    {%- for value in values %}
    coalesce({{ column }} = {{ sql_literal(value) }}, false)
        as {{ adapter.quote(prefix ~ value) }}{{ "," if not loop.last }}
    {%- endfor %}
{% endmacro %}
