{#- The grain test for models whose grain is several columns: no two rows share the same
    combination of values. (The one-column case is dbt's own `unique`.) -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as rows_with_these_values
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
