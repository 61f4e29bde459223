{#-
    The features account for every clean transaction of users with a
    profile: sum(total_transactions) = the clean transactions less those
    the quarantine excludes from the features, and every excluded
    transaction belongs to a user without a profile (so a user wrongly left
    out of user_features fails here too). Returns rows (failures) otherwise.
    Counting against the quarantine's few excluded rows, rather than joining
    every clean transaction to the profiles, keeps this check cheap, and it
    runs after the quarantine rather than before it.
-#}

with featured as (
    select sum(total_transactions) as transaction_count
    from {{ ref('user_features') }}
),

clean as (
    select count(*) as transaction_count
    from {{ ref('int_transactions_enriched') }}
),

excluded as (
    select user_id
    from {{ ref('transaction_quarantine') }}
    where outcome = 'excluded_from_features'
),

excluded_count as (
    select count(*) as transaction_count
    from excluded
),

user_profiles as (
    select user_id
    from {{ ref('stg_user_profiles') }}
),

miscounted as (
    select
        featured.transaction_count as featured_transactions,
        clean.transaction_count - excluded_count.transaction_count
            as clean_transactions,
        cast(null as bigint) as excluded_user_with_profile
    from featured
    cross join clean
    cross join excluded_count
    where
        featured.transaction_count
        != clean.transaction_count - excluded_count.transaction_count
),

excluded_with_profile as (
    select distinct
        cast(null as bigint) as featured_transactions,
        cast(null as bigint) as clean_transactions,
        excluded.user_id as excluded_user_with_profile
    from excluded
    semi join user_profiles
        on excluded.user_id = user_profiles.user_id
)

select * from miscounted
union all
select * from excluded_with_profile
