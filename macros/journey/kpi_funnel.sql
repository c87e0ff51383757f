{#- The funnel whose conversions count as converted sessions (fct_sessions.is_converted, the
    session_conversion_rate of fct_kpis_monthly): the first session-scope funnel of var funnels
    (default purchase); '' when none is declared. -#}
{% macro kpi_funnel_name() -%}
    {%- set session_funnels = journey_funnels() | selectattr('scope', 'equalto', 'session') | list -%}
    {{ return(session_funnels[0].name if session_funnels else '') }}
{%- endmacro %}
