"""Customer lifecycle analytics: data generator, dbt runner and test harness."""
