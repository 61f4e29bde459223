{#-
    The load log: one row per transaction file per load, appended by every
    run that loads files (none by a run with nothing new). A rebuild loads
    every file again and logs each; the log itself is never rebuilt, so it
    keeps the whole history of loads.

    It is written last among the incremental models (it depends on them):
    the landing hook reads it to know which files are loaded, and a run that
    stopped before writing it is detected and rebuilt by the next one.
-#}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    full_refresh=false,
) }}

-- depends_on: {{ ref('int_category_amount_counts') }}
-- depends_on: {{ ref('int_user_category_totals') }}

with loaded_files as (
    select
        path,
        file_format,
        row_count,
        file_fingerprint,
        file_sha256
    from {{ source('landing_run', 'landing_files') }}
    where dataset = 'transactions' and action = 'load'
),

plan as (
    select
        load_mode,
        load_reason,
        landing_root
    from {{ source('landing_run', 'landing_plan') }}
    where dataset = 'transactions'
),

deliveries as (
    select
        _source_file,
        count(*) filter (where delivery_rank = 1) as new_transactions,
        count(*) filter (where delivery_rank > 1) as repeated_deliveries
    from {{ ref('stg_transaction_deliveries') }}
    where _loaded_at = {{ this_run_loaded_at() }}
    group by _source_file
),

earlier_contents as (
    {#- Files logged before, to recognise a file delivered again under
        another name. -#}
    {%- if is_incremental() %}
    select
        source_file,
        file_sha256
    from {{ this }}
    union all
    {%- endif %}
    select
        path as source_file,
        file_sha256
    from loaded_files
),

logged as (
    select
        loaded_files.path as source_file,
        loaded_files.file_format,
        loaded_files.file_fingerprint,
        loaded_files.file_sha256,
        plan.landing_root,
        plan.load_mode,
        plan.load_reason,
        {{ this_run_loaded_at() }} as loaded_at,
        loaded_files.row_count as rows_delivered,
        coalesce(deliveries.new_transactions, 0) as new_transactions,
        coalesce(deliveries.repeated_deliveries, 0) as repeated_deliveries,
        (
            select min(earlier_contents.source_file)
            from earlier_contents
            where
                earlier_contents.file_sha256 = loaded_files.file_sha256
                and earlier_contents.source_file < loaded_files.path
        ) as same_content_as
    from loaded_files
    cross join plan
    left join deliveries
        on loaded_files.path = deliveries._source_file
)

select * from logged
