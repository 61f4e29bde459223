{% macro pipeline_path(name) %}
    {#-
        raw_data_dir (the landing directory) or output_dir: the var when
        given with --vars, else the environment's RAW_DATA_DIR or
        OUTPUT_DIR, else data/raw or output; either is taken literally.
    -#}
    {%- set environment = {'raw_data_dir': ('RAW_DATA_DIR', 'data/raw'),
                           'output_dir': ('OUTPUT_DIR', 'output')}[name] -%}
    {{ return(setting(name) or env_var(environment[0], '') or environment[1]) }}
{% endmacro %}


{% macro exact_file(path) %}
    {#- A path as a DuckDB file pattern that matches that one file: `*`, `?`
        and `[` are wildcards to DuckDB, so each is written as a class of
        itself (`[*]`); the plugin's readers do the same (exact_path). -#}
    {{ return(path | replace('[', '[[]') | replace('*', '[*]') | replace('?', '[?]')) }}
{% endmacro %}
