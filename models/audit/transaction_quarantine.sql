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
    Rebuilt on every run: imputed amounts follow the category medians, and
    profiles that arrive later take users out of it.
-#}

{#- The delivered columns that cleaning keeps, and their delivered types:
    any of them that differs after cleaning counts as changed. -#}
{%- set types = columns_kept_by(
    ref('stg_transaction_deliveries'), ref('int_transactions_enriched')) -%}
{%- set compared = types.keys() | list %}

{#- What each quarantined row shows, and where it came from. -#}
{%- set shown = ['transaction_id', 'user_id', 'category', 'amount'] -%}
{%- set place = ['_source_file', '_source_row_number', '_load_id'] %}

{#- Compared by one hash first (of where a row came from and its values, in
    the delivered types), then column by column for the few that differ. #}
{%- set delivered_code = place + compared -%}
{%- set cleaned_code = [] -%}
{%- for column in delivered_code -%}
    {%- do cleaned_code.append(
        'cast(enriched.' ~ column ~ ' as ' ~ types[column] ~ ')'
        if column in types else 'enriched.' ~ column) -%}
{%- endfor %}

with deliveries as (
    select
        {{ (shown + compared + place
            + ['delivery_rank', 'is_same_as_first_delivery'])
           | unique | join(',\n        ') }},
        {{ row_hash(delivered_code) }} as row_code
    from {{ ref('stg_transaction_deliveries') }}
),

cleaned as (
    {#- The anti join's build side, held in memory (or spilled): one
        number per cleaned row. (A code computed inside the subquery below
        would make DuckDB deduplicate every delivered row first.) -#}
    select {{ row_hash(cleaned_code) }} as row_code
    from {{ ref('int_transactions_enriched') }} as enriched
),

featurised_users as (
    {#- The users with a feature row: a kept transaction of any other user
        is excluded from the features. (Reading them here, not the
        profiles, also runs this model after user_features, rather than
        beside it, each with the whole memory.) -#}
    select user_id
    from {{ ref('user_features') }}
),

flagged as (
    {#- The delivered rows that no cleaned row equals, where it came from
        and values alike: dropped, or kept with values changed. Few, so
        held for the two readers below. -#}
    select deliveries.*
    from deliveries
    where not exists (
        select cleaned.row_code
        from cleaned
        where cleaned.row_code = deliveries.row_code
    )
),

cleaned_rows_of_note as (
    {#- One pass over the cleaned history for the rest: the kept rows that
        were flagged (beside their delivered values), and the rows whose
        user has no feature row. -#}
    select
        enriched.transaction_id,
        enriched.user_id,
        enriched.category,
        enriched.amount,
        enriched.is_amount_sign_fixed,
        enriched.is_amount_imputed,
        flagged.transaction_id is not null as is_flagged,
        featurised_users.user_id is null as is_excluded_from_features,
        concat_ws(
            ', ',
            {%- for column in compared %}
            case
                when flagged.{{ column }}
                    is distinct from enriched.{{ column }}
                    then '{{ column }}'
            end{{ "," if not loop.last }}
            {%- endfor %}
            {%- if not compared %}cast(null as string){% endif %}
        ) as changed_columns,
        enriched._source_file,
        enriched._source_row_number,
        enriched._load_id
    from {{ ref('int_transactions_enriched') }} as enriched
    left join flagged
        on
            enriched.transaction_id = flagged.transaction_id
            {%- for column in place %}
            and enriched.{{ column }} = flagged.{{ column }}
            {%- endfor %}
    left join featurised_users
        on enriched.user_id = featurised_users.user_id
    where
        flagged.transaction_id is not null
        or featurised_users.user_id is null
),

dropped as (
    {#- A flagged row that is not the one kept for its transaction_id. -#}
    select
        {{ shown | join(',\n        ') }},
        case
            when delivery_rank > 1 and is_same_as_first_delivery
                then 'exact_duplicate'
            when delivery_rank > 1 then 'conflicting_duplicate'
            else 'dropped_by_cleaning'
        end as reason,
        'dropped' as outcome,
        cast(null as string) as changed_columns,
        {{ place | join(',\n        ') }}
    from flagged
    where not exists (
        select kept.transaction_id
        from cleaned_rows_of_note as kept
        where
            kept.is_flagged
            and kept.transaction_id = flagged.transaction_id
            {%- for column in place %}
            and kept.{{ column }} = flagged.{{ column }}
            {%- endfor %}
    )
),

changed as (
    select
        {{ shown | join(',\n        ') }},
        case
            when is_amount_sign_fixed then 'negative_amount_fixed'
            when is_amount_imputed then 'null_amount_imputed'
            else 'changed_by_cleaning'
        end as reason,
        'changed' as outcome,
        changed_columns,
        {{ place | join(',\n        ') }}
    from cleaned_rows_of_note
    {#- Equal hashes are equal values; unequal hashes of equal values (a
        type that prints alike) change nothing. #}
    where is_flagged and changed_columns != ''
),

excluded_from_features as (
    select
        {{ shown | join(',\n        ') }},
        'user_without_profile' as reason,
        'excluded_from_features' as outcome,
        cast(null as string) as changed_columns,
        {{ place | join(',\n        ') }}
    from cleaned_rows_of_note
    where is_excluded_from_features
),

quarantined as (
    select * from dropped
    union all
    select * from changed
    union all
    select * from excluded_from_features
)

select * from quarantined
