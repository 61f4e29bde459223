{#-
    The median cleaned amount of each category: what a null amount is
    imputed with (docs/features.md, cleaning step 3). Computed over the
    whole clean history after dedupe and sign fixes, so it moves as data
    arrives. DuckDB's median of an even count is the mean of the two middle
    values, exactly, in DECIMAL: (34.76 + 34.78) / 2 is 34.77, not
    34.769999999999996.
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

medians as (
    select
        category,
        {{ money_median('amount') }} as median_amount,
        count(amount) as amount_count
    from transactions
    where amount is not null
    group by category
)

select * from medians
