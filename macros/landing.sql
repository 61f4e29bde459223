{#
    The landing zone. Each dataset arrives as one Parquet file, one CSV file,
    or a folder of either (one file per delivered batch). Before any model
    runs, `register_landing_readers` (an on-run-start hook) asks the
    `inspect_landing` function, which the project's dbt-duckdb plugin
    (plugins/feature_pipeline_guard.py) registers, to check every raw file
    against the contract below. If a file is unusable the run stops with one
    sentence naming the file and column; otherwise a DuckDB table macro
    `landing_<dataset>()` is (re)created to read exactly those files, and the
    sources' `external_location` calls it.
#}

{% macro landing_datasets() %}
    {#- Required columns and their types, per dataset (SPEC section 1). -#}
    {{ return({
        'transactions': {
            'transaction_id': 'BIGINT',
            'user_id': 'BIGINT',
            'product_id': 'BIGINT',
            'category': 'VARCHAR',
            'amount': 'DOUBLE',
            'quantity': 'BIGINT',
            'timestamp': 'TIMESTAMP',
        },
        'user_profiles': {
            'user_id': 'BIGINT',
            'age': 'BIGINT',
            'region': 'VARCHAR',
            'account_age_days': 'BIGINT',
            'is_premium': 'BIGINT',
        },
    }) }}
{% endmacro %}


{% macro register_landing_readers() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set root = (var('raw_data_dir') | string).rstrip('/') -%}
    {%- set inspection = run_query(
        "select inspect_landing(" ~ dbt.string_literal(root) ~ ", "
        ~ dbt.string_literal(tojson(landing_datasets())) ~ ")"
    ).columns[0].values()[0] -%}
    {%- set answer = fromjson(inspection) -%}
    {%- if answer.error -%}
        {{ exceptions.raise_compiler_error(answer.error) }}
    {%- endif -%}

    {#- What was found, for run summaries and lineage. #}
    create or replace table main.landing_files as
    select * from (values
    {%- for dataset, found in answer.datasets.items() %}
        {%- set outer = loop %}
        {%- for file in found.files %}
        ({{ dbt.string_literal(dataset) }}, {{ dbt.string_literal(file.path) }},
         {{ dbt.string_literal(found.format) }}, {{ file.rows }}::bigint)
        {{- "," if not (loop.last and outer.last) }}
        {%- endfor %}
    {%- endfor %}
    ) as landing_files (dataset, path, file_format, row_count);

    {%- for dataset, found in answer.datasets.items() %}
    {#- Returned as the hook's SQL, so dbt runs and commits it. #}
    create or replace macro main.landing_{{ dataset }}() as table
        {{ found.reader_sql }};
    {{ log("landing: " ~ dataset ~ " <- " ~ found.files | length ~ " "
           ~ found.format ~ " file(s), "
           ~ found.files | sum(attribute='rows') ~ " rows, in " ~ root,
           info=true) }}
    {%- endfor %}
{% endmacro %}
