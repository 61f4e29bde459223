{#-
    Volume anomaly, in the manner of a z-score monitor: the number of
    transactions on the latest day of the data against the previous 14 days
    (at least 7 of them needed). Outside mean ± 3 standard deviations is an
    anomaly; the warning test on is_anomalous reports it.
-#}

with transactions as (
    select transacted_at
    from {{ ref('stg_transactions') }}
),

daily as (
    select
        cast(transacted_at as date) as transaction_date,
        count(*) as transaction_count
    from transactions
    group by all
),

latest as (
    select max(transaction_date) as transaction_date
    from daily
),

training as (
    select
        count(*) as training_days,
        avg(daily.transaction_count) as training_mean,
        stddev_samp(daily.transaction_count) as training_stddev
    from daily
    cross join latest
    where
        daily.transaction_date
        >= latest.transaction_date - {{ number_var('volume_training_days') }}
        and daily.transaction_date < latest.transaction_date
),

scored as (
    select
        latest.transaction_date,
        daily.transaction_count,
        training.training_days,
        training.training_mean,
        training.training_stddev,
        (daily.transaction_count - training.training_mean)
        / nullif(training.training_stddev, 0) as z_score
    from latest
    inner join daily
        on latest.transaction_date = daily.transaction_date
    cross join training
)

select
    *,
    case
        when training_days < {{ number_var('volume_min_training_days') }}
            then null
        when training_stddev = 0 or training_stddev is null
            then transaction_count != training_mean
        else abs(z_score) > {{ number_var('volume_sensitivity') }}
    end as is_anomalous
from scored
