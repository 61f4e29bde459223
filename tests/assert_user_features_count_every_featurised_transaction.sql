{#-
    The features account for every clean transaction except those of users
    without a profile: sum(total_transactions) = clean transactions -
    transactions quarantined as user_without_profile.
-#}

with featured as (
    select sum(total_transactions) as transaction_count
    from {{ ref('user_features') }}
),

clean as (
    select count(*) as transaction_count
    from {{ ref('stg_transactions') }}
),

excluded as (
    select count(*) as transaction_count
    from {{ ref('transaction_quarantine') }}
    where reason = 'user_without_profile'
)

select
    featured.transaction_count as featured_transactions,
    clean.transaction_count as clean_transactions,
    excluded.transaction_count as excluded_transactions
from featured
cross join clean
cross join excluded
where
    featured.transaction_count
    != clean.transaction_count - excluded.transaction_count
