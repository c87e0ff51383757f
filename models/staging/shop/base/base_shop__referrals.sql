{{ checked_raw_table('referrals') }}
