{#-
    Every delivered transaction row, typed, with where it came from and
    whether it is the first delivery of its transaction_id. Nothing is
    dropped here: stg_transactions keeps the first deliveries, and
    transaction_quarantine records the others, so every raw row is accounted
    for.

    The only incremental model of the pipeline: the source reads only the
    files this run loads, tagged with the run's load number (`_load_id`),
    and their rows are appended. A load is incremental only when every new
    file sorts after every loaded one and the model's code is unchanged
    (otherwise the run reads every file, a rebuild), so an earlier delivery
    of a transaction_id is always already here. Before appending, the
    model's pre-hook takes out what this run reads again: the rows of a
    load whose run failed, or every row for a rebuild.

    On Spark, runs read every landing file, so the model is a table built
    whole each time (docs/scaling.md).
-#}

{#- The pre-hook takes out the rows this run reads again (start_load);
    the columns follow the code, as the table is emptied when the code
    changes (a rebuild). -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ start_load() }}",
) }}

with transactions as (
    select
        transaction_id,
        user_id,
        product_id,
        category,
        amount,
        quantity,
        timestamp,
        _source_file,
        _source_row_number,
        _load_id
    from {{ landing_rows('transactions') }} as landing_transactions
),

typed as (
    select
        cast(transaction_id as bigint) as transaction_id,
        cast(user_id as bigint) as user_id,
        cast(product_id as bigint) as product_id,
        cast(category as string) as category,
        {#- Money is exact from here on (money_type). #}
        cast(amount as {{ money_type() }}) as amount,
        cast(quantity as bigint) as quantity,
        cast(timestamp as timestamp) as transacted_at,
        _source_file,
        _source_row_number,
        _load_id,
        true as is_new
    from transactions
),

earlier_deliveries as (
    {#- Deliveries loaded by earlier runs of the transaction_ids in this
        load: they come first in load order. -#}
    {%- if loads_onto_history() %}
    select
        loaded.transaction_id,
        loaded.user_id,
        loaded.product_id,
        loaded.category,
        loaded.amount,
        loaded.quantity,
        loaded.transacted_at,
        loaded._source_file,
        loaded._source_row_number,
        loaded._load_id,
        false as is_new
    from {{ this }} as loaded
    semi join typed
        on loaded.transaction_id = typed.transaction_id
    {%- else %}
    select * from typed
    where false
    {%- endif %}
),

candidates as (
    {#- Both have typed's columns, in its order. -#}
    select * from typed
    union all
    select * from earlier_deliveries
),

repeated_ids as (
    {#- Few transaction_ids are delivered twice: rank only those, instead of
        sorting every row of the history. -#}
    select transaction_id
    from candidates
    group by transaction_id
    having count(*) > 1
),

repeated_rows as (
    select
        candidates.*,
        {{ row_hash([
            'candidates.user_id',
            'candidates.product_id',
            'candidates.category',
            'candidates.amount',
            'candidates.quantity',
            'candidates.transacted_at',
        ]) }} as content_hash
    from candidates
    semi join repeated_ids
        on candidates.transaction_id = repeated_ids.transaction_id
),

repeated_deliveries as (
    {#- Load order decides which delivery counts: file name, then row. #}
    select
        {{ all_columns_except(['content_hash']) }},
        row_number() over by_delivery as delivery_rank,
        content_hash = first_value(content_hash) over by_delivery
            as is_same_as_first_delivery
    from repeated_rows
    window by_delivery as (
        partition by transaction_id
        order by _source_file, _source_row_number
    )
),

single_deliveries as (
    select
        typed.*,
        cast(1 as bigint) as delivery_rank,
        true as is_same_as_first_delivery
    from typed
    anti join repeated_ids
        on typed.transaction_id = repeated_ids.transaction_id
),

ranked as (
    {#- Both branches have typed's columns plus the two ranking ones, in
        that order. #}
    select * from single_deliveries
    union all
    select * from repeated_deliveries
),

new_deliveries as (
    {#- Only this load's rows are new; earlier ones were needed for ranking. #}
    select {{ all_columns_except(['is_new']) }}  -- noqa: AM04
    from ranked
    where is_new
)

select * from new_deliveries  -- noqa: AM04
