{#-
    Cleaned transactions, one row per transaction_id (SPEC section 2).
    Order matters: dedupe first, so a repeated row cannot weigh twice in a
    median; fix signs next, so negated entries count at their true value;
    impute nulls last, from the cleaned amounts of the same category.
-#}

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
        coalesce(amount < 0, false) as is_amount_sign_fixed
    from deduplicated
),

amounts_imputed as (
    select
        * replace (
            coalesce(
                amount,
                median(amount) over (partition by category)
            ) as amount
        ),
        amount is null as is_amount_imputed
    from signs_fixed
)

select * from amounts_imputed
