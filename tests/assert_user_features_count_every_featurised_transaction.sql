{#-
    The features account for every clean transaction of users with a
    profile: sum(total_transactions) = the count of those transactions.
    Returns one row (a failure) when they differ.
-#}

with featured as (
    select sum(total_transactions) as transaction_count
    from {{ ref('user_features') }}
),

transactions as (
    select user_id
    from {{ ref('int_transactions_enriched') }}
),

user_profiles as (
    select user_id
    from {{ ref('stg_user_profiles') }}
),

with_profile as (
    select count(*) as transaction_count
    from transactions
    semi join user_profiles
        on transactions.user_id = user_profiles.user_id
)

select
    featured.transaction_count as featured_transactions,
    with_profile.transaction_count as clean_transactions
from featured
cross join with_profile
where featured.transaction_count != with_profile.transaction_count
