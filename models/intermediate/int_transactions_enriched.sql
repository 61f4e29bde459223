{#- Clean transactions with the per-row columns the features need (SPEC §3). -#}

with transactions as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        quantity,
        transacted_at
    from {{ ref('stg_transactions') }}
),

enriched as (
    select
        *,
        amount * quantity as total_value,
        {#- `hour` is the feature's name (SPEC section 3). #}
        cast(hour(transacted_at) as bigint) as hour,  -- noqa: RF04
        {# isodow is Monday = 1 ... Sunday = 7; features use Monday = 0. #}
        cast(isodow(transacted_at) - 1 as bigint) as day_of_week,
        cast(isodow(transacted_at) >= 6 as bigint) as is_weekend
    from transactions
)

select * from enriched
