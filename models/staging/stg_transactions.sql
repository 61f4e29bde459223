{#-
    Cleaned transactions, one row per transaction_id: the first two
    cleaning steps of docs/features.md. Order matters: dedupe first, so a
    repeated row cannot weigh twice in a median; fix signs next, so negated
    entries count at their true value. Null amounts stay null here:
    int_transactions_enriched imputes them.

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
        _load_id,
        delivery_rank
    from {{ ref('stg_transaction_deliveries') }}
),

clean as (
    {#- The first delivery wins (later ones go to transaction_quarantine),
        and only then is the sign fixed. -#}
    select
        transaction_id,
        user_id,
        product_id,
        category,
        abs(amount) as amount,
        quantity,
        transacted_at,
        _source_file,
        _source_row_number,
        _load_id,
        coalesce(amount < 0, false) as is_amount_sign_fixed
    from deliveries
    where delivery_rank = 1
)

select * from clean
