{#-
    Funnels as configuration (docs block `funnels`). var('funnels') declares each funnel:

        funnels:
          purchase:
            steps: [page_view, product_view, add_to_cart, begin_checkout, purchase]
            scope: session     # session, or person (steps within funnel_window_days of step 1)
            order: ordered     # ordered, or any

    journey_funnels() reads and checks the declaration; funnel_entries_sql() is the one code path
    that turns a funnel into its entries with the time each step was reached.
-#}

{#- The most steps a funnel may have: fct_funnel_sessions has one step_<k>_at column per step. -#}
{% macro funnel_max_steps() -%}
    {{ return(8) }}
{%- endmacro %}

{#- The time an entry of fct_funnel_sessions (alias `entries`) reached step `step_number` (an SQL
    expression); step 0 is the entry itself (entered_at). -#}
{% macro funnel_step_at(step_number, entries='entries') -%}
    case {{ step_number }}
        when 0 then {{ entries }}.entered_at
        {%- for k in range(1, funnel_max_steps() + 1) %}
        when {{ k }} then {{ entries }}.step_{{ k }}_at
        {%- endfor %}
    end
{%- endmacro %}

{#- The declared funnels as a list of {name, steps, scope, order}, in declaration order. A bad
    declaration stops the build with a message naming the funnel. -#}
{% macro journey_funnels() -%}
    {%- set declared = var('funnels') or {} -%}
    {%- if declared is not mapping -%}
        {{ exceptions.raise_compiler_error("var 'funnels' must map funnel names to {steps, scope, order}, got: " ~ declared) }}
    {%- endif -%}
    {%- set event_types = text_list_setting('event_types') -%}
    {%- set funnels = [] -%}
    {%- set problems = [] -%}
    {%- for name, spec in declared.items() -%}
        {%- set label = "funnel '" ~ name ~ "'" -%}
        {%- if not modules.re.fullmatch('[a-z][a-z0-9_]*', name | string) -%}
            {%- do problems.append(label ~ ": the name must be lower case letters, digits and _") -%}
        {%- endif -%}
        {%- if spec is not mapping -%}
            {%- do problems.append(label ~ ": expected {steps, scope, order}") -%}
        {%- else -%}
            {%- set steps = spec.get('steps') or [] -%}
            {%- set scope = spec.get('scope', 'session') -%}
            {%- set order = spec.get('order', 'ordered') -%}
            {%- if steps is string or steps | length < 2 or steps | length > funnel_max_steps() -%}
                {%- do problems.append(label ~ ": steps must be a list of 2 to " ~ funnel_max_steps() ~ " event types") -%}
            {%- else -%}
                {%- for step in steps -%}
                    {%- if step not in event_types -%}
                        {%- do problems.append(label ~ ": step '" ~ step ~ "' is not an event type (" ~ event_types | join(', ') ~ ")") -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}
            {%- if scope not in ['session', 'person'] -%}
                {%- do problems.append(label ~ ": scope must be session or person, got '" ~ scope ~ "'") -%}
            {%- endif -%}
            {%- if order not in ['ordered', 'any'] -%}
                {%- do problems.append(label ~ ": order must be ordered or any, got '" ~ order ~ "'") -%}
            {%- endif -%}
            {%- do funnels.append({'name': name, 'steps': steps, 'scope': scope, 'order': order}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not (var('funnel_window_days') | string).isdigit() or var('funnel_window_days') | int < 1 -%}
        {%- do problems.append("funnel_window_days must be a positive whole number, got '" ~ var('funnel_window_days') ~ "'") -%}
    {%- endif -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error("Invalid funnel settings (var funnels):\n  - " ~ (problems | join("\n  - "))) }}
    {%- endif -%}
    {{ return(funnels) }}
{%- endmacro %}

{#-
    The CTEs of one funnel, named <prefix>_*, ending in <prefix>_entries_with_steps: one row per
    entry with funnel_name, entry_id, funnel_scope, funnel_order, funnel_steps, person_id, customer_id, entry_session_id, attempt_number,
    entered_at, window_ends_at, step_1_at .. step_8_at (when the entry completed step k; null when
    it did not, or when the funnel has fewer steps), steps_reached and converted_at. `events` is a relation of
    int_sessions__events columns. Scaling: each step is a join of the entries still in the funnel
    with the step's events of the same entry (an equi-join on entry_id), so the cost is
    steps x the funnel's events; a person-scope funnel adds one sort of its first-step events per
    person and a recursion whose depth is the largest number of attempts of one person.
-#}
{% macro funnel_entries_sql(funnel, prefix, events) -%}
    {%- set steps = funnel.steps -%}
    {%- set window_days = var('funnel_window_days') | int %}
{{ prefix }}_events as (
    select
        person_id,
        customer_id,
        session_id,
        person_event_number,
        occurred_at,
        event_type
    from {{ events }}
    where event_type in ({{ sql_string_list(steps | unique | list) }})
),

{%- if funnel.scope == 'session' %}

{{ prefix }}_entries as (
    select
        session_id as entry_id,
        person_id,
        customer_id,
        session_id as entry_session_id,
        cast(null as {{ dbt.type_int() }}) as attempt_number,
        min(person_event_number) as start_number,
        min(occurred_at) as entered_at,
        cast(null as {{ dbt.type_timestamp() }}) as window_ends_at
    from {{ prefix }}_events
    where event_type = {{ sql_string(steps[0]) }}
    group by session_id, person_id, customer_id
),

{{ prefix }}_entry_events as (
    select
        entries.entry_id,
        step_events.event_type,
        step_events.person_event_number,
        step_events.occurred_at
    from {{ prefix }}_events as step_events
    inner join {{ prefix }}_entries as entries
        on step_events.session_id = entries.entry_id
),

{%- else %}

{#- Person scope: an attempt opens at a first-step event and covers funnel_window_days from it;
    the next attempt opens at the first first-step event after that window has closed. -#}
{{ prefix }}_first_steps as (
    select
        person_id,
        customer_id,
        session_id,
        person_event_number,
        occurred_at
    from {{ prefix }}_events
    where event_type = {{ sql_string(steps[0]) }}
),

{{ prefix }}_window_ends as (
    select
        person_id,
        person_event_number,
        occurred_at as sort_at,
        0 as is_window_end
    from {{ prefix }}_first_steps
    union all
    select
        person_id,
        person_event_number,
        {{ add_to_timestamp('day', window_days, 'occurred_at') }} as sort_at,
        1 as is_window_end
    from {{ prefix }}_first_steps
),

{#- For each first-step event: the first first-step event after its window has closed (an event
    exactly at the window's end is still inside it). -#}
{{ prefix }}_next_starts as (
    select
        person_id,
        person_event_number,
        next_start_number
    from (
        select
            person_id,
            person_event_number,
            is_window_end,
            min(case when is_window_end = 0 then person_event_number end) over (
                partition by person_id
                order by sort_at desc, is_window_end desc, person_event_number desc
                rows between unbounded preceding and 1 preceding
            ) as next_start_number
        from {{ prefix }}_window_ends
    ) as probed
    where is_window_end = 1
),

{{ prefix }}_first_starts as (
    select
        person_id,
        min(person_event_number) as first_number
    from {{ prefix }}_first_steps
    group by person_id
),

{{ prefix }}_attempt_chain as (
    select
        next_starts.person_id,
        1 as attempt_number,
        next_starts.person_event_number as start_number,
        next_starts.next_start_number
    from {{ prefix }}_next_starts as next_starts
    inner join {{ prefix }}_first_starts as first_starts
        on
            next_starts.person_id = first_starts.person_id
            and next_starts.person_event_number = first_starts.first_number
    union all
    select
        next_starts.person_id,
        chain.attempt_number + 1 as attempt_number,
        next_starts.person_event_number as start_number,
        next_starts.next_start_number
    from {{ prefix }}_attempt_chain as chain
    inner join {{ prefix }}_next_starts as next_starts
        on
            chain.person_id = next_starts.person_id
            and chain.next_start_number = next_starts.person_event_number
),

{{ prefix }}_entries as (
    select
        {{ dbt.concat(['chain.person_id', "'/attempt/'", 'cast(chain.attempt_number as ' ~ dbt.type_string() ~ ')']) }} as entry_id,
        chain.person_id,
        first_steps.customer_id,
        first_steps.session_id as entry_session_id,
        chain.attempt_number,
        chain.start_number,
        first_steps.occurred_at as entered_at,
        {{ add_to_timestamp('day', window_days, 'first_steps.occurred_at') }} as window_ends_at
    from {{ prefix }}_attempt_chain as chain
    inner join {{ prefix }}_first_steps as first_steps
        on
            chain.person_id = first_steps.person_id
            and chain.start_number = first_steps.person_event_number
),

{#- Each step event belongs to the latest attempt opened at or before it, when it lies inside that
    attempt's window (attempts never overlap). -#}
{{ prefix }}_marked_events as (
    select
        step_events.person_id,
        step_events.person_event_number,
        step_events.occurred_at,
        step_events.event_type,
        entries.attempt_number as opens_attempt_number
    from {{ prefix }}_events as step_events
    left join {{ prefix }}_entries as entries
        on
            step_events.person_id = entries.person_id
            and step_events.person_event_number = entries.start_number
),

{{ prefix }}_assigned_events as (
    select
        person_id,
        person_event_number,
        occurred_at,
        event_type,
        max(opens_attempt_number) over (
            partition by person_id order by person_event_number
            rows between unbounded preceding and current row
        ) as attempt_number
    from {{ prefix }}_marked_events
),

{{ prefix }}_entry_events as (
    select
        entries.entry_id,
        assigned_events.event_type,
        assigned_events.person_event_number,
        assigned_events.occurred_at
    from {{ prefix }}_assigned_events as assigned_events
    inner join {{ prefix }}_entries as entries
        on
            assigned_events.person_id = entries.person_id
            and assigned_events.attempt_number = entries.attempt_number
    where assigned_events.occurred_at <= entries.window_ends_at
),

{%- endif %}

{%- set step_times = [] %}
{%- if funnel.order == 'ordered' %}

{{ prefix }}_step_1 as (
    select
        entry_id,
        start_number as event_number,
        entered_at as reached_at
    from {{ prefix }}_entries
),
{%- for step in steps[1:] %}
{%- set k = loop.index + 1 %}

{{ prefix }}_step_{{ k }} as (
    select
        previous_step.entry_id,
        min(entry_events.person_event_number) as event_number,
        min(entry_events.occurred_at) as reached_at
    from {{ prefix }}_step_{{ k - 1 }} as previous_step
    inner join {{ prefix }}_entry_events as entry_events
        on
            previous_step.entry_id = entry_events.entry_id
            and entry_events.event_type = {{ sql_string(step) }}
            and entry_events.person_event_number > previous_step.event_number
    group by previous_step.entry_id
),
{%- endfor %}
{%- for k in range(1, steps | length + 1) %}
    {%- do step_times.append('step_' ~ k ~ '.reached_at') %}
{%- endfor %}

{%- else %}

{{ prefix }}_first_seen as (
    select
        entry_id,
        {%- for step in steps %}
        min(case when event_type = {{ sql_string(step) }} then occurred_at end) as seen_{{ loop.index }}_at{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ prefix }}_entry_events
    group by entry_id
),
{#- Any order: step k is reached when steps 1..k have all been seen, at the latest of those times. #}
{%- for k in range(1, steps | length + 1) %}
    {%- set seen = [] %}
    {%- for j in range(1, k + 1) %}{% do seen.append('first_seen.seen_' ~ j ~ '_at') %}{% endfor %}
    {%- do step_times.append(seen[0] if k == 1 else
        'case when ' ~ (seen | join(' is not null and ')) ~ ' is not null then greatest(' ~ (seen | join(', ')) ~ ') end') %}
{%- endfor %}

{%- endif %}

{{ prefix }}_step_times as (
    select
        entries.entry_id,
        entries.person_id,
        entries.customer_id,
        entries.entry_session_id,
        entries.attempt_number,
        entries.entered_at,
        entries.window_ends_at,
        {%- for step_time in step_times %}
        {{ step_time }} as step_{{ loop.index }}_at{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ prefix }}_entries as entries
    {%- if funnel.order == 'ordered' %}
    {%- for k in range(1, steps | length + 1) %}
    left join {{ prefix }}_step_{{ k }} as step_{{ k }}
        on entries.entry_id = step_{{ k }}.entry_id
    {%- endfor %}
    {%- else %}
    left join {{ prefix }}_first_seen as first_seen
        on entries.entry_id = first_seen.entry_id
    {%- endif %}
),

{{ prefix }}_entries_with_steps as (
    select
        {{ sql_string(funnel.name) }} as funnel_name,
        entry_id,
        {{ sql_string(funnel.scope) }} as funnel_scope,
        {{ sql_string(funnel.order) }} as funnel_order,
        {{ steps | length }} as funnel_steps,
        person_id,
        customer_id,
        entry_session_id,
        attempt_number,
        entered_at,
        window_ends_at,
        {%- for k in range(1, funnel_max_steps() + 1) %}
        {{ 'step_' ~ k ~ '_at' if k <= steps | length else 'cast(null as ' ~ dbt.type_timestamp() ~ ')' }} as step_{{ k }}_at,
        {%- endfor %}
        case
            {%- for k in range(steps | length, 0, -1) %}
            when step_{{ k }}_at is not null then {{ k }}
            {%- endfor %}
        end as steps_reached,
        step_{{ steps | length }}_at as converted_at
    from {{ prefix }}_step_times
)
{%- endmacro %}

{#- Every declared funnel's CTEs, then `all_entries`: the union of their entries (typed and empty
    when no funnel is declared), followed by a comma. -#}
{% macro funnel_ctes(funnels, events) -%}
    {%- for funnel in funnels %}
{{ funnel_entries_sql(funnel, 'funnel_' ~ loop.index, events) }},
    {%- endfor %}

all_entries as (
    {%- for funnel in funnels %}
    select * from funnel_{{ loop.index }}_entries_with_steps
    {{- ' union all' if not loop.last }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as funnel_name,
        cast(null as {{ dbt.type_string() }}) as entry_id,
        cast(null as {{ dbt.type_string() }}) as funnel_scope,
        cast(null as {{ dbt.type_string() }}) as funnel_order,
        0 as funnel_steps,
        person_id,
        customer_id,
        session_id as entry_session_id,
        cast(null as {{ dbt.type_int() }}) as attempt_number,
        occurred_at as entered_at,
        occurred_at as window_ends_at,
        {%- for k in range(1, funnel_max_steps() + 1) %}
        occurred_at as step_{{ k }}_at,
        {%- endfor %}
        0 as steps_reached,
        occurred_at as converted_at
    from {{ events }}
    where 1 = 0
    {%- endfor %}
),
{%- endmacro %}

{#- The declared funnels' steps as a union of one-row selects (empty and typed without funnels). -#}
{% macro funnel_step_rows(funnels) -%}
    {%- set rows = [] -%}
    {%- for funnel in funnels -%}
        {%- set funnel_position = loop.index -%}
        {%- for step in funnel.steps -%}
            {%- do rows.append("select '" ~ funnel.name ~ "' as funnel_name, '" ~ funnel.scope ~ "' as funnel_scope, '"
                ~ funnel.order ~ "' as funnel_order, " ~ (funnel.steps | length) ~ " as funnel_steps, "
                ~ funnel_position ~ " as funnel_position, " ~ loop.index ~ " as step_number, '" ~ step ~ "' as step_name") -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if rows -%}
        {{ rows | join('\n    union all\n    ') }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as funnel_name,
            cast(null as {{ dbt.type_string() }}) as funnel_scope,
            cast(null as {{ dbt.type_string() }}) as funnel_order,
            0 as funnel_steps,
            0 as funnel_position,
            0 as step_number,
            cast(null as {{ dbt.type_string() }}) as step_name
        where 1 = 0
    {%- endif -%}
{%- endmacro %}
