{#-
    The landing files this run found and what it does with each: load (read
    now) or skip (loaded by an earlier run and unchanged), with the
    dataset's load mode and reason and this run's load number. The first
    model of every run: compiling it inspects the landing folder
    (macros/landing.sql, plan_landing), so a file that cannot be read stops
    the run here, in one sentence naming the file and column, before any
    other model reads anything. The staging models read the files it names.
-#}

{{ config(materialized='table') }}

{%- set files = plan_landing() if execute else [] %}

with landing_files as (
    {%- for file in files %}
    select
        {{ sql_literal(file.dataset) }} as dataset,
        {{ sql_literal(file.path) }} as path,
        {{ sql_literal(file.file_format) }} as file_format,
        cast({{ file.row_count }} as bigint) as row_count,
        {{ sql_literal(file.action) }} as action,
        {{ sql_literal(file.file_fingerprint) }} as file_fingerprint,
        {{ sql_literal(file.file_sha256) if file.file_sha256 else 'cast(null as string)' }}
            as file_sha256,
        {{ sql_literal(file.load_mode) }} as load_mode,
        {{ sql_literal(file.load_reason) }} as load_reason,
        {{ sql_literal(file.landing_root) }} as landing_root,
        cast({{ file.load_id }} as bigint) as load_id,
        {{ sql_literal(file.history_code) }} as history_code,
        cast({{ file.first_load_to_check }} as bigint) as first_load_to_check,
        {{ sql_literal(file.file_columns) if file.file_columns else 'cast(null as string)' }}
            as file_columns,
        {{ sql_literal(file.invocation_id) }} as invocation_id
    {{ "union all" if not loop.last }}
    {%- else %}
    {#- Parsing: the columns, no rows. #}
    select
        cast(null as string) as dataset,
        cast(null as string) as path,
        cast(null as string) as file_format,
        cast(null as bigint) as row_count,
        cast(null as string) as action,
        cast(null as string) as file_fingerprint,
        cast(null as string) as file_sha256,
        cast(null as string) as load_mode,
        cast(null as string) as load_reason,
        cast(null as string) as landing_root,
        cast(null as bigint) as load_id,
        cast(null as string) as history_code,
        cast(null as bigint) as first_load_to_check,
        cast(null as string) as file_columns,
        cast(null as string) as invocation_id
    where false
    {%- endfor %}
)

select * from landing_files
