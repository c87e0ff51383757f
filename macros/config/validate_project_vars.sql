{#-
    Runs before any model (on-run-start): a bad setting stops the build at once with a message
    that names it, instead of failing half-way or building wrong tables.
-#}
{% macro validate_project_vars() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set problems = [] -%}

    {%- do raw_mode() -%}  {#- fails when more than one raw source is chosen -#}

    {%- set currency = var('reporting_currency') -%}
    {%- if not (currency is string and currency | length == 3 and currency.isalpha() and currency == currency.upper()) -%}
        {%- do problems.append("reporting_currency must be a 3-letter upper-case code such as USD, got '" ~ currency ~ "'") -%}
    {%- endif -%}

    {%- if var('max_valid_at') and parse_setting_timestamp(var('max_valid_at')) is none -%}
        {%- do problems.append("max_valid_at must be a timestamp 'YYYY-MM-DD[ HH:MM:SS]', got '" ~ var('max_valid_at') ~ "'") -%}
    {%- endif -%}

    {%- if parse_setting_timestamp(var('min_valid_at')) is none -%}
        {%- do problems.append("min_valid_at must be a timestamp 'YYYY-MM-DD[ HH:MM:SS]', got '" ~ var('min_valid_at') ~ "'") -%}
    {%- elif var('max_valid_at') and parse_setting_timestamp(var('max_valid_at'))
        and parse_setting_timestamp(var('min_valid_at')) >= parse_setting_timestamp(var('max_valid_at')) -%}
        {%- do problems.append("min_valid_at (" ~ var('min_valid_at') ~ ") must be before max_valid_at (" ~ var('max_valid_at') ~ ")") -%}
    {%- endif -%}
    {%- if not is_positive_whole_number(var('max_money_amount')) or var('max_money_amount') | int > 10 ** 12 -%}
        {%- do problems.append("max_money_amount must be a whole number from 1 to 1000000000000 (10^12), got '"
            ~ var('max_money_amount') ~ "'") -%}
    {%- endif -%}

    {%- set warn_percent, error_percent = var('quarantine_warn_percent') | string, var('quarantine_error_percent') | string -%}
    {%- if not (warn_percent.isdigit() and error_percent.isdigit() and warn_percent | int <= error_percent | int
        and error_percent | int <= 100) -%}
        {%- do problems.append("quarantine_warn_percent (" ~ warn_percent ~ ") and quarantine_error_percent (" ~ error_percent
            ~ ") must be whole percentages with 0 <= warn <= error <= 100") -%}
    {%- endif -%}

    {%- if var('test_whole_tables') is not sameas true and var('test_whole_tables') is not sameas false -%}
        {%- do problems.append("test_whole_tables must be true or false, got '" ~ var('test_whole_tables') ~ "'") -%}
    {%- endif -%}

    {%- if var('as_of_date') and parse_setting_timestamp(var('as_of_date')) is none -%}
        {%- do problems.append("as_of_date must be a date 'YYYY-MM-DD', got '" ~ var('as_of_date') ~ "'") -%}
    {%- endif -%}

    {%- for name in ['at_risk_after_days', 'churn_after_days', 'loyalty_min_orders', 'advocacy_referral_window_days',
                     'session_timeout_minutes', 'cart_abandonment_window_days', 'cart_recovery_window_days',
                     'attribution_window_days', 'acquisition_value_window_days', 'unit_buckets'] -%}
        {%- if not is_positive_whole_number(var(name)) -%}{%- do problems.append(whole_number_problem(name)) -%}{%- endif -%}
    {%- endfor -%}
    {%- if is_positive_whole_number(var('at_risk_after_days')) and is_positive_whole_number(var('churn_after_days'))
        and var('at_risk_after_days') | int >= var('churn_after_days') | int -%}
        {%- do problems.append("at_risk_after_days (" ~ var('at_risk_after_days') ~ ") must be less than churn_after_days ("
            ~ var('churn_after_days') ~ ")") -%}
    {%- endif -%}
    {%- if is_positive_whole_number(var('loyalty_min_orders')) and var('loyalty_min_orders') | int < 2 -%}
        {%- do problems.append("loyalty_min_orders must be at least 2 (one order is conversion), got " ~ var('loyalty_min_orders')) -%}
    {%- endif -%}
    {%- set promoter, passive = var('nps_promoter_min_score') | string, var('nps_passive_min_score') | string -%}
    {%- if not (promoter.isdigit() and passive.isdigit() and passive | int < promoter | int and promoter | int <= 10) -%}
        {%- do problems.append("nps_passive_min_score (" ~ passive ~ ") and nps_promoter_min_score (" ~ promoter
            ~ ") must be whole scores with 0 <= passive < promoter <= 10") -%}
    {%- endif -%}

    {%- set tiers = var('product_tier_order') -%}
    {%- if text_list_problem(tiers) or tiers | length < 2
        or tiers | map('lower') | unique | list | length != tiers | length -%}
        {%- do problems.append("product_tier_order must list at least two distinct product tiers, lowest first, got '" ~ tiers ~ "'") -%}
    {%- endif -%}

    {#- Vocabularies and the lists drawn from them: lists of distinct, non-empty text values. -#}
    {%- for name in ['order_statuses', 'event_types', 'email_event_types', 'campaign_types', 'consideration_event_types']
        if text_list_setting_problem(name) -%}
        {%- do problems.append(text_list_setting_problem(name)) -%}
    {%- endfor -%}
    {%- if not text_list_problem(var('consideration_event_types')) and not text_list_problem(var('event_types')) -%}
        {%- set unknown = var('consideration_event_types') | reject('in', var('event_types')) | list -%}
        {%- if unknown -%}
            {%- do problems.append("consideration_event_types must be event types (vars.event_types); not event types: "
                ~ unknown | join(', ')) -%}
        {%- endif -%}
    {%- endif -%}

    {#- Where raw tables are read in warehouse mode: plain identifiers. -#}
    {%- for name in ['raw_schema', 'raw_database', 'reader_role', 'raw_loaded_at_column', 'raw_deleted_column'] if var(name) and not is_plain_identifier(var(name)) -%}
        {%- do problems.append(name ~ " must be a plain identifier (letters, digits, _), got '" ~ var(name) ~ "'") -%}
    {%- endfor -%}
    {%- set table_names = var('raw_table_names', {}) -%}
    {%- if table_names is not mapping -%}
        {%- do problems.append("raw_table_names must map raw tables to table names, got '" ~ table_names ~ "'") -%}
    {%- else -%}
        {%- for table, identifier in table_names.items() if table not in raw_contract() or not is_plain_identifier(identifier) -%}
            {%- do problems.append("raw_table_names must map tables of the raw contract to plain identifiers, got "
                ~ table ~ ": '" ~ identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}

    {#- The source `shop` is where warehouse mode reads; its YAML cannot render a templated setting
        (var() there gives dbt_project.yml's text), so it takes --vars or the environment. -#}
    {%- set shop = graph.sources.get('source.' ~ project_name ~ '.shop.customers') -%}
    {%- if not problems and raw_mode() == 'warehouse' and shop and shop.schema != var('raw_schema') -%}
        {%- do problems.append("raw_schema is '" ~ var('raw_schema') ~ "' but the source shop reads schema '"
            ~ shop.schema ~ "': give raw_schema with --vars or LIFECYCLE_RAW_SCHEMA, not as a template in dbt_project.yml") -%}
    {%- endif -%}

    {%- if problems -%}
        {{ exceptions.raise_compiler_error("Invalid project settings (vars):\n  - " ~ (problems | join("\n  - "))) }}
    {%- endif -%}
    {%- if not var('pii_hash_key') -%}
        {%- do exceptions.warn("pii_hash_key is not set (LIFECYCLE_PII_HASH_KEY): dim_customers.email_hash is an unkeyed "
            ~ "SHA-256, which anyone holding a list of addresses can match. Set a secret key for real data.") -%}
    {%- endif -%}
    {#- The funnel and customer-value settings are checked by the macros that read them. -#}
    {%- do journey_funnels() -%}
    {%- do clv_settings() -%}
    {{ return('select 1') }}
{%- endmacro %}

{#- A setting's date or timestamp text ('YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS') as a datetime, or
    none when it is not a real date and time (checked by hand: Jinja cannot catch a failed parse). -#}
{% macro parse_setting_timestamp(value) -%}
    {%- set match = modules.re.fullmatch('([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2}):([0-9]{2}))?', value | string) -%}
    {%- if not match -%}{{ return(none) }}{%- endif -%}
    {%- set year, month, day = match.group(1) | int, match.group(2) | int, match.group(3) | int -%}
    {%- set hour, minute, second = (match.group(4) or 0) | int, (match.group(5) or 0) | int, (match.group(6) or 0) | int -%}
    {%- if month < 1 or month > 12 or day < 1 or hour > 23 or minute > 59 or second > 59 -%}{{ return(none) }}{%- endif -%}
    {%- set next_month = modules.datetime.date(year + 1, 1, 1) if month == 12 else modules.datetime.date(year, month + 1, 1) -%}
    {%- if day > (next_month - modules.datetime.timedelta(days=1)).day -%}{{ return(none) }}{%- endif -%}
    {{ return(modules.datetime.datetime(year, month, day, hour, minute, second)) }}
{%- endmacro %}

{% macro is_positive_whole_number(value) -%}
    {{ return((value | string).isdigit() and value | int > 0) }}
{%- endmacro %}

{#- Settings read while dbt parses the models (before the check above runs): the value, or a stop
    that names the setting. -#}
{% macro whole_number_setting(name) -%}
    {%- if not is_positive_whole_number(var(name)) -%}{{ exceptions.raise_compiler_error(whole_number_problem(name)) }}{%- endif -%}
    {{ return(var(name) | int) }}
{%- endmacro %}

{% macro whole_number_problem(name) -%}
    {{ return(name ~ " must be a positive whole number, got '" ~ var(name) ~ "'") }}
{%- endmacro %}

{% macro text_list_setting(name) -%}
    {%- if text_list_setting_problem(name) -%}{{ exceptions.raise_compiler_error(text_list_setting_problem(name)) }}{%- endif -%}
    {{ return(var(name)) }}
{%- endmacro %}

{% macro text_list_setting_problem(name) -%}
    {%- set problem = text_list_problem(var(name)) -%}
    {{ return(name ~ " must be a list of distinct, non-empty text values: " ~ problem if problem else '') }}
{%- endmacro %}

{#- Why `values` is not a list of distinct, non-empty text values (or '' when it is). -#}
{% macro text_list_problem(values) -%}
    {%- if values is string or values is mapping or values is not iterable -%}{{ return("got '" ~ values ~ "'") }}{%- endif -%}
    {%- if values | length == 0 -%}{{ return("the list is empty") }}{%- endif -%}
    {%- for value in values if value is not string or value | trim == '' -%}
        {{ return("'" ~ value ~ "' is not a text value") }}
    {%- endfor -%}
    {%- if values | unique | list | length != values | length -%}{{ return("values repeat") }}{%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro is_plain_identifier(value) -%}
    {{ return(value is string and modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', value) is not none) }}
{%- endmacro %}
