"""Builds of the project on a real engine, and queries against what they built."""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from customer_lifecycle.dbt_runner import run_dbt
from customer_lifecycle.loader import load_into_postgres
from customer_lifecycle.pgserver import PostgresServer

PROJECT_DIR = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# A fixed 'now' for the future_timestamp check, so that builds in tests never depend on the clock.
PINNED_MAX_VALID_AT = "2030-01-01 00:00:00"
DEMO_SEEDS = PROJECT_DIR / "seeds" / "demo"


def postgres_required() -> bool:
    return os.environ.get("LIFECYCLE_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true"


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

    def relation(self, model: str) -> str:
        if not self._relations:
            manifest = json.loads((self.work_dir / "target" / "manifest.json").read_text())
            for node in manifest["nodes"].values():
                if node["resource_type"] in ("model", "seed") and node.get("relation_name"):
                    self._relations[node["name"]] = node["relation_name"]
        return self._relations[model]

    def query(self, sql: str) -> list[tuple]:
        """Run SQL; `{{ model_name }}` placeholders become the model's relation."""
        sql = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: self.relation(m.group(1)), sql)
        if self.engine == "duckdb":
            con = duckdb.connect(self.env["LIFECYCLE_DUCKDB_PATH"], read_only=True)
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

    def rows(self, model: str, order_by: str) -> list[tuple]:
        return self.query(f"select * from {{{{ {model} }}}} order by {order_by}")


def normalise(value):
    """Comparable values across engines: decimals as exact strings, floats rounded."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value else "NaN"
    if isinstance(value, float):
        return round(value, 9)
    return value


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
) -> Build:
    """Run `dbt build` (or `args`) on a fresh database.

    data_dir: raw files (bring-your-own-data); none means the bundled demo seeds. On PostgreSQL
    the files are loaded into a raw schema first, as a user would with `load-files`.
    """
    work_dir = Path(work_dir)
    # Each build gets its own schemas on a shared server, so builds never overwrite each other.
    pg_schema = pg_schema or "b_" + re.sub(r"[^a-z0-9_]", "_", work_dir.name.lower())[:40]
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    env = {"LIFECYCLE_DATA_DIR": "", "LIFECYCLE_RAW_SCHEMA": "", "LIFECYCLE_TARGET": engine}
    if engine == "duckdb":
        env["LIFECYCLE_DUCKDB_PATH"] = str(work_dir / "lifecycle.duckdb")
        if data_dir is not None:
            env["LIFECYCLE_DATA_DIR"] = str(data_dir)
    else:
        assert server is not None, "a PostgreSQL build needs a server"
        env.update(server.env(schema=pg_schema))
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute(f"drop schema if exists {pg_schema} cascade")
            for layer in ("staging", "intermediate", "marts", "raw", "seeds", "raw_files"):
                cur.execute(f"drop schema if exists {pg_schema}_{layer} cascade")
        conn.commit()
        if data_dir is not None:
            raw_schema = f"{pg_schema}_raw_files"
            load_into_postgres(Path(data_dir), conn, raw_schema, prefix=file_prefix)
            env["LIFECYCLE_RAW_SCHEMA"] = raw_schema
        conn.close()
    all_vars = {"max_valid_at": PINNED_MAX_VALID_AT, **(dbt_vars or {})}
    dbt_args = list(args or ["build"]) + ["--vars", json.dumps(all_vars)]
    result = run_dbt(dbt_args, env=env, work_dir=work_dir, check=False)
    return Build(engine, work_dir, env, result.stdout, result.returncode, server)


def build_again(
    previous: Build,
    *,
    data_dir: Path | None = None,
    args: list[str] | None = None,
    dbt_vars: dict | None = None,
    file_prefix: str = "",
) -> Build:
    """Run dbt again on the database of `previous` (an incremental run unless args say otherwise),
    on the raw data now in data_dir: on DuckDB read in place, on PostgreSQL reloaded into the same
    raw schema, as a warehouse's raw tables would be refreshed."""
    env = dict(previous.env)
    if data_dir is not None:
        if previous.engine == "duckdb":
            env["LIFECYCLE_DATA_DIR"] = str(data_dir)
        else:
            conn = previous.server.connect()
            load_into_postgres(Path(data_dir), conn, env["LIFECYCLE_RAW_SCHEMA"], prefix=file_prefix)
            conn.close()
    all_vars = {"max_valid_at": PINNED_MAX_VALID_AT, **(dbt_vars or {})}
    dbt_args = list(args or ["build"]) + ["--vars", json.dumps(all_vars)]
    result = run_dbt(dbt_args, env=env, work_dir=previous.work_dir, check=False)
    return Build(previous.engine, previous.work_dir, env, result.stdout, result.returncode, previous.server)


def model_names(b: Build, folder: str) -> list[str]:
    """The models built from files under models/<folder>/ (per the manifest), sorted."""
    manifest = json.loads((b.work_dir / "target" / "manifest.json").read_text())
    return sorted(
        node["name"] for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith(f"models/{folder}/")
    )
