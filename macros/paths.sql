{% macro pipeline_path(name) %}
    {#-
        raw_data_dir (the landing directory) or output_dir: the var when
        given with --vars, else the environment's RAW_DATA_DIR or
        OUTPUT_DIR, else data/raw or output. A value read from the
        environment is taken literally: dbt renders --vars text as a
        template, never an environment variable's value.
    -#}
    {%- set environment = {'raw_data_dir': ('RAW_DATA_DIR', 'data/raw'),
                           'output_dir': ('OUTPUT_DIR', 'output')}[name] -%}
    {{ return(var(name, env_var(environment[0], '') or environment[1])) }}
{% endmacro %}
