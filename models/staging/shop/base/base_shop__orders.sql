{{ checked_raw_table('orders', convert_currency={'currency': 'currency', 'at': 'ordered_at'}) }}
