{#-
    The distribution of every feature in this run against a baseline, bin by
    bin: numeric features in 10 bins cut at the baseline's deciles, the
    others (text, booleans, the region) by category, over the categories of
    both sides. The features are the contract columns of user_features
    (macros/drift.sql). The shares feed the Population Stability Index in
    feature_drift and the histograms of the validation report. Without a
    baseline (a first run) the model is empty and drift is reported as
    skipped.
-#}

{%- set all_features = drift_features() %}
{%- set features = all_features | selectattr('kind', 'equalto', 'numeric')
    | map(attribute='name') | list %}
{%- set categorical_features = all_features
    | selectattr('kind', 'equalto', 'categorical') | list %}
{%- set baseline_exists = drift_baseline_exists() %}

with current_features as (
    select *
    from {{ ref('user_features') }}
),

baseline_features as (
    {%- if baseline_exists %}
    select *
    from
        read_parquet(
            {{ sql_literal(exact_file(drift_baseline_path())) }},
            hive_partitioning = false
        )
    {%- else %}
    select *
    from current_features
    where false
    {%- endif %}
),

both_sides as (
    select
        'current' as side,
        {{ columns_as_double(features) }}
    from current_features
    union all
    select
        'baseline' as side,
        {{ columns_as_double(features) }}
    from baseline_features
),

cuts_by_feature as (
    {#- Nine baseline deciles make ten bins; equal deciles (a feature with
        few distinct values) leave some bins empty, which is fine. One row,
        one list of cut points per feature column. -#}
    select {{ drift_decile_cuts(features) }}
    from both_sides
    where side = 'baseline'
),

cut_points as (
    unpivot cuts_by_feature
    on {{ features | join(', ') }}
    into name feature value cuts
),

binned_wide as (
    {#- Each value's bin is the number of cut points below it: nine
        comparisons on the wide rows, which is far cheaper than comparing
        every unpivoted value with a list. -#}
    select
        both_sides.side,
        {{ drift_bin_indexes(features, 'cuts_by_feature', 'both_sides') }}
    from both_sides
    cross join cuts_by_feature
),

bin_histograms as (
    {#- Per side, each feature's count per bin (a map), counted on the wide
        rows rather than on a row per value and feature. -#}
    select
        side,
        {{ drift_histograms(features) }}
    from binned_wide
    group by side
),

histograms as (
    unpivot bin_histograms
    on {{ features | join(', ') }}
    into name feature value counts
),

numeric_bins as (
    select
        cut_points.feature,
        'numeric' as feature_kind,
        bins.bin_index,
        cast(bins.bin_index as varchar) as bin_label,
        case when bins.bin_index > 0 then cut_points.cuts[bins.bin_index] end
            as lower_bound,
        case
            when bins.bin_index < 9 then cut_points.cuts[bins.bin_index + 1]
        end
            as upper_bound,
        cast(coalesce(
            baseline_side.counts[cast(bins.bin_index as utinyint)], 0
        ) as bigint) as baseline_count,
        cast(coalesce(
            current_side.counts[cast(bins.bin_index as utinyint)], 0
        ) as bigint) as current_count
    from cut_points
    cross join range(10) as bins (bin_index)
    left join histograms as baseline_side
        on
            cut_points.feature = baseline_side.feature
            and baseline_side.side = 'baseline'
    left join histograms as current_side
        on
            cut_points.feature = current_side.feature
            and current_side.side = 'current'
),

category_sides as (
    select
        'current' as side,
        {{ drift_categories(categorical_features, 'current_features') }}
    from current_features
    union all
    select
        'baseline' as side,
        {{ drift_categories(categorical_features, 'baseline_features') }}
    from baseline_features
),

categories as (
    unpivot category_sides
    on {{ categorical_features | map(attribute='name') | join(', ') }}
    into name feature value category
),

category_counts as (
    select
        feature,
        category,
        count(*) filter (where side = 'baseline') as baseline_count,
        count(*) filter (where side = 'current') as current_count
    from categories
    group by feature, category
),

categorical_bins as (
    {#- Every category seen on either side is a bin. #}
    select
        feature,
        'categorical' as feature_kind,
        row_number() over (partition by feature order by category) - 1
            as bin_index,
        category as bin_label,
        cast(null as double) as lower_bound,
        cast(null as double) as upper_bound,
        baseline_count,
        current_count
    from category_counts
    where {{ 'true' if baseline_exists else 'false' }}
),

all_bins as (
    select * from numeric_bins
    union all
    select * from categorical_bins
),

shares as (
    select
        *,
        {#- Empty bins are floored so the PSI stays finite. #}
        greatest(
            baseline_count / sum(baseline_count) over (partition by feature),
            {{ number_var('drift_empty_bin_floor') }}
        ) as baseline_share,
        greatest(
            current_count / sum(current_count) over (partition by feature),
            {{ number_var('drift_empty_bin_floor') }}
        ) as current_share
    from all_bins
),

psi_terms as (
    select
        *,
        (current_share - baseline_share) * ln(current_share / baseline_share)
            as psi_term
    from shares
)

select * from psi_terms
