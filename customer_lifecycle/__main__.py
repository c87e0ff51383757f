"""Command line: python -m customer_lifecycle <command>.

  demo        build everything on the bundled demo data in an embedded DuckDB file and print a summary
  build       dbt build with the current environment (own data: LIFECYCLE_DATA_DIR / LIFECYCLE_RAW_SCHEMA);
              incremental when the tables exist, --full-refresh rebuilds everything
  summary     print the summary of an existing DuckDB build
  compact     rewrite the DuckDB build's working file without its free blocks
  load-files  copy a directory of raw files into PostgreSQL tables (for LIFECYCLE_RAW_SCHEMA)
  fit-clv     refit the customer-value models of a PostgreSQL or Spark build and rebuild the models that
              use them (`build` already fits them on every engine)
  dashboard   serve the lifecycle dashboard (Streamlit) on http://127.0.0.1:PORT, reading the marts read-only
  contract    write the files derived from the raw data contract (models/staging/shop/_shop__sources.yml);
              --check only says which are out of date
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from . import publish
from .contract import PROJECT_DIR
from .dbt_runner import DbtFailed, run_dbt, run_dbt_here, runs_in_this_process
from .summary import print_summary

# Outside target/, which `dbt clean` and `make clean` delete.
DEFAULT_DUCKDB = PROJECT_DIR / "warehouse" / "lifecycle.duckdb"


def _duckdb_path() -> Path:
    return Path(os.environ.get("LIFECYCLE_DUCKDB_PATH", DEFAULT_DUCKDB)).resolve()


# Where the CLV fit enters the DAG: on engines without dbt Python models, `build` runs dbt up to
# the summary groups, fits, then builds this model and everything downstream of it.
FIT_CONSUMERS = "int_clv__model_parameters+"


def _target() -> str:
    return os.environ.get("LIFECYCLE_TARGET", "duckdb")


def cmd_build(args: argparse.Namespace) -> int:
    if _target() != "duckdb":
        return _build_steps(args, {}, daily=not args.full_refresh and _built_before())
    # DuckDB: build the working file in place and publish its marts as a new file renamed into
    # place only when dbt succeeded (docs block `publishing`; customer_lifecycle/publish.py).
    published = _duckdb_path()
    published.parent.mkdir(parents=True, exist_ok=True)
    try:
        with publish.one_build_at_a_time(published):
            working = publish.prepare(published, fresh=args.full_refresh)
            try:
                env = {"LIFECYCLE_DUCKDB_PATH": str(working), **publish.raw_attachment(published)}
                code = _build_steps(args, env, daily=working.exists())
                if code == 0:
                    publish.publish(working, published)
                    publish.compact(working)
            finally:
                publish.discard(published)
    except publish.WarehouseBusy as busy:
        print(busy, file=sys.stderr)
        return 1
    except publish.DiskFull as full:
        print(full, file=sys.stderr)
        return 1
    if code == 0:
        print_summary(published)
    else:
        print(f"Nothing was published: {published} is unchanged.", file=sys.stderr)
    return code


def _build_steps(args: argparse.Namespace, env: dict[str, str], daily: bool = False) -> int:
    """dbt build (in steps around the CLV fit where dbt cannot fit it), 0 when every step passed.
    daily: the warehouse has a build already, so this is a daily run, which leaves out dbt's unit
    tests: they check the SQL on their own given rows, not the data, and run in full refreshes, in
    first builds and in CI (docs block `incremental_runs`)."""
    # Incremental when the tables exist (docs block `incremental_runs`); --full-refresh rebuilds all.
    dbt_args = ["build", "--full-refresh"] if args.full_refresh else ["build"]
    if daily:
        excluded = set(os.environ.get("DBT_EXCLUDE_RESOURCE_TYPES", "").split()) | {"unit_test"}
        dbt_args += ["--exclude-resource-type", *sorted(excluded)]
    if args.vars:
        dbt_args += ["--vars", args.vars]
    # DuckDB fits the CLV models inside dbt (a Python model). Elsewhere one command still gives
    # fitted marts: everything but the fit's consumers, the fit, then the consumers.
    steps = [dbt_args] if _target() == "duckdb" else [dbt_args + ["--exclude", FIT_CONSUMERS], None,
                                                      dbt_args + ["--select", FIT_CONSUMERS]]
    for step in steps:
        if step is None:
            if _fit_clv(args.vars) != 0:
                return 1
            continue
        try:
            _dbt_step(step, env)
        except DbtFailed as err:
            if err.killed_by():
                print(f"\nThe build was killed ({err.killed_by()}) before it finished.", file=sys.stderr)
            elif publish.DISK_FULL in err.output and "LIFECYCLE_DUCKDB_PATH" in env:
                raise publish.disk_full(Path(env["LIFECYCLE_DUCKDB_PATH"]), output=err.output) from None
            else:
                print("\nThe build failed: see dbt's messages above.", file=sys.stderr)
            return 1
        if "--exclude" in step:
            # dbt's next invocation overwrites run_results.json; keep this one's beside it.
            target = Path(os.environ.get("DBT_TARGET_PATH", PROJECT_DIR / "target"))
            if (target / "run_results.json").exists():
                shutil.copyfile(target / "run_results.json", target / "run_results_before_fit.json")
    return 0


def _dbt_step(args: list[str], env: dict[str, str] | None = None) -> None:
    """One dbt step of a command, its output streamed: in this process on Spark's session method
    (dbt_runner.runs_in_this_process, where env is empty), else in a subprocess."""
    if runs_in_this_process():
        run_dbt_here(args)
    else:
        run_dbt(args, env=env, stream=True)


def cmd_demo(args: argparse.Namespace) -> int:
    for name in ("LIFECYCLE_DATA_DIR", "LIFECYCLE_RAW_SCHEMA", "LIFECYCLE_TARGET"):
        os.environ.pop(name, None)
    return cmd_build(args)


def cmd_compact(args: argparse.Namespace) -> int:
    """Compact the working file of the DuckDB build now, whatever share of it is free."""
    published = _duckdb_path()
    working = publish.working_path(published)
    if not working.exists():
        print(f"No working file to compact: {working} does not exist (build first).", file=sys.stderr)
        return 1
    try:
        with publish.one_build_at_a_time(published):
            if not publish.compact(working, most_free=0, min_free_bytes=0):
                print(f"The working file {working} has no free blocks: nothing to compact.")
    except publish.WarehouseBusy as busy:
        print(busy, file=sys.stderr)
        return 1
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    print_summary(_duckdb_path(), tables=args.tables)
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
    loaded = load_into_postgres(Path(args.data_dir), conn, args.schema, prefix=args.prefix, append=args.append)
    for table, rows in loaded.items():
        print(f"  {args.schema}.{table}: {rows} rows")
    print(f"Now build with LIFECYCLE_TARGET=postgres LIFECYCLE_RAW_SCHEMA={args.schema}")
    return 0


def _built_before() -> bool:
    """Whether the target (PostgreSQL, or Spark in this process) holds the record of an earlier
    build, lifecycle_build_state in the target schema. A Spark cluster (spark_thrift) is not asked."""
    if _target() == "spark":
        warehouse = Path(os.environ.get("LIFECYCLE_SPARK_WAREHOUSE", "spark-warehouse"))
        schema = os.environ.get("LIFECYCLE_SPARK_SCHEMA", "lifecycle")
        return ((PROJECT_DIR / warehouse) / f"{schema}.db" / "lifecycle_build_state").is_dir()
    if _target() != "postgres":
        return False
    conn = _pg_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("select count(*) from information_schema.tables where table_schema = %s "
                        "and table_name = 'lifecycle_build_state'", (os.environ.get("LIFECYCLE_PG_SCHEMA", "lifecycle"),))
            return cur.fetchone()[0] > 0
    finally:
        conn.close()


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

    if runs_in_this_process():
        manifest = run_dbt_here(["parse", "--quiet", *(["--vars", dbt_vars] if dbt_vars else [])])
        listed = [{"name": node.name, "relation_name": node.relation_name, "schema": node.schema}
                  for node in manifest.nodes.values() if node.resource_type == "model" and node.name in models]
        output = ""
    else:
        args = ["ls", "--quiet", "--resource-type", "model", "--output", "json",
                "--output-keys", "name", "relation_name", "schema", "--select", *models]
        if dbt_vars:
            args += ["--vars", dbt_vars]
        output = run_dbt(args).stdout
        listed = [json.loads(line) for line in map(str.strip, output.splitlines()) if line.startswith("{")]
    found = {node["name"]: node for node in listed}
    missing = [m for m in models if m not in found]
    if missing:
        raise DbtFailed(["ls"], f"models not found in the project: {', '.join(missing)}\n{output}")
    return found


def _fit_clv(dbt_vars: str | None) -> int:
    """Fit the customer-value models where dbt cannot (PostgreSQL, Spark: no dbt Python models).

    Reads the summary groups of the current build from the warehouse, fits BG/NBD and Gamma-Gamma
    with the same function as the DuckDB build's Python model, and writes the table
    int_clv__model_fits next to the groups.
    """
    from .clv import warehouse

    try:
        nodes = _model_relations(warehouse.INPUT_MODELS, dbt_vars)
    except DbtFailed as err:
        print(f"Could not resolve the customer-value models: {err}", file=sys.stderr)
        return 1
    relations = {m: nodes[m]["relation_name"] for m in warehouse.INPUT_MODELS}
    schema = nodes["int_clv__bgnbd_groups"]["schema"]
    if _target().startswith("spark"):
        from .spark import spark_session

        session = spark_session()  # dbt's, when a dbt step of this command came first
        read = lambda: warehouse.read_inputs_spark(session, relations)  # noqa: E731
        write = lambda fits: warehouse.write_fits_spark(session, schema, fits)  # noqa: E731
        close = lambda: None  # noqa: E731 - the session serves the dbt step that follows
    else:
        conn = _pg_connect()
        read = lambda: warehouse.read_inputs_postgres(conn, relations)  # noqa: E731
        write = lambda fits: warehouse.write_fits_postgres(conn, schema, fits)  # noqa: E731
        close = conn.close
    try:
        try:
            frames = read()
        except Exception as err:  # noqa: BLE001 - reported with what to do
            print(f"Could not read the summary groups ({err}).\nBuild the project first: "
                  "python -m customer_lifecycle build", file=sys.stderr)
            return 1
        fits = warehouse.fit_models(frames["int_clv__settings"], frames["int_clv__bgnbd_groups"],
                                    frames["int_clv__spend_groups"], frames["int_clv__holdout_groups"],
                                    fitted_with="fit-clv")
        relation = write(fits)
    finally:
        close()
    print(f"Wrote {relation}:")
    for row in fits.itertuples(index=False):
        detail = (f"r={row.r:.6g} alpha={row.alpha:.6g} a={row.a:.6g} b={row.b:.6g}" if row.model_name != "gamma_gamma"
                  else f"p={row.p:.6g} q={row.q:.6g} gamma={row.gamma:.6g}") if row.status == "fitted" else row.message
        print(f"  {row.model_name:18} {row.status:7} {detail}")
    return 0


def cmd_fit_clv(args: argparse.Namespace) -> int:
    """Refit the customer-value models on an existing build and rebuild the models that use them."""
    if _target() == "duckdb":
        print("On DuckDB the customer-value models are fitted by `build` itself (the dbt Python model "
              "int_clv__model_fits): nothing to do.")
        return 0
    if _fit_clv(args.vars) != 0:
        return 1
    if args.no_rebuild:
        print(f"Now rebuild the models that use the fit: dbt build --select {FIT_CONSUMERS}")
        return 0
    dbt_args = ["build", "--select", FIT_CONSUMERS]
    if args.vars:
        dbt_args += ["--vars", args.vars]
    try:
        _dbt_step(dbt_args)
    except DbtFailed:
        print("\nThe rebuild failed: see dbt's messages above.", file=sys.stderr)
        return 1
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard (customer_lifecycle/dashboard) with Streamlit on 127.0.0.1 until stopped.

    Streamlit replaces this process, so stopping it (Ctrl-C, a signal to this PID) stops the server.
    The dashboard reads the marts of the current target: the DuckDB file (resolved here, so a relative
    LIFECYCLE_DUCKDB_PATH means the same file as for `build`) or PostgreSQL (LIFECYCLE_PG_*).
    """
    from .dashboard import APP_PATH

    env = dict(os.environ)
    if _target() == "duckdb":
        env["LIFECYCLE_DUCKDB_PATH"] = str(_duckdb_path())
    command = [sys.executable, "-m", "streamlit", "run", str(APP_PATH),
               "--server.address", "127.0.0.1", "--server.port", str(args.port), "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
               "--client.toolbarMode", "minimal"]
    print(f"Dashboard: http://127.0.0.1:{args.port}", flush=True)
    sys.stderr.flush()
    os.execve(sys.executable, command, env)
    return 1  # not reached: execve does not return


def cmd_contract(args: argparse.Namespace) -> int:
    """Bring the files derived from the raw data contract up to date (or, with --check, name the stale ones)."""
    from . import contract_files

    if args.check:
        stale = contract_files.stale_files()
        for path in stale:
            print(f"{path.relative_to(PROJECT_DIR)} is out of date with the raw data contract: "
                  "run python -m customer_lifecycle contract", file=sys.stderr)
        return 1 if stale else 0
    for path in contract_files.write():
        print(f"wrote {path.relative_to(PROJECT_DIR)}")
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
    p = sub.add_parser("compact", help="rewrite the DuckDB build's working file without its free blocks "
                                       "(a build does it when a third of the file, over 256 MB, is free)")
    p.set_defaults(func=cmd_compact)
    p = sub.add_parser("summary")
    p.add_argument("--tables", action="store_true", help="also list every table with its row count")
    p.set_defaults(func=cmd_summary)
    p = sub.add_parser("load-files")
    p.add_argument("data_dir")
    p.add_argument("--schema", default="raw")
    p.add_argument("--prefix", default="", help="file names are <prefix><table>, e.g. raw_ for seeds/demo")
    p.add_argument("--append", action="store_true",
                   help="add the files' rows to the tables as a new load (a later _loaded_at) instead of replacing them")
    p.set_defaults(func=cmd_load_files)
    p = sub.add_parser("fit-clv", help="refit the customer-value models of a PostgreSQL or Spark build (no dbt Python models there)")
    p.add_argument("--vars", help="the dbt vars of the build, as YAML (the same as for `build`)")
    p.add_argument("--no-rebuild", action="store_true", help="only write the fit; do not rebuild the models using it")
    p.set_defaults(func=cmd_fit_clv)
    p = sub.add_parser("dashboard", help="serve the lifecycle dashboard on http://127.0.0.1:PORT")
    p.add_argument("--port", type=int, default=8501, help="the port to serve on (default 8501)")
    p.set_defaults(func=cmd_dashboard)
    p = sub.add_parser("contract", help="write the files derived from the raw data contract")
    p.add_argument("--check", action="store_true", help="only fail, naming them, when a derived file is out of date")
    p.set_defaults(func=cmd_contract)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
