{{ checked_raw_table('nps_responses') }}
