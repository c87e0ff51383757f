{{ checked_raw_table('events') }}
