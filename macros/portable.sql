{#
    SQL that differs between the engines the models run on: DuckDB (the
    default target) and Spark (docs/scaling.md). Each concept is one macro
    here with a `default__` form in standard SQL (what a new engine gets
    until it needs its own), and `duckdb__` and `spark__` forms where those
    engines spell it otherwise; the models call the macro, never the
    engine's own spelling. A concept no standard SQL can say (reading files)
    has a `default__` that stops with the name of the macro a new engine
    must add.
#}

{% macro engine_needs(name) %}
    {#- The one sentence a concept without a standard form stops with. -#}
    {{ exceptions.raise_compiler_error(
        "The " ~ target.type ~ " target has no form of " ~ name ~ ": add "
        ~ target.type ~ "__" ~ name ~ " beside duckdb__" ~ name
        ~ " (docs/scaling.md, a new engine).") }}
{% endmacro %}

{% macro whole_days_between(start_timestamp, end_timestamp) %}
    {#-
        Elapsed time in whole days, rounded down: 23:50 to 00:10 the next day
        is 0 days. date_diff('day', ...) (and dbt.datediff) count
        calendar-day boundaries instead (1 there), which is not what the
        features mean.
    -#}
    {{- return(adapter.dispatch('whole_days_between')(start_timestamp, end_timestamp)) -}}
{% endmacro %}

{% macro default__whole_days_between(start_timestamp, end_timestamp) %}
    cast(
        floor(
            extract(epoch from ({{ end_timestamp }} - {{ start_timestamp }}))
            / 86400
        ) as bigint
    )
{%- endmacro %}

{% macro duckdb__whole_days_between(start_timestamp, end_timestamp) %}
    cast(
        floor(
            date_diff('microsecond', {{ start_timestamp }}, {{ end_timestamp }})
            / 86400000000
        ) as bigint
    )
{% endmacro %}

{% macro spark__whole_days_between(start_timestamp, end_timestamp) %}
    cast(
        floor(
            (unix_micros({{ end_timestamp }}) - unix_micros({{ start_timestamp }}))
            / 86400000000
        ) as bigint
    )
{% endmacro %}


{% macro day_of_week(timestamp) %}
    {#- The weekday of a timestamp, Monday = 0 ... Sunday = 6. -#}
    {{- return(adapter.dispatch('day_of_week')(timestamp)) -}}
{% endmacro %}

{% macro default__day_of_week(timestamp) %}
    {#- isodow is Monday = 1 ... Sunday = 7. -#}
    (extract(isodow from {{ timestamp }}) - 1)
{%- endmacro %}

{% macro duckdb__day_of_week(timestamp) %}
    {#- isodow is Monday = 1 ... Sunday = 7. -#}
    (isodow({{ timestamp }}) - 1)
{%- endmacro %}

{% macro spark__day_of_week(timestamp) %}
    weekday({{ timestamp }})
{%- endmacro %}


{% macro utc_now() %}
    {#- The wall clock in UTC, as a timestamp without time zone. -#}
    {{- return(adapter.dispatch('utc_now')()) -}}
{% endmacro %}

{% macro default__utc_now() %}
    cast(current_timestamp at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro duckdb__utc_now() %}
    cast(now() at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro spark__utc_now() %}
    {#- The session's time zone is UTC (profiles.yml). -#}
    current_timestamp()
{%- endmacro %}


{% macro money_type() %}
    {#- Money, exact: six decimals hold cents and the half cents of a
        median, and the landing check refuses amounts of 1e12 or more, so
        18 digits (a 64-bit DECIMAL) hold every amount. Sums and products
        widen on their own (DECIMAL(38, 6), DECIMAL(37, 6)). -#}
    decimal(18, 6)
{%- endmacro %}


{% macro money_midpoint(lower, upper) %}
    {#- The mean of two money amounts (the two middle values of a median),
        rounded to six decimals exactly as the engine's own median gives
        it, as money_type(). -#}
    cast(
        {{ adapter.dispatch('money_midpoint')(lower, upper) }}
        as {{ money_type() }}
    )
{%- endmacro %}

{% macro default__money_midpoint(lower, upper) %}
    ({{ lower }} + {{ upper }}) / 2
{%- endmacro %}

{% macro duckdb__money_midpoint(lower, upper) %}
    {#- DuckDB's median of DECIMALs: the lower value plus half the gap,
        rounded down to the micro-unit, in exact DECIMAL arithmetic. -#}
    {{ lower }} + floor(({{ upper }} - {{ lower }}) * 500000) * 0.000001
{%- endmacro %}

{% macro spark__money_midpoint(lower, upper) %}
    {#- Spark's median is a DOUBLE, rounded to six decimals by the cast. -#}
    (cast({{ lower }} as double) + cast({{ upper }} as double)) / 2
{%- endmacro %}


{% macro quantiles(expression, quantile) %}
    {#- Continuous (interpolated) quantiles: one for a number, a list for a
        list of numbers. -#}
    {{- return(adapter.dispatch('quantiles')(expression, quantile)) -}}
{% endmacro %}

{% macro default__quantiles(expression, quantile) %}
    {%- if quantile is iterable and quantile is not string -%}
    array[
        {%- for q in quantile -%}
        percentile_cont({{ q }}) within group (order by {{ expression }})
        {{- ", " if not loop.last }}
        {%- endfor -%}
    ]
    {%- else -%}
    percentile_cont({{ quantile }}) within group (order by {{ expression }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__quantiles(expression, quantile) %}
    quantile_cont({{ expression }}, {{ quantile }})
{%- endmacro %}

{% macro spark__quantiles(expression, quantile) %}
    {%- if quantile is iterable and quantile is not string -%}
    percentile({{ expression }}, array({{ quantile | join(', ') }}))
    {%- else -%}
    percentile({{ expression }}, {{ quantile }})
    {%- endif -%}
{%- endmacro %}


{% macro all_columns_except(columns) %}
    {#- `*` without the given columns. -#}
    {{- return(adapter.dispatch('all_columns_except')(columns)) -}}
{% endmacro %}

{% macro default__all_columns_except(columns) %}
    {#- No standard SQL for it: EXCLUDE is the most common spelling. -#}
    * exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro duckdb__all_columns_except(columns) %}
    * exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__all_columns_except(columns) %}
    * except ({{ columns | join(', ') }})
{%- endmacro %}


{% macro row_hash(columns) %}
    {#- One 64-bit hash of several columns, to compare rows' contents. -#}
    {{- return(adapter.dispatch('row_hash')(columns)) -}}
{% endmacro %}

{% macro default__row_hash(columns) %}
    md5(concat_ws('|'
        {%- for column in columns -%}
        , coalesce(cast({{ column }} as varchar), '<null>')
        {%- endfor -%}
    ))
{%- endmacro %}

{% macro duckdb__row_hash(columns) %}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_hash(columns) %}
    {#- Spark's hash() has 32 bits; xxhash64 has 64. -#}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}


{% macro seed_file_values(seed_name, value_column, order_column) %}
    {#- One column of a seed's CSV file (not its table), in order_column
        order: the same values for builds and for unit tests, whose refs
        point at fixtures. Relative to the project root, where dbt runs. -#}
    {{- return(adapter.dispatch('seed_file_values')(seed_name, value_column, order_column)) -}}
{% endmacro %}

{% macro default__seed_file_values(seed_name, value_column, order_column) %}
    {{- engine_needs('seed_file_values') -}}
{% endmacro %}

{% macro duckdb__seed_file_values(seed_name, value_column, order_column) %}
    {%- set found = run_query(
        "select " ~ value_column
        ~ " from read_csv(" ~ sql_literal('seeds/' ~ seed_name ~ '.csv')
        ~ ", header = true, all_varchar = true)"
        ~ " order by cast(" ~ order_column ~ " as integer)"
    ) -%}
    {{- return(found.columns[0].values()) -}}
{% endmacro %}

{% macro spark__seed_file_values(seed_name, value_column, order_column) %}
    {%- do run_query(
        "create or replace temporary view seed_file_" ~ seed_name
        ~ " using csv options (path " ~ sql_literal('seeds/' ~ seed_name ~ '.csv')
        ~ ", header 'true')"
    ) -%}
    {%- set found = run_query(
        "select " ~ value_column ~ " from seed_file_" ~ seed_name
        ~ " order by cast(" ~ order_column ~ " as integer)"
    ) -%}
    {{- return(found.columns[0].values()) -}}
{% endmacro %}


{% macro relation_column_names(relation, transform='upper') %}
    {#- The columns of any relation, a source read from files included, as
        (column_name, column_position) rows. -#}
    {{- return(adapter.dispatch('relation_column_names')(relation, transform)) -}}
{% endmacro %}

{% macro default__relation_column_names(relation, transform) %}
    {#- The names as the adapter reads them from the catalog. -#}
    {%- set names = adapter.get_columns_in_relation(relation)
        | map(attribute='name') | list if execute else ['_'] -%}
    {{ expectation_value_list(names, transform) }}
{%- endmacro %}

{% macro duckdb__relation_column_names(relation, transform) %}
    select
        {{ transform }}(column_name) as column_name,
        row_number() over () as column_position
    from (describe select * from {{ relation }})
{%- endmacro %}

{% macro spark__relation_column_names(relation, transform) %}
    {#- Spark cannot describe a query: the names are read when the test is
        compiled, from an empty result. -#}
    {%- set names = run_query(
        "select * from " ~ relation ~ " limit 0").column_names if execute else ['_'] -%}
    {{ expectation_value_list(names, transform) }}
{%- endmacro %}


{% macro check_contract_not_null() %}
    {#- A post-hook of contracted models: their not_null constraints, on an
        engine whose tables cannot hold them. -#}
    {{- return(adapter.dispatch('check_contract_not_null')()) -}}
{% endmacro %}

{% macro default__check_contract_not_null() %}
    {#- Nothing to do: the database holds the constraint (DuckDB does), and
        the write itself refuses a null. -#}
{% endmacro %}

{% macro spark__check_contract_not_null() %}
    {#- Plain Parquet tables cannot hold NOT NULL (altering a column needs
        Delta), so on Spark the contract is not enforced and its not_null
        columns are counted on the written table instead: a null stops the
        model, as DuckDB's constraint stops the write, and nothing
        downstream runs. -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set checked = [] -%}
    {%- for column in model.columns.values() -%}
        {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
            {%- do checked.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not checked -%}{{ return('') }}{%- endif -%}
    {%- set measures = [] -%}
    {%- for column_name in checked -%}
        {%- do measures.append("count_if(" ~ adapter.quote(column_name) ~ " is null)") -%}
    {%- endfor -%}
    {%- set nulls = run_query(
        "select " ~ measures | join(", ") ~ " from " ~ this).rows[0] -%}
    {%- for column_name in checked -%}
        {%- if nulls[loop.index0] > 0 -%}
            {{ exceptions.raise_compiler_error(
                this.identifier ~ "." ~ column_name ~ " has " ~ nulls[loop.index0]
                ~ " null value(s), but its contract says not_null.") }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
