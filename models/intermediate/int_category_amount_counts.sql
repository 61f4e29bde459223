{#-
    How many transactions of each category have each cleaned amount: the
    mergeable state behind the exact category medians. A new load adds its
    counts to the ones already here; nothing is re-read from the history.
    The rows a category holds grow with its distinct amounts (cents), not
    with its transactions.
-#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='amount_key',
    on_schema_change='fail',
) }}

with transactions as (
    select
        category,
        amount,
        _loaded_at
    from {{ ref('stg_transactions') }}
    where
        amount is not null
        and {{ not_yet_absorbed('_loaded_at') }}
),

new_counts as (
    select
        {{ state_key(['category', 'amount']) | indent(8) }} as amount_key,
        category,
        amount,
        count(*) as transaction_count,
        max(_loaded_at) as _absorbed_through
    from transactions
    group by category, amount
),

merged as (
    {%- if is_incremental() %}
    select
        new_counts.amount_key,
        new_counts.category,
        new_counts.amount,
        new_counts.transaction_count
        + coalesce(counted.transaction_count, 0) as transaction_count,
        new_counts._absorbed_through
    from new_counts
    left join {{ this }} as counted
        on new_counts.amount_key = counted.amount_key
    {%- else %}
    select * from new_counts
    {%- endif %}
)

select * from merged
