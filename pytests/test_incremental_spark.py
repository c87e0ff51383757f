"""Incremental runs equal a full refresh on Spark, where a run overwrites the partitions (buckets of
persons) that hold the touched persons instead of deleting their rows.

The same story and checks as test_incremental.py (DuckDB and PostgreSQL), in a file of its own so
that on two workers it runs beside them. Spark steps from A to B1 and then straight to B3 (STEPS),
so the checks that need B2 (time alone between B2 and B3) stay with the other engines, and the
sequence is compared with a full refresh at its end, B3 (COMPARED_STEPS).
Under CI (or LIFECYCLE_REQUIRE_SPARK=1) a missing Java, pyspark or dbt-spark is a failure.
"""
from __future__ import annotations

import pytest

from .harness import require_spark
from .test_incremental import (  # noqa: F401 - fixtures and tests collected here with engine spark
    runs,
    story,
    test_late_identification_moves_the_visitor_into_the_customer,
    test_late_order_status_change_and_orphan_parent,
    test_replays_are_quarantined_and_change_nothing_else,
)


@pytest.fixture(scope="module")
def engine():
    require_spark()
    return "spark"


def test_each_increment_equals_a_full_refresh(runs):
    # The comparison with a full refresh runs inside the fixture, after B3. Here: each
    # step recomputed the touched persons' buckets, not everyone from scratch.
    for step in ("B1", "B3"):
        assert 0 < len(runs[step]["touched"]) < runs[step]["persons"], step
