{% macro one_hot(column, seed_name, value_column, order_column, prefix) %}
    {#-
        One boolean column `<prefix><value>` per row of a reference seed, in
        `order_column` order. The column set comes from reference data, not
        from the data being encoded, so it never changes between runs; a
        value missing from the seed gets false in every column.

        The values are read from the seed's CSV file when the SQL is
        compiled (not from its table), so the same list is used by builds
        and by unit tests, whose refs point at fixtures. A model calling
        this must also declare `-- depends_on: {{ ref(seed_name) }}`.
    -#}
    {%- set values = [] -%}
    {%- if execute -%}
        {#- Relative to the project root, like every path dbt is run with. -#}
        {%- set seed_file = 'seeds/' ~ seed_name ~ '.csv' -%}
        {%- set found = run_query(
            "select " ~ value_column
            ~ " from read_csv(" ~ sql_literal(seed_file)
            ~ ", header = true, all_varchar = true)"
            ~ " order by cast(" ~ order_column ~ " as integer)"
        ) -%}
        {%- set values = found.columns[0].values() -%}
    {%- endif -%}
    {%- for value in values %}
    coalesce({{ column }} = {{ sql_literal(value) }}, false)
        as {{ adapter.quote(prefix ~ value) }}{{ "," if not loop.last }}
    {%- endfor %}
{% endmacro %}
