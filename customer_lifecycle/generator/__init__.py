"""Synthetic raw data for the customer lifecycle project.

    python -m customer_lifecycle.generator --preset demo --seed 42 --out DIR \
        [--format csv|parquet] [--prefix raw_] [--bad-rate 0.01] [--customers N] [--set KEY=VALUE ...]

or from Python::

    from customer_lifecycle.generator import generate
    gt_path = generate("demo", seed=42, out_dir="out", fmt="csv", prefix="", bad_rate=0.0, customers=500)

One file per contract table (<prefix><table>.csv|.parquet, or a directory <prefix><table>/ of
part files for chunked tables), columns exactly as in the contract, every value text, empty =
null; plus ground_truth.json (see ground_truth.py for its keys) and, when bad_rate > 0,
injected_bad_rows.csv (table,row_key,reason). The story the data tells is documented in
simulate.py (visits, funnel, identification, BG/NBD by Poisson thinning, e-mail), pipeline.py
(orders, baskets, statuses, NPS, referrals, shared devices) and params.py (every parameter).
Output is a pure function of preset, seed and overrides (never the wall clock).
"""
from __future__ import annotations

from pathlib import Path

from .params import PRESETS


def generate(preset: str = "demo", seed: int = 42, out_dir: str | Path = ".", fmt: str | None = None,
             prefix: str = "", bad_rate: float = 0.0, **overrides) -> Path:
    """Write the dataset of `preset` for `seed` into out_dir; return the path of ground_truth.json."""
    from .core import generate as _generate
    return _generate(preset, seed, out_dir, fmt, prefix, bad_rate, **overrides)


__all__ = ["generate", "PRESETS"]
