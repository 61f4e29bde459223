{#-
    Every delivered transaction row, typed, with where it came from and
    whether it is the first delivery of its transaction_id. Nothing is
    dropped here: stg_transactions keeps the first deliveries, and
    transaction_quarantine records the others, so every raw row is accounted
    for.
-#}

with transactions as (
    select
        transaction_id,
        user_id,
        product_id,
        category,
        amount,
        quantity,
        timestamp,
        _source_file,
        _source_row_number
    from {{ source('landing', 'transactions') }}
),

typed as (
    select
        cast(transaction_id as bigint) as transaction_id,
        cast(user_id as bigint) as user_id,
        cast(product_id as bigint) as product_id,
        cast(category as varchar) as category,
        cast(amount as double) as amount,
        cast(quantity as bigint) as quantity,
        cast(timestamp as timestamp) as transacted_at,
        _source_file,
        _source_row_number,
        cast('{{ run_started_at }}' as timestamp) as _loaded_at
    from transactions
),

repeated_ids as (
    {#- Few transaction_ids are delivered twice: rank only those, instead of
        sorting every row of the history. -#}
    select transaction_id
    from typed
    group by transaction_id
    having count(*) > 1
),

repeated_rows as (
    select
        typed.*,
        hash(
            typed.user_id,
            typed.product_id,
            typed.category,
            typed.amount,
            typed.quantity,
            typed.transacted_at
        ) as content_hash
    from typed
    semi join repeated_ids
        on typed.transaction_id = repeated_ids.transaction_id
),

repeated_deliveries as (
    {#- Load order decides which delivery counts: file name, then row. #}
    select
        * exclude (content_hash),
        row_number() over by_delivery as delivery_rank,
        content_hash = first_value(content_hash) over by_delivery
            as is_same_as_first_delivery
    from repeated_rows
    window by_delivery as (
        partition by transaction_id
        order by _source_file, _source_row_number
    )
),

single_deliveries as (
    select
        typed.*,
        cast(1 as bigint) as delivery_rank,
        true as is_same_as_first_delivery
    from typed
    anti join repeated_ids
        on typed.transaction_id = repeated_ids.transaction_id
),

ranked as (
    {#- Both branches have typed's columns plus the two ranking ones. #}
    select * from single_deliveries
    union all
    select * from repeated_deliveries
)

select * from ranked  -- noqa: AM04
