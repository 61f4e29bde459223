{#-
    Major drift stops the run, and so publishing, when the var
    drift_blocks_publishing is true (the feature_drift_below_major check
    warns of it either way). The var is read when the test is compiled,
    literally (`setting`). Returns the features that drifted that far.
-#}

{%- set blocks = setting('drift_blocks_publishing') %}
{%- if not (blocks is sameas true or blocks is sameas false) %}
    {{ exceptions.raise_compiler_error(
        "The dbt var drift_blocks_publishing must be true or false, got "
        ~ tojson(blocks) ~ ".") }}
{%- endif %}

{{ config(severity='error' if blocks else 'warn') }}

with drift as (
    select
        feature,
        psi,
        drift
    from {{ ref('feature_drift') }}
)

select * from drift
where drift = 'major' and {{ 'true' if blocks else 'false' }}
