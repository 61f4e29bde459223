{#
    The landing hook on Spark. The dbt-duckdb plugin cannot run inside
    Spark, so scripts/run_pipeline.py --target spark runs the same landing
    inspector before dbt starts (scripts/spark_target.py) and passes its
    answer to a file named by SPARK_LANDING_FILE. This hook turns it into the global
    temporary views the sources read (`global_temp.transactions`,
    `global_temp.user_profiles` and `global_temp.files`, the plan), each
    landing file read by Spark's own Parquet or CSV reader, and defines
    first_load_to_check() for the row-accounting test. Spark builds read
    every landing file: the staging history starts over on every load.
#}

{% macro spark__register_landing_readers() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set answer_file = env_var('SPARK_LANDING_FILE', '') -%}
    {%- if not answer_file -%}
        {{ exceptions.raise_compiler_error(
            "On Spark the landing files are inspected before dbt starts: run"
            ~ " `make build TARGET=spark` (scripts/run_pipeline.py --target"
            ~ " spark) instead of dbt alone.") }}
    {%- endif -%}
    {#- Read by Spark as one row of text: the file names in it stay data. -#}
    {%- set answer = fromjson(run_query(
        "select value from text.`" ~ answer_file | replace('`', '``') ~ "`"
    ).columns[0].values() | join('')) -%}
    {%- set loads = this_run_loads_transactions() -%}
    {%- set load_id = next_load_id() -%}
    {%- set code = history_code() -%}

    {%- do run_query(
        "create or replace temporary function first_load_to_check()"
        ~ " returns bigint return " ~ (load_id if loads else 0)) -%}

    {%- set plan_rows = [] -%}
    {%- for dataset, found in answer.datasets.items() -%}
        {%- for file in found.files -%}
            {%- do plan_rows.append(
                "(" ~ sql_literal(dataset) ~ ", " ~ sql_literal(file.path) ~ ", "
                ~ sql_literal(found.format) ~ ", cast(" ~ file.rows ~ " as bigint), "
                ~ sql_literal(file.action) ~ ", " ~ sql_literal(file.fingerprint) ~ ", "
                ~ (sql_literal(file.sha256) if file.sha256 else "cast(null as string)") ~ ", "
                ~ sql_literal(found.mode) ~ ", " ~ sql_literal(found.reason) ~ ", "
                ~ sql_literal(answer.root) ~ ", cast(" ~ load_id ~ " as bigint), "
                ~ sql_literal(code) ~ ")") -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- do run_query(
        "create or replace global temporary view files as select * from values "
        ~ plan_rows | join(", ")
        ~ " as landing_files (dataset, path, file_format, row_count, action,"
        ~ " file_fingerprint, file_sha256, load_mode, load_reason, landing_root,"
        ~ " load_id, history_code)") -%}

    {%- set contract = landing_datasets() -%}
    {%- for dataset, found in answer.datasets.items() -%}
        {%- set reading = found.files | selectattr('action', 'equalto', 'load') | list -%}
        {%- set readers = [] -%}
        {%- for file in reading -%}
            {%- do readers.append(spark_landing_file_reader(
                dataset ~ '_' ~ loop.index, found.format, file,
                reading[0].columns, contract[dataset])) -%}
        {%- endfor -%}
        {%- do run_query(
            "create or replace global temporary view " ~ dataset
            ~ " as select *, cast(" ~ load_id ~ " as bigint) as _load_id from ("
            ~ readers | join(" union all ") ~ ")") -%}
        {{ log("landing: " ~ dataset ~ " <- " ~ reading | length ~ " "
               ~ found.format ~ " file(s), " ~ reading | sum(attribute='rows')
               ~ " rows, in " ~ answer.root ~ "; inspected " ~ found.inspected,
               info=true) }}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}


{% macro spark_landing_file_reader(name, format, file, columns, contract) %}
    {#- One landing file's rows, its columns in the order of the dataset's
        first file (batch files may order them differently), tagged with
        where each row came from. CSV fields are read as text and typed
        here, as the inspector checked them. -#}
    {%- set selected = [] -%}
    {%- if format == 'parquet' -%}
        {%- for column in columns -%}
            {%- do selected.append(adapter.quote(column)) -%}
        {%- endfor -%}
        {{ return("select " ~ selected | join(", ") ~ ", "
                  ~ sql_literal(file.path) ~ " as _source_file,"
                  ~ " _metadata.row_index as _source_row_number"
                  ~ " from parquet.`" ~ file.path | replace('`', '``') ~ "`") }}
    {%- endif -%}
    {%- set view = 'landing_csv_' ~ name -%}
    {%- do run_query(
        "create or replace global temporary view " ~ view ~ " using csv options"
        ~ " (path " ~ sql_literal(file.path) ~ ", header 'true',"
        ~ " inferSchema 'false', mode 'FAILFAST')") -%}
    {%- for column in columns -%}
        {%- set field = "trim(" ~ adapter.quote(column) ~ ")" -%}
        {%- set kind = contract.get(column, 'VARCHAR') -%}
        {%- if kind == 'TIMESTAMP' -%}
            {%- set typed = "to_timestamp(" ~ field ~ ", 'yyyy-MM-dd HH:mm:ss')" -%}
        {%- elif kind in ('BIGINT', 'DOUBLE') -%}
            {%- set typed = "cast(" ~ field ~ " as " ~ kind | lower ~ ")" -%}
        {%- else -%}
            {%- set typed = adapter.quote(column) -%}
        {%- endif -%}
        {%- do selected.append(typed ~ " as " ~ adapter.quote(column)) -%}
    {%- endfor -%}
    {#- Rows in file order: a file's rows get increasing ids as read. -#}
    {{ return("select " ~ selected | join(", ") ~ ", "
              ~ sql_literal(file.path) ~ " as _source_file,"
              ~ " row_number() over (order by monotonically_increasing_id()) - 1"
              ~ " as _source_row_number from global_temp." ~ view) }}
{% endmacro %}
