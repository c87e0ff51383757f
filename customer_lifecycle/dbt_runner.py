"""Runs dbt for this project, with the project's profiles and no network calls: in a subprocess, or
on Spark's session method in this process (runs_in_this_process)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .contract import PROJECT_DIR


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


def dbt_executable() -> str:
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
    cmd = [dbt_executable(), *args, "--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR)]
    if work_dir is not None:
        cmd += ["--target-path", str(Path(work_dir) / "target")]
        full_env["DBT_LOG_PATH"] = str(Path(work_dir) / "logs")
    if stream:
        result = subprocess.run(cmd, cwd=PROJECT_DIR, env=full_env, text=True)
        result.stdout = ""
    else:
        result = subprocess.run(cmd, cwd=PROJECT_DIR, env=full_env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and result.returncode != 0:
        raise DbtFailed(args, result.stdout or "(output streamed above)", result.returncode)
    return result
