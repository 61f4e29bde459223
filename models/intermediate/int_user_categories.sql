{#-
    How many distinct categories each user bought from, over the clean
    transactions: the feature `unique_categories` (docs/features.md, user
    features). Null categories are not counted.

    A table of its own, built before user_features rather than inside it:
    in one statement, the distinct count's hash table (a row per user and
    category) and the per-user aggregates' are held at once, and at 100M
    transactions the two crowd the memory limit and spill. Apart, each
    fits.
-#}

{{ config(materialized='table') }}

with transactions as (
    select
        user_id,
        category
    from {{ ref('int_transactions_enriched') }}
),

categories_per_user as (
    select
        user_id,
        count(distinct category) as unique_categories
    from transactions
    group by user_id
)

select * from categories_per_user
