"""Benchmark of the data generator: the `large` preset (about 10 million events) as Parquet parts.

    python benchmarks/bench_generator.py [--preset large] [--seed 42] [--out DIR] [--keep] [--set KEY=VALUE ...]

Reports wall-clock seconds, CPU seconds, peak resident memory (getrusage ru_maxrss) and the rows
written per table. Without --out the data goes to a temporary directory that is removed afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from customer_lifecycle.generator import generate  # noqa: E402


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="large")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--format", default="parquet", choices=["csv", "parquet"])
    ap.add_argument("--out", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary output directory")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    overrides = {}
    for item in args.set:
        k, _, v = item.partition("=")
        try:
            overrides[k] = json.loads(v)
        except json.JSONDecodeError:
            overrides[k] = v
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_generator_"))
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        gt_path = generate(args.preset, args.seed, out, args.format, **overrides)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # kilobytes on Linux
        gt = json.loads(gt_path.read_text())
        rows = gt["realised"]["rows"]
        report = {
            "preset": args.preset, "seed": args.seed, "format": args.format,
            "seconds_wall": round(wall, 1), "seconds_cpu": round(cpu, 1),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "events": rows.get("events", 0),
            "events_per_second": round(rows.get("events", 0) / wall) if wall else None,
            "output_mb": round(_dir_size(out) / 2**20, 1),
            "rows": rows,
            "cpus": os.cpu_count(),
        }
        print(json.dumps(report, indent=1))
    finally:
        if not args.out and not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
