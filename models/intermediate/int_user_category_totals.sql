{#-
    Per user and category, the running totals user_features is computed
    from: counts, exact (DECIMAL) sums, extremes and first/last times. A new
    load's rows are totalled and added to the stored totals of the same user
    and category; history is never re-read.

    Imputed amounts are not stored: they follow the category median, which
    moves as data arrives. Each total keeps the known-amount part apart from
    what is needed to add the imputed part later (how many amounts, and the
    quantity they multiply), and user_features applies the current median.
-#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='totals_key',
    on_schema_change='fail',
) }}

with transactions as (
    select
        user_id,
        category,
        amount,
        quantity,
        total_value,
        is_weekend,
        transacted_at,
        is_amount_imputed,
        _loaded_at
    from {{ ref('int_transactions_enriched') }}
    where {{ not_yet_absorbed('_loaded_at') }}
),

new_totals as (
    select
        {{ state_key(['user_id', 'category']) | indent(8) }} as totals_key,
        user_id,
        category,
        count(*) as transaction_count,
        count(amount) filter (where not is_amount_imputed)
            as known_amount_count,
        coalesce(
            {{ exact_sum('amount') }} filter (where not is_amount_imputed),
            0
        ) as known_amount_sum,
        max(amount) filter (where not is_amount_imputed) as known_amount_max,
        count(total_value) filter (where not is_amount_imputed)
            as known_value_count,
        coalesce(
            {{ exact_sum('total_value') }}
            filter (where not is_amount_imputed),
            0
        ) as known_value_sum,
        count(*) filter (where is_amount_imputed) as missing_amount_count,
        count(quantity) filter (where is_amount_imputed)
            as missing_amount_quantity_count,
        coalesce(sum(quantity) filter (where is_amount_imputed), 0)
            as missing_amount_quantity_sum,
        count(quantity) as quantity_count,
        coalesce(sum(quantity), 0) as quantity_sum,
        count(is_weekend) as timestamped_count,
        coalesce(sum(is_weekend), 0) as weekend_count,
        min(transacted_at) as first_transacted_at,
        max(transacted_at) as last_transacted_at,
        max(_loaded_at) as _absorbed_through
    from transactions
    group by user_id, category
),

merged as (
    {%- if is_incremental() %}
    {#- Counts and sums add up; extremes take the larger or smaller
        (greatest and least ignore NULL). #}
    select
        new_totals.totals_key,
        new_totals.user_id,
        new_totals.category,
        {%- for column in [
            'transaction_count', 'known_amount_count', 'known_amount_sum',
            'known_value_count', 'known_value_sum', 'missing_amount_count',
            'missing_amount_quantity_count', 'missing_amount_quantity_sum',
            'quantity_count', 'quantity_sum', 'timestamped_count',
            'weekend_count'] %}
        new_totals.{{ column }} + coalesce(stored.{{ column }}, 0)
            as {{ column }},
        {%- if column == 'known_amount_sum' %}
        greatest(new_totals.known_amount_max, stored.known_amount_max)
            as known_amount_max,
        {%- endif %}
        {%- endfor %}
        least(new_totals.first_transacted_at, stored.first_transacted_at)
            as first_transacted_at,
        greatest(new_totals.last_transacted_at, stored.last_transacted_at)
            as last_transacted_at,
        new_totals._absorbed_through
    from new_totals
    left join {{ this }} as stored
        on new_totals.totals_key = stored.totals_key
    {%- else %}
    select * from new_totals
    {%- endif %}
)

select * from merged
