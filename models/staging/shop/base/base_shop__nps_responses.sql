-- depends_on: {{ ref('stg_shop__customers') }}
{{ checked_raw_table('nps_responses') }}
