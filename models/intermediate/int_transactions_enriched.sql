{#-
    Clean transactions with null amounts imputed from the current category
    medians (SPEC section 2, step 3) and the per-row columns the features
    need (SPEC section 3). A view: it is read for new rows only, by
    int_user_category_totals, and whole by analysts.
-#}

with transactions as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        quantity,
        transacted_at,
        is_amount_sign_fixed,
        is_amount_missing,
        _source_file,
        _source_row_number,
        _loaded_at
    from {{ ref('stg_transactions') }}
),

medians as (
    select
        category,
        median_amount
    from {{ ref('int_category_amount_medians') }}
),

imputed as (
    select
        transactions.transaction_id,
        transactions.user_id,
        transactions.category,
        {#- Null only when the category has no amount at all. -#}
        coalesce(transactions.amount, medians.median_amount) as amount,
        transactions.is_amount_missing as is_amount_imputed,
        transactions.is_amount_sign_fixed,
        transactions.quantity,
        transactions.transacted_at,
        transactions._source_file,
        transactions._source_row_number,
        transactions._loaded_at
    from transactions
    left join medians
        on transactions.category is not distinct from medians.category
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
    from imputed
)

select * from enriched
