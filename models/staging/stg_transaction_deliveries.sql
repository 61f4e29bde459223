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
        "timestamp",
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
        cast("timestamp" as timestamp) as transacted_at,
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

repeated_deliveries as (
    {#- Load order decides which delivery counts: file name, then row. -#}
    select
        typed.*,
        row_number() over by_delivery as delivery_rank,
        hash(user_id, product_id, category, amount, quantity, transacted_at)
            = first_value(
                hash(user_id, product_id, category, amount, quantity, transacted_at)
            ) over by_delivery as is_same_as_first_delivery
    from typed
    semi join repeated_ids
        on typed.transaction_id = repeated_ids.transaction_id
    window by_delivery as (
        partition by typed.transaction_id
        order by typed._source_file, typed._source_row_number
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
    select * from single_deliveries
    union all
    select * from repeated_deliveries
)

select * from ranked
