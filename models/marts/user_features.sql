{#-
    One row of model-ready features per user with at least one transaction
    (SPEC section 4). Columns and their order are the published contract.
    Built from per-user, per-category running totals, so its cost grows with
    the number of users, not with the transaction history.
-#}

-- depends_on: {{ ref('regions') }}

with totals as (
    select
        user_id,
        category,
        transaction_count,
        known_amount_count,
        known_amount_sum,
        known_amount_max,
        known_value_count,
        known_value_sum,
        missing_amount_count,
        missing_amount_quantity_count,
        missing_amount_quantity_sum,
        quantity_count,
        quantity_sum,
        timestamped_count,
        weekend_count,
        first_transacted_at,
        last_transacted_at
    from {{ ref('int_user_category_totals') }}
),

medians as (
    select
        category,
        median_amount
    from {{ ref('int_category_amount_medians') }}
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
    select max(last_transacted_at) as latest_transacted_at
    from totals
),

with_imputed as (
    {#- Imputed amounts enter here, from the current category medians: each
        missing amount counts as the median, and its value as the median
        times its quantity. A category without any amount has no median,
        and its missing amounts stay out, as nulls would. -#}
    select
        totals.*,
        case
            when medians.median_amount is not null
                then totals.missing_amount_count
            else 0
        end as imputed_amount_count,
        case
            when medians.median_amount is not null
                then totals.missing_amount_quantity_count
            else 0
        end as imputed_value_count,
        coalesce(
            cast(medians.median_amount as decimal(38, 6))
            * totals.missing_amount_count,
            0
        ) as imputed_amount_sum,
        coalesce(
            cast(medians.median_amount as decimal(38, 6))
            * totals.missing_amount_quantity_sum,
            0
        ) as imputed_value_sum,
        case
            when totals.missing_amount_count > 0 then medians.median_amount
        end as imputed_amount_max
    from totals
    left join medians
        on totals.category is not distinct from medians.category
),

per_user as (
    select
        user_id,
        cast(sum(transaction_count) as bigint) as total_transactions,
        case
            when sum(known_value_count + imputed_value_count) > 0
                then cast(
                    sum(known_value_sum + imputed_value_sum) as double
                )
        end as total_spend,
        cast(sum(known_amount_sum + imputed_amount_sum) as double)
        / nullif(sum(known_amount_count + imputed_amount_count), 0)
            as avg_order_value,
        max(greatest(known_amount_max, imputed_amount_max))
            as max_order_value,
        {#- One row per category; a NULL category is not counted. -#}
        count(category) as unique_categories,
        sum(quantity_sum) / nullif(sum(quantity_count), 0) as avg_quantity,
        sum(weekend_count) / nullif(sum(timestamped_count), 0)
            as weekend_ratio,
        min(first_transacted_at) as first_transacted_at,
        max(last_transacted_at) as last_transacted_at
    from with_imputed
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
