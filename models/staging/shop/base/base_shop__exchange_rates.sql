{{ checked_raw_table('exchange_rates') }}
