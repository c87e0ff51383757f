"""Queries against a Spark build from the tests.

A Spark table of this project is a folder of Parquet files, <warehouse>/<schema>.db/<table> (its
partitions in subfolders such as unit_bucket=3). read_tables() reads those files with DuckDB, in
the test's own process: what Spark wrote, without a JVM to start (about ten seconds of CPU each, and
a build's comparison with DuckDB took 30 CPU-seconds through Spark, 4 through DuckDB). Spark writes
timestamps as UTC instants (session time zone UTC, TIMESTAMP_MICROS); they are read back as Spark
returns them, naive UTC.

A table with no data file (a partitioned table with no rows has none, so nothing tells its columns)
is read through Spark instead: one helper process per build holds a SparkSession on the build's
warehouse and catalogue and answers SQL sent to it. The Derby catalogue admits one process at a
time, so the helper is stopped before dbt runs on the same build again (close_spark_reader), and
started again by the next query.

Protocol (binary pipes): the test sends a pickled SQL string; the helper answers with a pickled
("ok", rows) or ("error", message); rows are tuples of Python values (Decimal, date, datetime, ...).
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
        raise EOFError("the Spark query helper stopped")
    (size,) = struct.unpack(">Q", header)
    return pickle.loads(stream.read(size))


class SparkReader:
    def __init__(self, env: dict[str, str]):
        full_env = {**os.environ, **env}
        self.process = subprocess.Popen([sys.executable, "-m", "pytests.spark_reader"], cwd=PROJECT_DIR, env=full_env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def query(self, sql: str) -> list[tuple]:
        _send(self.process.stdin, sql)
        status, payload = _receive(self.process.stdout)
        if status != "ok":
            raise RuntimeError(f"Spark query failed: {payload}\n{sql}")
        return payload

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=120)


def _serve() -> None:
    from customer_lifecycle.spark import spark_session

    session = spark_session()
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    # Spark's own messages must not reach the answer pipe.
    sys.stdout = sys.stderr
    while True:
        try:
            sql = _receive(inp)
        except EOFError:
            break
        try:
            rows = [tuple(row) for row in session.sql(sql).collect()]
            _send(out, ("ok", rows))
        except Exception as exc:  # noqa: BLE001 - sent back to the test
            _send(out, ("error", str(exc)[:4000]))
    session.stop()


if __name__ == "__main__":
    _serve()
