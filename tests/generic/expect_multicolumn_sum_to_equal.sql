{#- Booleans count as 0/1, so one-hot columns can be checked to sum to 1. -#}
{% test expect_multicolumn_sum_to_equal(model, column_list, sum_total, group_by=none, row_condition=none, mostly=1.0) %}
    {%- set terms = [] -%}
    {%- for column in column_list -%}
        {%- do terms.append('coalesce(cast(' ~ column ~ ' as double), 0)') -%}
    {%- endfor -%}
    {%- if group_by -%}
        {{ expectation_aggregate_failures(
            model,
            'sum(' ~ terms | join(' + ') ~ ')',
            'measured_value = ' ~ sum_total,
            group_by=group_by,
            row_condition=row_condition,
        ) }}
    {%- else -%}
        {{ expectation_failing_rows(
            model,
            terms | join(' + ') ~ ' = ' ~ sum_total,
            row_condition=row_condition,
            mostly=mostly,
        ) }}
    {%- endif -%}
{% endtest %}
