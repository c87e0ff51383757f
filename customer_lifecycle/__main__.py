"""Command line: python -m customer_lifecycle <command>.

  demo        build everything on the bundled demo data in an embedded DuckDB file and print a summary
  build       dbt build with the current environment (own data: LIFECYCLE_DATA_DIR / LIFECYCLE_RAW_SCHEMA)
  summary     print the summary of an existing DuckDB build
  load-files  copy a directory of raw files into PostgreSQL tables (for LIFECYCLE_RAW_SCHEMA)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .contract import PROJECT_DIR
from .dbt_runner import DbtFailed, run_dbt
from .summary import print_summary

DEFAULT_DUCKDB = PROJECT_DIR / "target" / "lifecycle.duckdb"


def _duckdb_path() -> Path:
    return Path(os.environ.get("LIFECYCLE_DUCKDB_PATH", DEFAULT_DUCKDB)).resolve()


def cmd_build(args: argparse.Namespace) -> int:
    env = {}
    if os.environ.get("LIFECYCLE_TARGET", "duckdb") == "duckdb":
        db_path = _duckdb_path()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        env["LIFECYCLE_DUCKDB_PATH"] = str(db_path)
    dbt_args = ["build"]
    if args.vars:
        dbt_args += ["--vars", args.vars]
    try:
        run_dbt(dbt_args, env=env, stream=True)
    except DbtFailed:
        print("\nThe build failed: see dbt's messages above.", file=sys.stderr)
        return 1
    if os.environ.get("LIFECYCLE_TARGET", "duckdb") == "duckdb":
        print_summary(_duckdb_path())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    for name in ("LIFECYCLE_DATA_DIR", "LIFECYCLE_RAW_SCHEMA", "LIFECYCLE_TARGET"):
        os.environ.pop(name, None)
    return cmd_build(args)


def cmd_summary(args: argparse.Namespace) -> int:
    print_summary(_duckdb_path())
    return 0


def cmd_load_files(args: argparse.Namespace) -> int:
    import psycopg2

    from .loader import load_into_postgres

    conn = psycopg2.connect(
        host=os.environ.get("LIFECYCLE_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("LIFECYCLE_PG_PORT", "5432")),
        user=os.environ.get("LIFECYCLE_PG_USER", "postgres"),
        password=os.environ.get("LIFECYCLE_PG_PASSWORD", ""),
        dbname=os.environ.get("LIFECYCLE_PG_DATABASE", "lifecycle"),
    )
    loaded = load_into_postgres(Path(args.data_dir), conn, args.schema, prefix=args.prefix)
    for table, rows in loaded.items():
        print(f"  {args.schema}.{table}: {rows} rows")
    print(f"Now build with LIFECYCLE_TARGET=postgres LIFECYCLE_RAW_SCHEMA={args.schema}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_lifecycle", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("demo", cmd_demo), ("build", cmd_build)):
        p = sub.add_parser(name)
        p.add_argument("--vars", help="dbt vars as YAML, e.g. '{churn_after_days: 120}'")
        p.set_defaults(func=func)
    sub.add_parser("summary").set_defaults(func=cmd_summary)
    p = sub.add_parser("load-files")
    p.add_argument("data_dir")
    p.add_argument("--schema", default="raw")
    p.add_argument("--prefix", default="", help="file names are <prefix><table>, e.g. raw_ for seeds/demo")
    p.set_defaults(func=cmd_load_files)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
