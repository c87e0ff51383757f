{#-
    incremental_settings_hash(): a hash of the settings that shape the incremental models
    (docs block `incremental_runs`). The unit digests record it; a run whose hash differs from the
    one the tables were built with recomputes every person (incremental_mode() = 'full').
    Every var of dbt_project.yml is in exactly one of the two lists below (a pytest checks it):
    a new setting has to be placed in one. The raw data contract (macro raw_contract) is part of
    the hash too.
-#}
{% macro incremental_settings() -%}
    {{ return([
        'reporting_currency', 'order_statuses', 'event_types', 'email_event_types',
        'campaign_types', 'at_risk_after_days', 'churn_after_days', 'loyalty_min_orders',
        'nps_promoter_min_score', 'nps_passive_min_score', 'advocacy_referral_window_days',
        'consideration_event_types', 'session_timeout_minutes', 'funnels', 'funnel_window_days',
        'unit_buckets',
    ]) }}
{%- endmacro %}

{#- Settings that only fully rebuilt models read, or that incremental runs handle by themselves
    (data location, as_of_date and the staging bounds change the data, which the digests see). -#}
{% macro settings_outside_incremental_hash() -%}
    {{ return([
        'raw_data_dir', 'raw_schema', 'raw_database', 'max_valid_at', 'min_valid_at', 'max_money_amount', 'as_of_date',
        'cart_abandonment_window_days', 'cart_recovery_window_days', 'attribution_window_days',
        'acquisition_value_window_days', 'product_tier_order', 'clv_time_unit', 'clv_horizon_days',
        'clv_annual_discount_rate', 'pii_hash_key', 'reader_role', 'raw_loaded_at_column', 'raw_deleted_column',
        'quarantine_warn_percent', 'quarantine_error_percent', 'test_whole_tables',
    ]) }}
{%- endmacro %}

{% macro incremental_settings_hash() -%}
    {%- set settings = {'raw_contract': raw_contract()} -%}
    {%- for name in incremental_settings() -%}
        {%- do settings.update({name: var(name)}) -%}
    {%- endfor -%}
    {{ return(local_md5(tojson(settings, sort_keys=true))) }}
{%- endmacro %}
