{{ checked_raw_table('order_items', carry={'orders': ['exchange_rate']}) }}
