-- depends_on: {{ ref('stg_shop__customers') }}
-- depends_on: {{ ref('stg_shop__exchange_rates') }}
{{ checked_raw_table('orders') }}
