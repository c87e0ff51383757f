"""Publishing a DuckDB build atomically (docs block `publishing`).

`python -m customer_lifecycle build` builds a copy of the published warehouse file
(<file>.building) and renames it over the published file only when dbt succeeded. A rename is
atomic: readers see the old file or the new one, never a mix. A reader that holds the published
file open keeps the file it opened (the old inode) until it reconnects.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """The published file cannot be copied now; the message says why and what to do."""


def building_path(published: Path) -> Path:
    return published.with_name(published.name + ".building")


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
    """The file to build: a copy of the published file (so that incremental runs continue from it),
    or a new file when there is none or `fresh` (a full refresh). A leftover of a build that did not
    finish is discarded first."""
    building = building_path(published)
    _remove(building)
    if published.exists() and not fresh:
        import duckdb

        # A read-only connection while copying: no writer can change the file meanwhile, and
        # DuckDB refuses it while one has the file open.
        holder = writer_holding(published)
        if holder:
            raise WarehouseBusy(f"The warehouse file {published} is in use by another process ({holder}): close it "
                                "(a BI tool, notebook or second build) and build again.")
        con = duckdb.connect(str(published), read_only=True)
        try:
            shutil.copyfile(published, building)
            wal = published.with_name(published.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, building.with_name(building.name + ".wal"))
        finally:
            con.close()
    return building


def publish(building: Path, published: Path) -> None:
    """Make the finished build the published file: checkpoint it (no write-ahead log left beside
    it), flush it to disk, rename it over the published file."""
    import duckdb

    con = duckdb.connect(str(building))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    with open(building, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(building, published)
    directory = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    shutil.rmtree(building.with_name(building.name + ".tmp"), ignore_errors=True)


def discard(building: Path) -> None:
    """Remove what a failed build left; the published file is untouched."""
    _remove(building)
