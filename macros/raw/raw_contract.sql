{#-
    The raw data contract as the macros use it, read from its one definition: the dbt source
    `shop` (models/staging/shop/_shop__sources.yml). customer_lifecycle/contract.py reads the
    same file into the same shape for the generator and the loader.

    raw_contract() -> {table: {required, key, columns: {name: type}, not_null: [..],
                       codes: {column: var}, upper: [..], references: {column: parent},
                       ranges: {column: [min, max]}, pii: [..], currency: {..} or none}}
    in the order the tables and columns are declared.

    dbt knows the sources only once the project is parsed, so this is empty while parsing: a
    model that reads other tables of the contract declares them with `-- depends_on:` lines, and
    dbt stops a build whose model refs a table it did not declare, naming the line to add.
-#}
{% macro raw_contract() -%}
    {%- set contract = {} -%}
    {%- if not execute -%}{{ return(contract) }}{%- endif -%}
    {%- for source in graph.sources.values()
        if source.package_name == project_name and source.source_name == 'shop' -%}
        {%- set spec = {'required': source.meta.get('required', false), 'key': source.meta['key'],
            'currency': source.meta.get('currency'), 'columns': {}, 'not_null': [], 'codes': {}, 'upper': [],
            'references': {}, 'ranges': {}, 'pii': []} -%}
        {%- for name, column in source.columns.items() -%}
            {%- set checks = column.meta or {} -%}
            {%- do spec['columns'].update({name: column.data_type}) -%}
            {%- if checks.get('not_null') -%}{%- do spec['not_null'].append(name) -%}{%- endif -%}
            {%- if checks.get('code') -%}{%- do spec['codes'].update({name: checks['code']}) -%}{%- endif -%}
            {%- if checks.get('upper') -%}{%- do spec['upper'].append(name) -%}{%- endif -%}
            {%- if checks.get('references') -%}{%- do spec['references'].update({name: checks['references']}) -%}{%- endif -%}
            {%- if checks.get('range') -%}{%- do spec['ranges'].update({name: checks['range']}) -%}{%- endif -%}
            {%- if checks.get('pii') -%}{%- do spec['pii'].append(name) -%}{%- endif -%}
        {%- endfor -%}
        {%- do contract.update({source.name: spec}) -%}
    {%- endfor -%}
    {{ return(contract) }}
{%- endmacro %}

{#- The contract entry of a raw table, or a clear error for a name that is not in it (while
    parsing, when the contract is not known yet, an entry with no columns). -#}
{% macro raw_spec(table) -%}
    {%- if not execute -%}
        {{ return({'required': false, 'key': [], 'currency': none, 'columns': {}, 'not_null': [], 'codes': {},
            'upper': [], 'references': {}, 'ranges': {}, 'pii': []}) }}
    {%- endif -%}
    {%- set contract = raw_contract() -%}
    {%- if table not in contract -%}
        {{ exceptions.raise_compiler_error("'" ~ table ~ "' is not a table of the raw data contract (source shop, "
            ~ "models/staging/shop/_shop__sources.yml): " ~ (contract.keys() | list | join(', '))) }}
    {%- endif -%}
    {{ return(contract[table]) }}
{%- endmacro %}
