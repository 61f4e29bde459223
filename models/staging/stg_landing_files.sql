{#-
    The landing files this run found and what it does with each: load
    (read now) or skip (loaded before, unchanged), with the dataset's load
    mode and its reason. Written by the landing hook at the start of every
    run; a view, so it always shows the current run.
-#}

{{ config(materialized='view') }}

with landing_files as (
    select
        dataset,
        path,
        file_format,
        row_count,
        action,
        file_fingerprint,
        file_sha256
    from {{ source('landing_run', 'landing_files') }}
),

landing_plan as (
    select
        dataset,
        load_mode,
        load_reason,
        landing_root
    from {{ source('landing_run', 'landing_plan') }}
),

planned as (
    select
        landing_files.*,
        landing_plan.load_mode,
        landing_plan.load_reason,
        landing_plan.landing_root
    from landing_files
    inner join landing_plan
        on landing_files.dataset = landing_plan.dataset
)

select * from planned
