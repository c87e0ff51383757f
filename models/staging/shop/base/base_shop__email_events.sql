-- depends_on: {{ ref('stg_shop__campaigns') }}
-- depends_on: {{ ref('stg_shop__customers') }}
{{ checked_raw_table('email_events') }}
