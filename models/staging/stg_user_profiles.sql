{#- User profiles, typed and trimmed; one row per delivered profile. -#}

with user_profiles as (
    select
        user_id,
        age,
        region,
        account_age_days,
        is_premium,
        _source_file
    from {{ landing_rows('user_profiles') }} as landing_user_profiles
),

typed as (
    select
        cast(user_id as bigint) as user_id,
        cast(age as bigint) as age,
        trim(cast(region as string)) as region,
        cast(account_age_days as bigint) as account_age_days,
        cast(is_premium as bigint) as is_premium,
        _source_file
    from user_profiles
)

select * from typed
