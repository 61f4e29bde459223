{#
    The landing zone. Each dataset arrives as one Parquet file, one CSV file,
    or a folder of either (one file per delivered batch). Before any model
    runs, `register_landing_readers` (an on-run-start hook) asks the
    `inspect_landing` function of the project's dbt-duckdb plugin
    (plugins/feature_pipeline_guard.py) to check every file still to be read
    against the contract below. If a file is unusable the run stops with one
    sentence naming the file and column. Otherwise the hook defines the
    DuckDB table macros the sources read (`landing_<dataset>()` and
    `landing_files()`, the plan); it changes no table. The staging model
    itself takes out the rows it reads again (`start_load`, its pre-hook):
    docs/incremental.md tells the whole story.
#}

{% macro landing_datasets() %}
    {#- Required columns and their types, per dataset (the var
        landing_contract in dbt_project.yml). -#}
    {%- set contract = setting('landing_contract') -%}
    {%- if contract is not mapping
           or not (contract.get('transactions') is mapping
                   and contract.get('user_profiles') is mapping) -%}
        {{ exceptions.raise_compiler_error(
            "The dbt var landing_contract must map each dataset"
            ~ " (transactions, user_profiles) to its columns and their types,"
            ~ " got " ~ tojson(contract) ~ ".") }}
    {%- endif -%}
    {{ return(contract) }}
{% endmacro %}


{% macro landing_relation(name) %}
    {#- A model's table in the target schema, or none before its first build. -#}
    {{ return(adapter.get_relation(target.database, target.schema, name)) }}
{% endmacro %}


{% macro this_run_loads_transactions() %}
    {#- Only a `dbt build` or `dbt run` that builds the staging model loads
        files; any other command (or selection) reads the landing files but
        changes no state. -#}
    {{ return(flags.WHICH in ('build', 'run')
              and 'model.feature_pipeline.stg_transaction_deliveries'
                  in selected_resources) }}
{% endmacro %}


{% macro committed_transaction_loads() %}
    {#-
        What the database holds of the transactions, as the load log tells:
        the loads committed since the last rebuild (a load commits when its
        run's checks pass, see transaction_loads), each file's latest load.
        Returns the inspector's `loaded` argument: null (start over, with a
        reason) or the landing root, format and loaded files.
    -#}
    {%- if flags.FULL_REFRESH -%}
        {{ return({'reason': '--full-refresh was given'}) }}
    {%- endif -%}
    {%- set log = landing_relation('transaction_loads') -%}
    {%- set deliveries = landing_relation('stg_transaction_deliveries') -%}
    {%- if log is none or deliveries is none -%}
        {{ return({'reason': 'nothing was loaded before'}) }}
    {%- endif -%}
    {#- run_query, not get_columns_in_relation: that one opens a
        transaction the hook's SQL would be rolled back with. -#}
    {%- if 'history_code' not in run_query(
            "select * from " ~ log ~ " limit 0").column_names -%}
        {{ return({'reason': 'the load log predates history_code'}) }}
    {%- endif -%}
    {%- set generation -%}
        select *
        from {{ log }}
        where load_id >= (
            select max(load_id) from {{ log }} where load_mode = 'rebuild'
        )
    {%- endset -%}
    {%- set latest = run_query(
        "select source_file, file_fingerprint, rows_delivered, file_sha256,"
        ~ " landing_root, file_format, load_id, history_code"
        ~ " from (" ~ generation ~ ")"
        ~ " qualify row_number() over (partition by source_file"
        ~ " order by load_id desc) = 1"
    ) -%}
    {%- if latest.rows | length == 0 -%}
        {{ return({'reason': 'nothing was loaded before'}) }}
    {%- endif -%}
    {%- if (latest.rows | sort(attribute='load_id') | last)['history_code']
            != history_code() -%}
        {{ return({'reason': 'stg_transaction_deliveries, a macro it calls'
                   ~ ' or the transactions landing contract changed since'
                   ~ ' the last load'}) }}
    {%- endif -%}
    {#- The stored rows must be exactly those of the committed loads (a
        rebuild that failed leaves other rows: start over). -#}
    {%- set balance = run_query(
        "select (select coalesce(sum(rows_delivered), 0) from (" ~ generation ~ "))"
        ~ " = (select count(*) from " ~ deliveries
        ~ " where _load_id <= (select max(load_id) from " ~ log ~ "))"
    ).columns[0].values()[0] -%}
    {%- if not balance -%}
        {{ return({'reason': 'the stored transactions do not match the load log'}) }}
    {%- endif -%}
    {%- set files = {} -%}
    {%- for row in latest.rows -%}
        {%- do files.update({row[0]: {
            'fingerprint': row[1], 'rows': row[2], 'sha256': row[3]}}) -%}
    {%- endfor -%}
    {{ return({'files': files, 'root': latest.rows[0][4],
               'format': latest.rows[0][5]}) }}
{% endmacro %}


{% macro history_code() %}
    {#- A fingerprint of what makes the stored transaction history: the
        staging model's file, the project macros it calls and the
        transactions' landing contract. The load log keeps it with every
        load; when it differs, the history is rebuilt from every file, so
        no stored row is left as earlier code made it. -#}
    {%- set node = graph.nodes['model.' ~ project_name
                               ~ '.stg_transaction_deliveries'] -%}
    {%- set parts = [node.checksum.checksum,
                     tojson(landing_datasets()['transactions'])] -%}
    {%- for macro_id in node.depends_on.macros
            if macro_id.startswith('macro.' ~ project_name ~ '.') -%}
        {%- set name = macro_id.split('.')[-1] -%}
        {%- for form in [name, adapter.type() ~ '__' ~ name, 'default__' ~ name]
                if context.get(form) -%}
            {%- do parts.append(context[form].macro.macro_sql) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join('\n'))) }}
{% endmacro %}


{% macro next_load_id() %}
    {#- Loads are numbered in the database, never by the clock: one more
        than the last committed load. -#}
    {%- set log = landing_relation('transaction_loads') -%}
    {%- if log is none -%}{{ return(1) }}{%- endif -%}
    {{ return(run_query(
        "select coalesce(max(load_id), 0) + 1 from " ~ log
    ).columns[0].values()[0]) }}
{% endmacro %}


{% macro loads_onto_history() %}
    {#- Whether stg_transaction_deliveries appends this run's rows to the
        rows it holds (an incremental load), rather than reading every file
        again (a rebuild, or a command that loads nothing): then its earlier
        rows are neither read nor kept, so they may have another shape.
        Read from the plan when the model is compiled. -#}
    {%- set plan = source('landing', 'files') -%}
    {%- if not (execute and is_incremental()) -%}{{ return(false) }}{%- endif -%}
    {{ return(run_query(
        "select count(*) = 0 from " ~ plan ~ " where dataset = 'transactions'"
        ~ " and load_mode in ('rebuild', 'full')"
    ).columns[0].values()[0]) }}
{% endmacro %}


{% macro start_load() %}
    {#- The pre-hook of stg_transaction_deliveries, on its own table: before
        the model appends this run's rows, it takes out the rows this run
        reads again. That is the rows of an earlier load that never
        committed (it had this load's number: its run failed or stopped),
        or every row when this run reads every file (a rebuild, or a
        command that loads nothing: loads_onto_history says which). -#}
    {%- set plan = source('landing', 'files') -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    {%- if loads_onto_history() %}
    where _load_id >= (select min(load_id) from {{ plan }})
    {%- endif %}
    {%- endif %}
{% endmacro %}


{% macro register_landing_readers() %}
    {#- The on-run-start hook; Spark's form is in macros/spark_landing.sql. -#}
    {{- return(adapter.dispatch('register_landing_readers')()) -}}
{% endmacro %}


{% macro default__register_landing_readers() %}
    {{- engine_needs('register_landing_readers') -}}
{% endmacro %}


{% macro duckdb__register_landing_readers() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set root = (pipeline_path('raw_data_dir') | string).rstrip('/') -%}
    {%- set loads = this_run_loads_transactions() -%}
    {#- A load reads only the files not committed before. A command that
        loads nothing reads every file (its checks see all of them), but
        inspects only those not committed before. -#}
    {%- set loaded = {'transactions': committed_transaction_loads(),
                      'read_all': not loads,
                      'output_dir': pipeline_path('output_dir')} -%}
    {%- set load_id = next_load_id() -%}
    {%- set code = history_code() -%}
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

    {#- The rest is returned as the hook's SQL, so dbt runs and commits it. #}
    {#- The rows of this run's checks: this load's, or every row for a
        command that loads nothing. #}
    create or replace macro first_load_to_check() as
        {{ load_id if loads else 0 }};

    {#- What this run found and does with each file: the landing_plan
        model shows it. #}
    create or replace macro landing_files() as table
    select * from (values
    {%- for dataset, found in answer.datasets.items() %}
        {%- set outer = loop %}
        {%- for file in found.files %}
        ({{ sql_literal(dataset) }}, {{ sql_literal(file.path) }},
         {{ sql_literal(found.format) }}, {{ file.rows }}::bigint,
         {{ sql_literal(file.action) }},
         {{ sql_literal(file.fingerprint) }},
         {{ sql_literal(file.sha256) if file.sha256 else 'null' }},
         {{ sql_literal(found.mode) }}, {{ sql_literal(found.reason) }},
         {{ sql_literal(answer.root) }}, {{ load_id }}::bigint,
         {{ sql_literal(code) }})
        {{- "," if not (loop.last and outer.last) }}
        {%- endfor %}
    {%- endfor %}
    ) as landing_files (
        dataset, path, file_format, row_count, action, file_fingerprint,
        file_sha256, load_mode, load_reason, landing_root, load_id,
        history_code
    );

    {%- for dataset, found in answer.datasets.items() %}
    create or replace macro landing_{{ dataset }}() as table
        select *, {{ load_id }}::bigint as _load_id
        from ({{ found.reader_sql }});
    {%- set reading = found.files | selectattr('action', 'equalto', 'load') | list %}
    {%- set held = found.files | length - reading | length %}
    {%- if found.mode == 'incremental' %}
    {{ log("landing: " ~ dataset ~ " <- " ~ reading | length ~ " new file"
           ~ ("" if reading | length == 1 else "s") ~ ", "
           ~ reading | sum(attribute='rows') ~ " rows; "
           ~ held ~ " file" ~ ("" if held == 1 else "s")
           ~ " loaded before, in " ~ root ~ "; inspected " ~ found.inspected,
           info=true) }}
    {%- if found.missing %}
    {{ log("WARNING: landing: " ~ found.missing | length ~ " loaded file(s) of "
           ~ dataset ~ " are no longer in " ~ root ~ ", e.g. "
           ~ found.missing[0] ~ "; their rows are kept (a --full-refresh"
           ~ " would drop them).", info=true) }}
    {%- endif %}
    {%- else %}
    {{ log("landing: " ~ dataset ~ " <- " ~ reading | length ~ " "
           ~ found.format ~ " file(s), "
           ~ reading | sum(attribute='rows') ~ " rows, in " ~ root
           ~ (" (rebuilding: " ~ found.reason ~ ")" if found.mode == 'rebuild' else "")
           ~ "; inspected " ~ found.inspected
           ~ (" (" ~ (reading | length - found.inspected) ~ " were inspected"
              ~ " when they were loaded)"
              if found.inspected < reading | length else ""),
           info=true) }}
    {%- endif %}
    {%- endfor %}
{% endmacro %}
