{#-
    Whether this invocation may publish, decided from dbt's graph and this
    invocation's selection (macros/publish_gate.sql): only a `dbt build`
    that builds and checks everything the features depend on does. The
    publish step reads this row and compares its invocation_id with its
    own, so a row left by an earlier invocation never lets it publish.
-#}

{%- set refusal = publish_refusal() if execute else none %}

with gate as (
    select
        {{ sql_literal(invocation_id) }} as invocation_id,
        {{ sql_literal(flags.WHICH) }} as command,
        {{ 'false' if refusal else 'true' }} as may_publish,
        {{ sql_literal(refusal) if refusal else 'cast(null as string)' }}
            as refusal,
        {#- The folders this invocation reads and publishes to, taken
            literally (macros/paths.sql): the publish step reads them here. #}
        {{ sql_literal(pipeline_path('raw_data_dir')) }} as raw_data_dir,
        {{ sql_literal(pipeline_path('output_dir')) }} as output_dir
)

select * from gate
