{#-
    Pseudonyms for direct identifiers (docs block `privacy`). pseudonym(expr) is the keyed SHA-256,
    as 64 lower-case hex digits, of the normalised value (trimmed, lower case) prefixed with the
    secret var pii_hash_key: the same address gives the same pseudonym in every build and every
    engine, so marts can be joined with a CRM that applies the same key, while the address itself
    never leaves staging. Null stays null.
-#}
{% macro pseudonym(expr) -%}
    case when {{ expr }} is not null then
        {{ sha256_hex(dbt.concat([sql_string(var('pii_hash_key')), "'|'", 'lower(trim(' ~ expr ~ '))'])) }}
    end
{%- endmacro %}

{#- The SHA-256 of a text expression (UTF-8), as lower-case hex. -#}
{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'customer_lifecycle')(expr)) }}
{%- endmacro %}

{% macro default__sha256_hex(expr) -%}
    sha256({{ expr }})
{%- endmacro %}

{% macro postgres__sha256_hex(expr) -%}
    encode(sha256(convert_to({{ expr }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__sha256_hex(expr) -%}
    sha2({{ expr }}, 256)
{%- endmacro %}
