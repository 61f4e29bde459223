{#-
    Cleaned transactions, one row per transaction_id (SPEC section 2).
    Order matters: dedupe first, so a repeated row cannot weigh twice in a
    median; fix signs next, so negated entries count at their true value;
    impute nulls last, from the cleaned amounts of the same category.
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
        _source_row_number
    from transactions
),

deduplicated as (
    {#- First occurrence in load order wins: file name, then row. -#}
    select *
    from typed
    qualify row_number() over (
        partition by transaction_id
        order by _source_file, _source_row_number
    ) = 1
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
