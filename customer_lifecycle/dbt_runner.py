"""Runs dbt for this project, with the project's profiles and no network calls: in a subprocess, or
on Spark's session method in this process (runs_in_this_process)."""
from __future__ import annotations

import collections
import errno
import itertools
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from .contract import PROJECT_DIR


# How many of the last lines of a streamed dbt run are kept for the caller.
STREAM_TAIL_LINES = 400


class DbtFailed(RuntimeError):
    def __init__(self, args: list[str], output: str, returncode: int = 1):
        super().__init__(f"dbt {' '.join(args)} failed:\n{output[-6000:]}")
        self.output = output
        self.returncode = returncode

    def killed_by(self) -> str | None:
        """The signal's name when dbt was killed (a negative return code), else None."""
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


def runs_in_this_process() -> bool:
    """True on the `spark` target (dbt-spark's session method, Spark inside dbt's process). There the
    CLI runs dbt in its own process (dbtRunner), so that one SparkSession, and the JVM under it, serves
    every dbt step of a command and the customer-value fit between them: a JVM takes about ten seconds
    to start, and the Derby table catalogue admits one process at a time."""
    return os.environ.get("LIFECYCLE_TARGET", "duckdb") == "spark"


def run_dbt_here(args: list[str]):
    """Run `dbt <args>` in this process from the project directory, its output printed as it comes;
    the invocation's result (for `parse`, the manifest). Raises DbtFailed."""
    from dbt.cli.main import dbtRunner

    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    here = os.getcwd()
    os.chdir(PROJECT_DIR)  # as for a subprocess: the profile's relative paths are the project's
    try:
        done = dbtRunner().invoke([*args, "--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR)])
    finally:
        os.chdir(here)
    if not done.success:
        raise DbtFailed(args, str(done.exception) if done.exception else "(output printed above)")
    return done.result


# Lines that open a Python traceback in dbt's output (after dbt's time stamp, if any), the lines
# that go on one, and the line that ends a logging error's report.
_TRACEBACK_START = re.compile(r"^(\d\d:\d\d:\d\d\s+)?(Traceback \(most recent call last\):|--- Logging error ---)")
_TRACEBACK_GOES_ON = re.compile(r"^(\s|$|Traceback |During handling |[\w.]+(Error|Exception|Exit)\b|Call stack:|Message: )")
# How the operating system's ENOSPC reads in a message (DuckDB's, dbt's, Python's).
DISK_FULL = os.strerror(errno.ENOSPC)


def _without_disk_full_tracebacks(lines, tail: collections.deque):
    """dbt's lines to show, each also kept in tail. A disk that fills up makes dbt print Python
    tracebacks: its log file cannot be written (about 40 lines for every message) nor its artifacts.
    A traceback whose error is a full disk is not shown (its error lines are kept in tail, so that
    the caller names the cause in one line); any other is shown as it is."""
    block: list[str] = []
    for line in itertools.chain(lines, [None]):  # lazily: the lines are shown as they come
        if block and (line is None or not _TRACEBACK_GOES_ON.match(line) or line.startswith("Arguments: ")):
            if line is not None and line.startswith("Arguments: "):
                block.append(line)
                line = ""
            if any(DISK_FULL in b for b in block):
                tail.extend(b for b in block if DISK_FULL in b and b not in tail)
            else:
                tail.extend(block)
                yield from block
            block = []
        if line is None:
            break
        if line and (block or _TRACEBACK_START.match(line)):
            block.append(line)
            continue
        if line:
            tail.append(line)
            yield line


def dbt_executable(env: dict[str, str] | None = None) -> str:
    """LIFECYCLE_DBT when it is set (another dbt, or a wrapper around one), else the dbt beside this
    Python, else the dbt on PATH."""
    chosen = (env if env is not None else os.environ).get("LIFECYCLE_DBT", "")
    if chosen:
        return chosen
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else "dbt"


def run_dbt(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    work_dir: Path | None = None,
    check: bool = True,
    stream: bool = False,
) -> subprocess.CompletedProcess:
    """Run `dbt <args>` in the project directory.

    env: extra environment (e.g. LIFECYCLE_DUCKDB_PATH, LIFECYCLE_DATA_DIR, the postgres target).
    work_dir: where target/ and logs/ go (so that several runs do not share them).
    stream: print dbt's output as it comes instead of capturing it.
    """
    full_env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    full_env.update(env or {})
    cmd = [dbt_executable(full_env), *args, "--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR)]
    if work_dir is not None:
        cmd += ["--target-path", str(Path(work_dir) / "target")]
        full_env["DBT_LOG_PATH"] = str(Path(work_dir) / "logs")
    if stream:
        # Printed as it comes; the last lines are kept for the caller (e.g. to name a full disk).
        process = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=full_env, text=True, errors="replace",
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        tail: collections.deque[str] = collections.deque(maxlen=STREAM_TAIL_LINES)
        for line in _without_disk_full_tracebacks(process.stdout, tail):
            sys.stdout.write(line)
            sys.stdout.flush()
        result = subprocess.CompletedProcess(cmd, process.wait(), stdout="".join(tail))
    else:
        result = subprocess.run(cmd, cwd=PROJECT_DIR, env=full_env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and result.returncode != 0:
        raise DbtFailed(args, result.stdout or "(no output)", result.returncode)
    return result
