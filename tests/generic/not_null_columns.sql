{#- Not-null on several columns at once (e.g. every column of a multi-column grain). -#}
{% test not_null_columns(model, column_names) %}

select *
from {{ model }}
where {% for column in column_names %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}

{% endtest %}
