{#- Fails with the rows more than sigma_threshold standard deviations from
    their group's mean (z-score outliers). -#}
{% test expect_column_values_to_be_within_n_stdevs(model, column_name, group_by=none, sigma_threshold=3, row_condition=none, mostly=1.0) %}
    {%- set window = 'over (' ~ ('partition by ' ~ group_by | join(', ') if group_by else '') ~ ')' -%}
    {%- set scored -%}
        (
            select
                *,
                ({{ column_name }} - avg({{ column_name }}) {{ window }})
                    / nullif(stddev_samp({{ column_name }}) {{ window }}, 0)
                    as _z_score
            from {{ model }}
            {%- if row_condition %}
            where {{ row_condition }}
            {%- endif %}
        )
    {%- endset -%}
    {{ expectation_failing_rows(
        scored,
        'abs(coalesce(_z_score, 0)) <= ' ~ sigma_threshold,
        mostly=mostly,
    ) }}
{% endtest %}
