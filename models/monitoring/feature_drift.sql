{#-
    Population Stability Index of every feature of this run against the
    baseline: PSI = sum over bins of (current - baseline) * ln(current /
    baseline). Below drift_psi_warn no significant shift; from it, moderate
    drift (warns); from drift_psi_major, major drift (warns, or blocks
    publishing when drift_blocks_publishing is true). A run without a
    baseline reports every feature as skipped.
-#}

{%- set features = drift_features() | map(attribute='name') | list %}

with bins as (
    select
        feature,
        psi_term
    from {{ ref('feature_drift_bins') }}
),

psi as (
    select
        feature,
        sum(psi_term) as psi
    from bins
    group by feature
),

features as (
    select *
    from (
        values
        {%- for feature in features %}
        ({{ loop.index }}, '{{ feature }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as features (feature_order, feature)
)

select
    features.feature,
    features.feature_order,
    psi.psi,
    case
        when psi.psi is null then 'skipped'
        when psi.psi >= {{ number_var('drift_psi_major') }} then 'major'
        when psi.psi >= {{ number_var('drift_psi_warn') }} then 'moderate'
        else 'none'
    end as drift
from features
left join psi
    on features.feature = psi.feature
order by features.feature_order
