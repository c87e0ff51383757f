{{ checked_raw_table('marketing_spend') }}
