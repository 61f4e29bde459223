{% macro columns_kept_by(delivered, cleaned) %}
    {#- The delivered relation's columns (not the lineage ones, which start
        with `_`) that the cleaned relation still has, by name, lower case,
        each with its delivered data type; empty when parsing. -#}
    {%- set kept = {} -%}
    {%- if execute -%}
        {%- set names = adapter.get_columns_in_relation(cleaned)
            | map(attribute='name') | map('lower') | list -%}
        {%- for column in adapter.get_columns_in_relation(delivered)
                if column.name | lower in names
                and not column.name.startswith('_') -%}
            {%- do kept.update({column.name | lower: column.data_type}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(kept) }}
{% endmacro %}
