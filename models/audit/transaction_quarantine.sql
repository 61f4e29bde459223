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

{%- set shown = ['transaction_id', 'user_id', 'category', 'amount'] -%}
{%- set place = ['_source_file', '_source_row_number', '_load_id'] %}

{#- Compared by hashes first (of where a row came from, and of its values
    in the delivered types), then column by column for the few that differ. #}
{%- set delivered_values = [] -%}
{%- set cleaned_values = [] -%}
{%- for column in compared -%}
    {%- do delivered_values.append('deliveries.' ~ column) -%}
    {%- do cleaned_values.append(
        'cast(enriched.' ~ column ~ ' as ' ~ types[column] ~ ')') -%}
{%- endfor %}

with deliveries as (
    select
        {{ (shown + compared + place
            + ['delivery_rank', 'is_same_as_first_delivery'])
           | unique | join(',\n        ') }}
    from {{ ref('stg_transaction_deliveries') }}
),

cleaned as (
    {#- The join's build side, held in memory (or spilled): three numbers
        per cleaned row. -#}
    select
        enriched.transaction_id,
        {{ row_hash(['enriched._source_file', 'enriched._source_row_number',
                     'enriched._load_id']) }} as placement_hash,
        {{ row_hash(cleaned_values or ["''"]) }} as content_hash
    from {{ ref('int_transactions_enriched') }} as enriched
),

user_profiles as (
    {#- Distinct: a profile delivered twice repeats no row below. -#}
    select distinct user_id
    from {{ ref('stg_user_profiles') }}
),

flagged as (
    {#- The delivered rows that cleaning dropped, or whose values it may
        have changed (their hashes differ): few, so held for two readers. -#}
    select
        deliveries.*,
        coalesce(
            cleaned.placement_hash
            != {{ row_hash(['deliveries._source_file',
                            'deliveries._source_row_number',
                            'deliveries._load_id']) }},
            true
        ) as is_dropped
    {#- A delivered row that is not the one kept for its transaction_id
        counts as dropped. #}
    from deliveries
    left join cleaned
        on deliveries.transaction_id = cleaned.transaction_id
    where
        cleaned.transaction_id is null
        or cleaned.placement_hash
        != {{ row_hash(['deliveries._source_file',
                        'deliveries._source_row_number',
                        'deliveries._load_id']) }}
        or cleaned.content_hash != {{ row_hash(delivered_values or ["''"]) }}
),

dropped as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        case
            when delivery_rank > 1 and is_same_as_first_delivery
                then 'exact_duplicate'
            when delivery_rank > 1 then 'conflicting_duplicate'
            else 'dropped_by_cleaning'
        end as reason,
        'dropped' as outcome,
        cast(null as string) as changed_columns,
        _source_file,
        _source_row_number,
        _load_id
    from flagged
    where is_dropped
),

kept_and_flagged as (
    {#- The flagged rows that cleaning kept (their values may differ). -#}
    select
        {{ (compared + ['transaction_id', 'user_id', 'category'] + place)
           | unique | join(',\n        ') }}
    from flagged
    where not is_dropped
),

cleaned_rows_of_note as (
    {#- One pass over the cleaned history for the rest: the rows whose
        values may have changed (beside their delivered values), and the
        rows whose user has no profile. -#}
    select
        enriched.transaction_id,
        enriched.user_id,
        enriched.category,
        enriched.amount,
        enriched.is_amount_sign_fixed,
        enriched.is_amount_imputed,
        kept_and_flagged.transaction_id is not null as is_flagged,
        user_profiles.user_id is null as is_without_profile,
        concat_ws(
            ', ',
            {%- for column in compared %}
            case
                when kept_and_flagged.{{ column }}
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
    left join kept_and_flagged
        on enriched.transaction_id = kept_and_flagged.transaction_id
    left join user_profiles
        on enriched.user_id = user_profiles.user_id
    where
        kept_and_flagged.transaction_id is not null
        or user_profiles.user_id is null
),

changed as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        case
            when is_amount_sign_fixed then 'negative_amount_fixed'
            when is_amount_imputed then 'null_amount_imputed'
            else 'changed_by_cleaning'
        end as reason,
        'changed' as outcome,
        changed_columns,
        _source_file,
        _source_row_number,
        _load_id
    from cleaned_rows_of_note
    {#- Equal hashes are equal values; unequal hashes of equal values (a
        type that prints alike) change nothing. #}
    where is_flagged and changed_columns != ''
),

without_profile as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        'user_without_profile' as reason,
        'excluded_from_features' as outcome,
        cast(null as string) as changed_columns,
        _source_file,
        _source_row_number,
        _load_id
    from cleaned_rows_of_note
    where is_without_profile
),

quarantined as (
    select * from dropped
    union all
    select * from changed
    union all
    select * from without_profile
)

select * from quarantined
