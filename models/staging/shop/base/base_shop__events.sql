-- depends_on: {{ ref('stg_shop__customers') }}
-- depends_on: {{ ref('stg_shop__products') }}
-- depends_on: {{ ref('stg_shop__orders') }}
{{ checked_raw_table('events') }}
