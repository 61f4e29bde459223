{#-
    Nothing disappears silently: every raw transaction row this run read is
    stored in stg_transaction_deliveries, and is either a row of
    stg_transactions or a row dropped into transaction_quarantine. Returns
    one row (a failure) when the counts disagree. The raw rows are counted in the files themselves (the
    landing plan's row_count, from the inspector), and the rows compared
    are those of this run's load.
-#}

with plan as (
    select
        dataset,
        action,
        row_count,
        first_load_to_check
    from {{ ref('landing_plan') }}
),

raw_rows as (
    select coalesce(sum(row_count), 0) as row_count
    from plan
    where dataset = 'transactions' and action = 'load'
),

checked_loads as (
    select max(first_load_to_check) as first_load
    from plan
),

delivered_rows as (
    select count(*) as row_count
    from {{ ref('stg_transaction_deliveries') }}
    where _load_id >= (select checked_loads.first_load from checked_loads)
),

kept_rows as (
    select count(*) as row_count
    from {{ ref('stg_transactions') }}
    where _load_id >= (select checked_loads.first_load from checked_loads)
),

dropped_rows as (
    select count(*) as row_count
    from {{ ref('transaction_quarantine') }}
    where
        outcome = 'dropped'
        and _load_id >= (select checked_loads.first_load from checked_loads)
)

select
    raw_rows.row_count as raw_row_count,
    delivered_rows.row_count as delivered_row_count,
    kept_rows.row_count as kept_row_count,
    dropped_rows.row_count as dropped_row_count
from raw_rows
cross join delivered_rows
cross join kept_rows
cross join dropped_rows
where
    raw_rows.row_count != delivered_rows.row_count
    or raw_rows.row_count != kept_rows.row_count + dropped_rows.row_count
