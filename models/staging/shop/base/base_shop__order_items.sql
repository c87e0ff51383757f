-- depends_on: {{ ref('stg_shop__orders') }}
-- depends_on: {{ ref('stg_shop__products') }}
{{ checked_raw_table('order_items') }}
