{#-
    The load log: one row per transaction file per committed load. A load
    commits here only when its run published, that is when every
    error-severity check of the run passed (this model runs after
    publish_user_features). The landing plan reads it to decide what the
    next run loads; rows of a load that never reached this log are taken
    back by the next run. Never rebuilt (`full_refresh: false`): it keeps the
    history of every load, rebuilds included.
-#}

{#- A log kept from before a column was added gains it (null in its older
    rows). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}

with published as (
    {#- A load commits only when its run published: a run that may not
        (publish_gate) leaves its rows to be taken back by the next one. -#}
    {{ publish_outcome() }}
),

planned_files as (
    select
        path,
        file_format,
        row_count,
        file_fingerprint,
        file_sha256,
        load_mode,
        load_reason,
        landing_root,
        load_id,
        history_code
    from {{ ref('landing_plan') }}
    {#- A command that loads nothing plans 'full' reads: nothing to log. #}
    where
        dataset = 'transactions'
        and action = 'load'
        and load_mode in ('incremental', 'rebuild')
),

loaded_files as (
    select planned_files.*
    from planned_files
    semi join published
        on published.is_published
),

deliveries as (
    select
        _source_file,
        count(*) filter (where delivery_rank = 1) as new_transactions,
        count(*) filter (where delivery_rank > 1) as repeated_deliveries,
        min(transacted_at) as first_transacted_at,
        max(transacted_at) as last_transacted_at
    from {{ ref('stg_transaction_deliveries') }}
    where _load_id in (select loaded_files.load_id from loaded_files)
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
        loaded_files.load_id,
        loaded_files.path as source_file,
        loaded_files.file_format,
        loaded_files.file_fingerprint,
        loaded_files.file_sha256,
        loaded_files.landing_root,
        loaded_files.load_mode,
        loaded_files.load_reason,
        loaded_files.history_code,
        {#- For people reading the log; loads are ordered by load_id. #}
        {{ utc_now() }} as committed_at,
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
