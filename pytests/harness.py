"""Builds of the project on a real engine, and queries against what they built."""
from __future__ import annotations

import atexit
import contextlib
import dataclasses
import fcntl
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from customer_lifecycle.dbt_runner import run_dbt
from customer_lifecycle.loader import load_into_postgres
from customer_lifecycle.publish import working_path
from customer_lifecycle.pgserver import PostgresServer, PostgresUnavailable, ThrowawayPostgres, stop_recorded_server

from .dbt_forkserver import ForkServer
from .spark_process import SparkProcess, read_tables

PROJECT_DIR = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# A fixed 'now' for the future_timestamp check, so that builds in tests never depend on the clock.
PINNED_MAX_VALID_AT = "2030-01-01 00:00:00"
DEMO_SEEDS = PROJECT_DIR / "seeds" / "demo"
TINY = FIXTURES / "tiny"
# The tiny fixture is dirty by design (a row for every quarantine reason: 6 of its 10 customers rows
# are quarantined), so its builds raise the quarantine levels as a user with data known to be dirty
# would (README, "Quarantine levels"); test_staging checks both levels at their defaults on it.
DIRTY_DATA_VARS = {"quarantine_warn_percent": 100, "quarantine_error_percent": 100}
# Unit tests check the SQL on their own given rows, not the data: each engine runs them once per
# test run, in its demo build (the README's demo command), and every other build of the suite leaves
# them out through dbt's own setting (--exclude-resource-type unit_test).
WITHOUT_UNIT_TESTS = {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}


def pinned_vars(dbt_vars: dict | None) -> dict:
    """The vars of a test build: max_valid_at pinned, then the test's own."""
    return {"max_valid_at": PINNED_MAX_VALID_AT, **(dbt_vars or {})}


def postgres_required() -> bool:
    return os.environ.get("LIFECYCLE_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true"


def spark_required() -> bool:
    return os.environ.get("LIFECYCLE_REQUIRE_SPARK") == "1" or os.environ.get("CI") == "true"


def spark_missing() -> str | None:
    """Why Spark cannot run here (no Java, no pyspark or dbt-spark), or None."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java) on PATH"
    try:
        import pyspark  # noqa: F401
        import dbt.adapters.spark  # noqa: F401
    except ImportError as exc:
        return f"pyspark / dbt-spark not installed ({exc})"
    return None


# One Spark process per warehouse (spark_process.SparkProcess): the Spark builds of a test file run in
# it, one after the other, and it answers the queries that need Spark.
_SPARK_PROCESSES: dict[Path, SparkProcess] = {}


def spark_process(env: dict[str, str]) -> SparkProcess:
    """The Spark process of the warehouse env names, started when there is none."""
    warehouse = Path(env["LIFECYCLE_SPARK_WAREHOUSE"])
    if warehouse not in _SPARK_PROCESSES:
        _SPARK_PROCESSES[warehouse] = SparkProcess(env)
    return _SPARK_PROCESSES[warehouse]


def start_dbt_forkserver() -> None:
    """Send this process's dbt commands, and those of the processes it starts, to a dbt fork server
    (pytests/dbt_forkserver.py) of its own: LIFECYCLE_DBT names the server's caller. Until the
    server is ready, and where LIFECYCLE_DBT is set already, dbt runs as usual."""
    if os.environ.get("LIFECYCLE_DBT"):
        return
    import tempfile

    server = ForkServer(Path(tempfile.mkdtemp(prefix="dbt-fork-")))  # a short path: a socket's is limited
    atexit.register(server.close)
    os.environ["LIFECYCLE_DBT"] = str(server.client)


def close_spark_process(env: dict[str, str]) -> None:
    """Stop the Spark process of env's warehouse, if one runs: before another process opens its
    Derby catalogue, and when a test file is done with it (its JVM holds gigabytes)."""
    process = _SPARK_PROCESSES.pop(Path(env.get("LIFECYCLE_SPARK_WAREHOUSE", "-")), None)
    if process is not None:
        process.close()


def require_spark() -> None:
    """Skip the calling test or fixture when Spark cannot run here; under CI fail instead."""
    import pytest

    reason = spark_missing()
    if reason:
        if spark_required():
            pytest.fail(f"Spark is required here (CI / LIFECYCLE_REQUIRE_SPARK=1): {reason}")
        pytest.skip(reason)


def spark_env(work_dir: Path) -> dict[str, str]:
    """The environment of a Spark build whose tables and catalogue live in work_dir."""
    return {"LIFECYCLE_TARGET": "spark", "SPARK_LOCAL_IP": "127.0.0.1",
            "LIFECYCLE_SPARK_WAREHOUSE": str(work_dir / "spark-warehouse"),
            "LIFECYCLE_SPARK_METASTORE": str(work_dir / "metastore_db")}


@dataclass
class Build:
    """One dbt invocation's results: its engine, environment and output."""

    engine: str
    work_dir: Path
    env: dict[str, str]
    output: str
    returncode: int
    server: PostgresServer | None = None
    _relations: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def duckdb_file(self) -> str:
        """The DuckDB file holding every model: the working file of a `python -m customer_lifecycle
        build` (its published file holds the marts only), else the file dbt wrote in place."""
        working = working_path(Path(self.env["LIFECYCLE_DUCKDB_PATH"]))
        return str(working if working.exists() else self.env["LIFECYCLE_DUCKDB_PATH"])

    def relation(self, model: str) -> str:
        if not self._relations:
            manifest = json.loads((self.work_dir / "target" / "manifest.json").read_text())
            for node in manifest["nodes"].values():
                if node["resource_type"] in ("model", "seed") and node.get("relation_name"):
                    self._relations[node["name"]] = node["relation_name"]
        return self._relations[model]

    def query(self, sql: str) -> list[tuple]:
        """Run SQL; `{{ model_name }}` placeholders become the model's relation."""
        relations = {self.relation(name) for name in re.findall(r"\{\{\s*(\w+)\s*\}\}", sql)}
        sql = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: self.relation(m.group(1)), sql)
        if self.engine == "spark":
            rows = read_tables(sql, relations, Path(self.env["LIFECYCLE_SPARK_WAREHOUSE"]))
            if rows is None:
                rows = spark_process(self.env).query(sql)
        elif self.engine == "duckdb":
            con = duckdb.connect(self.duckdb_file, read_only=True)
            try:
                rows = con.sql(sql).fetchall()
            finally:
                con.close()
        else:
            conn = self.server.connect()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    rows = cur.fetchall()
            finally:
                conn.close()
        return [tuple(normalise(v) for v in row) for row in rows]

    def published_relation(self, model: str) -> str:
        """Where readers read a mart: on PostgreSQL the published schema, not the build schema."""
        relation = self.relation(model)
        return relation.replace('_marts_build"', '_marts"') if self.engine == "postgres" else relation

    def columns(self, model: str) -> list[str]:
        """The model's columns, in order (from the manifest's YAML when documented, else the table)."""
        manifest = json.loads((self.work_dir / "target" / "manifest.json").read_text())
        node = next(n for n in manifest["nodes"].values() if n["name"] == model and n["resource_type"] == "model")
        return list(node["columns"])

    def rows(self, model: str, order_by: str) -> list[tuple]:
        return self.query(f"select * from {{{{ {model} }}}} order by {order_by}")


def normalise(value):
    """Comparable values across engines: decimals as exact strings, floats rounded."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value else "NaN"
    if isinstance(value, float):
        return round(value, 9)
    return value


def comparable(rows: list[tuple]) -> list[tuple]:
    """Rows in a canonical order; floats are compared separately (within 1e-9 relative)."""
    def key(row):
        return tuple((v is None, "" if isinstance(v, float) else str(v)) for v in row)
    return sorted(rows, key=key)


def assert_same_tables(got_build: Build, want_build: Build, models: list[str], decimal_rel_tol=None,
                       columns: dict[str, str] | None = None) -> None:
    """Every model has the same rows in both builds (any order). Doubles agree within 1e-9 relative:
    aggregates over rows in another physical order may differ in the last bits of a double.
    decimal_rel_tol(value) -> tolerance for a decimal (as its exact string; default 0: equal).
    columns: model -> the select list to compare (default *)."""
    for model in models:
        select = (columns or {}).get(model, "*")
        got = comparable(got_build.query(f"select {select} from {{{{ {model} }}}}"))
        want = comparable(want_build.query(f"select {select} from {{{{ {model} }}}}"))
        assert len(got) == len(want), f"{model}: {len(got)} rows in {got_build.work_dir}, {len(want)} in {want_build.work_dir}"
        for got_row, want_row in zip(got, want):
            assert len(got_row) == len(want_row), (model, got_row, want_row)
            for g, w in zip(got_row, want_row):
                if isinstance(w, float) and isinstance(g, float):
                    assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12), (model, got_row, want_row)
                elif decimal_rel_tol and isinstance(g, str) and isinstance(w, str) and g != w and _is_number(g) \
                        and _is_number(w) and decimal_rel_tol(w):
                    assert math.isclose(float(g), float(w), rel_tol=decimal_rel_tol(w)), (model, got_row, want_row)
                else:
                    assert g == w, (model, got_row, want_row)


def _is_number(text: str) -> bool:
    return re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text) is not None


def build(
    engine: str,
    work_dir: Path,
    *,
    data_dir: Path | None = None,
    server: PostgresServer | None = None,
    args: list[str] | None = None,
    dbt_vars: dict | None = None,
    pg_schema: str | None = None,
    file_prefix: str = "",
    cli: bool = False,
) -> Build:
    """Run `dbt build` (or `args`) on a fresh database.

    data_dir: raw files (bring-your-own-data); none means the bundled demo seeds. On PostgreSQL
    the files are loaded into a raw schema first, as a user would with `load-files`.
    cli: run `python -m customer_lifecycle build` (the user's one command) instead of dbt.
    """
    work_dir = Path(work_dir)
    close_spark_process(spark_env(work_dir))
    # Each build gets its own schemas on a shared server, so builds never overwrite each other.
    pg_schema = pg_schema or "b_" + re.sub(r"[^a-z0-9_]", "_", work_dir.name.lower())[:40]
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    env = {"LIFECYCLE_DATA_DIR": "", "LIFECYCLE_RAW_SCHEMA": "", "LIFECYCLE_TARGET": engine, **WITHOUT_UNIT_TESTS}
    if engine in ("duckdb", "spark"):
        if engine == "duckdb":
            env["LIFECYCLE_DUCKDB_PATH"] = str(work_dir / "lifecycle.duckdb")
        else:
            env.update(spark_env(work_dir))
        if data_dir is not None:
            env["LIFECYCLE_DATA_DIR"] = str(data_dir)
    else:
        assert server is not None, "a PostgreSQL build needs a server"
        env.update(server.env(schema=pg_schema))
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute(f"drop schema if exists {pg_schema} cascade")
            for layer in ("staging", "intermediate", "marts", "marts_build", "raw", "seeds", "raw_files"):
                cur.execute(f"drop schema if exists {pg_schema}_{layer} cascade")
        conn.commit()
        if data_dir is not None:
            raw_schema = f"{pg_schema}_raw_files"
            load_into_postgres(Path(data_dir), conn, raw_schema, prefix=file_prefix)
            env["LIFECYCLE_RAW_SCHEMA"] = raw_schema
        conn.close()
    all_vars = pinned_vars(dbt_vars)
    if cli:
        result = run_cli(["build", "--vars", json.dumps(all_vars)], env, work_dir)
    else:
        dbt_args = list(args or ["build"]) + ["--vars", json.dumps(all_vars)]
        result = run_dbt(dbt_args, env=env, work_dir=work_dir, check=False)
    return Build(engine, work_dir, env, result.stdout, result.returncode, server)


def run_cli(args: list[str], env: dict[str, str], work_dir: Path) -> subprocess.CompletedProcess:
    """`python -m customer_lifecycle <args>` with dbt's target/ and logs/ in work_dir."""
    full_env = {**os.environ, **env, "DO_NOT_TRACK": "1",
                "DBT_TARGET_PATH": str(work_dir / "target"), "DBT_LOG_PATH": str(work_dir / "logs")}
    return subprocess.run([sys.executable, "-m", "customer_lifecycle", *args], cwd=PROJECT_DIR, env=full_env,
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def build_again(
    previous: Build,
    *,
    data_dir: Path | None = None,
    args: list[str] | None = None,
    dbt_vars: dict | None = None,
    file_prefix: str = "",
    append: bool = False,
) -> Build:
    """Run dbt again on the database of `previous` (an incremental run unless args say otherwise),
    on the raw data now in data_dir: on DuckDB read in place, on PostgreSQL reloaded into the same
    raw schema, as a warehouse's raw tables would be refreshed (append: added to them as a new
    load, `load-files --append`)."""
    env = {**WITHOUT_UNIT_TESTS, **previous.env}
    close_spark_process(previous.env)
    if data_dir is not None:
        if previous.engine in ("duckdb", "spark"):
            env["LIFECYCLE_DATA_DIR"] = str(data_dir)
        else:
            conn = previous.server.connect()
            load_into_postgres(Path(data_dir), conn, env["LIFECYCLE_RAW_SCHEMA"], prefix=file_prefix, append=append)
            conn.close()
    all_vars = pinned_vars(dbt_vars)
    dbt_args = list(args or ["build"]) + ["--vars", json.dumps(all_vars)]
    result = run_dbt(dbt_args, env=env, work_dir=previous.work_dir, check=False)
    return Build(previous.engine, previous.work_dir, env, result.stdout, result.returncode, previous.server)


def cli_again(previous: Build, args: list[str], dbt_vars: dict | None = None) -> Build:
    """`python -m customer_lifecycle <args>` on the database of `previous` (e.g. fit-clv)."""
    close_spark_process(previous.env)
    all_vars = pinned_vars(dbt_vars)
    result = run_cli([*args, "--vars", json.dumps(all_vars)], {**WITHOUT_UNIT_TESTS, **previous.env}, previous.work_dir)
    return Build(previous.engine, previous.work_dir, previous.env, result.stdout, result.returncode, previous.server)


# fct_build_record names its build (build_id, finished_at); two builds of the same data agree on
# the rest of it, which says what they built.
BUILD_RECORD_DATA = "mart_name, row_count, as_of_date, data_first_day, data_last_day"


def model_names(b: Build, folder: str) -> list[str]:
    """The models built from files under models/<folder>/ (per the manifest), sorted."""
    manifest = json.loads((b.work_dir / "target" / "manifest.json").read_text())
    return sorted(
        node["name"] for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith(f"models/{folder}/")
    )


atexit.register(lambda: [close_spark_process({"LIFECYCLE_SPARK_WAREHOUSE": str(w)}) for w in list(_SPARK_PROCESSES)])


# ---------------------------------------------------------------------------------------------
# Builds made once per test run and shared by every xdist worker (and the one PostgreSQL server
# they all use). The first worker that asks for a build makes it under a file lock, in the run's
# shared folder (made by the controlling process, pytests/conftest.py); the others wait for the
# lock and read the recorded result. Each worker reads its own copy of the build's folder (its
# DuckDB file and dbt's target/), so that a worker's dbt, mf or sqlfluff run on a build never
# meets another worker's readers; PostgreSQL builds share their schemas on the shared server.
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def file_lock(path: Path):
    """An exclusive lock on `path` across processes, held while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_postgres(shared_dir: Path) -> PostgresServer:
    """The run's one PostgreSQL server, started by the first worker that needs it (stopped by the
    controlling process at the end of the run: stop_shared_postgres). Raises PostgresUnavailable."""
    record = shared_dir / "postgres.json"
    with file_lock(shared_dir / "postgres.lock"):
        if not record.exists():
            try:
                server = ThrowawayPostgres()
                started = server.__enter__()
                record.write_text(json.dumps({"server": dataclasses.asdict(started), "stop": server.record()}))
            except PostgresUnavailable as exc:
                record.write_text(json.dumps({"unavailable": str(exc)}))
        found = json.loads(record.read_text())
    if "unavailable" in found:
        raise PostgresUnavailable(found["unavailable"])
    return PostgresServer(**found["server"])


def stop_shared_postgres(shared_dir: Path) -> None:
    record = shared_dir / "postgres.json"
    if record.exists():
        found = json.loads(record.read_text())
        if "stop" in found:
            stop_recorded_server(found["stop"])


class SharedBuilds:
    """name -> the one build of that name in this test run (see above)."""

    def __init__(self, shared_dir: Path, worker_dir: Path, server: Callable[[], PostgresServer]):
        self.root, self.worker_dir, self.server = shared_dir / "builds", worker_dir, server

    def get(self, name: str, make: Callable[[Path], Build]) -> Build:
        """The build `name`, made by make(work_dir) in the first worker that asks; a copy of its
        folder for this worker."""
        record = self.root / f"{name}.json"
        with file_lock(self.root / f"{name}.lock"):
            if not record.exists():
                made = make(self.root / name)
                record.write_text(json.dumps({"engine": made.engine, "work_dir": str(made.work_dir), "env": made.env,
                                              "output": made.output, "returncode": made.returncode}))
        found = json.loads(record.read_text())
        mine = self.worker_dir / name
        if not mine.exists():
            shutil.copytree(found["work_dir"], mine, symlinks=True)
        env = {key: value.replace(found["work_dir"], str(mine)) if key == "LIFECYCLE_DUCKDB_PATH" else value
               for key, value in found["env"].items()}
        server = self.server() if found["engine"] == "postgres" else None
        return Build(found["engine"], mine, env, found["output"], found["returncode"], server)
