"""Publishing a DuckDB build atomically (docs block `publishing`).

`python -m customer_lifecycle build` builds a copy of the published warehouse file
(<file>.building) and renames it over the published file only when dbt succeeded. A rename is
atomic: readers see the old file or the new one, never a mix. A reader that holds the published
file open keeps the file it opened (the old inode) until it reconnects.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from .dbt_runner import DISK_FULL


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


def disk_full(building: Path, needed: int | None = None, output: str = "") -> DiskFull:
    """The one-line report of a full disk: the folder (where the failed write went, as DuckDB or
    the OS named it in output, else building's), what the build needed (a copy: the published
    file's size) or had written when it stopped, and what is free there."""
    full = re.escape(DISK_FULL)
    named = re.search(r'file "([^"]+)"[^\n]*' + full + "|" + full + r": '([^']+)'", output)
    folder = Path(next(p for p in named.groups() if p)).parent if named else building.parent
    what = (f"copying the published file needs {_size(needed)}" if needed is not None
            else f"the build had written {_size(_used_by(building))} to {building.name} (file, log and spill) "
                 "when it stopped")
    free = shutil.disk_usage(folder).free if folder.exists() else 0
    return DiskFull(f"No space left on device in {folder}: {what}, and {_size(free)} is free. "
                    "The published file is unchanged; free some space and build again.")


def is_disk_full(error: BaseException) -> bool:
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or DISK_FULL in str(error)


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
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            _remove(building)
            raise disk_full(building, needed=_used_by(published)) from None
        finally:
            con.close()
    return building


def publish(building: Path, published: Path) -> None:
    """Make the finished build the published file: checkpoint it (no write-ahead log left beside
    it), flush it to disk, rename it over the published file."""
    import duckdb

    try:
        con = duckdb.connect(str(building))
        try:
            con.execute("checkpoint")
        finally:
            con.close()
        with open(building, "rb") as handle:
            os.fsync(handle.fileno())
    except (OSError, duckdb.Error) as exc:
        if not is_disk_full(exc):
            raise
        raise disk_full(building) from None
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
