{% macro summarize_run(results) %}
    {#-
        on-run-end: one plain sentence per check or model that stopped the
        run, naming the model (or landing dataset and its files) and the
        column, then what happened to the published output. dbt's own log
        above keeps the details (SQL, stack traces).
    -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set problems = [] -%}
    {%- set warnings = [] -%}
    {%- set ns = namespace(published=false, refusal=none) -%}
    {%- for result in results -%}
        {%- set node = result.node -%}
        {%- if node.name == 'publish_user_features' and result.status == 'success' -%}
            {#- The model ran; whether it wrote anything, it records. -#}
            {%- set record = run_query(
                "select is_published, refusal from " ~ landing_relation(node.alias)
            ).rows[0] -%}
            {%- set ns.published = record[0] -%}
            {%- set ns.refusal = record[1] -%}
        {%- endif -%}
        {%- if result.status in ('error', 'fail', 'warn') -%}
            {%- set sentence = describe_result(result) -%}
            {%- if result.status == 'warn' -%}
                {%- do warnings.append(sentence) -%}
            {%- else -%}
                {%- do problems.append(sentence) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}

    {%- for sentence in warnings -%}
        {{ log("WARNING: " ~ sentence, info=true) }}
    {%- endfor -%}
    {%- for sentence in problems -%}
        {{ log("STOPPED: " ~ sentence, info=true) }}
    {%- endfor -%}
    {%- set output_dir = pipeline_path('output_dir') -%}
    {%- if ns.published -%}
        {{ log("Published " ~ output_dir ~ "/user_features.parquet.", info=true) }}
    {%- elif ns.refusal -%}
        {{ log("Nothing was published: " ~ ns.refusal, info=true) }}
    {%- elif problems -%}
        {{ log("Nothing was published: the files in " ~ output_dir
               ~ " are unchanged.", info=true) }}
    {%- endif -%}
{% endmacro %}


{% macro describe_result(result) %}
    {%- set node = result.node -%}
    {%- if node.resource_type == 'test' -%}
        {%- set check = node.test_metadata.name if node.test_metadata else node.name -%}
        {%- if node.attached_node -%}
            {%- set subject = node.attached_node.split('.')[-1] -%}
        {%- else -%}
            {%- set subject = node.name -%}
        {%- endif -%}
        {%- if node.column_name -%}
            {%- set subject = subject ~ ", column " ~ node.column_name -%}
        {%- endif -%}
        {%- if result.status == 'error' -%}
            {{ return("check " ~ check ~ " on " ~ subject ~ " could not run: "
                      ~ (result.message or '') | string | trim | replace('\n', ' ') | truncate(300)) }}
        {%- endif -%}
        {{ return("check " ~ check ~ " on " ~ subject ~ " found "
                  ~ result.failures ~ " failing row(s)"
                  ~ (failing_rows_file(node) if result.status == 'fail' else '')
                  ~ ".") }}
    {%- endif -%}
    {%- set message = (result.message or '') | string | trim -%}
    {%- if 'Traceback' in message -%}
        {#- A Python model's own sentence is the last line of its traceback. -#}
        {%- set message = message.split('\n') | map('trim') | select | list | last -%}
    {%- endif -%}
    {{ return(node.resource_type ~ " " ~ node.name ~ " failed: "
              ~ message | replace('\n', ' ') | truncate(300)) }}
{% endmacro %}


{% macro failing_rows_file(node) %}
    {#- Where a check's failing rows came from, when they carry the landing
        file (`_source_file`): ", first in <file>"; otherwise nothing. The
        rows are those dbt stored for the check (store_failures). -#}
    {%- set stored = node.relation_name -%}
    {%- if not (stored and node.config.get('store_failures')) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set columns = run_query("select * from " ~ stored ~ " limit 0").column_names -%}
    {%- if '_source_file' not in columns -%}{{ return('') }}{%- endif -%}
    {%- set first = run_query(
        "select min(_source_file) from " ~ stored).columns[0].values()[0] -%}
    {{ return(", first in " ~ first if first else '') }}
{% endmacro %}
