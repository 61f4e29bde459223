{#-
    The features account for every transaction in the running totals of
    users with a profile: sum(total_transactions) = the totals' transaction
    count over those users. Both sides are sized by users, not by the
    history; that the totals hold every clean transaction is shown by
    rebuilds, which recompute them from all files (tests/python/
    test_incremental.py compares the two after every batch).
-#}

with featured as (
    select sum(total_transactions) as transaction_count
    from {{ ref('user_features') }}
),

totals as (
    select
        user_id,
        transaction_count
    from {{ ref('int_user_category_totals') }}
),

user_profiles as (
    select user_id
    from {{ ref('stg_user_profiles') }}
),

with_profile as (
    select sum(totals.transaction_count) as transaction_count
    from totals
    semi join user_profiles
        on totals.user_id = user_profiles.user_id
)

select
    featured.transaction_count as featured_transactions,
    with_profile.transaction_count as totalled_transactions
from featured
cross join with_profile
where featured.transaction_count != with_profile.transaction_count
