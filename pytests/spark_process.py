"""Spark for the tests: reading a build's tables, and one JVM for several builds.

A Spark table of this project is a folder of Parquet files, <warehouse>/<schema>.db/<table> (its
partitions in subfolders such as unit_bucket=3). read_tables() reads those files with DuckDB, in
the test's own process: what Spark wrote, without a JVM to start (a build's comparison with DuckDB
took 30 CPU-seconds through Spark, 4 through DuckDB). Spark writes timestamps as UTC instants
(session time zone UTC, TIMESTAMP_MICROS); they are read back as Spark returns them, naive UTC.

SparkProcess is one Python process that holds one SparkSession (one JVM) on one warehouse and its
Derby catalogue, which admits one process at a time. The tests run their Spark builds in it, one
after the other: the project's CLI (`python -m customer_lifecycle ...`, its main() called with the
command's arguments and environment) and dbt invocations (dbtRunner, as the CLI itself runs dbt on
Spark), so that the builds of a test file share the JVM. A JVM's start and warm-up cost more than a
small build: about ten seconds to start, and Java's just-in-time compiler spends over 100 CPU-seconds
compiling Spark's planner in each new JVM (two thirds of the JVM's CPU in a demo build). The same
process answers SQL for a table with no data file (a partitioned table with no rows has none, so
nothing tells its columns).

Protocol (binary pipes): the test sends a pickled request, ("query", sql) or ("run", kind, argument,
environment, output file); the process answers with a pickled ("ok", rows or exit code) or
("error", message). rows are tuples of Python values (Decimal, date, datetime, ...). A run's output
(what dbt and the CLI print) goes to its output file; the JVM's own messages go to the process's
log, spark-process.log beside the warehouse.
"""
from __future__ import annotations

import datetime
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parent.parent


def data_files(table_dir: Path) -> list[Path]:
    """The table's Parquet files; Spark's own bookkeeping (_SUCCESS, .crc, _temporary,
    .spark-staging-*) is not data."""
    return [path for path in sorted(table_dir.rglob("*.parquet"))
            if not any(part.startswith(("_", ".")) for part in path.relative_to(table_dir).parts)]


def read_tables(sql: str, relations: set[str], warehouse: Path) -> list[tuple] | None:
    """Run sql with DuckDB over the Parquet files of the Spark tables it names (schema.table), or
    None when one of them has no data file."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        for relation in sorted(relations):
            schema, table = relation.replace("`", "").split(".")
            files = data_files(warehouse / f"{schema}.db" / table)
            if not files:
                return None
            con.execute(f'create schema if not exists "{schema}"')
            paths = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
            con.execute(f'create view "{schema}"."{table}" as select * from read_parquet([{paths}], hive_partitioning = true)')
        return [tuple(_as_spark_returns(value) for value in row) for row in con.sql(sql).fetchall()]
    finally:
        con.close()


def _as_spark_returns(value):
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _send(stream, obj) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the Spark process stopped")
    (size,) = struct.unpack(">Q", header)
    return pickle.loads(stream.read(size))


class SparkProcess:
    """One SparkSession on the warehouse and catalogue that env names (harness.spark_env)."""

    def __init__(self, env: dict[str, str]):
        self.warehouse = Path(env["LIFECYCLE_SPARK_WAREHOUSE"])
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)
        self.log = self.warehouse.parent / "spark-process.log"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "pytests.spark_process"], cwd=PROJECT_DIR,
                                            env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=log)

    def _ask(self, request):
        _send(self.process.stdin, request)
        try:
            status, payload = _receive(self.process.stdout)
        except EOFError:
            raise RuntimeError(f"the Spark process stopped; its log {self.log} ends:\n"
                               f"{self.log.read_text(errors='replace')[-3000:]}") from None
        if status != "ok":
            raise RuntimeError(payload)
        return payload

    def query(self, sql: str) -> list[tuple]:
        return self._ask(("query", sql))

    def run(self, kind: str, argument, env: dict[str, str], output: Path) -> int:
        """Run a step and return its exit code, its output written to `output`. kind: "cli" (argument:
        the arguments of `python -m customer_lifecycle`), "dbt" (dbt's arguments, as
        dbt_runner.run_dbt_here takes them) or "load_csv" (argument: a folder whose CSV files become
        Parquet tables in the Spark database raw, as a Spark user's loader would hold them). env is
        the step's whole environment; it must name this process's warehouse."""
        assert Path(env.get("LIFECYCLE_SPARK_WAREHOUSE", "")) == self.warehouse, "one warehouse per Spark process"
        return self._ask(("run", kind, argument, env, str(output)))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=120)


def _load_csv_tables(data_dir: str) -> int:
    from customer_lifecycle.spark import spark_session

    spark = spark_session()
    spark.sql("create database if not exists raw")
    for path in sorted(Path(data_dir).glob("*.csv")):
        spark.read.csv(str(path), header=True, inferSchema=False, quote='"', escape='"', multiLine=True) \
            .write.mode("overwrite").format("parquet").saveAsTable(f"raw.{path.stem}")
    return 0


def _run(kind: str, argument, env: dict[str, str], output: str) -> int:
    """One step with the given environment, what it prints written to output."""
    import contextlib
    import traceback

    from customer_lifecycle.__main__ import main
    from customer_lifecycle.dbt_runner import DbtFailed, run_dbt_here

    os.environ.clear()
    os.environ.update(env)
    with open(output, "w", encoding="utf-8") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            if kind == "cli":
                return main(list(argument))
            if kind == "dbt":
                run_dbt_here(list(argument))
                return 0
            if kind == "load_csv":
                return _load_csv_tables(argument)
            raise ValueError(f"unknown step {kind!r}")
        except DbtFailed:
            return 1
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
        except Exception:  # noqa: BLE001 - a failed step is its output and exit code
            traceback.print_exc()
            return 1


def _serve() -> None:
    inp, out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    # Nothing but answers on the answer pipe: the process's own output (and the JVM's, which
    # inherits these descriptors) goes to its log.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    session = None
    while True:
        try:
            request = _receive(inp)
        except EOFError:
            break
        try:
            if request[0] == "query":
                if session is None:
                    from customer_lifecycle.spark import spark_session
                    session = spark_session()
                _send(out, ("ok", [tuple(row) for row in session.sql(request[1]).collect()]))
            else:
                _send(out, ("ok", _run(*request[1:])))
        except Exception as exc:  # noqa: BLE001 - sent back to the test
            _send(out, ("error", str(exc)[:4000]))
    from pyspark.sql import SparkSession

    if SparkSession._instantiatedSession is not None:  # started by a query or a step
        SparkSession._instantiatedSession.stop()


if __name__ == "__main__":
    _serve()
