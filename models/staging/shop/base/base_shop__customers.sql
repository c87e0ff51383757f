{{ checked_raw_table('customers') }}
