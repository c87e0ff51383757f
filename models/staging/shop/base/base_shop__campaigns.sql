{{ checked_raw_table('campaigns') }}
