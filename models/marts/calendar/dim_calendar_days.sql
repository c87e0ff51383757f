{#-
    One row per day from the first day of the data to as_of_date (grain: date_day): the daily
    time spine of the semantic layer (MetricFlow), built with dbt's own date_spine. The spine's
    bounds are settings known before any table exists (min_valid_at; max_valid_at or the build's
    start, or a later as_of_date), so the model compiles on an empty warehouse; the data's own
    window is then kept.
    Scaling: one row per day between the bounds (about 15,000 from 1990).
-#}
{#- Read as text: validate_project_vars (on-run-start) names a setting of another type. -#}
{%- set latest_valid_day = ((var('max_valid_at') or run_started_at.strftime('%Y-%m-%d')) | string)[:10] %}
{%- set upper = [latest_valid_day, ((var('as_of_date') or '') | string)[:10]] | max %}
with

days as (
    {{ dbt.date_spine(
        'day',
        "cast(" ~ sql_string((var('min_valid_at') | string)[:10]) ~ " as date)",
        add_days(1, "cast(" ~ sql_string(upper) ~ " as date)"),
    ) }}
),

data_window as (
    select * from {{ ref('int_as_of_date') }}
),

final as (
    select cast(days.date_day as date) as date_day
    from days
    inner join data_window
        on
            cast(days.date_day as date) >= data_window.data_first_day
            and cast(days.date_day as date) <= data_window.as_of_date
)

select * from final
