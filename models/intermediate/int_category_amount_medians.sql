{#-
    The median cleaned amount of each category (SPEC section 2, step 3),
    exact, from the per-amount counts: with n amounts in order, the values
    at 0-based positions (n - 1) // 2 and n // 2, averaged (the same value
    twice when n is odd).
-#}

with counts as (
    select
        category,
        amount,
        transaction_count
    from {{ ref('int_category_amount_counts') }}
),

cumulative as (
    {#- Amounts are unique within a category: a running count. -#}
    select
        category,
        amount,
        sum(transaction_count) over (
            partition by category order by amount
        ) as counted_through,
        sum(transaction_count) over (partition by category) as amount_count
    from counts
),

middle as (
    {#- The value at position p is the smallest amount whose running count
        passes p. -#}
    select
        category,
        any_value(amount_count) as amount_count,
        min(amount) filter (
            where counted_through > floor((amount_count - 1) / 2)
        ) as lower_middle,
        min(amount) filter (where counted_through > floor(amount_count / 2))
            as upper_middle
    from cumulative
    group by category
),

medians as (
    select
        category,
        amount_count,
        (lower_middle + upper_middle) / 2 as median_amount
    from middle
)

select * from medians
