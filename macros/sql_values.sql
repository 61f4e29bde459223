{#
    The only ways a value from outside the SQL (a file name, a path, a dbt
    var, a reference value) enters the SQL text the project writes. dbt's
    own `string_literal` does not escape quotes, so a file named
    `O'Brien.parquet` would end the string early.
#}

{% macro sql_literal(value) %}
    {#- Any value as an SQL string literal; a quote inside it stays data. -#}
    {{- return(adapter.dispatch('sql_literal')(value)) -}}
{% endmacro %}

{% macro default__sql_literal(value) %}
    {#- Standard SQL (DuckDB's too): a quote is written twice. -#}
    {{- return("'" ~ (value | string).replace("'", "''") ~ "'") -}}
{% endmacro %}

{% macro spark__sql_literal(value) %}
    {#- Spark escapes with a backslash; two quotes would end the string. -#}
    {{- return("'" ~ (value | string).replace("\\", "\\\\").replace("'", "\\'") ~ "'") -}}
{% endmacro %}


{% macro number_var(name) %}
    {#- A dbt var that must be a number, checked before it enters the SQL. -#}
    {%- set value = var(name) -%}
    {%- if value is number and value is not boolean -%}
        {{- return(value) -}}
    {%- endif -%}
    {%- if value is string
        and modules.re.fullmatch('[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?', value.strip()) -%}
        {{- return(value.strip()) -}}
    {%- endif -%}
    {{- exceptions.raise_compiler_error(
        "The dbt var " ~ name ~ " must be a number, got " ~ tojson(value) ~ ".") -}}
{% endmacro %}
