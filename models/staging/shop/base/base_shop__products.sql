{{ checked_raw_table('products') }}
