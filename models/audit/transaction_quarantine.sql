{#-
    The dead-letter record: one row per raw transaction row that staging
    dropped or changed, and per transaction kept out of the features, with
    the reason. Nothing leaves the pipeline silently: raw rows = rows of
    stg_transactions + rows dropped here (a singular test checks it).

    Rebuilt from the cleaned history on every run: imputed amounts show the
    current category median, and profiles that arrive later take users out
    of it.
-#}

with deliveries as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        _source_file,
        _source_row_number,
        _load_id,
        delivery_rank,
        is_same_as_first_delivery
    from {{ ref('stg_transaction_deliveries') }}
    where delivery_rank > 1
),

transactions as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        _source_file,
        _source_row_number,
        _load_id,
        is_amount_sign_fixed,
        is_amount_imputed
    from {{ ref('int_transactions_enriched') }}
),

user_profiles as (
    select user_id
    from {{ ref('stg_user_profiles') }}
),

repeated_deliveries as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        case
            when is_same_as_first_delivery then 'exact_duplicate'
            else 'conflicting_duplicate'
        end as reason,
        'dropped' as outcome,
        _source_file,
        _source_row_number,
        _load_id
    from deliveries
),

amounts_changed as (
    select
        transaction_id,
        user_id,
        category,
        amount,
        case
            when is_amount_sign_fixed then 'negative_amount_fixed'
            else 'null_amount_imputed'
        end as reason,
        'changed' as outcome,
        _source_file,
        _source_row_number,
        _load_id
    from transactions
    where is_amount_sign_fixed or is_amount_imputed
),

without_profile as (
    select
        transactions.transaction_id,
        transactions.user_id,
        transactions.category,
        transactions.amount,
        'user_without_profile' as reason,
        'excluded_from_features' as outcome,
        transactions._source_file,
        transactions._source_row_number,
        transactions._load_id
    from transactions
    anti join user_profiles
        on transactions.user_id = user_profiles.user_id
),

quarantined as (
    select * from repeated_deliveries
    union all
    select * from amounts_changed
    union all
    select * from without_profile
)

select * from quarantined
