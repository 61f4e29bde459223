{#-
    The dead-letter record: one row per raw transaction row that did not
    reach int_transactions_enriched as it was delivered, and per transaction
    kept out of the features, with the reason. It is found by comparing, row
    by row (landing file and row), every delivered row with what cleaning
    made of it, so a cleaning rule added anywhere in staging or intermediate
    shows its rows here without an edit: `changed_columns` names what
    changed, and `reason` is a label for the rules it knows by name.
    Nothing leaves the pipeline silently: raw rows = rows of stg_transactions
    + rows dropped here (a singular test checks it).

    Rebuilt from the cleaned history on every run: imputed amounts show the
    current category median, and profiles that arrive later take users out
    of it.
-#}

{#- The delivered columns that cleaning keeps, by name (not the lineage
    columns): any of them that differs after cleaning counts as changed. -#}
{%- set compared = [] -%}
{%- if execute -%}
    {%- set kept = adapter.get_columns_in_relation(
        ref('int_transactions_enriched')) | map(attribute='name')
        | map('lower') | list -%}
    {%- for column in adapter.get_columns_in_relation(
            ref('stg_transaction_deliveries')) -%}
        {%- if column.name | lower in kept
                and not column.name.startswith('_') -%}
            {%- do compared.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}

{%- set shown = ['transaction_id', 'user_id', 'category', 'amount'] -%}
{%- set place = ['_source_file', '_source_row_number', '_load_id'] %}

with deliveries as (
    select
        {{ (shown + compared + place
            + ['delivery_rank', 'is_same_as_first_delivery'])
           | unique | join(',\n        ') }}
    from {{ ref('stg_transaction_deliveries') }}
),

cleaned as (
    {#- The join's build side, held in memory (or spilled): only what is
        compared, with the file as a hash rather than its path. -#}
    select
        {{ (['transaction_id'] + compared
            + ['amount', '_source_row_number', '_load_id',
               'is_amount_sign_fixed', 'is_amount_imputed'])
           | unique | join(',\n        ') }},
        {{ row_hash(['_source_file']) }} as source_file_hash
    from {{ ref('int_transactions_enriched') }}
),

user_profiles as (
    select user_id
    from {{ ref('stg_user_profiles') }}
),

compared as (
    {#- Every delivered row beside the cleaned row it became, if any. -#}
    select
        deliveries.transaction_id,
        deliveries.user_id,
        deliveries.category,
        deliveries.amount as delivered_amount,
        cleaned.amount as cleaned_amount,
        coalesce(
            cleaned._source_row_number != deliveries._source_row_number
            or cleaned._load_id != deliveries._load_id
            or cleaned.source_file_hash
            != {{ row_hash(['deliveries._source_file']) }},
            true
        ) as is_dropped,
        deliveries.delivery_rank,
        deliveries.is_same_as_first_delivery,
        coalesce(cleaned.is_amount_sign_fixed, false) as is_amount_sign_fixed,
        coalesce(cleaned.is_amount_imputed, false) as is_amount_imputed,
        concat_ws(
            ', ',
            {%- for column in compared %}
            case
                when deliveries.{{ column }}
                    is distinct from cleaned.{{ column }}
                    then '{{ column }}'
            end{{ "," if not loop.last }}
            {%- endfor %}
            {%- if not compared %}cast(null as string){% endif %}
        ) as changed_columns,
        deliveries._source_file,
        deliveries._source_row_number,
        deliveries._load_id
    {#- One bigint key, cheaper to join on than the file and row; a
        delivered row that is not the one kept for its transaction_id
        counts as dropped (is_dropped). #}
    from deliveries
    left join cleaned
        on deliveries.transaction_id = cleaned.transaction_id
),

dropped_or_changed as (
    {#- One pass over the comparison (read once, so it streams instead of
        being held in memory for two readers). -#}
    select
        transaction_id,
        user_id,
        category,
        {#- As delivered for a dropped row, as cleaned for a changed one. #}
        case
            when is_dropped then delivered_amount else cleaned_amount
        end as amount,
        case
            when not is_dropped and is_amount_sign_fixed
                then 'negative_amount_fixed'
            when not is_dropped and is_amount_imputed
                then 'null_amount_imputed'
            when not is_dropped then 'changed_by_cleaning'
            when delivery_rank > 1 and is_same_as_first_delivery
                then 'exact_duplicate'
            when delivery_rank > 1 then 'conflicting_duplicate'
            else 'dropped_by_cleaning'
        end as reason,
        case when is_dropped then 'dropped' else 'changed' end as outcome,
        case when not is_dropped then changed_columns end as changed_columns,
        _source_file,
        _source_row_number,
        _load_id
    from compared
    where is_dropped or changed_columns != ''
),

without_profile as (
    {#- Read on its own, not from `cleaned`: a CTE read twice is held whole
        in memory. -#}
    select
        enriched.transaction_id,
        enriched.user_id,
        enriched.category,
        enriched.amount,
        'user_without_profile' as reason,
        'excluded_from_features' as outcome,
        cast(null as string) as changed_columns,
        enriched._source_file,
        enriched._source_row_number,
        enriched._load_id
    from {{ ref('int_transactions_enriched') }} as enriched
    anti join user_profiles
        on enriched.user_id = user_profiles.user_id
),

quarantined as (
    select * from dropped_or_changed
    union all
    select * from without_profile
)

select * from quarantined
