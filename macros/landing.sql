{#
    The landing zone. Each dataset arrives as one Parquet file, one CSV file,
    or a folder of either (one file per delivered batch). DuckDB cannot read
    "whichever of these exists", so before any model runs this macro looks at
    the landing directory, picks the one layout present, and (re)creates a
    DuckDB table macro `landing_<dataset>()` that reads exactly those files.
    The sources' `external_location` calls that table macro.
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


{% macro landing_files(pattern) %}
    {%- set found = run_query(
        "select file from glob(" ~ dbt.string_literal(pattern) ~ ") order by file"
    ) -%}
    {{ return(found.columns[0].values() | list) }}
{% endmacro %}


{% macro landing_reader_sql(dataset, files, file_format) %}
    {#- Rows come out with the file they came from and their position in it,
        which define "first occurrence" when deduplicating. -#}
    {%- set file_list -%}
        [{% for f in files %}{{ dbt.string_literal(f) }}{{ ", " if not loop.last }}{% endfor %}]
    {%- endset -%}
    {%- if file_format == 'parquet' -%}
        select
            * exclude (filename, file_row_number),
            filename as _source_file,
            file_row_number as _source_row_number
        from read_parquet({{ file_list }}, filename = true, file_row_number = true)
    {%- else -%}
        {%- set types = landing_datasets()[dataset] -%}
        {#- CSV readers have no row number: ordinality over the sorted file
            list is the same load order. -#}
        select
            * exclude (filename, ordinality),
            filename as _source_file,
            ordinality - 1 as _source_row_number
        from read_csv(
            {{ file_list }},
            header = true,
            filename = true,
            timestampformat = '%Y-%m-%d %H:%M:%S',
            types = {
                {%- for column, type in types.items() %}
                {{ dbt.string_literal(column) }}: {{ dbt.string_literal(type) }}
                {{- "," if not loop.last }}
                {%- endfor %}
            }
        ) with ordinality
    {%- endif -%}
{% endmacro %}


{% macro register_landing_readers() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set root = (var('raw_data_dir') | string).rstrip('/') -%}
    {%- if landing_files(root ~ '/*') | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "Landing directory '" ~ root ~ "' does not exist or is empty "
            ~ "(set the dbt var raw_data_dir to the folder holding "
            ~ "transactions and user_profiles).") }}
    {%- endif -%}

    {%- for dataset in landing_datasets() -%}
        {%- set layouts = [] -%}
        {%- for file_format in ['parquet', 'csv'] -%}
            {%- set single = landing_files(root ~ '/' ~ dataset ~ '.' ~ file_format) -%}
            {%- set batch = landing_files(root ~ '/' ~ dataset ~ '/*.' ~ file_format) -%}
            {%- if single -%}{%- do layouts.append((file_format, single)) -%}{%- endif -%}
            {%- if batch -%}{%- do layouts.append((file_format, batch)) -%}{%- endif -%}
        {%- endfor -%}

        {%- if layouts | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                "Landing directory '" ~ root ~ "' has no " ~ dataset
                ~ " data: expected " ~ dataset ~ ".parquet, " ~ dataset
                ~ ".csv or a folder " ~ dataset ~ "/ of such files.") }}
        {%- elif layouts | length > 1 -%}
            {{ exceptions.raise_compiler_error(
                "Landing directory '" ~ root ~ "' holds " ~ dataset
                ~ " in more than one form (" ~ layouts | map('first') | join(' and ')
                ~ " files, or a file beside a folder): keep exactly one.") }}
        {%- endif -%}

        {%- set file_format, files = layouts[0] %}
        {#- Returned as the hook's SQL, so dbt runs and commits it. #}
        create or replace macro main.landing_{{ dataset }}() as table
        {{ landing_reader_sql(dataset, files, file_format) }};
        {{ log("landing: " ~ dataset ~ " <- " ~ files | length ~ " "
               ~ file_format ~ " file(s) in " ~ root, info=true) }}
    {%- endfor -%}
{% endmacro %}
