{% macro drift_numeric_features() %}
    {#- The features compared bin by bin against the baseline. -#}
    {{ return([
        'total_transactions', 'total_spend', 'avg_order_value',
        'max_order_value', 'unique_categories', 'avg_quantity',
        'weekend_ratio', 'days_since_last_purchase', 'purchase_span_days',
        'purchase_frequency', 'age', 'account_age_days', 'is_premium',
    ]) }}
{% endmacro %}


{% macro drift_baseline_path() %}
    {#- The features this run is compared with: the dbt var drift_baseline,
        or else the currently published file (before this run replaces it). -#}
    {{ return(var('drift_baseline', none)
              or (var('output_dir') ~ '/user_features.parquet')) }}
{% endmacro %}


{% macro drift_baseline_exists() %}
    {#- True when the baseline is a readable Parquet file with every feature.
        Anything else (a first run, an older schema, a damaged file) skips
        drift with a warning instead of stopping the run. -#}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set path = drift_baseline_path() -%}
    {%- set answer = fromjson(run_query(
        "select parquet_columns(" ~ sql_literal(path) ~ ")"
    ).columns[0].values()[0]) -%}
    {%- if answer.error == 'missing' -%}
        {{ return(false) }}
    {%- elif answer.error -%}
        {{ log("WARNING: drift skipped: baseline " ~ path ~ " is " ~ answer.error, info=true) }}
        {{ return(false) }}
    {%- endif -%}
    {%- set missing = drift_numeric_features() | reject('in', answer.columns) | list -%}
    {%- if missing -%}
        {{ log("WARNING: drift skipped: baseline " ~ path ~ " lacks the columns "
               ~ missing | join(', '), info=true) }}
        {{ return(false) }}
    {%- endif -%}
    {{ return(true) }}
{% endmacro %}


{% macro drift_region_label(relation_alias) %}
    {#- The region a one-hot row encodes, or 'none' when no column is set. -#}
    case
        {%- for region in ['Asia', 'EU', 'Other', 'US_East', 'US_West'] %}
        when {{ relation_alias }}."region_{{ region }}" then '{{ region }}'
        {%- endfor %}
        else 'none'
    end
{% endmacro %}


{% macro columns_as_double(columns) %}
    {#- `cast(c as double) as c, ...`: features on one scale for unpivot. -#}
    {%- for column in columns -%}
        cast({{ column }} as double) as {{ column }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}


{% macro drift_decile_cuts(features) %}
    {#- `quantile_cont(f, [0.1 ... 0.9]) as f, ...`: nine cut points (ten
        bins) per feature, as one list per column. -#}
    {%- for feature in features -%}
        quantile_cont({{ feature }}, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        as {{ feature }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}


{% macro drift_bin_indexes(features, cuts, values) %}
    {#- Per feature, the bin of each value: how many of its nine cut points
        lie below it, as a sum of comparisons (far cheaper per row than
        filtering the list). A null value is in bin 0. -#}
    {%- for feature in features -%}
        cast(
        {%- for position in range(1, 10) %}
            coalesce(cast({{ cuts }}.{{ feature }}[{{ position }}] < {{ values }}.{{ feature }} as integer), 0)
            {{- " +" if not loop.last }}
        {%- endfor %}
        as utinyint) as {{ feature }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}
