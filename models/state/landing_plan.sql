{#-
    The landing files this run found and what it does with each: load (read
    now) or skip (loaded by an earlier run and unchanged), with the
    dataset's load mode and reason and this run's load number. The landing
    hook decides it before any model runs (macros/landing.sql); a view, so
    it always shows the current run.
-#}

with landing_files as (
    select
        dataset,
        path,
        file_format,
        row_count,
        action,
        file_fingerprint,
        file_sha256,
        load_mode,
        load_reason,
        landing_root,
        load_id,
        history_code
    from {{ source('landing', 'files') }}
)

select * from landing_files
