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
        file_sha256,
        load_mode,
        load_reason,
        landing_root
    from {{ ref('stg_landing_files') }}
    where dataset = 'transactions' and action = 'load'
),

deliveries as (
    select
        _source_file,
        count(*) filter (where delivery_rank = 1) as new_transactions,
        count(*) filter (where delivery_rank > 1) as repeated_deliveries,
        min(transacted_at) as first_transacted_at,
        max(transacted_at) as last_transacted_at
    from {{ ref('stg_transaction_deliveries') }}
    where _loaded_at = {{ this_run_loaded_at() }}
    group by _source_file
),

known_contents as (
    {#- Every file logged before and loaded now, to recognise a file
        delivered again under another name. -#}
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

same_contents as (
    select
        loaded_files.path,
        min(known_contents.source_file) as same_content_as
    from loaded_files
    inner join known_contents
        on
            loaded_files.file_sha256 = known_contents.file_sha256
            and loaded_files.path > known_contents.source_file
    group by loaded_files.path
),

logged as (
    select
        loaded_files.path as source_file,
        loaded_files.file_format,
        loaded_files.file_fingerprint,
        loaded_files.file_sha256,
        loaded_files.landing_root,
        loaded_files.load_mode,
        loaded_files.load_reason,
        {{ this_run_loaded_at() }} as loaded_at,
        loaded_files.row_count as rows_delivered,
        coalesce(deliveries.new_transactions, 0) as new_transactions,
        coalesce(deliveries.repeated_deliveries, 0) as repeated_deliveries,
        deliveries.first_transacted_at,
        deliveries.last_transacted_at,
        same_contents.same_content_as
    from loaded_files
    left join deliveries
        on loaded_files.path = deliveries._source_file
    left join same_contents
        on loaded_files.path = same_contents.path
)

select * from logged
