{#-
    One row per clean transaction with its amount imputed and the per-row
    columns the features need (docs/features.md, cleaning step 3 and the
    computed columns). A view: user_features reads it once.
-#}

{{ config(materialized='view') }}

with transactions as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        quantity,
        transacted_at,
        is_amount_sign_fixed,
        _source_file,
        _source_row_number,
        _load_id
    from {{ ref('stg_transactions') }}
),

medians as (
    select
        category,
        median_amount
    from {{ ref('int_category_medians') }}
),

amounts_imputed as (
    select
        transactions.transaction_id,
        transactions.user_id,
        transactions.category,
        {#- Null only when the category has no amount at all. -#}
        coalesce(transactions.amount, medians.median_amount) as amount,
        transactions.amount is null as is_amount_imputed,
        transactions.is_amount_sign_fixed,
        transactions.quantity,
        transactions.transacted_at,
        transactions._source_file,
        transactions._source_row_number,
        transactions._load_id
    from transactions
    left join medians
        on transactions.category is not distinct from medians.category
),

enriched as (
    select
        *,
        amount * quantity as total_value,
        {#- `hour` is the feature's documented name. #}
        cast(hour(transacted_at) as bigint) as hour,  -- noqa: RF04
        cast({{ day_of_week('transacted_at') }} as bigint) as day_of_week,
        cast({{ day_of_week('transacted_at') }} >= 5 as bigint) as is_weekend
    from amounts_imputed
)

select * from enriched
