"""Publishing a DuckDB build atomically (docs block `publishing`).

`python -m customer_lifecycle build` runs dbt on a working file of its own (working_path: beside the
published file, in <file>.work/), updated in place from one build to the next. When dbt succeeded,
the marts (and READER_TABLES) are copied into a new file, <file>.building, which is renamed over the
published file. A rename is atomic: readers see the old file or the new one, never a mix. A reader
that holds the published file open keeps the file it opened (the old inode) until it reconnects. A
build that fails or is killed leaves the published file as it was; the working file keeps what the
build committed, and the next build goes on from it (the unit digests decide what to redo).
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

from .dbt_runner import DISK_FULL

# Published beside the marts: what a reader asks after the marts themselves, the rows held back
# (with their reasons) and the ledger of loads.
READER_TABLES = ("stg_shop__quarantined_rows", "stg_shop__loads")
# A build compacts the working file when more than this share of its blocks is free. Measured at 1M
# events (BENCHMARKS.md): without compaction the file settles at about 1.5x a fresh build's (about a
# third free after each daily run: the tables a run rebuilds free their old blocks); compacting
# takes 7 s there, a quarter of the daily run. So a build compacts only when the file has grown
# past that; `python -m customer_lifecycle compact` compacts on demand (DECISIONLOG "Publishing").
COMPACT_ABOVE_FREE = 1 / 3
# ... and only when that is more than this many bytes: a small file (the demo's is about 20 MB) is
# not worth a copy of itself.
COMPACT_MIN_FREE_BYTES = 256 * 2**20


class WarehouseBusy(RuntimeError):
    """The published file cannot be copied now; the message says why and what to do."""


class DiskFull(RuntimeError):
    """The disk filled up during a build; the message is one line naming the path and the space."""


def _size(nbytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def _used_by(path: Path) -> int:
    """Bytes of the file, its write-ahead log and its spill folder (what a build writes)."""
    total = 0
    for file in (path, path.with_name(path.name + ".wal")):
        total += file.stat().st_size if file.exists() else 0
    spill = path.with_name(path.name + ".tmp")
    if spill.is_dir():
        total += sum(f.stat().st_size for f in spill.rglob("*") if f.is_file())
    return total


def disk_full(written: Path, output: str = "") -> DiskFull:
    """The one-line report of a full disk: the folder (where the failed write went, as DuckDB or
    the OS named it in output, else written's), what had been written to `written` (its file, log
    and spill) when it stopped, and what is free there."""
    full = re.escape(DISK_FULL)
    named = re.search(r'file "([^"]+)"[^\n]*' + full + "|" + full + r": '([^']+)'", output)
    folder = Path(next(p for p in named.groups() if p)).parent if named else written.parent
    free = shutil.disk_usage(folder).free if folder.exists() else 0
    return DiskFull(f"No space left on device in {folder}: the build had written {_size(_used_by(written))} to "
                    f"{written.name} (file, log and spill) when it stopped, and {_size(free)} is free. "
                    "The published file is unchanged; free some space and build again.")


def is_disk_full(error: BaseException) -> bool:
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or DISK_FULL in str(error)


def building_path(published: Path) -> Path:
    """Where the next published file is written before it is renamed into place."""
    return published.with_name(published.name + ".building")


def working_path(published: Path) -> Path:
    """The working file dbt builds in place: <file>.work/<file name> beside the published file. Its
    name is the published file's, so DuckDB names both databases alike and every relation name dbt
    writes (e.g. "lifecycle"."main_marts"."dim_customers") reads the same table in either file."""
    return published.parent / (published.name + ".work") / published.name


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".tmp"), ignore_errors=True)


def writer_holding(published: Path) -> str | None:
    """Which process holds the file open for writing (DuckDB's words, e.g. 'PID 123'), or None.
    Readers (read-only connections) do not count: they share the file."""
    if not published.exists():
        return None
    import duckdb

    try:
        duckdb.connect(str(published), read_only=True).close()
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        found = re.search(r"PID \d+( \([^)]*\))?", str(exc))
        return found.group(0) if found else "another process"
    return None


@contextmanager
def one_build_at_a_time(published: Path):
    """An exclusive lock beside the file for the whole build, so two builds never race to publish."""
    lock_path = published.with_name(published.name + ".build-lock")
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise WarehouseBusy(f"Another build of {published} is running (PID {lock.read().strip() or '?'}): "
                                "wait for it to finish.") from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def prepare(published: Path, *, fresh: bool) -> Path:
    """The working file to build in place: the one earlier builds left (an incremental run goes on
    from its state), or none yet when there is none or `fresh` (a full refresh starts a new, compact
    file). A leftover published file of a publish that did not finish is discarded first. Refused
    while a process holds the published file open for writing: publishing would replace it under
    that process's writes."""
    _remove(building_path(published))
    holder = writer_holding(published)
    if holder:
        raise WarehouseBusy(f"The warehouse file {published} is in use by another process ({holder}): close it "
                            "(a BI tool, notebook or second build) and build again.")
    working = working_path(published)
    working.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        _remove(working)
    return working


def _connect_for_copy(spill: Path):
    """An in-memory DuckDB connection for copying between files, with the build's memory cap and
    threads (the same environment as profiles.yml) and its spill in `spill`."""
    import duckdb

    con = duckdb.connect(config={"threads": int(os.environ.get("LIFECYCLE_THREADS", "2")),
                                 "memory_limit": os.environ.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT", "12GB"),
                                 "temp_directory": str(spill)})
    return con


def _quoted(*names: str) -> str:
    return ".".join('"' + name.replace('"', '""') + '"' for name in names)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _marts_schema(con, catalog: str) -> str:
    marts = con.execute("select schema_name from duckdb_tables() where database_name = ? "
                        "and table_name = 'fct_build_record'", [catalog]).fetchall()
    if len(marts) != 1:
        raise RuntimeError(f"the build left {len(marts)} tables fct_build_record in its working file, not one")
    return marts[0][0]


def _kept_tables(con, previous: str, catalog: str) -> list[tuple[str, str, str, str | None]]:
    """(schema, name, create statement, comment) of the previous published file's own tables: those
    in a schema the build does not write (none of the working file's), e.g. raw tables a loader
    keeps there. A new published file carries them over; views are not, and the build says so."""
    query = """
        select {what} from {relations}
        where database_name = $previous and schema_name not in (
            select schema_name from duckdb_schemas() where database_name = $catalog){internal}
        order by 1
    """
    kept = con.execute(query.format(what="schema_name, table_name, sql, comment", relations="duckdb_tables()",
                                    internal=""), {"previous": previous, "catalog": catalog}).fetchall()
    views = con.execute(query.format(what="schema_name || '.' || view_name", relations="duckdb_views()",
                                     internal=" and not internal"), {"previous": previous, "catalog": catalog}).fetchall()
    if views:
        print(f"Not carried over into the new published file (views are not): {', '.join(v for (v,) in views)}",
              file=sys.stderr)
    return kept


def _schemas(published: Path) -> list[str]:
    """The schemas holding tables in the published file ([] when there is none)."""
    if not published.exists():
        return []
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    try:
        return [schema for (schema,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()]
    finally:
        con.close()


def raw_attachment(published: Path) -> dict[str, str]:
    """The environment that lets dbt read raw tables kept in the published file (warehouse mode:
    LIFECYCLE_RAW_SCHEMA names a schema of it): the file attached read-only (profiles.yml) as
    <name>__published, which becomes the raw tables' database. Empty otherwise."""
    raw_schema = os.environ.get("LIFECYCLE_RAW_SCHEMA", "")
    if not raw_schema or os.environ.get("LIFECYCLE_RAW_DATABASE") or raw_schema not in _schemas(published):
        return {}
    alias = published.name.split(".")[0] + "__published"
    attach = [{"path": str(published), "alias": alias, "read_only": True}]
    return {"LIFECYCLE_DUCKDB_ATTACH": repr(attach), "LIFECYCLE_RAW_DATABASE": alias}


def _published_relations(con, catalog: str) -> list[tuple[str, str, str | None, str | None]]:
    """(schema, name, create statement or None for a view, comment) of what readers read: every
    relation in the schema of fct_build_record (the marts), and READER_TABLES wherever they are."""
    return con.execute(
        """
        select schema_name, table_name, sql, comment from duckdb_tables()
        where database_name = $catalog and (schema_name = $marts or table_name in $readers)
        union all
        select schema_name, view_name, null, comment from duckdb_views()
        where database_name = $catalog and not internal and (schema_name = $marts or view_name in $readers)
        order by 1, 2
        """, {"catalog": catalog, "marts": _marts_schema(con, catalog), "readers": list(READER_TABLES)}).fetchall()


# The constraints a copied table gets back after its rows (_copy_relation); a table with any other
# kind, or with column defaults (a raw table a loader fills), is created from its own statement
# before its rows are inserted.
RESTORED_CONSTRAINTS = {"PRIMARY KEY": "alter table {table} add primary key ({columns})",
                        "UNIQUE": "alter table {table} add unique ({columns})",
                        "NOT NULL": "alter table {table} alter column {columns} set not null"}


def _copy_relation(con, catalog: str, into: str, schema: str, name: str, create: str | None,
                   comment: str | None) -> None:
    """Copy one table or view (as a table of its rows) from the working file (`catalog`) into the
    new published one (`into`, the connection's default), with the table's primary key, unique and
    not-null columns, and the table's and its columns' comments. The rows go first and the
    constraints after them: DuckDB builds a primary key's index over rows already there in one pass,
    far faster than row by row (8 s against 4 s for the 3.5M sessions at 10M events)."""
    source, target = _quoted(catalog, schema, name), _quoted(into, schema, name)
    where = [catalog, schema, name]
    constraints = con.execute("select constraint_type, constraint_column_names from duckdb_constraints() "
                              "where database_name = ? and schema_name = ? and table_name = ? order by constraint_index",
                              where).fetchall()
    defaults = con.execute("select count(*) from duckdb_columns() where database_name = ? and schema_name = ? "
                           "and table_name = ? and column_default is not null", where).fetchone()[0]
    if create is not None and (defaults or any(kind not in RESTORED_CONSTRAINTS for kind, _ in constraints)):
        con.execute(create)  # `create table <schema>.<name>(...)`, in the default catalog: published
        con.execute(f"insert into {target} select * from {source}")
    else:
        con.execute(f"create table {target} as select * from {source}")
        for kind, columns in constraints:
            con.execute(RESTORED_CONSTRAINTS[kind].format(table=target, columns=", ".join(_quoted(c) for c in columns)))
    if comment:
        con.execute(f"comment on table {target} is {_literal(comment)}")
    for column, text in con.execute("select column_name, comment from duckdb_columns() where database_name = ? "
                                    "and schema_name = ? and table_name = ? and comment is not null",
                                    [catalog, schema, name]).fetchall():
        con.execute(f"comment on column {target}.{_quoted(column)} is {_literal(text)}")


def publish(working: Path, published: Path) -> None:
    """Make the finished build's marts the published file: copy them (and READER_TABLES) from the
    working file into a new file beside the published one, with the previous published file's own
    tables (_kept_tables), checkpoint it (no write-ahead log left beside it), flush it to disk and
    rename it over the published file. Only the marts are copied, not the staging and intermediate
    state, which stays in the working file."""
    import duckdb

    building = building_path(published)
    _remove(building)
    catalog = working.stem  # DuckDB names an attached file's database after the file (working_path)
    try:
        con = _connect_for_copy(building.with_name(building.name + ".tmp"))
        try:
            con.execute(f"attach {_literal(str(working))} as {_quoted(catalog)} (read_only)")
            into = catalog + "__published"  # any name but the working file's
            con.execute(f"attach {_literal(str(building))} as {_quoted(into)}")
            con.execute(f"use {_quoted(into)}")
            relations = _published_relations(con, catalog)
            kept = []
            if published.exists():
                previous = catalog + "__previous"
                con.execute(f"attach {_literal(str(published))} as {_quoted(previous)} (read_only)")
                kept = [(previous, *table) for table in _kept_tables(con, previous, catalog)]
            for schema in sorted({r[0] for r in relations} | {k[1] for k in kept}):
                con.execute(f"create schema if not exists {_quoted(into, schema)}")
            for relation in relations:
                _copy_relation(con, catalog, into, *relation)
            for source, *table in kept:
                _copy_relation(con, source, into, *table)
            con.execute(f"checkpoint {_quoted(into)}")
        finally:
            con.close()
        with open(building, "rb") as handle:
            os.fsync(handle.fileno())
    except (OSError, duckdb.Error) as exc:
        if not is_disk_full(exc):
            raise
        raise disk_full(building) from None
    finally:
        shutil.rmtree(building.with_name(building.name + ".tmp"), ignore_errors=True)
    os.replace(building, published)
    directory = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def compact(working: Path, most_free: float = COMPACT_ABOVE_FREE, min_free_bytes: int = COMPACT_MIN_FREE_BYTES) -> bool:
    """Rewrite the working file when more than `most_free` of its blocks, and more than
    `min_free_bytes`, are free (tables that each run rebuilds leave their old blocks free, and
    DuckDB returns a file's free blocks to the disk only at its end): copy the database into a new
    file and rename it into place. True when it did. A full disk leaves the working file as it was
    (the copy is removed) and says so."""
    import duckdb

    con = duckdb.connect(str(working), read_only=True)
    try:
        _, _, block_size, total, _, free, *_ = con.execute("pragma database_size").fetchone()
    finally:
        con.close()
    if not total or free / total <= most_free or free * block_size <= min_free_bytes:
        return False
    compacted = working.with_name(working.name + ".compacting")
    _remove(compacted)
    try:
        con = _connect_for_copy(compacted.with_name(compacted.name + ".tmp"))
        try:
            con.execute(f"attach {_literal(str(working))} as {_quoted(working.stem)} (read_only)")
            into = working.stem + "__compacted"  # any name but the working file's
            con.execute(f"attach {_literal(str(compacted))} as {_quoted(into)}")
            con.execute(f"copy from database {_quoted(working.stem)} to {_quoted(into)}")
            con.execute(f"checkpoint {_quoted(into)}")
        finally:
            con.close()
    except (OSError, duckdb.Error) as exc:
        _remove(compacted)
        if not is_disk_full(exc):
            raise
        free = shutil.disk_usage(working.parent).free
        print(f"The working file {working} was not compacted: no space left on device for its copy "
              f"({_size(free)} free). The build is published; it compacts when there is room.", file=sys.stderr)
        return False
    shutil.rmtree(compacted.with_name(compacted.name + ".tmp"), ignore_errors=True)
    before, after = working.stat().st_size, compacted.stat().st_size
    os.replace(compacted, working)
    print(f"Compacted the working file {working}: {_size(before)} -> {_size(after)} "
          f"({free / total:.0%} of its blocks were free).")
    return True


def discard(published: Path) -> None:
    """Remove what a failed publish left; the published file is untouched. The working file stays:
    the next build goes on from it (docs block `publishing`)."""
    _remove(building_path(published))
