{#-
    Cleaned transactions, one row per transaction_id (SPEC section 2, steps
    1 and 2). Order matters: dedupe first, so a repeated row cannot weigh
    twice in a median; fix signs next, so negated entries count at their
    true value. Null amounts stay null here: their imputed value is the
    median of the category's cleaned amounts, which moves as data arrives,
    so int_transactions_enriched applies it from the current medians.

    A view: the rows live once, in stg_transaction_deliveries.
-#}

{{ config(materialized='view') }}

with deliveries as (
    select
        transaction_id,
        user_id,
        product_id,
        category,
        amount,
        quantity,
        transacted_at,
        _source_file,
        _source_row_number,
        _loaded_at,
        delivery_rank
    from {{ ref('stg_transaction_deliveries') }}
),

deduplicated as (
    {#- The first delivery wins; later ones go to transaction_quarantine. -#}
    select * exclude (delivery_rank)
    from deliveries
    where delivery_rank = 1
),

signs_fixed as (
    select
        * replace (abs(amount) as amount),
        coalesce(amount < 0, false) as is_amount_sign_fixed,
        amount is null as is_amount_missing
    from deduplicated
)

select * from signs_fixed
