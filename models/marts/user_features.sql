{#-
    One row of model-ready features per user with at least one clean
    transaction and a profile (docs/features.md, user features). Every
    feature rule is one expression in `per_user` or `features`, except
    the distinct category count, which int_user_categories computes in a
    statement of its own; the column list and types are the published
    contract (user_features.yml).
-#}

{#- Spark's plain Parquet tables cannot hold NOT NULL: there the contract
    is not enforced and its not_null columns are checked by the post-hook. -#}
{{ config(
    contract={'enforced': target.type != 'spark'},
    post_hook="{{ check_contract_not_null() }}",
) }}

with transactions as (
    select
        user_id,
        category,
        amount,
        quantity,
        total_value,
        is_weekend,
        transacted_at
    from {{ ref('int_transactions_enriched') }}
),

user_profiles as (
    select
        user_id,
        age,
        region,
        account_age_days,
        is_premium
    from {{ ref('stg_user_profiles') }}
),

per_user as (
    {#- Money stays DECIMAL (exact) until the output cast. -#}
    select
        user_id,
        count(*) as total_transactions,
        cast(sum(total_value) as double) as total_spend,
        {#- The mean of equal amounts is that amount, exactly: a user whose
            amounts are all the same has avg = max, whatever the rounding
            of a division would say. -#}
        case
            when min(amount) = max(amount) then cast(max(amount) as double)
            else cast(sum(amount) as double) / count(amount)
        end as avg_order_value,
        cast(max(amount) as double) as max_order_value,
        avg(quantity) as avg_quantity,
        avg(is_weekend) as weekend_ratio,
        min(transacted_at) as first_transacted_at,
        max(transacted_at) as last_transacted_at
    from transactions
    group by user_id
),

dataset_end as (
    {#- Recency is measured to the data's own end, not the wall clock, so a
        re-run on the same data gives the same features. -#}
    select max(last_transacted_at) as latest_transacted_at
    from per_user
),

categories_per_user as (
    select
        user_id,
        unique_categories
    from {{ ref('int_user_categories') }}
),

features as (
    select
        per_user.user_id,
        per_user.total_transactions,
        per_user.total_spend,
        per_user.avg_order_value,
        per_user.max_order_value,
        categories_per_user.unique_categories,
        per_user.avg_quantity,
        per_user.weekend_ratio,
        {{ whole_days_between(
            'per_user.last_transacted_at',
            'dataset_end.latest_transacted_at'
        ) }} as days_since_last_purchase,
        {{ whole_days_between(
            'per_user.first_transacted_at',
            'per_user.last_transacted_at'
        ) }} + 1 as purchase_span_days,
        per_user.total_transactions / purchase_span_days as purchase_frequency,
        user_profiles.age,
        user_profiles.account_age_days,
        user_profiles.is_premium,
        {{ one_hot(
            'user_profiles.region',
            'regions',
            'region',
            'column_order',
            'region_'
        ) | indent(8) }}
    {#- Users without a profile cannot be featurised; transaction_quarantine
        lists their transactions, with a warning. #}
    from per_user
    cross join dataset_end
    inner join categories_per_user
        on per_user.user_id = categories_per_user.user_id
    inner join user_profiles
        on per_user.user_id = user_profiles.user_id
)

select * from features
