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
    {#- Required columns and their types, per dataset. -#}
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


{% macro incremental_datasets() %}
    {#- Datasets loaded file by file (only new files on each run), with the
        model holding their delivered rows and the one logging their loads;
        the other datasets are small snapshots read whole every time. -#}
    {{ return({
        'transactions': {
            'deliveries': 'stg_transaction_deliveries',
            'load_log': 'transaction_load_log',
        },
    }) }}
{% endmacro %}


{% macro landing_load_state(models) %}
    {#-
        What the database already holds of an incremental dataset, for the
        inspector to decide which files to read: null (start over), or the
        landing root, format and each loaded file's fingerprint and rows.
        Only `dbt build` and `dbt run` load incrementally; other commands
        read every file (and change no state).
    -#}
    {%- if flags.WHICH not in ('build', 'run') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if flags.FULL_REFRESH -%}
        {{ return({'reason': '--full-refresh was given'}) }}
    {%- endif -%}
    {%- set log = adapter.get_relation(target.database, target.schema, models.load_log) -%}
    {%- set deliveries = adapter.get_relation(target.database, target.schema, models.deliveries) -%}
    {%- if log is none or deliveries is none -%}
        {{ return({'reason': 'nothing was loaded before'}) }}
    {%- endif -%}
    {#- Each file's latest load since the last rebuild (a rebuild loads
        every file then present; files logged before it are gone). -#}
    {%- set latest = run_query(
        "select source_file, file_fingerprint, rows_delivered,"
        ~ " landing_root, file_format from " ~ log
        ~ " where loaded_at >= (select max(loaded_at) from " ~ log
        ~ " where load_mode = 'rebuild')"
        ~ " qualify row_number() over (partition by source_file"
        ~ " order by loaded_at desc) = 1"
    ) -%}
    {%- if latest.rows | length == 0 -%}
        {{ return({'reason': 'nothing was loaded before'}) }}
    {%- endif -%}
    {#- The load log is written last: if the deliveries hold a later load
        than the log, the previous run stopped half way. -#}
    {%- set finished = run_query(
        "select coalesce((select max(_loaded_at) from " ~ deliveries ~ ")"
        ~ " <= (select max(loaded_at) from " ~ log ~ "), false)"
    ).columns[0].values()[0] -%}
    {%- set files = {} -%}
    {%- for row in latest.rows -%}
        {%- do files.update({row[0]: {'fingerprint': row[1], 'rows': row[2]}}) -%}
    {%- endfor -%}
    {{ return({
        'files': files,
        'root': latest.rows[0][3],
        'format': latest.rows[0][4],
        'finished': finished,
    }) }}
{% endmacro %}


{% macro register_landing_readers() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set root = (var('raw_data_dir') | string).rstrip('/') -%}
    {%- set loaded = {} -%}
    {%- for dataset, models in incremental_datasets().items() -%}
        {%- set state = landing_load_state(models) -%}
        {%- if state is not none -%}
            {%- do loaded.update({dataset: state}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set inspection = run_query(
        "select inspect_landing(" ~ sql_literal(root) ~ ", "
        ~ sql_literal(tojson(landing_datasets())) ~ ", "
        ~ sql_literal(tojson(loaded)) ~ ")"
    ).columns[0].values()[0] -%}
    {%- set answer = fromjson(inspection) -%}
    {%- if answer.error -%}
        {{ exceptions.raise_compiler_error(answer.error) }}
    {%- endif -%}
    {%- for warning in answer.warnings %}
    {{ log("WARNING: landing: " ~ warning, info=true) }}
    {%- endfor %}

    {#- What was found, and what this run reads of it, for the load log,
        run summaries and lineage. #}
    create or replace table main.landing_files as
    select * from (values
    {%- for dataset, found in answer.datasets.items() %}
        {%- set outer = loop %}
        {%- for file in found.files %}
        ({{ sql_literal(dataset) }}, {{ sql_literal(file.path) }},
         {{ sql_literal(found.format) }}, {{ file.rows }}::bigint,
         {{ sql_literal(file.action) }},
         {{ sql_literal(file.fingerprint) }},
         {{ sql_literal(file.sha256) if file.sha256 else 'null' }})
        {{- "," if not (loop.last and outer.last) }}
        {%- endfor %}
    {%- endfor %}
    ) as landing_files (
        dataset, path, file_format, row_count, action, file_fingerprint,
        file_sha256
    );

    {#- How each dataset is read on this run: incremental (new files only),
        rebuild (every file, incremental state started over) or full. #}
    create or replace table main.landing_plan as
    select * from (values
    {%- for dataset, found in answer.datasets.items() %}
        ({{ sql_literal(dataset) }}, {{ sql_literal(found.mode) }},
         {{ sql_literal(found.reason) }},
         {{ sql_literal(answer.root) }})
        {{- "," if not loop.last }}
    {%- endfor %}
    ) as landing_plan (dataset, load_mode, load_reason, landing_root);

    {%- for dataset, found in answer.datasets.items() %}
    {#- Returned as the hook's SQL, so dbt runs and commits it. #}
    create or replace macro main.landing_{{ dataset }}() as table
        {{ found.reader_sql }};
    {%- set reading = found.files | selectattr('action', 'equalto', 'load') | list %}
    {%- if found.mode == 'incremental' %}
    {{ log("landing: " ~ dataset ~ " <- " ~ reading | length ~ " new file"
           ~ ("" if reading | length == 1 else "s") ~ ", "
           ~ reading | sum(attribute='rows') ~ " rows; "
           ~ (found.files | length - reading | length) ~ " file"
           ~ ("" if found.files | length - reading | length == 1 else "s")
           ~ " loaded before, in " ~ root,
           info=true) }}
    {%- for path in found.missing %}
    {{ log("WARNING: " ~ path ~ " was loaded before and is no longer in the"
           ~ " landing directory; its rows are kept (a --full-refresh would drop them).",
           info=true) }}
    {%- endfor %}
    {%- else %}
    {{ log("landing: " ~ dataset ~ " <- " ~ reading | length ~ " "
           ~ found.format ~ " file(s), "
           ~ reading | sum(attribute='rows') ~ " rows, in " ~ root
           ~ (" (rebuilding: " ~ found.reason ~ ")" if found.mode == 'rebuild' else ""),
           info=true) }}
    {%- endif %}
    {%- endfor %}
{% endmacro %}
