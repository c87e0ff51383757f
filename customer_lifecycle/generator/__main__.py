"""Command line: python -m customer_lifecycle.generator --preset demo --seed 42 --out DIR ..."""
from __future__ import annotations

import argparse
import json
import sys
import time

from . import generate
from .params import PRESETS


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m customer_lifecycle.generator",
                                 description="Generate the synthetic raw data of the customer lifecycle project.")
    ap.add_argument("--preset", default="demo", choices=list(PRESETS))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--format", choices=["csv", "parquet"], default=None, help="default: the preset's format")
    ap.add_argument("--prefix", default="", help="prefix of table file names (raw_ for dbt seeds)")
    ap.add_argument("--bad-rate", type=float, default=0.0,
                    help="share of injected bad rows per table (0: clean, the default)")
    ap.add_argument("--customers", type=int, default=None, help="target number of customers")
    ap.add_argument("--no-email-effects", action="store_true", help="e-mail clicks do not lead to visits or orders")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a parameter (JSON value; nested keys with __, e.g. btyd__r=0.5)")
    args = ap.parse_args(argv)
    overrides = {}
    if args.customers is not None:
        overrides["customers"] = args.customers
    if args.no_email_effects:
        overrides["email_effects"] = False
    for item in args.set:
        key, sep, val = item.partition("=")
        if not sep:
            ap.error(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key] = _value(val)
    t = time.perf_counter()
    path = generate(args.preset, args.seed, args.out, args.format, args.prefix, args.bad_rate, **overrides)
    with open(path, encoding="utf-8") as fh:
        rows = json.load(fh)["realised"]["rows"]
    print(f"wrote {path.parent} in {time.perf_counter() - t:.1f}s: "
          + ", ".join(f"{k}={v}" for k, v in rows.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
