{#-
    The median cleaned amount of each category: what a null amount is
    imputed with (docs/features.md, cleaning step 3). Computed over the
    whole clean history after dedupe and sign fixes, so it moves as data
    arrives. The median of an even count is the mean of the two middle
    values, exactly, in DECIMAL: (34.76 + 34.78) / 2 is 34.77, not
    34.769999999999996.

    Memory is bounded by the distinct amounts, not the rows: money has six
    decimals, so a category holds few distinct amounts however many rows it
    has, and the two middle values are found from how many rows each
    distinct amount has. (A median over the rows themselves holds every
    amount of a category in memory at once.)
-#}

{#- A table: one small row per category, read by every query of the
    enriched view instead of sorting the history each time. -#}
{{ config(materialized='table') }}

with transactions as (
    select
        category,
        amount
    from {{ ref('stg_transactions') }}
),

amount_counts as (
    {#- One row per category and distinct amount. -#}
    select
        category,
        amount,
        count(*) as amount_count
    from transactions
    where amount is not null
    group by category, amount
),

positioned as (
    {#- How many of the category's amounts are at or below each one. -#}
    select
        category,
        amount,
        sum(amount_count) over (
            partition by category
            order by amount asc
            rows between unbounded preceding and current row
        ) as rows_up_to,
        sum(amount_count) over (partition by category) as category_count
    from amount_counts
),

middles as (
    {#- The two middle values, at positions floor((n + 1) / 2) and
        floor(n / 2) + 1: one and the same for an odd count. -#}
    select
        category,
        category_count,
        min(
            case
                when rows_up_to >= floor((category_count + 1) / 2) then amount
            end
        ) as lower_middle,
        min(
            case
                when rows_up_to >= floor(category_count / 2) + 1 then amount
            end
        ) as upper_middle
    from positioned
    group by category, category_count
),

medians as (
    select
        category,
        {{ money_midpoint('lower_middle', 'upper_middle') }} as median_amount,
        category_count as amount_count
    from middles
)

select * from medians
