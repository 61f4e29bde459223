{#
    The only ways a value from outside the SQL (a file name, a path, a dbt
    var, a reference value) enters the SQL text the project writes, and the
    one way the project reads a dbt var: `setting`, never as a template. dbt's
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


{% macro setting(name, default=none) %}
    {#- A dbt var's value, taken literally: the only place the project reads
        a var. dbt renders a --vars string as a template when `var()` reads
        it, so a value given on the command line is taken as typed, from
        the invocation's arguments; otherwise the project's default
        (dbt_project.yml), else `default`. -#}
    {%- set given = invocation_args_dict.get('vars') or {} -%}
    {%- if name in given -%}
        {{- return(given[name]) -}}
    {%- endif -%}
    {{- return(var(name, default)) -}}
{% endmacro %}


{% macro number_var(name) %}
    {#- A dbt var that must be a number, checked before it enters the SQL. -#}
    {%- set value = setting(name) -%}
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
