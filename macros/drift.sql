{% macro drift_features() %}
    {#- The features compared with the baseline, read from the contract of
        user_features so that a new column is compared without a list to
        edit: one dict per feature (name, kind, columns, labels), in column
        order. Numeric types are binned at the baseline's deciles; every
        other column is compared category by category, booleans as
        true/false, except the one-hot region columns (one per row of the
        regions seed), which together are one categorical feature, `region`,
        labelled with the seed's names. -#}
    {#- The regions seed is a parent of every model calling this: its rows
        name the region columns. -#}
    {%- set regions_seed = ref('regions') -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {#- The seed's table is missing only when the project is compiled
        without a build (SQL linting); its columns are then plain booleans. -#}
    {%- set regions = load_relation(regions_seed) -%}
    {%- set region_names = [] if regions is none else run_query(
        "select region from " ~ regions ~ " order by column_order"
    ).columns[0].values() -%}
    {%- set region_columns = {} -%}
    {%- for region in region_names -%}
        {%- do region_columns.update({('region_' ~ region) | lower: region}) -%}
    {%- endfor -%}
    {%- set numeric_types = [
        'tinyint', 'smallint', 'integer', 'int', 'bigint', 'hugeint',
        'utinyint', 'usmallint', 'uinteger', 'ubigint', 'uhugeint',
        'float', 'real', 'double', 'decimal', 'numeric',
    ] -%}
    {%- set features = [] -%}
    {%- set region = {'name': 'region', 'kind': 'categorical', 'columns': [], 'labels': []} -%}
    {%- set contract = graph.nodes['model.feature_pipeline.user_features'].columns -%}
    {#- user_id is the key, not a feature. -#}
    {%- for column in contract.values() if column.name != 'user_id' -%}
        {%- set data_type = (column.data_type or '') | lower -%}
        {%- if column.name | lower in region_columns and data_type == 'boolean' -%}
            {%- if not region.columns -%}{%- do features.append(region) -%}{%- endif -%}
            {%- do region.columns.append(column.name) -%}
            {%- do region.labels.append(region_columns[column.name | lower]) -%}
        {%- else -%}
            {%- do features.append({
                'name': column.name,
                'kind': 'numeric' if data_type.split('(')[0].strip() in numeric_types
                        else 'categorical',
                'columns': [column.name],
                'labels': [],
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(features) }}
{% endmacro %}


{% macro drift_category(feature, relation_alias) %}
    {#- The category of a row for a categorical feature: the region a one-hot
        row encodes ('none' when no column is set), or the value as text
        ('(null)' for a missing one). -#}
    {%- if feature.labels -%}
    case
        {%- for column in feature.columns %}
        when {{ relation_alias }}.{{ adapter.quote(column) }}
            then {{ sql_literal(feature.labels[loop.index0]) }}
        {%- endfor %}
        else 'none'
    end
    {%- else -%}
    coalesce(
        cast({{ relation_alias }}.{{ adapter.quote(feature.name) }} as varchar),
        '(null)'
    )
    {%- endif -%}
{% endmacro %}


{% macro given_drift_baseline() %}
    {#- A baseline the user named: the var drift_baseline, or else the
        environment's DRIFT_BASELINE (taken literally); none when neither. -#}
    {{ return(setting('drift_baseline') or env_var('DRIFT_BASELINE', '') or none) }}
{% endmacro %}


{% macro drift_baseline_path() %}
    {#- The features this run is compared with: the baseline the user named,
        or else the currently published file (before this run replaces it). -#}
    {{ return(given_drift_baseline()
              or (pipeline_path('output_dir') ~ '/user_features.parquet')) }}
{% endmacro %}


{% macro drift_baseline_exists() %}
    {#- True when the baseline is a readable Parquet file with every feature.
        Anything else (a first run, an older schema, a damaged file) skips
        drift with a warning instead of stopping the run. -#}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set path = drift_baseline_path() -%}
    {%- set answer = fromjson(run_query(
        "select parquet_columns(" ~ sql_literal(path) ~ ")"
    ).columns[0].values()[0]) -%}
    {%- if answer.error == 'missing' and given_drift_baseline() -%}
        {#- A first run has no published file: nothing to compare. A
            baseline the user named must exist. -#}
        {{ exceptions.raise_compiler_error(
            "The drift baseline " ~ path ~ " (DRIFT_BASELINE or the var"
            ~ " drift_baseline) does not exist: name an existing Parquet file of"
            ~ " published features, or none to compare with the published file.") }}
    {%- elif answer.error == 'missing' -%}
        {{ return(false) }}
    {%- elif answer.error -%}
        {{ log("WARNING: drift skipped: baseline " ~ path ~ " is " ~ answer.error, info=true) }}
        {{ return(false) }}
    {%- endif -%}
    {%- set feature_columns = [] -%}
    {%- for feature in drift_features() -%}
        {%- do feature_columns.extend(feature.columns) -%}
    {%- endfor -%}
    {%- set missing = feature_columns | reject('in', answer.columns) | list -%}
    {%- if missing -%}
        {{ log("WARNING: drift skipped: baseline " ~ path ~ " lacks the columns "
               ~ missing | join(', '), info=true) }}
        {{ return(false) }}
    {%- endif -%}
    {{ return(true) }}
{% endmacro %}


{% macro drift_categories(features, relation_alias) %}
    {#- `<category of f> as f, ...`: categorical features as text for unpivot. -#}
    {%- for feature in features -%}
        {{ drift_category(feature, relation_alias) }}
        as {{ adapter.quote(feature.name) }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}


{% macro columns_as_double(columns) %}
    {#- `cast(c as double) as c, ...`: features on one scale for unpivot. -#}
    {%- for column in columns -%}
        cast({{ column }} as double) as {{ column }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}


{% macro drift_decile_cuts(features) %}
    {#- `quantile_cont(f, [0.1 ... 0.9]) as f, ...`: nine cut points (ten
        bins) per feature, as one list per column. -#}
    {%- for feature in features -%}
        {{ quantiles(feature, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) }}
        as {{ feature }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}


{% macro drift_histograms(features) %}
    {#- `histogram(f) as f, ...`: each feature's count per bin, as a map. -#}
    {%- for feature in features -%}
        histogram({{ feature }}) as {{ feature }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}


{% macro drift_bin_indexes(features, cuts, values) %}
    {#- Per feature, the bin of each value: how many of its nine cut points
        lie below it, as a sum of comparisons (far cheaper per row than
        filtering the list). A null value is in bin 0: the sum is null,
        and is coalesced once, not per comparison. -#}
    {%- for feature in features -%}
        cast(coalesce(
        {%- for position in range(1, 10) %}
            cast({{ cuts }}.{{ feature }}[{{ position }}] < {{ values }}.{{ feature }} as tinyint)
            {{- " +" if not loop.last }}
        {%- endfor %}
        , 0) as utinyint) as {{ feature }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}
