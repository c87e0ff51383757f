"""Command line: python -m customer_lifecycle <command>.

  demo        build everything on the bundled demo data in an embedded DuckDB file and print a summary
  build       dbt build with the current environment (own data: LIFECYCLE_DATA_DIR / LIFECYCLE_RAW_SCHEMA);
              incremental when the tables exist, --full-refresh rebuilds everything
  summary     print the summary of an existing DuckDB build
  load-files  copy a directory of raw files into PostgreSQL tables (for LIFECYCLE_RAW_SCHEMA)
  fit-clv     fit the customer-value models on a PostgreSQL build and rebuild the models that use them
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
    # Incremental when the tables exist (docs block `incremental_runs`); --full-refresh rebuilds all.
    dbt_args = ["build", "--full-refresh"] if args.full_refresh else ["build"]
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


def _pg_connect():
    import psycopg2

    return psycopg2.connect(
        host=os.environ.get("LIFECYCLE_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("LIFECYCLE_PG_PORT", "5432")),
        user=os.environ.get("LIFECYCLE_PG_USER", "postgres"),
        password=os.environ.get("LIFECYCLE_PG_PASSWORD", ""),
        dbname=os.environ.get("LIFECYCLE_PG_DATABASE", "lifecycle"),
    )


def _model_relations(models: tuple[str, ...], dbt_vars: str | None) -> dict[str, dict]:
    """name -> {relation_name, schema} of enabled models, as dbt resolves them for the current target."""
    import json

    args = ["ls", "--quiet", "--resource-type", "model", "--output", "json",
            "--output-keys", "name", "relation_name", "schema", "--select", *models]
    if dbt_vars:
        args += ["--vars", dbt_vars]
    result = run_dbt(args)
    found = {}
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            node = json.loads(line)
            found[node["name"]] = node
    missing = [m for m in models if m not in found]
    if missing:
        raise DbtFailed(args, f"models not found in the project: {', '.join(missing)}\n{result.stdout}")
    return found


def cmd_fit_clv(args: argparse.Namespace) -> int:
    """Fit the customer-value models where dbt cannot (no dbt Python models on PostgreSQL).

    Reads the summary groups of the current build from the warehouse, fits BG/NBD and Gamma-Gamma
    with the same function as the DuckDB build's Python model, writes the table int_clv__model_fits
    next to the groups, then rebuilds int_clv__model_parameters and every model downstream of it.
    """
    from .clv.warehouse import INPUT_MODELS, fit_models, read_inputs_postgres, write_fits_postgres

    target = os.environ.get("LIFECYCLE_TARGET", "duckdb")
    if target == "duckdb":
        print("On DuckDB the customer-value models are fitted by `build` itself (the dbt Python model "
              "int_clv__model_fits): nothing to do.")
        return 0
    try:
        nodes = _model_relations(INPUT_MODELS, args.vars)
    except DbtFailed as err:
        print(f"Could not resolve the customer-value models: {err}", file=sys.stderr)
        return 1
    conn = _pg_connect()
    try:
        try:
            frames = read_inputs_postgres(conn, {m: nodes[m]["relation_name"] for m in INPUT_MODELS})
        except Exception as err:  # noqa: BLE001 - reported with what to do
            print(f"Could not read the summary groups ({err}).\nBuild the project first: "
                  "python -m customer_lifecycle build", file=sys.stderr)
            return 1
        fits = fit_models(frames["int_clv__settings"], frames["int_clv__bgnbd_groups"],
                          frames["int_clv__spend_groups"], frames["int_clv__holdout_groups"], fitted_with="fit-clv")
        relation = write_fits_postgres(conn, nodes["int_clv__bgnbd_groups"]["schema"], fits)
    finally:
        conn.close()
    print(f"Wrote {relation}:")
    for row in fits.itertuples(index=False):
        detail = (f"r={row.r:.6g} alpha={row.alpha:.6g} a={row.a:.6g} b={row.b:.6g}" if row.model_name != "gamma_gamma"
                  else f"p={row.p:.6g} q={row.q:.6g} gamma={row.gamma:.6g}") if row.status == "fitted" else row.message
        print(f"  {row.model_name:18} {row.status:7} {detail}")
    if args.no_rebuild:
        print("Now rebuild the models that use the fit: dbt build --select int_clv__model_parameters+")
        return 0
    dbt_args = ["build", "--select", "int_clv__model_parameters+"]
    if args.vars:
        dbt_args += ["--vars", args.vars]
    try:
        run_dbt(dbt_args, stream=True)
    except DbtFailed:
        print("\nThe rebuild failed: see dbt's messages above.", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_lifecycle", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("demo", cmd_demo), ("build", cmd_build)):
        p = sub.add_parser(name)
        p.add_argument("--vars", help="dbt vars as YAML, e.g. '{churn_after_days: 120}'")
        p.add_argument("--full-refresh", action="store_true",
                       help="rebuild every table from the raw data instead of updating the persons that changed")
        p.set_defaults(func=func)
    sub.add_parser("summary").set_defaults(func=cmd_summary)
    p = sub.add_parser("load-files")
    p.add_argument("data_dir")
    p.add_argument("--schema", default="raw")
    p.add_argument("--prefix", default="", help="file names are <prefix><table>, e.g. raw_ for seeds/demo")
    p.set_defaults(func=cmd_load_files)
    p = sub.add_parser("fit-clv", help="fit the customer-value models on a PostgreSQL build (no dbt Python models there)")
    p.add_argument("--vars", help="the dbt vars of the build, as YAML (the same as for `build`)")
    p.add_argument("--no-rebuild", action="store_true", help="only write the fit; do not rebuild the models using it")
    p.set_defaults(func=cmd_fit_clv)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
