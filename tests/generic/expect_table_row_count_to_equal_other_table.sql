{#- Fails with one row per group whose row count differs from the other
    table's (times `factor`). -#}
{% test expect_table_row_count_to_equal_other_table(model, compare_model, group_by=none, compare_group_by=none, factor=1, row_condition=none, compare_row_condition=none) %}
    {%- set compare_group_by = compare_group_by or group_by -%}
    with counted as (
        select
            {%- for column in group_by or [] %}
            {{ column }} as group_{{ loop.index }},
            {%- endfor %}
            count(*) as row_count
        from {{ model }}
        {%- if row_condition %} where {{ row_condition }}{% endif %}
        {%- if group_by %} group by all{% endif %}
    ),

    compared as (
        select
            {%- for column in compare_group_by or [] %}
            {{ column }} as group_{{ loop.index }},
            {%- endfor %}
            count(*) * {{ factor }} as row_count
        from {{ compare_model }}
        {%- if compare_row_condition %} where {{ compare_row_condition }}{% endif %}
        {%- if compare_group_by %} group by all{% endif %}
    )

    select
        counted.row_count as row_count,
        compared.row_count as expected_row_count
    from counted
    full outer join compared
        on true
        {%- for column in group_by or [] %}
        and counted.group_{{ loop.index }} = compared.group_{{ loop.index }}
        {%- endfor %}
    where counted.row_count is distinct from compared.row_count
{% endtest %}
