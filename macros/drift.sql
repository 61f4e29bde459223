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
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set found = run_query(
        "select count(*) from glob(" ~ dbt.string_literal(drift_baseline_path()) ~ ")"
    ).columns[0].values()[0] -%}
    {{ return(found > 0) }}
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
