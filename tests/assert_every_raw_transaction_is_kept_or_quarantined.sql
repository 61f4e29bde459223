{#-
    Nothing disappears silently: every raw transaction row is either a row
    of stg_transactions or a row dropped into transaction_quarantine.
    Returns one row (a failure) when the counts disagree. The source holds
    the files this run loads, so the rows compared are this run's.
-#}

with raw_rows as (
    select count(*) as row_count
    from {{ source('landing', 'transactions') }}
),

kept_rows as (
    select count(*) as row_count
    from {{ ref('stg_transactions') }}
    where {{ loaded_by_this_run() }}
),

dropped_rows as (
    select count(*) as row_count
    from {{ ref('transaction_quarantine') }}
    where outcome = 'dropped' and {{ loaded_by_this_run() }}
)

select
    raw_rows.row_count as raw_row_count,
    kept_rows.row_count as kept_row_count,
    dropped_rows.row_count as dropped_row_count
from raw_rows
cross join kept_rows
cross join dropped_rows
where raw_rows.row_count != kept_rows.row_count + dropped_rows.row_count
