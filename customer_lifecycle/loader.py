"""Loads a directory of raw files (the bring-your-own-data layout) into warehouse tables.

DuckDB reads files directly (LIFECYCLE_DATA_DIR). Other engines cannot, so this copies each
contract table found in the directory into <schema>.<table> as text columns, stamped with the time
of the load in _loaded_at (what `dbt source freshness` reads: vars.raw_loaded_at_column); then
point the project at it with LIFECYCLE_RAW_SCHEMA. Tables absent from the directory are not
created (the build treats an absent optional table as empty).
"""
from __future__ import annotations

import io
from pathlib import Path

import duckdb

from . import contract


# The CSV dialect of raw files: the same options as the dbt macro raw_csv_options().
CSV_OPTIONS = (
    "header = true, skip = 0, delim = ',', quote = '\"', escape = '\"', comment = '', "
    "all_varchar = true, strict_mode = true"
)


def table_files(data_dir: Path, table: str, prefix: str = "") -> str | None:
    """The file or glob of parts holding `table`, in the same order of preference as the dbt macro."""
    name = prefix + table
    for pattern in (f"{name}.csv", f"{name}.parquet", f"{name}/*.csv", f"{name}/*.parquet"):
        if list(data_dir.glob(pattern)):
            return str(data_dir / pattern)
    return None


# The column load_into_postgres stamps on every row: the default of vars.raw_loaded_at_column.
LOADED_AT_COLUMN = "_loaded_at"


def read_as_text(path: str) -> duckdb.DuckDBPyRelation:
    con = duckdb.connect()
    literal = "'" + path.replace("'", "''") + "'"
    if path.endswith(".csv"):
        return con.sql(f"select * from read_csv({literal}, {CSV_OPTIONS})")
    relation = con.sql(f"select * from read_parquet({literal})")
    return con.sql("select " + ", ".join(f"cast({quote_identifier(c)} as varchar) as {quote_identifier(c)}"
                                         for c in relation.columns) + " from relation")


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_into_postgres(data_dir: Path, conn, schema: str, prefix: str = "", append: bool = False) -> dict[str, int]:
    """Copy every contract table found in data_dir into schema (replacing it). Returns rows per table.

    prefix: file names are <prefix><table> (e.g. 'raw_' for the demo seeds in seeds/demo).
    append: add the rows to the tables already there as one new load (their own _loaded_at, the
    time of this load; docs block `raw_loads`) instead of replacing the tables. A table not there
    yet is created."""
    loaded: dict[str, int] = {}
    with conn.cursor() as cur:
        cur.execute(f'create schema if not exists "{schema}"')
        for table in contract.TABLES:
            path = table_files(Path(data_dir), table, prefix)
            if path is None:
                continue
            relation = read_as_text(path)
            columns = relation.columns
            if not append:
                cur.execute(f'drop table if exists "{schema}"."{table}"')
            # Lower case, as unquoted names would be; quoted, so that any header is a name, not SQL.
            quoted = [quote_identifier(c.lower()) for c in columns]
            names = ", ".join(quoted)
            cur.execute(f'create table if not exists "{schema}"."{table}" ({", ".join(f"{q} text" for q in quoted)}, '
                        f'{LOADED_AT_COLUMN} timestamptz not null default now())')
            # One load, one time: now() is the time the transaction started, so a table's rows share
            # it; a later load's transaction starts later.
            frame = relation.df()
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
            buffer.seek(0)
            cur.copy_expert(
                f'copy "{schema}"."{table}" ({names}) from stdin with (format csv, null \'\\N\')', buffer
            )
            loaded[table] = len(frame)
    conn.commit()
    return loaded
