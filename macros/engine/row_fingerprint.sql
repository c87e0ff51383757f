{#-
    row_fingerprint(columns): a fixed-width (64-bit) hash of the values of `columns`, nulls included,
    for comparing rows by value without sorting or storing long strings: duplicates and conflicts in
    staging, and the digests that tell an incremental run what changed. Equal values give equal
    fingerprints on the same engine and version; two different rows share one with a probability
    of about 2^-64 (DECISIONLOG.md, "Row fingerprints").
-#}
{% macro row_fingerprint(columns) -%}
    {{ return(adapter.dispatch('row_fingerprint', 'customer_lifecycle')(columns)) }}
{%- endmacro %}

{% macro default__row_fingerprint(columns) -%}
    cast(hash({{ columns | join(', ') }}) >> 1 as bigint)
{%- endmacro %}

{% macro postgres__row_fingerprint(columns) -%}
    hashtextextended(concat_ws(chr(31)
        {%- for column in columns %}, coalesce(cast({{ column }} as text), chr(30)){% endfor %}), 0)
{%- endmacro %}

{% macro spark__row_fingerprint(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}
