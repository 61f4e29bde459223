{#
    The landing files on Spark. The dbt-duckdb plugin cannot run inside
    Spark, so scripts/run_pipeline.py --target spark runs the same landing
    inspector before dbt starts (scripts/spark_target.py) and passes its
    answer to a file named by SPARK_LANDING_FILE: the landing_plan model
    reads it from there. The staging models read each landing file the plan
    names with Spark's own Parquet or CSV reader. Spark builds read every
    landing file: the staging history starts over on every load.
#}

{% macro spark__landing_answer(root, loads) %}
    {%- set answer_file = env_var('SPARK_LANDING_FILE', '') -%}
    {%- if not answer_file -%}
        {{ exceptions.raise_compiler_error(
            "On Spark the landing files are inspected before dbt starts: run"
            ~ " `make build TARGET=spark` (scripts/run_pipeline.py --target"
            ~ " spark) instead of dbt alone.") }}
    {%- endif -%}
    {#- Read by Spark as one row of text: the file names in it stay data. -#}
    {{ return(fromjson(run_query(
        "select value from text.`" ~ answer_file | replace('`', '``') ~ "`"
    ).columns[0].values() | join(''))) }}
{% endmacro %}


{% macro spark__landing_reader_sql(files, contract) %}
    {#- Each file by Spark's own reader, in the column order of the first
        file, as one union; no rows when there are no files. -#}
    {%- if not files -%}
        {%- set columns = [] -%}
        {%- for name, kind in contract.items() -%}
            {%- do columns.append("cast(null as " ~ kind | lower | replace('varchar', 'string')
                                  ~ ") as " ~ adapter.quote(name)) -%}
        {%- endfor -%}
        {{ return("select " ~ columns | join(", ") ~ ", cast(null as string) as _source_file,"
                  ~ " cast(null as bigint) as _source_row_number where false") }}
    {%- endif -%}
    {%- set columns = fromjson(files[0][5]) -%}
    {%- set readers = [] -%}
    {%- for file in files -%}
        {%- do readers.append(spark_landing_file_reader(
            model.name ~ '_' ~ loop.index, file[1], {'path': file[0]},
            columns, contract)) -%}
    {%- endfor -%}
    {{ return(readers | join(" union all ")) }}
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
