{#- A rate column is a fraction in [0, 1], null exactly when its denominator (a SQL expression on
    the same row) is 0 or null, and not null otherwise. Returns the offending rows. -#}
{% test rate_in_unit_interval(model, column_name, denominator) %}

select *
from {{ model }}
where
    ({{ column_name }} is not null and ({{ column_name }} < 0 or {{ column_name }} > 1))
    or (coalesce({{ denominator }}, 0) = 0 and {{ column_name }} is not null)
    or (coalesce({{ denominator }}, 0) <> 0 and {{ column_name }} is null)

{% endtest %}
