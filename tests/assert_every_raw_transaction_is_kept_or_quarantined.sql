{#-
    Nothing disappears silently: every raw transaction row this run read is
    either a row of stg_transactions or a row dropped into
    transaction_quarantine. Returns one row (a failure) when the counts
    disagree. The source holds the files this run reads, so the rows
    compared are those of this run's load.
-#}

with raw_rows as (
    select count(*) as row_count
    from {{ source('landing', 'transactions') }}
),

kept_rows as (
    select count(*) as row_count
    from {{ ref('stg_transactions') }}
    where _load_id >= first_load_to_check()
),

dropped_rows as (
    select count(*) as row_count
    from {{ ref('transaction_quarantine') }}
    where outcome = 'dropped' and _load_id >= first_load_to_check()
)

select
    raw_rows.row_count as raw_row_count,
    kept_rows.row_count as kept_row_count,
    dropped_rows.row_count as dropped_row_count
from raw_rows
cross join kept_rows
cross join dropped_rows
where raw_rows.row_count != kept_rows.row_count + dropped_rows.row_count
