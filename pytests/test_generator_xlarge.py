"""The xlarge generator preset (about 100 million events) on small --customers overrides.

xlarge is `large` times ten with visitors drawn one day at a time and simulated and written in
blocks of block_persons visitors, so that memory is bounded by one block, not by the run. These
tests use block_persons of a few hundred so that a few thousand customers give many blocks.
"""
from __future__ import annotations

import hashlib
import json
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from customer_lifecycle import contract
from customer_lifecycle.generator import generate
from customer_lifecycle.generator import params as P
from customer_lifecycle.generator.theory import identification_probability
from customer_lifecycle.generator.world import Calendar, Streams, plan_arrivals, rebatch, stream_arrivals

CHUNKED = ("events", "orders", "order_items", "email_events")
BLOCK = 800


def _tree_hash(d: Path) -> dict[str, str]:
    return {str(f.relative_to(d)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(d.rglob("*")) if f.is_file()}


def _gt(d: Path) -> dict:
    return json.loads((d / "ground_truth.json").read_text())


def test_xlarge_is_large_times_ten_with_streamed_arrivals():
    large, xlarge = P.resolve("large"), P.resolve("xlarge")
    assert xlarge["customers"] == 10 * large["customers"]
    assert xlarge["arrivals_days_per_draw"] >= 1 and "arrivals_days_per_draw" not in large
    same = {k for k in large if k not in ("customers", "block_persons", "preset")}
    assert {k: xlarge[k] for k in same} == {k: large[k] for k in same}


def test_xlarge_writes_parts_deterministically(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate("xlarge", 11, a, customers=600, block_persons=BLOCK)
    generate("xlarge", 11, b, customers=600, block_persons=BLOCK)
    generate("xlarge", 12, c, customers=600, block_persons=BLOCK)
    ha, hb, hc = _tree_hash(a), _tree_hash(b), _tree_hash(c)
    assert ha == hb
    assert ha["events/part-00000.parquet"] != hc["events/part-00000.parquet"]
    g = _gt(a)
    assert g["format"] == "parquet" and sorted(g["chunked_tables"]) == sorted(CHUNKED)
    for table in CHUNKED:
        parts = sorted((a / table).glob("part-*.parquet"))
        assert len(parts) >= 2, table
        assert all(pq.read_schema(f).names == contract.columns(table) for f in parts)
        assert sum(pq.read_metadata(f).num_rows for f in parts) == g["realised"]["rows"][table]
    ids = np.concatenate([pq.read_table(f, columns=["event_id"]).column(0).to_numpy(zero_copy_only=False)
                          for f in sorted((a / "events").glob("part-*.parquet"))])
    assert ids.size == g["realised"]["events"] and np.unique(ids).size == ids.size
    assert (a / "customers.parquet").is_file()


def test_streamed_arrivals_come_in_blocks_of_exactly_block_persons():
    prm = P.resolve("xlarge", {"customers": 3000})
    cal = Calendar(date.fromisoformat(prm["start_date"]), date.fromisoformat(prm["end_date"]))
    n_exp = prm["customers"] / (identification_probability(prm)["overall"] * prm["customers_calibration"])
    streams = Streams(5)
    plan, _ = plan_arrivals(streams, cal, prm, n_exp)
    blocks = list(rebatch(stream_arrivals(streams, cal, prm, plan, prm["arrivals_days_per_draw"]), BLOCK))
    sizes = [b["t"].size for b in blocks]
    assert sum(sizes) == plan.n and len(blocks) >= 10
    assert set(sizes[:-1]) == {BLOCK} and 0 < sizes[-1] <= BLOCK
    t = np.concatenate([b["t"] for b in blocks])
    assert (np.diff(t) >= 0).all() and t.min() >= cal.t0 and t.max() < cal.t_end


def test_peak_memory_of_chunked_writing_does_not_grow_with_the_run(tmp_path):
    """tracemalloc sees numpy's allocations (where the generator's arrays live). Four times the
    customers (and events) in blocks of the same size must not raise the peak by more than a
    quarter, while a single block of the larger run takes several times more."""
    generate("xlarge", 3, tmp_path / "warm", customers=50, block_persons=BLOCK)   # imports, caches

    def peak(name, customers, block):
        tracemalloc.start()
        try:
            gt_path = generate("xlarge", 3, tmp_path / name, customers=customers, block_persons=block)
            return tracemalloc.get_traced_memory()[1], json.loads(gt_path.read_text())["realised"]["events"]
        finally:
            tracemalloc.stop()

    small, ev_small = peak("small", 500, BLOCK)
    big, ev_big = peak("big", 2000, BLOCK)
    one_block, _ = peak("one_block", 2000, 10**9)
    assert ev_big > 3 * ev_small
    print(f"tracemalloc peaks: {small / 2**20:.1f} MiB ({ev_small} events), {big / 2**20:.1f} MiB ({ev_big}), "
          f"one block {one_block / 2**20:.1f} MiB")
    assert big < 1.25 * small, (small, big)
    assert one_block > 2.5 * big, (big, one_block)
