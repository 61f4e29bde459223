{#
    Incremental state. The landing hook (landing.sql) decides, per run,
    whether transactions load incrementally (only new files) or rebuild
    (every file, state started over: first run, --full-refresh, a loaded
    file changed, a new file sorting before a loaded one, a previous run
    that stopped half way). These macros carry that decision into the
    models and their tests. docs/incremental.md explains the design.
#}

{% macro should_full_refresh() %}
    {#-
        dbt's own rule (a model's `full_refresh` config, else the
        --full-refresh flag), plus: an incremental model starts over when
        the landing hook decided to rebuild.
    -#}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is not none -%}
        {{ return(configured) }}
    {%- endif -%}
    {{ return(flags.FULL_REFRESH or landing_is_rebuilding()) }}
{% endmacro %}


{% macro landing_is_rebuilding() %}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set plan = adapter.get_relation(target.database, 'main', 'landing_plan') -%}
    {%- if plan is none -%}{{ return(false) }}{%- endif -%}
    {%- set rebuilding = run_query(
        "select count(*) from main.landing_plan where load_mode = 'rebuild'"
    ).columns[0].values()[0] -%}
    {{ return(rebuilding > 0) }}
{% endmacro %}


{% macro this_run_loaded_at() %}
    {#- The `_loaded_at` of every row this run loads (the run's start). -#}
    {{- "cast('" ~ run_started_at ~ "' as timestamp)" -}}
{% endmacro %}


{% macro loaded_by_this_run(loaded_at_column='_loaded_at') %}
    {#- In `dbt build` and `dbt run`: true for the rows this run loaded (all
        rows on a rebuild). Other commands load nothing: true for all. -#}
    {%- if flags.WHICH in ('build', 'run') -%}
        {{ loaded_at_column }} = {{ this_run_loaded_at() }}
    {%- else -%}
        true
    {%- endif -%}
{% endmacro %}


{% macro not_yet_absorbed(loaded_at_column) %}
    {#-
        In an incremental model that folds new rows into running totals:
        true for the rows it has not folded in yet. Each of its rows keeps
        `_absorbed_through`, the latest `_loaded_at` it holds, so the
        rows to fold are those loaded after the latest of these. On a
        rebuild, every row.
    -#}
    {%- if is_incremental() -%}
        {{ loaded_at_column }} > (
            select coalesce(max(_absorbed_through), '-infinity'::timestamp)
            from {{ this }}
        )
    {%- else -%}
        true
    {%- endif -%}
{% endmacro %}


{% macro state_key(columns) %}
    {#-
        One text key for a group of columns, NULL-safe (a NULL category is a
        group of its own, as in GROUP BY): incremental models merge on it
        with delete+insert, which compares with `=`.
    -#}
    cast(to_json({
        {%- for column in columns %}
        '{{ column }}': {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    }) as varchar)
{% endmacro %}


{% macro get_where_subquery(relation) %}
    {#-
        dbt's `where` test config, plus: tests on a model whose meta sets
        `tests_check_rows_loaded_by_this_run` check, in `dbt build` and
        `dbt run`, only the rows this run loaded (all of them on a
        rebuild). Rows loaded earlier were checked by the run that loaded
        them, so a daily run's tests cost a day of data, not the history.
    -#}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- if tested and tested.config.meta.get('tests_check_rows_loaded_by_this_run') -%}
        {%- do conditions.append(loaded_by_this_run()) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}
