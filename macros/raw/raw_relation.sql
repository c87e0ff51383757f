{#-
    Where raw data comes from. One setting chooses the mode:
      raw_data_dir set  -> files: <dir>/<table>.csv | <table>.parquet | <table>/*.csv | <table>/*.parquet
      raw_schema set    -> warehouse: the tables of the source `shop` (models/staging/shop/_shop__sources.yml):
                           <raw_database>.<raw_schema>.<table, or its name in vars.raw_table_names>
      neither           -> seeds: the bundled demo seeds raw_<table>
    raw_relation(table) returns a subquery with exactly the contract's columns, all as text, so
    that staging parses and checks every value the same way whatever the source, and three more:
    deleted_mark, the text of the soft-delete column (var raw_deleted_column) where the table has
    it, else null; load_id, the load that delivered the row (docs block `raw_loads`); and
    load_version, which tells a load changed in place (a rewritten file) from the one staged:
      files      each file (each part of a table's directory) is a load, named by its path; loads
                 arrive in order of modification time, then path (located['load_order']); the
                 version is the modification time and size
      warehouse  the value of the load-marker column (var raw_loaded_at_column) is the load, in its
                 own order, and its version is the load's row count (a load that grew is read
                 again); a table without that column is one load, and the build warns
      seeds      each seed is one load, named by its checksum
    located['loads'] is the relation of the table's loads (load_id, load_version, load_order).
    An optional table that is absent becomes an empty relation with those columns; an absent
    required table or column stops the build with a message that names it.
-#}

{% macro raw_mode() -%}
    {%- if var('raw_data_dir') and var('raw_schema') -%}
        {{ exceptions.raise_compiler_error(
            "raw_data_dir and raw_schema are both set (" ~ var('raw_data_dir') ~ ", " ~ var('raw_schema')
            ~ "); set only one: files (LIFECYCLE_DATA_DIR) or warehouse tables (LIFECYCLE_RAW_SCHEMA).") }}
    {%- elif var('raw_data_dir') -%}
        {{ return('files') }}
    {%- elif var('raw_schema') -%}
        {{ return('warehouse') }}
    {%- else -%}
        {{ return('seeds') }}
    {%- endif -%}
{%- endmacro %}

{#- Where a raw table is, as {'from': <relation or table function>, 'where': <for messages>},
    or none when the table is absent. Only meaningful at execution time. -#}
{% macro locate_raw_table(table) -%}
    {%- set mode = raw_mode() -%}
    {%- if not execute -%}
        {#- Parsing: record where the table comes from (lineage; in seeds mode the seed, so that
            dbt loads it first). -#}
        {%- if mode == 'seeds' -%}{%- do ref('raw_' ~ table) -%}{%- endif -%}
        {%- do source('shop', table) -%}
        {{ return(none) }}
    {%- elif mode == 'seeds' -%}
        {%- set seed = graph.nodes.get('seed.' ~ project_name ~ '.raw_' ~ table) -%}
        {%- set found = adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed.alias)
            if seed else none -%}
        {%- set load = sql_string('seed raw_' ~ table ~ ' ' ~ seed.checksum.name ~ ':' ~ seed.checksum.checksum[:16]) -%}
        {{ return({'from': found, 'where': 'seed raw_' ~ table, 'load_id': load, 'loads': single_load(load)}
            if found else none) }}
    {%- elif mode == 'warehouse' -%}
        {%- set declared = source('shop', table) -%}
        {%- set found = adapter.get_relation(database=declared.database, schema=declared.schema,
            identifier=declared.identifier) -%}
        {{ return(warehouse_raw_table(table, found, declared) if found else none) }}
    {%- else -%}
        {{ return(locate_raw_file(table)) }}
    {%- endif -%}
{%- endmacro %}

{#- A warehouse table's loads: the values of its load-marker column, or the whole table as one
    load when it has no such column (the build warns, naming the table). -#}
{% macro warehouse_raw_table(table, found, declared) -%}
    {%- set marker = var('raw_loaded_at_column') -%}
    {%- if marker and marker | lower in raw_columns_present(found) -%}
        {#- A row without a marker value belongs to a load of its own, named so. -#}
        {%- set load_id = 'coalesce(cast(' ~ marker ~ ' as ' ~ dbt.type_string() ~ '), ' ~ sql_string('(no ' ~ marker ~ ')') ~ ')' -%}
        {#- A load's version is its row count too: a load that grew after it was staged is staged again. -#}
        {%- set loads = '(select load_id, load_id || ' ~ sql_string('|') ~ ' || cast(count(*) as ' ~ dbt.type_string()
            ~ ') as load_version, load_id as load_order from (select ' ~ load_id ~ ' as load_id from ' ~ found
            ~ ') as markers group by load_id)' -%}
        {%- set versioned = '(select raw_rows.*, loads.load_version as lifecycle_load_version from ' ~ found
            ~ ' as raw_rows inner join ' ~ loads ~ ' as loads on ' ~ load_id ~ ' = loads.load_id) as versioned' -%}
        {{ return({'from': versioned, 'columns_of': found, 'where': 'table ' ~ declared, 'load_id': load_id,
            'load_version': 'lifecycle_load_version', 'loads': loads, 'marker': true}) }}
    {%- endif -%}
    {#- Said once, by the table's own base model (other models look the table up too). -#}
    {%- if model.get('name') == 'base_shop__' ~ table -%}
        {%- do exceptions.warn("Raw table " ~ declared ~ " has no load-marker column " ~ (marker or '(none set)')
            ~ " (var raw_loaded_at_column): all its rows count as one load.") -%}
    {%- endif -%}
    {%- set load = sql_string('table ' ~ declared) -%}
    {{ return({'from': found, 'where': 'table ' ~ declared, 'load_id': load, 'loads': single_load(load), 'whole': true}) }}
{%- endmacro %}

{#- The relation of a table delivered as one load (load: its name as a SQL literal). -#}
{% macro single_load(load) -%}
    {{ return('(select ' ~ load ~ ' as load_id, ' ~ load ~ ' as load_version, ' ~ load ~ ' as load_order)') }}
{%- endmacro %}

{% macro locate_raw_file(table) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set dir = var('raw_data_dir').rstrip('/') -%}
    {%- set candidates = [
        (dir ~ '/' ~ table ~ '.csv', 'csv'),
        (dir ~ '/' ~ table ~ '.parquet', 'parquet'),
        (dir ~ '/' ~ table ~ '/*.csv', 'csv'),
        (dir ~ '/' ~ table ~ '/*.parquet', 'parquet'),
    ] -%}
    {%- set found = present_raw_files(dir, candidates) -%}
    {%- if found | length > 1 -%}
        {{ exceptions.raise_compiler_error("Raw table '" ~ table ~ "' is given more than once in " ~ dir ~ ": "
            ~ (found | map('first') | join(', ')) ~ ". Keep one.") }}
    {%- elif found | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set path, fmt = found[0] -%}
    {{ return(raw_files_located(table, path, fmt)) }}
{%- endmacro %}

{#- The rows of raw files (path: a file, a glob, or a list of files; fmt: csv or parquet), each
    with its file as load_id and, on DuckDB, the file's version (modified time and size) as
    load_version: a file rewritten in place is another load. `loads` is the relation of the
    loads (load_id, load_version, load_order) the files hold. -#}
{% macro raw_files_located(table, path, fmt) -%}
    {%- set loads = raw_file_load_order(path) -%}
    {%- set scan = raw_file_scan(table, path, fmt) -%}
    {%- set where = 'file ' ~ (path if path is string else path | join(', ')) -%}
    {%- if target.type == 'spark' -%}
        {{ return({'from': scan, 'where': where, 'load_id': 'lifecycle_file', 'load_order': loads, 'loads': loads,
            'path': path, 'fmt': fmt}) }}
    {%- endif -%}
    {%- set versioned -%}
        (select raw_rows.*, loads.load_version as lifecycle_load_version
        from {{ scan }} as raw_rows inner join {{ loads }} as loads on raw_rows.lifecycle_file = loads.load_id)
    {%- endset -%}
    {{ return({'from': versioned, 'where': where, 'load_id': 'lifecycle_file', 'load_version': 'lifecycle_load_version',
        'load_order': loads, 'loads': loads, 'path': path, 'fmt': fmt}) }}
{%- endmacro %}

{#- A file, a glob or a list of files as a DuckDB table function's argument. -#}
{% macro raw_paths_sql(path) -%}
    {%- if path is string -%}{{ return(sql_string(path)) }}{%- endif -%}
    {%- set literals = [] -%}
    {%- for file in path -%}{%- do literals.append(sql_string(file)) -%}{%- endfor -%}
    {{ return('[' ~ literals | join(', ') ~ ']') }}
{%- endmacro %}

{#- The (path, format) candidates that match at least one file. -#}
{% macro present_raw_files(dir, candidates) -%}
    {{ return(adapter.dispatch('present_raw_files', 'customer_lifecycle')(dir, candidates)) }}
{%- endmacro %}

{#- A zero-byte file holds no table (not even a header): it counts as absent. -#}
{% macro default__present_raw_files(dir, candidates) -%}
    {%- set found = [] -%}
    {%- for path, fmt in candidates -%}
        {%- set hits = run_query("select count(*) from glob(" ~ sql_string(path) ~ ")").columns[0].values()[0] -%}
        {%- if hits > 0 and run_query("select count(*) from read_blob(" ~ sql_string(path) ~ ") where size > 0").columns[0].values()[0] > 0 -%}
            {%- do found.append((path, fmt)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{% macro postgres__present_raw_files(dir, candidates) -%}
    {{ exceptions.raise_compiler_error(
        "raw_data_dir (file input) is read by DuckDB and Spark; on PostgreSQL load the files into tables "
        ~ "(python -m customer_lifecycle load-files) and set raw_schema instead.") }}
{%- endmacro %}

{#- Spark lists the directory once (the binaryFile source reads only paths when only the path is
    selected) and matches the candidates: <dir>/<table>.<ext> or one file level below <dir>/<table>/. -#}
{% macro spark__present_raw_files(dir, candidates) -%}
    {%- do run_query("create or replace temporary view raw_file_listing using binaryFile options (path "
        ~ sql_string(dir) ~ ", recursiveFileLookup 'true')") -%}
    {%- set listed = [] -%}
    {%- for row in run_query("select path from raw_file_listing where length > 0").rows -%}
        {%- do listed.append(modules.re.sub('^file:(//)?', '', row[0])) -%}
    {%- endfor -%}
    {%- set found = [] -%}
    {%- for path, fmt in candidates -%}
        {%- set pattern = '^' ~ (modules.re.escape(path) | replace('\\*', '[^/]*')) ~ '$' -%}
        {%- set hits = [] -%}
        {%- for file in listed if modules.re.match(pattern, file) -%}{%- do hits.append(file) -%}{%- endfor -%}
        {%- if hits -%}{%- do found.append((path, fmt)) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- What staging selects from for a raw file: a table function on DuckDB, a temporary view over
    the file on Spark (same fixed CSV dialect). -#}
{% macro raw_file_scan(table, path, fmt) -%}
    {{ return(adapter.dispatch('raw_file_scan', 'customer_lifecycle')(table, path, fmt)) }}
{%- endmacro %}

{#- Every row of a raw file carries its file's path, lifecycle_file: its load. -#}
{% macro default__raw_file_scan(table, path, fmt) -%}
    {%- if fmt == 'csv' -%}
        {#- The dialect is fixed (RFC 4180: comma, double quotes, header line, no comment lines) so that
            a malformed file fails, naming the file, instead of being read some other way. -#}
        {{ return("read_csv(" ~ raw_paths_sql(path) ~ ", " ~ raw_csv_options() ~ ", filename = 'lifecycle_file')") }}
    {%- else -%}
        {{ return("read_parquet(" ~ raw_paths_sql(path) ~ ", filename = 'lifecycle_file')") }}
    {%- endif -%}
{%- endmacro %}

{#- Spark: a temporary view over the file with each row's file, input_file_name(), as
    lifecycle_file (without the file: scheme, as the listing spark__present_raw_files reads). -#}
{% macro spark__raw_file_scan(table, path, fmt) -%}
    {%- set view = 'raw_file__' ~ table -%}
    {%- do spark_raw_file_view(view ~ '__rows', path, fmt) -%}
    {%- set load_view -%}
        create or replace temporary view {{ view }} as
        select *, regexp_replace(input_file_name(), '^file:(//)?', '') as lifecycle_file from {{ view }}__rows
    {%- endset -%}
    {%- do run_query(load_view) -%}
    {{ return(view) }}
{%- endmacro %}

{#- The loads of raw files, as a relation (load_id: the path; load_version: '<modified, UTC>|<size>';
    load_order: '<modified, UTC>|<path>') from the file listing; it reads names, sizes and times only. -#}
{% macro raw_file_load_order(path) -%}
    {{ return(adapter.dispatch('raw_file_load_order', 'customer_lifecycle')(path)) }}
{%- endmacro %}

{% macro default__raw_file_load_order(path) -%}
    {%- set modified = "strftime(timezone('UTC', last_modified), '%Y-%m-%d %H:%M:%S.%f')" -%}
    {{ return("(select filename as load_id, " ~ modified ~ " || '|' || cast(size as varchar) as load_version, "
        ~ modified ~ " || '|' || filename as load_order from read_blob(" ~ raw_paths_sql(path) ~ "))") }}
{%- endmacro %}

{% macro spark__raw_file_load_order(path) -%}
    {%- set file = "regexp_replace(path, '^file:(//)?', '')" -%}
    {%- set modified = "date_format(to_utc_timestamp(modificationTime, current_timezone()), 'yyyy-MM-dd HH:mm:ss.SSSSSS')" -%}
    {{ return("(select " ~ file ~ " as load_id, " ~ file ~ " as load_version, " ~ modified ~ " || '|' || " ~ file
        ~ " as load_order from raw_file_listing)") }}
{%- endmacro %}

{#- Spark: a temporary view of the rows of a file or glob, as they are written, with the raw files'
    fixed dialect (CSV in FAILFAST mode, every column text); also the seeds' loader
    (spark__load_csv_rows). -#}
{% macro spark_raw_file_view(view, path, fmt) -%}
    {%- set options = "header 'true', quote '\"', escape '\"', mode 'FAILFAST', multiLine 'true', inferSchema 'false'"
        if fmt == 'csv' else "mergeSchema 'false'" -%}
    {%- set file_view -%}
        create or replace temporary view {{ view }} using {{ fmt }} options (path {{ sql_string(path) }}, {{ options }})
    {%- endset -%}
    {%- do run_query(file_view) -%}
    {{ return(view) }}
{%- endmacro %}

{#- Is the raw table present? (Used to skip reference checks against absent optional tables.) -#}
{% macro raw_table_exists(table) -%}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {{ return(locate_raw_table(table) is not none) }}
{%- endmacro %}

{% macro raw_relation(table, located=none) -%}
    {%- set spec = raw_spec(table) -%}
    {%- set columns = spec['columns'].keys() | list -%}
    {%- set located = located or locate_raw_table(table) -%}
    {%- if not execute -%}
        (select 1 as placeholder)
    {%- elif located is none or located.get('empty') -%}
        {%- if located is none and spec.get('required') -%}
            {{ exceptions.raise_compiler_error(raw_missing_message(table)) }}
        {%- endif -%}
        (select
            {%- for column in columns %}
            cast(null as {{ dbt.type_string() }}) as {{ column }},
            {%- endfor %}
            cast(null as {{ dbt.type_string() }}) as load_id,
            cast(null as {{ dbt.type_string() }}) as load_version,
            cast(null as {{ dbt.type_string() }}) as deleted_mark
        where 1 = 0)
    {%- else -%}
        {%- set present = raw_columns_present(located.get('columns_of', located['from'])) -%}
        {%- set missing = [] -%}
        {%- for column in columns if column not in present -%}{%- do missing.append(column) -%}{%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error("Raw table '" ~ table ~ "' (" ~ located['where'] ~ ") lacks the column(s) "
                ~ (missing | join(', ')) ~ " that the data contract requires. It has: " ~ (present | join(', '))
                ~ delimiter_hint(present)) }}
        {%- endif -%}
        (select
            {%- for column in columns %}
            cast({{ column }} as {{ dbt.type_string() }}) as {{ column }},
            {%- endfor %}
            {{ located['load_id'] }} as load_id,
            {{ located.get('load_version', located['load_id']) }} as load_version,
            {%- set deleted = var('raw_deleted_column') %}
            {%- if deleted and deleted | lower in present %}
            cast({{ deleted }} as {{ dbt.type_string() }}) as deleted_mark
            {%- else %}
            cast(null as {{ dbt.type_string() }}) as deleted_mark
            {%- endif %}
        from {{ located['from'] }})
    {%- endif -%}
{%- endmacro %}

{#- A file read as one column whose name holds another separator was written with that separator. -#}
{% macro delimiter_hint(present) -%}
    {%- for name, separator in [('semicolons', ';'), ('tabs', '\t'), ('pipes', '|')]
        if present | length == 1 and separator in present[0] -%}
        {{ return(". The file seems to be delimited by " ~ name ~ "; raw CSV files are comma-separated "
            ~ "(RFC 4180): export it again with commas.") }}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{#- The columns a raw table has (a raw file's scan adds its load columns, not counted here). -#}
{% macro raw_columns_present(from) -%}
    {%- if from is string -%}
        {%- set described = run_query('describe select * from ' ~ from) -%}
        {{ return(described.columns[0].values() | map('lower')
            | reject('in', ['lifecycle_file', 'lifecycle_load_version']) | list) }}
    {%- else -%}
        {{ return(adapter.get_columns_in_relation(from) | map(attribute='name') | map('lower') | list) }}
    {%- endif -%}
{%- endmacro %}

{% macro raw_missing_message(table) -%}
    {%- set mode = raw_mode() -%}
    {%- if mode == 'files' -%}
        {%- set dir = var('raw_data_dir').rstrip('/') -%}
        {{ return("Required raw table '" ~ table ~ "' was not found in " ~ dir ~ ": expected " ~ table ~ ".csv, "
            ~ table ~ ".parquet or a directory " ~ table ~ "/ of .csv or .parquet parts.") }}
    {%- elif mode == 'warehouse' -%}
        {{ return("Required raw table '" ~ table ~ "' was not found in schema " ~ var('raw_schema')
            ~ " (map another name with vars.raw_table_names).") }}
    {%- else -%}
        {{ return("Required raw table '" ~ table ~ "' was not found: seed raw_" ~ table ~ " is not loaded (run dbt seed).") }}
    {%- endif -%}
{%- endmacro %}

{#- The CSV dialect of raw files; customer_lifecycle/loader.py reads files with the same options. -#}
{% macro raw_csv_options() -%}
    header = true, skip = 0, delim = ',', quote = '"', escape = '"', comment = '', all_varchar = true, strict_mode = true
{%- endmacro %}
