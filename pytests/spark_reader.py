"""Queries against a Spark build from the tests: one helper process per build holds a SparkSession
on the build's warehouse and catalogue and answers SQL sent to it.

The Derby catalogue admits one process at a time, so the helper is stopped before dbt runs on the
same build again (Build.close_reader), and started again by the next query.

Protocol (binary pipes): the test sends a pickled SQL string; the helper answers with a pickled
("ok", rows) or ("error", message); rows are tuples of Python values (Decimal, date, datetime, ...).
"""
from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
