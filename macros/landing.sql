{#
    The landing zone. Each dataset arrives as one Parquet file, one CSV file,
    or a folder of either (one file per delivered batch). The landing_plan
    model is built first: when it is compiled, `plan_landing` asks the
    inspector (on DuckDB the `inspect_landing` function of the project's
    dbt-duckdb plugin, plugins/feature_pipeline_guard.py; on Spark the same
    inspector, run before dbt starts) to check every file still to be read
    against the contract below. If a file is unusable the model fails with
    one sentence naming the file and column, and nothing downstream runs.
    Otherwise the plan holds one row per file: what this run does with it.
    The staging models read the files the plan names (`landing_rows`), and
    stg_transaction_deliveries takes out the rows it reads again
    (`start_load`, its pre-hook): docs/incremental.md tells the whole story.
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
    {#- The log's columns from an empty result: a log kept from before
        history_code was added lacks it. -#}
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
    {%- set plan = ref('landing_plan') -%}
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
    {%- set plan = ref('landing_plan') -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    {%- if loads_onto_history() %}
    where _load_id >= (select min(load_id) from {{ plan }})
    {%- endif %}
    {%- endif %}
{% endmacro %}


{% macro plan_landing() %}
    {#- The landing_plan model's rows, when it is compiled: every landing
        file with what this run does with it. Stops the run, naming the file
        and column, when a file cannot be read; logs what was found. -#}
    {%- set root = (pipeline_path('raw_data_dir') | string).rstrip('/') -%}
    {%- set loads = this_run_loads_transactions() -%}
    {%- set load_id = next_load_id() -%}
    {%- set code = history_code() -%}
    {%- set answer = landing_answer(root, loads) -%}
    {%- if answer.error -%}
        {{ exceptions.raise_compiler_error(answer.error) }}
    {%- endif -%}
    {%- for warning in answer.warnings -%}
        {{ log("WARNING: landing: " ~ warning, info=true) }}
    {%- endfor -%}
    {%- set rows = [] -%}
    {%- for dataset, found in answer.datasets.items() -%}
        {%- for file in found.files -%}
            {%- do rows.append({
                'dataset': dataset, 'path': file.path,
                'file_format': found.format, 'row_count': file.rows,
                'action': file.action, 'file_fingerprint': file.fingerprint,
                'file_sha256': file.sha256 or none,
                'load_mode': found.mode, 'load_reason': found.reason,
                'landing_root': answer.root, 'load_id': load_id,
                'history_code': code,
                'first_load_to_check': load_id if loads else 0,
                'file_columns': tojson(file.columns) if file.columns else none,
                'invocation_id': invocation_id}) -%}
        {%- endfor -%}
        {%- do log_landing(dataset, found, root) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}


{% macro log_landing(dataset, found, root) %}
    {#- One line per dataset: what this run reads of it, and why. -#}
    {%- set reading = found.files | selectattr('action', 'equalto', 'load') | list -%}
    {%- set held = found.files | length - reading | length -%}
    {%- if found.mode == 'incremental' -%}
        {{ log("landing: " ~ dataset ~ " <- " ~ reading | length ~ " new file"
               ~ ("" if reading | length == 1 else "s") ~ ", "
               ~ reading | sum(attribute='rows') ~ " rows; "
               ~ held ~ " file" ~ ("" if held == 1 else "s")
               ~ " loaded before, in " ~ root ~ "; inspected " ~ found.inspected,
               info=true) }}
        {%- if found.missing -%}
            {{ log("WARNING: landing: " ~ found.missing | length ~ " loaded file(s) of "
                   ~ dataset ~ " are no longer in " ~ root ~ ", e.g. "
                   ~ found.missing[0] ~ "; their rows are kept (a --full-refresh"
                   ~ " would drop them).", info=true) }}
        {%- endif -%}
    {%- else -%}
        {{ log("landing: " ~ dataset ~ " <- " ~ reading | length ~ " "
               ~ found.format ~ " file(s), "
               ~ reading | sum(attribute='rows') ~ " rows, in " ~ root
               ~ (" (rebuilding: " ~ found.reason ~ ")" if found.mode == 'rebuild' else "")
               ~ "; inspected " ~ found.inspected
               ~ (" (" ~ (reading | length - found.inspected) ~ " were inspected"
                  ~ " when they were loaded)"
                  if found.inspected < reading | length else ""),
               info=true) }}
    {%- endif -%}
{% endmacro %}


{% macro landing_answer(root, loads) %}
    {#- The inspector's answer for the landing folder (parsed JSON): each
        dataset's files, load mode and reason, or the error sentence. -#}
    {{- return(adapter.dispatch('landing_answer')(root, loads)) -}}
{% endmacro %}


{% macro default__landing_answer(root, loads) %}
    {{- engine_needs('landing_answer') -}}
{% endmacro %}


{% macro duckdb__landing_answer(root, loads) %}
    {#- A load reads only the files not committed before. A command that
        loads nothing reads every file (its checks see all of them), but
        inspects only those not committed before. -#}
    {%- set loaded = {'transactions': committed_transaction_loads(),
                      'read_all': not loads,
                      'output_dir': pipeline_path('output_dir')} -%}
    {{ return(fromjson(run_query(
        "select inspect_landing(" ~ sql_literal(root) ~ ", "
        ~ sql_literal(tojson(landing_datasets())) ~ ", "
        ~ sql_literal(tojson(loaded)) ~ ")"
    ).columns[0].values()[0])) }}
{% endmacro %}


{% macro landing_rows(dataset) %}
    {#-
        The rows of a landing dataset that this run reads, as a subquery:
        the files of the source that landing_plan names for loading, each
        row tagged with where it came from and this run's load number
        (`_load_id`). Built when the calling model is compiled, from the
        plan this invocation built: a model that would read an older plan
        stops instead. A unit test gives these rows as the source's
        fixture.
    -#}
    {%- set files = source('landing', dataset) -%}
    {%- if model.resource_type == 'unit_test' -%}
        {#- A unit test gives the landing rows as the source's fixture. -#}
        {{ return(files) }}
    {%- endif -%}
    {%- set plan = ref('landing_plan') -%}
    {%- set contract = landing_datasets()[dataset] -%}
    {%- if not execute -%}{{ return(files) }}{%- endif -%}
    {%- set rows = run_query(
        "select path, file_format, action, load_id, invocation_id, file_columns"
        ~ " from " ~ plan ~ " where dataset = " ~ sql_literal(dataset)
        ~ " order by path"
    ).rows if landing_relation('landing_plan') is not none else [] -%}
    {%- set building = flags.WHICH in ('build', 'run', 'retry')
                       and model.unique_id in selected_resources -%}
    {%- if building and (rows | length == 0 or rows[0][4] != invocation_id) -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " reads the landing files that landing_plan names,"
            ~ " and this invocation did not build landing_plan: run `dbt build`,"
            ~ " or select it too (`dbt build --select +" ~ model.name ~ "+`).") }}
    {%- endif -%}
    {%- set reading = rows | selectattr(2, 'equalto', 'load') | list -%}
    {%- set load_id = rows[0][3] if rows else 0 -%}
    (
        select
            landing_reader.*,
            cast({{ load_id }} as bigint) as _load_id
        from ({{ landing_reader_sql(reading, contract) }}) as landing_reader
    )
{%- endmacro %}


{% macro landing_reader_sql(files, contract) %}
    {#- SQL reading the given landing files (plan rows: path, file_format,
        …, file_columns), tagged with `_source_file` and
        `_source_row_number`; no rows when there are no files. -#}
    {{- return(adapter.dispatch('landing_reader_sql')(files, contract)) -}}
{% endmacro %}


{% macro default__landing_reader_sql(files, contract) %}
    {{- engine_needs('landing_reader_sql') -}}
{% endmacro %}


{% macro duckdb__landing_reader_sql(files, contract) %}
    {#- The plugin writes DuckDB's reader (exact paths, typed CSV fields). -#}
    {{- return(run_query(
        "select landing_reader("
        ~ sql_literal(files[0][1] if files else 'parquet') ~ ", "
        ~ sql_literal(tojson(files | map(attribute=0) | list)) ~ ", "
        ~ sql_literal(tojson(contract)) ~ ")"
    ).columns[0].values()[0]) -}}
{% endmacro %}
