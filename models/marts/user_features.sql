{#-
    One row of model-ready features per user with at least one transaction
    (SPEC section 4). Columns and their order are the published contract.
-#}

-- depends_on: {{ ref('regions') }}

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

dataset_end as (
    {#- Recency is measured to the data's own end, not the wall clock, so a
        re-run on the same data gives the same features. -#}
    select max(transacted_at) as latest_transacted_at
    from transactions
),

per_user as (
    select
        user_id,
        count(*) as total_transactions,
        {{ order_independent_sum('total_value') }} as total_spend,
        {{ order_independent_sum('amount') }} / count(amount)
            as avg_order_value,
        max(amount) as max_order_value,
        count(distinct category) as unique_categories,
        avg(quantity) as avg_quantity,
        avg(is_weekend) as weekend_ratio,
        min(transacted_at) as first_transacted_at,
        max(transacted_at) as last_transacted_at
    from transactions
    group by user_id
),

with_recency as (
    select
        per_user.*,
        {{ whole_days_between(
            'per_user.last_transacted_at',
            'dataset_end.latest_transacted_at'
        ) }} as days_since_last_purchase,
        {{ whole_days_between(
            'per_user.first_transacted_at',
            'per_user.last_transacted_at'
        ) }} + 1 as purchase_span_days
    from per_user
    cross join dataset_end
),

features as (
    select
        with_recency.user_id,
        with_recency.total_transactions,
        with_recency.total_spend,
        with_recency.avg_order_value,
        with_recency.max_order_value,
        with_recency.unique_categories,
        with_recency.avg_quantity,
        with_recency.weekend_ratio,
        with_recency.days_since_last_purchase,
        with_recency.purchase_span_days,
        with_recency.total_transactions
        / with_recency.purchase_span_days as purchase_frequency,
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
    {#- Users without a profile cannot be featurised; a warning test on
        stg_transactions reports them. -#}
    from with_recency
    inner join user_profiles
        on with_recency.user_id = user_profiles.user_id
)

select * from features
