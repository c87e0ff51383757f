{#- NPS class of a 0-10 score (docs block `nps`): promoter, passive or detractor. -#}
{% macro nps_class(score) -%}
    case
        when {{ score }} >= {{ var('nps_promoter_min_score') }} then 'promoter'
        when {{ score }} >= {{ var('nps_passive_min_score') }} then 'passive'
        when {{ score }} is not null then 'detractor'
    end
{%- endmacro %}
