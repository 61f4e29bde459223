{#
    Whether this invocation may publish. The rule holds whatever the
    command, the selection or the engine, and for any model or check added
    later: a run publishes only when it is a `dbt build` that built every
    model and seed the publish model depends on (directly or not), and ran
    every data test on them, in this invocation. dbt's own graph says what
    those are; dbt skips the publish model when any of them fails. The
    model whose output is published is the enabled model with
    `meta: {publishes_features: true}` (publish_user_features on DuckDB,
    user_features_export on Spark).
#}

{% macro features_publisher() %}
    {%- for node in graph.nodes.values()
            if node.resource_type == 'model'
            and node.config.meta.get('publishes_features') -%}
        {{ return(node.unique_id) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "No enabled model has `meta: {publishes_features: true}`: the"
        ~ " publish gate has nothing to guard.") }}
{% endmacro %}

{% macro publish_requirements(publisher) %}
    {#- The unique_ids publishing needs in this invocation: every model and
        seed upstream of `publisher`, and every data test whose parents are
        all upstream of it. Sources need no building; tests on them count. -#}
    {%- set upstream = [publisher] -%}
    {%- for unique_id in upstream -%}
        {#- Jinja walks a list it is growing: each parent is visited once. -#}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- for parent in (node.depends_on.nodes if node else []) -%}
            {%- if parent not in upstream -%}{%- do upstream.append(parent) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set required = [] -%}
    {%- for unique_id in upstream if unique_id != publisher
            and unique_id.split('.')[0] in ('model', 'seed', 'snapshot') -%}
        {%- do required.append(unique_id) -%}
    {%- endfor -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' -%}
        {%- set parents = node.depends_on.nodes -%}
        {%- if parents and parents | reject('in', upstream) | list | length == 0 -%}
            {%- do required.append(node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(required | sort) }}
{% endmacro %}


{% macro publish_refusal() %}
    {#- One sentence saying why this invocation may not publish, with the
        command that would; none when it may. -#}
    {%- set publisher = features_publisher() -%}
    {%- set command = 'dbt build --select +' ~ publisher.split('.')[-1] ~ '+' -%}
    {%- if flags.WHICH != 'build' -%}
        {{ return('`dbt ' ~ flags.WHICH ~ '` runs no checks; `dbt build` (or `'
                  ~ command ~ '`) publishes.') }}
    {%- endif -%}
    {%- set required = publish_requirements(publisher) -%}
    {%- set left_out = required | reject('in', selected_resources) | list -%}
    {%- if left_out -%}
        {{ return('this selection leaves out ' ~ left_out | length ~ ' of the '
                  ~ required | length ~ ' models and checks the features depend'
                  ~ ' on (e.g. ' ~ left_out[0].split('.')[-1] ~ '), so the'
                  ~ ' features may be stale or unchecked; `' ~ command
                  ~ '` publishes.') }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}


{% macro publish_outcome() %}
    {#- One row, is_published: whether this run published. -#}
    {{- return(adapter.dispatch('publish_outcome')()) -}}
{% endmacro %}

{% macro default__publish_outcome() %}
    select is_published
    from {{ ref('publish_user_features') }}
{%- endmacro %}

{% macro spark__publish_outcome() %}
    {#- The export is built only when every check passed; the publish step
        that follows dbt on Spark writes the files. -#}
    select true as is_published
    from {{ ref('user_features_export') }}
    limit 1
{%- endmacro %}
